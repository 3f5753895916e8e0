// Supervisor wallboard: the open alerts (alerts_strip.js), a tile per agent (state, time
// in it, today's figures), the totals, the campaigns with pause/resume. GET /v1/wallboard
// gives the picture; the live stream (/v1/stream) updates tiles, totals and alerts; the
// picture is read again after every reconnect (changes may have been missed) and every
// RESYNC_MS for the campaigns.
import { get } from './api.js';
import { STATES, stateBadge } from './agent_state.js';
import { onAlert, onAlertAck, reloadAlerts, startAlertsStrip } from './alerts_strip.js';
import { stateButton } from './campaign_button.js';
import { $, fill, h, number, percent } from './dom.js';
import { t } from './i18n.js';
import { clearMessage, showError, startPage } from './layout.js';
import { openStream } from './stream.js';
import { serverNow, since, startTicking } from './timers.js';

const RESYNC_MS = 10000;
const s = startPage('wallboard');
const canWrite = s && (s.role === 'admin' || s.role === 'supervisor');
const agents = new Map(); // name -> agent object
const campaignNames = new Map(); // id -> name
let lastTotals = {};
let resyncTimer = null;

function tile(a) {
  const st = a.stats || {};
  const detail = a.state === 'break' && a.reason ? a.reason
    : a.campaign_id ? campaignNames.get(a.campaign_id) || t('wallboard.campaign',
      { id: a.campaign_id }) : '';
  return h('article', { class: 'tile', dataset: { state: a.state, testid: `agent-${a.name}` } },
    h('header', {}, h('b', { class: 'name' }, a.name),
      a.registered ? null : h('span', { class: 'muted small' }, t('wallboard.no_phone'))),
    stateBadge(a.state),
    h('span', { class: 'timer', dataset: { since: a.since_ms, testid: 'timer' } },
      since(a.since_ms)),
    h('span', { class: 'muted small' }, detail),
    h('footer', { class: 'small' },
      `${t('wallboard.calls')} ${number(st.calls)} · ${t('wallboard.connects')} ` +
      `${number(st.connects)} · ${t('wallboard.occupancy')} ${percent(st.occupancy)}`));
}

// The newer of two views of an agent: a state change stamps a later since_ms (a stream
// message and an answer to GET may cross).
function newer(cur, a) {
  return cur && cur.since_ms > a.since_ms ? cur : a;
}

function renderAgent(msg) {
  const a = newer(agents.get(msg.name), msg);
  if (a !== msg) return;
  agents.set(a.name, a);
  const old = document.querySelector(`[data-testid="agent-${CSS.escape(a.name)}"]`);
  if (old) old.replaceWith(tile(a));
  else renderAgents(); // a new agent: keep the name order
  renderTotals(lastTotals);
}

function renderAgents() {
  const list = [...agents.values()].sort((x, y) => x.name.localeCompare(y.name));
  fill($('#agents'), list.map(tile));
  $('#no-agents').hidden = list.length > 0;
}

function figure(label, value, testid) {
  return h('div', { class: 'figure', dataset: { testid } },
    h('span', { class: 'value' }, value), h('span', { class: 'label' }, label));
}

// Agents by state are counted from the tiles (every agent of the floor, also those never
// logged in, which the server's by_state leaves out); the rest is the server's.
function renderTotals(tot) {
  lastTotals = tot;
  const by = {};
  for (const a of agents.values()) by[a.state] = (by[a.state] || 0) + 1;
  fill($('#totals'),
    h('div', { class: 'figure states', dataset: { testid: 'by-state' } },
      STATES.map((st) => h('span', { class: 'count', dataset: { state: st, testid: `count-${st}` } },
        h('b', {}, number(by[st] || 0)), ` ${t(`state.${st}`)}`))),
    figure(t('wallboard.calls_today'), number(tot.calls_today), 'calls-today'),
    figure(t('wallboard.connects_today'), number(tot.connects_today), 'connects-today'),
    figure(t('wallboard.abandon_rate'), percent(tot.abandon_rate_today), 'abandon-rate'),
    figure(t('wallboard.occupancy'), percent(tot.occupancy), 'occupancy'));
}

function renderCampaigns(list) {
  for (const c of list) campaignNames.set(c.id, c.name);
  fill($('#campaigns'), list.map((c) => h('tr', { dataset: { testid: `campaign-${c.id}` } },
    h('td', {}, c.name),
    h('td', {}, t(`mode.${c.mode}`)),
    h('td', {}, h('span', { class: `badge ${c.state}` }, t(`campaign_state.${c.state}`))),
    h('td', { class: 'num' }, number(c.calls)),
    h('td', { class: 'num' }, number(c.answered)),
    h('td', { class: 'num' }, percent(c.abandon_rate)),
    h('td', { class: 'actions' }, canWrite ? stateButton(c, resync) : null))));
}

async function resync() {
  clearTimeout(resyncTimer);
  try {
    const doc = await get('/v1/wallboard');
    serverNow(doc.now_ms);
    const old = new Map(agents);
    agents.clear();
    for (const a of doc.agents || []) agents.set(a.name, newer(old.get(a.name), a));
    renderAgents();
    renderTotals(doc.totals || {});
    renderCampaigns(doc.campaigns || []);
    clearMessage();
  } catch (err) {
    showError(err);
    if (err.status === 403) {
      if (stream) stream.close();
      return;
    }
  }
  resyncTimer = setTimeout(resync, RESYNC_MS);
}

let stream = null;
if (s) {
  startTicking();
  resync();
  startAlertsStrip(canWrite);
  stream = openStream({
    onHello: (m) => serverNow(m.now_ms),
    onAgent: renderAgent,
    onTotals: renderTotals,
    onAlert,
    onAlertAck,
    onReconnect: () => {
      resync();
      reloadAlerts();
    },
    indicator: $('#live'),
  });
}
