// The alerts page's list of rules (GET /v1/alert-rules): what each watches, its webhook,
// and for roles that keep rules Edit (into the form) and Delete (DELETE, after a second
// click: no dialog to dismiss by accident).
import { editRule } from './alerts_form.js';
import { kindBadge } from './alerts_ack.js';
import { del, enc } from './api.js';
import { $, fill, h, number, when } from './dom.js';
import { t } from './i18n.js';
import { showNote, withButton } from './layout.js';

const CONFIRM_MS = 4000;

const pct = (x) => (typeof x === 'number' ? `${+(x * 100).toFixed(1)}%` : '-');

function summary(r) {
  if (r.kind === 'metric_falling') {
    return t('rules.sum_metric', { metric: t(`metric.${r.metric}`), weeks: r.weeks,
      n: number(r.min_volume) });
  }
  if (r.kind === 'occupancy_below') {
    return t('rules.sum_occupancy', { pct: pct(r.threshold), window: number(r.window_s),
      agents: number(r.min_agents), cooldown: number(r.cooldown_min) });
  }
  if (r.kind === 'abandon_near_cap') {
    return t('rules.sum_abandon', { pct: pct(r.threshold), n: number(r.min_volume) });
  }
  return '';
}

function deleteButton(r, after) {
  let armed = null;
  const button = h('button', { class: 'secondary danger', type: 'button',
    dataset: { testid: `delete-rule-${r.name}` } }, t('rules.delete'));
  button.addEventListener('click', () => {
    if (!armed) {
      fill(button, t('rules.confirm_delete'));
      armed = setTimeout(() => {
        armed = null;
        fill(button, t('rules.delete'));
      }, CONFIRM_MS);
      return;
    }
    clearTimeout(armed);
    armed = null;
    withButton(button, async () => {
      await del(`/v1/alert-rules/${enc(r.name)}`);
      showNote(t('rules.deleted', { name: r.name }));
      await after();
    });
  });
  return button;
}

export function renderRules(items, canWrite, after) {
  fill($('#rule-rows'), items.map((r) => h('tr', { dataset: { testid: `rule-${r.name}` } },
    h('td', { class: 'nowrap' }, h('b', {}, r.name)),
    h('td', {}, kindBadge(r.kind)),
    h('td', { class: 'small' }, summary(r)),
    h('td', {}, r.department || t('alerts.whole_tenant')),
    h('td', { class: 'small wrap' }, r.webhook_url || '-',
      r.webhook_secret_set ? h('span', { class: 'tag' }, t('rules.secret_set')) : null),
    h('td', {}, h('span', { class: `badge ${r.enabled ? 'running' : 'paused'}`,
      dataset: { testid: 'enabled' } }, t(r.enabled ? 'rules.on' : 'rules.off'))),
    h('td', { class: 'small' }, `${r.updated_by} · ${when(r.updated_ms)}`),
    h('td', { class: 'actions' }, canWrite ? [
      h('button', { class: 'secondary', type: 'button', dataset: { testid: `edit-rule-${r.name}` },
        onclick: () => editRule(r) }, t('rules.edit')),
      ' ', deleteButton(r, after)] : null))));
  $('#no-rules').hidden = items.length > 0;
}
