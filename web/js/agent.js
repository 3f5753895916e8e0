// Agent desktop: my state with ready / not ready / break, today's figures, the call in
// progress with its customer and the disposition form, the preview lead, my recent calls.
// GET /v1/agents/{me} gives the state; the live stream pushes my changes; it is read
// again after a reconnect and every RESYNC_MS.
import { enc, get, post } from './api.js';
import { setupDisposition, showCall } from './agent_call.js';
import { refreshPreview, setupPreview } from './agent_preview.js';
import { stateBadge } from './agent_state.js';
import { $, duration, fill, h, number, percent, when } from './dom.js';
import { t } from './i18n.js';
import { clearMessage, showError, startPage, withButton } from './layout.js';
import { openStream } from './stream.js';
import { serverNow, since, startTicking } from './timers.js';

const RESYNC_MS = 15000;
const s = startPage('agent');
let me = null;
let resyncTimer = null;

function renderState(a) {
  fill($('#state'), stateBadge(a.state, 'my-state-badge'),
    h('span', { class: 'timer', dataset: { since: a.since_ms, testid: 'my-timer' } },
      since(a.since_ms)),
    a.state === 'break' && a.reason ? h('span', { class: 'muted' }, a.reason) : null);
  // Buttons that make no sense now are disabled; the server refuses them anyway (409).
  const busy = ['reserved', 'on_call'].includes(a.state);
  for (const b of document.querySelectorAll('[data-go]')) {
    b.disabled = busy || b.dataset.go === a.state;
    b.classList.toggle('current', b.dataset.go === a.state);
  }
  fill($('#phone'), a.registered ? t('desk.phone_on') : t('desk.phone_off'));
  const st = a.stats || {};
  fill($('#stats'),
    h('dt', {}, t('wallboard.calls')), h('dd', { dataset: { testid: 'stat-calls' } }, number(st.calls)),
    h('dt', {}, t('wallboard.connects')), h('dd', {}, number(st.connects)),
    h('dt', {}, t('desk.talk_time')), h('dd', {}, duration((st.talk_s || 0) * 1000)),
    h('dt', {}, t('desk.aht')), h('dd', {}, duration((st.aht_s || 0) * 1000)),
    h('dt', {}, t('wallboard.occupancy')), h('dd', {}, percent(st.occupancy)));
}

function show(a) {
  // A stream message and an answer to GET may cross: the later state change wins.
  if (me && me.since_ms > a.since_ms) return;
  const callEnded = me && me.call_id && !a.call_id;
  me = a;
  renderState(a);
  showCall(a);
  refreshPreview(a);
  if (callEnded) loadRecent();
}

async function loadRecent() {
  try {
    const doc = await get('/v1/calls?limit=10');
    fill($('#recent'), (doc.items || []).filter((c) => c.agent === s.user).map((c) =>
      h('tr', {}, h('td', {}, when(c.start_ms)), h('td', { class: 'phone' }, c.number),
        h('td', {}, c.result), h('td', { class: 'num' }, duration(c.talk_ms || 0)))));
  } catch (err) {
    showError(err);
  }
}

async function resync() {
  clearTimeout(resyncTimer);
  try {
    const a = await get(`/v1/agents/${enc(s.user)}`);
    serverNow(a.now_ms);
    show(a);
    clearMessage();
  } catch (err) {
    showError(err);
    if (err.status === 403) return;
  }
  resyncTimer = setTimeout(resync, RESYNC_MS);
}

function setupButtons() {
  for (const b of document.querySelectorAll('[data-go]')) {
    b.addEventListener('click', () => withButton(b, async () => {
      const body = { state: b.dataset.go };
      if (body.state === 'break') body.reason = $('#reason').value;
      show(await post(`/v1/agents/${enc(s.user)}/state`, body));
    }));
  }
}


if (s) {
  startTicking();
  setupButtons();
  setupDisposition(resync);
  setupPreview(s.user, resync);
  resync();
  loadRecent();
  openStream({
    onHello: (m) => serverNow(m.now_ms),
    onAgent: (a) => { if (a.name === s.user) show(a); },
    onReconnect: resync,
    indicator: $('#live'),
  });
}
