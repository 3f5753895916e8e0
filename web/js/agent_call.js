// The agent desktop's call panel: the call in progress with a screen-pop of its customer
// (GET /v1/customers/{id}: masked phone; the read is audited), then the disposition form
// (POST /v1/calls/{id}/disposition) that ends wrap-up.
import { enc, get, post } from './api.js';
import { stateBadge } from './agent_state.js';
import { $, fill, h, when } from './dom.js';
import { t } from './i18n.js';
import { showError, showNote, withButton } from './layout.js';
import { since, until } from './timers.js';

export const DISPOSITIONS = ['sale', 'not_interested', 'callback', 'wrong_number', 'other'];
const CALL_STATES = ['reserved', 'on_call', 'wrap_up'];
const NOTES_MAX_BYTES = 2000;

let shownCall = null;  // call id the panel shows
let customer = null;   // its customer, once read
let campaignName = '';

function customerCard(c) {
  if (!c) return h('p', { class: 'muted' }, t('desk.no_customer'));
  return h('div', { class: 'screen-pop', dataset: { testid: 'screen-pop' } },
    h('div', { class: 'who' }, h('b', { dataset: { testid: 'customer-name' } }, c.name || '-'),
      h('span', { class: 'phone', dataset: { testid: 'customer-phone' } }, c.phone || '-')),
    h('div', {}, (c.tags || []).map((tag) => h('span', { class: 'tag' }, tag))),
    h('dl', { class: 'figures' },
      h('dt', {}, t('customers.status')), h('dd', {}, c.status || '-'),
      h('dt', {}, t('customers.last_contact')), h('dd', {}, when(c.last_contact)),
      h('dt', {}, t('desk.address')), h('dd', {}, c.address || '-')),
    c.notes ? h('p', { class: 'notes' }, c.notes) : null);
}

// The campaign's wrap-up time: the server makes the agent ready when it is over.
function wrapLeft(agent) {
  const end = agent.since_ms + agent.wrap_s * 1000;
  return h('p', { class: 'muted' }, `${t('desk.wrap_left')} `,
    h('span', { class: 'timer', dataset: { until: end } }, until(end)));
}

function render(agent) {
  const inCall = CALL_STATES.includes(agent.state) && agent.call_id;
  if (!inCall) {
    fill($('#call'), h('h2', {}, t('desk.call')), h('p', { class: 'muted', dataset:
      { testid: 'no-call' } }, agent.state === 'ready' ? t('desk.waiting') : t('desk.no_call')));
    return;
  }
  fill($('#call'),
    h('div', { class: 'row' }, h('h2', {}, t('desk.call')), h('span', { class: 'spacer' }),
      stateBadge(agent.state, 'call-state'),
      h('span', { class: 'timer', dataset: { since: agent.since_ms } }, since(agent.since_ms))),
    campaignName ? h('p', { class: 'muted' }, `${t('desk.campaign')}: ${campaignName}`) : null,
    agent.state === 'wrap_up' && agent.wrap_s > 0 ? wrapLeft(agent) : null,
    customerCard(customer));
}

// Reads what the screen-pop shows when the agent's call changes.
async function loadCall(agent) {
  customer = null;
  campaignName = '';
  const reads = [];
  if (agent.customer_id) {
    reads.push(get(`/v1/customers/${enc(agent.customer_id)}`)
      .then((c) => { customer = c; }));
  }
  if (agent.campaign_id) {
    reads.push(get(`/v1/campaigns/${enc(agent.campaign_id)}`)
      .then((c) => { campaignName = c.name; }).catch(() => {}));
  }
  await Promise.all(reads).catch(showError);
}

// Called with every new view of the agent; the form stays as typed while the call is
// the same one.
export async function showCall(agent) {
  const callId = CALL_STATES.includes(agent.state) ? agent.call_id : null;
  if (callId !== shownCall) {
    shownCall = callId;
    const form = $('#dispo');
    form.reset();
    $('#callback-at').hidden = true;
    form.callback_at.required = false;
    if (callId) {
      render(agent);
      await loadCall(agent);
    }
  }
  $('#dispo').hidden = !(callId && (agent.state === 'on_call' || agent.state === 'wrap_up'));
  $('#dispo').dataset.call = callId || '';
  render(agent);
}

export function setupDisposition(onSaved) {
  const form = $('#dispo');
  fill($('#choices'), DISPOSITIONS.map((d) => h('label', { class: 'choice' },
    h('input', { type: 'radio', name: 'disposition', value: d, required: true,
      dataset: { testid: `dispo-${d}` } }), t(`dispo.${d}`))));
  form.addEventListener('change', () => {
    const callback = form.disposition.value === 'callback'; // needs a time (server: 400)
    $('#callback-at').hidden = !callback;
    form.callback_at.required = callback;
  });
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const callId = form.dataset.call;
    if (!callId) return;
    const body = { disposition: form.disposition.value, notes: form.notes.value };
    if (body.disposition === 'callback') {
      body.callback_at_ms = new Date(form.callback_at.value).getTime();
    }
    // The server counts bytes (2000): a Chinese character takes three.
    if (new TextEncoder().encode(body.notes).length > NOTES_MAX_BYTES) {
      showError(t('desk.notes_too_long'));
      return;
    }
    withButton(form.querySelector('button[type=submit]'), async () => {
      await post(`/v1/calls/${enc(callId)}/disposition`, body);
      showNote(t('desk.saved'));
      await onSaved();
    });
  });
}
