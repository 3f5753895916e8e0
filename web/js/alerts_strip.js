// The wallboard's alerts strip (docs/alerts.md): the unacknowledged alerts of the
// caller's reach, newest first. GET /v1/alerts?unacknowledged=true gives the picture (at
// load and after every reconnect of the stream); the stream's "alert" and "alert_ack"
// messages keep it current, so an alert acknowledged by anyone leaves every wallboard.
// Roles that may not acknowledge (auditors) see the alerts and a note instead of buttons.
// Alert texts hold user input (agent names): they only ever become text nodes.
import { ackControl, kindBadge } from './alerts_ack.js';
import { get } from './api.js';
import { $, fill, h, when } from './dom.js';
import { t } from './i18n.js';

const SHOWN = 8; // a wallboard is read from afar: the rest are on the alerts page
const open = new Map(); // id -> alert
const items = new Map(); // id -> its element, kept so an error next to a button stays
let canAck = false;
let beyond = 0; // unacknowledged alerts past the GET's limit
let reading = null; // while a GET is under way: {pushed: Set, acked: Set} of the stream

export function startAlertsStrip(mayAck) {
  canAck = mayAck;
  $('#alerts-read-only').hidden = canAck;
  return reloadAlerts();
}

// The page may have been replaced by the "not allowed" view (a 403 from the wallboard).
function gone() {
  return !$('#alerts');
}

// Reads the whole picture again; what the stream said while the answer was on its way
// wins over it (a pushed alert may be newer than the answer, an acknowledgement too).
export async function reloadAlerts() {
  const mine = { pushed: new Set(), acked: new Set() };
  reading = mine;
  let doc;
  try {
    doc = await get('/v1/alerts?unacknowledged=true&limit=100');
  } catch (err) {
    if (reading !== mine || gone()) return;
    reading = null;
    if (err.status === 403) $('#alerts').hidden = true;
    else showProblem(err.message || t('error.unknown'));
    return;
  }
  if (reading !== mine) return; // a newer read is under way
  reading = null;
  for (const id of [...open.keys()]) if (!mine.pushed.has(id)) open.delete(id);
  for (const a of doc.items || []) if (!mine.acked.has(a.id)) open.set(a.id, a);
  beyond = Math.max(0, (doc.total || 0) - (doc.items || []).length);
  showProblem(null);
  render();
}

export function onAlert(a) {
  if (!a.id || a.acknowledged) return;
  if (reading) reading.pushed.add(a.id);
  open.set(a.id, a);
  render();
}

export function onAlertAck(m) {
  if (reading) reading.acked.add(m.id);
  if (open.delete(m.id)) render();
}

function showProblem(text) {
  if (gone()) return;
  const el = $('#alerts-error');
  el.hidden = !text;
  fill(el, text || '');
}

function item(a) {
  return h('li', { class: 'alert-item', dataset: { testid: `alert-${a.id}`, state: 'open',
    kind: a.kind } },
  kindBadge(a.kind),
  h('span', { class: 'muted small nowrap' }, when(a.fired_ms)),
  h('span', { class: 'alert-text', dataset: { testid: 'alert-message' } }, a.message),
  canAck ? ackControl(a, () => onAlertAck({ id: a.id })) : null);
}

function render() {
  if (gone()) return;
  const list = [...open.values()].sort((x, y) => y.fired_ms - x.fired_ms);
  const shown = list.slice(0, SHOWN);
  for (const id of [...items.keys()]) if (!open.has(id)) items.delete(id);
  fill($('#alert-list'), shown.map((a) => {
    if (!items.has(a.id)) items.set(a.id, item(a));
    return items.get(a.id);
  }));
  const total = list.length + beyond;
  const more = total - shown.length;
  fill($('#alerts-count'), total ? t('alerts.open_n', { n: total }) : '');
  $('#alerts-count').hidden = total === 0;
  $('#no-alerts').hidden = total > 0;
  $('#alerts-more').hidden = more <= 0;
  fill($('#alerts-more'), more > 0 ? t('alerts.more', { n: more }) : '');
  $('#alerts').dataset.open = String(total);
}
