// Campaigns page: the list with pause/resume, one campaign's progress (refreshed while it
// is open), and a form for a simple campaign (docs/campaigns.md).
import { enc, get, post } from './api.js';
import { stateButton } from './campaign_button.js';
import { $, fill, h, number, percent, when } from './dom.js';
import { t } from './i18n.js';
import { showError, showNote, startPage, withButton } from './layout.js';

const REFRESH_MS = 3000;
const s = startPage('campaigns');
const canWrite = s && (s.role === 'admin' || s.role === 'supervisor');
let openId = null;
let timer = null;

async function load() {
  const doc = await get('/v1/campaigns');
  const items = doc.items || [];
  fill($('#rows'), items.map((c) => h('tr', {
    class: c.id === openId ? 'selected' : null, dataset: { testid: `campaign-${c.id}` },
    onclick: () => open(c.id) },
  h('td', {}, c.name),
  h('td', {}, t(`mode.${c.mode}`)),
  h('td', {}, h('span', { class: `badge ${c.state}`, dataset: { testid: 'state' } },
    t(`campaign_state.${c.state}`))),
  h('td', { class: 'num' }, number(c.leads)),
  h('td', {}, c.window ? `${c.window.start}-${c.window.end}` : '-'),
  h('td', { class: 'actions' }, canWrite ? stateButton(c, refresh) : null))));
  $('#empty').hidden = items.length > 0;
}

function bar(label, value, total, kind) {
  const pct = total > 0 ? Math.round((value / total) * 100) : 0;
  const fillEl = h('span', { class: `fill ${kind}` });
  fillEl.style.width = `${pct}%`;
  return h('div', { class: 'bar-row' }, h('span', { class: 'bar-label' }, label),
    h('span', { class: 'bar' }, fillEl), h('span', { class: 'num', dataset: { testid: kind } },
      number(value)));
}

function renderDetail(c) {
  const p = c.progress || { leads: {}, calls: {}, nodes: [] };
  const L = p.leads;
  const total = c.leads || 0;
  const calls = p.calls || {};
  fill($('#detail'),
    h('div', { class: 'row' }, h('h2', {}, c.name), h('span', { class: 'spacer' }),
      h('span', { class: `badge ${c.state}` }, t(`campaign_state.${c.state}`))),
    h('p', { class: 'muted' }, `${t(`mode.${c.mode}`)} · ${t('campaigns.agents_n',
      { n: (c.agents || []).length })} · ${c.filter || t('campaigns.all_customers')} · ` +
      `${c.window.start}-${c.window.end}${c.timezone ? ` (${c.timezone})` : ''}`),
    h('h3', {}, t('campaigns.leads')),
    bar(t('lead.done'), L.done || 0, total, 'done'),
    bar(t('lead.dialing'), L.dialing || 0, total, 'dialing'),
    bar(t('lead.ready'), L.ready || 0, total, 'ready'),
    bar(t('lead.retry_later'), L.retry_later || 0, total, 'retry'),
    h('h3', {}, t('campaigns.calls')),
    h('dl', { class: 'figures' },
      h('dt', {}, t('calls.attempts')), h('dd', {}, number(calls.attempts)),
      h('dt', {}, t('calls.answered')), h('dd', {}, number(calls.answered)),
      h('dt', {}, t('calls.no_answer')), h('dd', {}, number(calls.no_answer)),
      h('dt', {}, t('calls.machine')), h('dd', {}, number(calls.machine)),
      h('dt', {}, t('calls.abandoned')), h('dd', {}, number(calls.abandoned)),
      h('dt', {}, t('calls.abandon_rate')), h('dd', {}, percent(calls.abandon_rate))),
    h('h3', {}, t('campaigns.nodes')),
    h('ul', { class: 'nodes' }, (p.nodes || []).map((n) => h('li', {},
      h('b', {}, t('campaigns.node', { id: n.node })),
      ` ${t('calls.attempts')}: ${number(n.attempts)} · `,
      n.idle_reason ? h('span', { class: 'muted' }, n.idle_reason) : t('campaigns.dialing')))),
    h('p', { class: 'muted' }, `${t('campaigns.created')} ${when(c.created_ms)} · ${c.created_by}`),
    canWrite ? stateButton(c, refresh) : null);
}

async function open(id) {
  openId = id;
  $('#create').hidden = true;
  $('#detail').hidden = false;
  await refresh();
}

async function refresh() {
  clearTimeout(timer);
  try {
    await load();
    if (openId) renderDetail(await get(`/v1/campaigns/${enc(openId)}`));
  } catch (err) {
    showError(err);
    if (err.status === 403) return;
  }
  timer = setTimeout(refresh, REFRESH_MS);
}

function setupForm() {
  const form = $('#create');
  $('#new').hidden = !canWrite;
  $('#new').addEventListener('click', () => {
    openId = null;
    $('#detail').hidden = true;
    form.hidden = false;
    form.name.focus();
  });
  $('#cancel').addEventListener('click', () => { form.hidden = true; });
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const body = {
      name: form.name.value.trim(),
      mode: form.mode.value,
      agents: form.agents.value.split(/[\s,，]+/).filter(Boolean),
      window: { start: form.start.value, end: form.end.value },
      start: form.go.checked,
    };
    if (form.filter.value.trim()) body.filter = form.filter.value.trim();
    withButton(form.querySelector('button[type=submit]'), async () => {
      const c = await post('/v1/campaigns', body);
      form.reset();
      showNote(t('campaigns.created_note', { name: c.name, n: c.leads }));
      await open(c.id);
    });
  });
}

if (s) {
  setupForm();
  refresh();
}
