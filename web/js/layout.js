// What every page but the login has: the role's navigation, the user, a language switch,
// log out; the "not allowed" view; a message bar for errors.
import { $, fill, h } from './dom.js';
import { applyI18n, lang, LANGS, setLang, t } from './i18n.js';
import { clearSession, mayOpen, PAGES, pageUrl, session, toLogin } from './session.js';

// Starts a page: returns the session when the user may see it; otherwise sends the user
// to the login page (no session) or shows the "not allowed" view and returns null.
export function startPage(page) {
  applyI18n(document);
  const s = session();
  if (!s) {
    toLogin();
    return null;
  }
  renderHeader(s, page);
  if (!mayOpen(s.role, page)) {
    showForbidden();
    return null;
  }
  return s;
}

function renderHeader(s, page) {
  const nav = (PAGES[s.role] || []).map((p) =>
    h('a', { href: pageUrl(p), class: p === page ? 'current' : null,
      dataset: { testid: `nav-${p}` } }, t(`nav.${p}`)));
  fill($('#top'),
    h('span', { class: 'brand' }, t('app.name')),
    h('nav', {}, nav),
    h('span', { class: 'spacer' }),
    langSelect(),
    h('span', { class: 'who', dataset: { testid: 'who' } },
      `${s.user} · ${t(`role.${s.role}`)}`),
    h('button', { class: 'link', dataset: { testid: 'logout' },
      onclick: () => { clearSession(); location.assign('/console/'); } }, t('nav.logout')));
}

// Switching reloads the page (the strings are read at load).
export function langSelect() {
  return h('select', { 'aria-label': t('nav.language'), dataset: { testid: 'lang' },
    onchange: (e) => { setLang(e.target.value); location.reload(); } },
  LANGS.map((l) => h('option', { value: l.code, selected: l.code === lang() }, l.name)));
}

// The page's content is replaced by a clear refusal (the role check, or a 403 from the API).
export function showForbidden(message) {
  fill($('#main'), h('section', { class: 'forbidden', dataset: { testid: 'forbidden' } },
    h('h1', {}, t('forbidden.title')),
    h('p', {}, message || t('forbidden.text')),
    h('p', {}, h('a', { href: '/console/' }, t('forbidden.home')))));
}

// Shows err (an ApiError or a string) in the page's message bar; 403 shows the
// "not allowed" view instead. Returns nothing.
export function showError(err) {
  if (err && err.status === 403) return showForbidden(err.message);
  const bar = $('#message');
  if (!bar) return;
  const text = typeof err === 'string' ? err : describe(err);
  fill(bar, text);
  bar.hidden = false;
  bar.dataset.kind = 'error';
}

export function showNote(text) {
  const bar = $('#message');
  if (!bar) return;
  fill(bar, text);
  bar.hidden = false;
  bar.dataset.kind = 'note';
}

export function clearMessage() {
  const bar = $('#message');
  if (bar) bar.hidden = true;
}

function describe(err) {
  if (!err) return t('error.unknown');
  if (err.status === 0) return t('error.network');
  if (err.status === 429) return t('error.rate_limited');
  const field = err.field ? ` (${err.field})` : '';
  return `${err.message || t('error.unknown')}${field}`;
}

// Runs fn() with button disabled; errors go to the message bar.
export async function withButton(button, fn) {
  button.disabled = true;
  try {
    clearMessage();
    return await fn();
  } catch (err) {
    showError(err);
    return undefined;
  } finally {
    button.disabled = false;
  }
}
