// The alerts page's list of fired alerts (GET /v1/alerts, newest first): who acknowledged
// each and when, or an Acknowledge button for roles that may; and its webhook's delivery
// (state, attempts, the receiver's last answer). Alert texts are user input: text only.
import { ackControl, kindBadge } from './alerts_ack.js';
import { $, fill, h, number, when } from './dom.js';
import { t } from './i18n.js';

function acknowledged(a, canWrite, after) {
  if (a.acknowledged) {
    return h('span', { dataset: { testid: 'acked' } },
      `${a.acknowledged.by} · ${when(a.acknowledged.at_ms)}`);
  }
  return canWrite ? ackControl(a, after) : h('span', { class: 'muted' }, t('alerts.open'));
}

function webhook(w) {
  if (!w) return '-';
  const last = [w.last_status ? `HTTP ${w.last_status}` : '', w.last_error || '']
    .filter(Boolean).join(' · ');
  return h('span', { title: w.url },
    h('span', { class: `badge hook ${w.state}`, dataset: { testid: 'webhook-state' } },
      t(`webhook_state.${w.state}`)),
    ' ', h('span', { class: 'muted small' }, t('alerts.attempts', { n: number(w.attempts) })),
    last ? h('div', { class: 'muted small wrap' }, last) : null);
}

export function renderAlerts(doc, canWrite, after) {
  const items = doc.items || [];
  fill($('#alert-rows'), items.map((a) => h('tr', {
    class: a.acknowledged ? 'done' : null, dataset: { testid: `alert-row-${a.id}` } },
  h('td', { class: 'small nowrap' }, when(a.fired_ms)),
  h('td', {}, kindBadge(a.kind)),
  h('td', {}, a.department || t('alerts.whole_tenant')),
  h('td', { dataset: { testid: 'alert-message' } }, a.message),
  h('td', { class: 'small' }, acknowledged(a, canWrite, after)),
  h('td', { class: 'small' }, webhook(a.webhook)))));
  $('#no-alerts').hidden = items.length > 0;
  fill($('#alerts-shown'), (doc.total || 0) > items.length
    ? t('alerts.shown', { shown: number(items.length), n: number(doc.total) }) : '');
}
