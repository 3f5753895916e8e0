// The alert rule form of the alerts page: create or replace (PUT /v1/alert-rules/{name},
// docs/alerts.md "Rules"). The kind picks which fields show; thresholds are typed as
// percentages and sent as fractions. The server checks every value (the form does not
// second-guess its ranges): a 400 or 403 naming a field is shown next to that field.
import { enc, put } from './api.js';
import { $, fill } from './dom.js';
import { t } from './i18n.js';
import { showError, showNote, withButton } from './layout.js';

const form = () => $('#rule-form');

function kindFieldset(kind) {
  return form().querySelector(`fieldset[data-kind="${CSS.escape(kind)}"]`);
}

// Only the chosen kind's fields show and are sent (a disabled fieldset's are not).
function showKind() {
  for (const fs of form().querySelectorAll('fieldset[data-kind]')) {
    const on = fs.dataset.kind === form().kind.value;
    fs.hidden = !on;
    fs.disabled = !on;
  }
}

// The input a field error names and the place for its message: the kind's fieldset,
// then the common one, then the top of the form (name, kind).
function fieldOf(field) {
  const f = form();
  for (const scope of [kindFieldset(f.kind.value), f.querySelector('fieldset[data-common]'), f]) {
    const input = scope && scope.querySelector(`[name="${CSS.escape(field)}"]`);
    if (input) {
      return { input, slot: scope.querySelector(`[data-testid="error-${CSS.escape(field)}"]`) };
    }
  }
  return null;
}

function clearErrors() {
  for (const el of form().querySelectorAll('.field-error')) fill(el);
  for (const el of form().querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
}

// True when err named a field of the form and is now shown next to it.
function showFieldError(err) {
  const f = err.field && fieldOf(err.field);
  if (!f || !f.slot) return false;
  const percent = f.input.hasAttribute('data-percent') && err.status === 400;
  fill(f.slot, percent ? t('rules.bad_percent') : err.message);
  f.input.setAttribute('aria-invalid', 'true');
  f.input.focus();
  return true;
}

function numberOf(input) {
  const v = Number(input.value.trim());
  return input.hasAttribute('data-percent') ? v / 100 : v;
}

// Empty fields are left out: the server's defaults apply.
function body() {
  const f = form();
  const b = { kind: f.kind.value };
  for (const input of kindFieldset(b.kind).querySelectorAll('[name]')) {
    if (input.value.trim() === '') continue;
    b[input.name] = input.type === 'number' ? numberOf(input) : input.value.trim();
  }
  for (const name of ['department', 'webhook_url', 'webhook_secret']) {
    const v = name === 'webhook_secret' ? f[name].value : f[name].value.trim();
    if (v !== '') b[name] = v;
  }
  b.enabled = f.enabled.checked;
  return b;
}

export function resetRuleForm() {
  form().reset();
  clearErrors();
  $('#secret-again').hidden = true;
  showKind();
}

const asPercent = (x) => (typeof x === 'number' ? String(+(x * 100).toFixed(4)) : '');

// Fills the form with a rule to replace it. The secret is never shown again: the form
// says that it must be typed again to be kept.
export function editRule(rule) {
  if (!kindFieldset(rule.kind)) return; // a kind this console does not know yet
  resetRuleForm();
  const f = form();
  f.name.value = rule.name;
  f.kind.value = rule.kind;
  showKind();
  for (const input of kindFieldset(rule.kind).querySelectorAll('[name]')) {
    const v = rule[input.name];
    if (v === undefined || v === null) continue;
    input.value = input.hasAttribute('data-percent') ? asPercent(v) : String(v);
  }
  f.department.value = rule.department || '';
  f.webhook_url.value = rule.webhook_url || '';
  f.enabled.checked = rule.enabled !== false;
  $('#secret-again').hidden = !rule.webhook_secret_set;
  f.scrollIntoView({ block: 'nearest' });
  f.name.focus();
}

// afterSave(rule) runs once the server kept the rule.
export function setupRuleForm(afterSave) {
  const f = form();
  f.hidden = false;
  showKind();
  f.kind.addEventListener('change', () => {
    clearErrors();
    showKind();
  });
  f.addEventListener('input', (ev) => {
    const slot = ev.target.name && fieldOf(ev.target.name);
    if (slot && slot.slot) fill(slot.slot);
    ev.target.removeAttribute('aria-invalid');
  });
  $('#reset-rule').addEventListener('click', resetRuleForm);
  f.addEventListener('submit', (ev) => {
    ev.preventDefault();
    clearErrors();
    const name = f.name.value.trim();
    withButton(f.querySelector('button[type=submit]'), async () => {
      try {
        const rule = await put(`/v1/alert-rules/${enc(name)}`, body());
        resetRuleForm();
        showNote(t('rules.saved', { name: rule.name }));
        await afterSave(rule);
      } catch (err) {
        if (showFieldError(err)) return;
        // Not the "not allowed" view: the page itself is allowed, this one change is not.
        if (err.status === 403) showError(t('alerts.not_allowed', { why: err.message }));
        else throw err;
      }
    });
  });
}
