// Login page (also served at /): POST /v1/auth/login, then the role's home page or the
// page the user was sent here from.
import { api } from './api.js';
import { $, fill } from './dom.js';
import { applyI18n, t } from './i18n.js';
import { langSelect, showError, showNote } from './layout.js';
import { homeOf, mayOpen, saveSession, session } from './session.js';

// Only our own pages are accepted as ?next= (no open redirect).
function nextPage(role) {
  const next = new URLSearchParams(location.search).get('next') || '';
  const m = /^\/console\/([a-z]+)\.html(\?[^#]*)?(#.*)?$/.exec(next);
  if (m && mayOpen(role, m[1])) return next;
  return homeOf(role);
}

function go(s) {
  const target = nextPage(s.role);
  if (target) location.replace(target);
  else showNote(t('login.no_page', { role: t(`role.${s.role}`) }));
}

applyI18n(document);
fill($('#lang'), langSelect());
const existing = session();
if (existing) go(existing);

$('#login').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const form = ev.target;
  const button = form.querySelector('button');
  button.disabled = true;
  try {
    const doc = await api('POST', '/v1/auth/login', {
      username: form.username.value.trim(), password: form.password.value });
    go(saveSession(doc));
  } catch (err) {
    if (err.status === 401) showError(t('login.wrong'));
    else if (err.status === 429) showError(t('login.slow_down'));
    else showError(err);
  } finally {
    button.disabled = false;
  }
});
