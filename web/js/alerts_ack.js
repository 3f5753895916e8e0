// What the wallboard's strip and the alerts page share: an alert's kind as a badge, and
// the Acknowledge button (POST /v1/alerts/{id}/ack, docs/alerts.md). A refusal is said
// next to the button, never swallowed: a 403 (a role that may read alerts but not
// acknowledge them, as auditors) or any other error.
import { enc, post } from './api.js';
import { fill, h } from './dom.js';
import { t } from './i18n.js';

// A kind the console does not know yet shows as the server named it.
export function kindBadge(kind) {
  const key = `alert_kind.${kind}`;
  const label = t(key);
  return h('span', { class: `badge kind ${kind}`, dataset: { testid: 'alert-kind' } },
    label === key ? kind : label);
}

function refusal(err) {
  if (err.status === 403) return t('alerts.ack_forbidden');
  if (err.status === 0) return t('error.network');
  return err.message || t('error.unknown');
}

// The button and, after a refusal, why. onDone(alert) runs with the server's answer (the
// alert with its acknowledgement); a 403 leaves the button disabled (trying again would
// only be refused again).
export function ackControl(alert, onDone) {
  const note = h('span', { class: 'ack-error small', role: 'alert',
    dataset: { testid: 'ack-error' } });
  const button = h('button', { class: 'secondary', type: 'button',
    dataset: { testid: `ack-${alert.id}` } }, t('alerts.ack'));
  button.addEventListener('click', async (ev) => {
    ev.stopPropagation();
    button.disabled = true;
    fill(note);
    try {
      onDone(await post(`/v1/alerts/${enc(alert.id)}/ack`));
    } catch (err) {
      fill(note, refusal(err));
      button.disabled = err.status === 403;
    }
  });
  return h('span', { class: 'ack' }, button, note);
}
