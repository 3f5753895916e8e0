// The logged-in user: token, name and role from POST /v1/auth/login, kept in
// sessionStorage (one browser tab = one session; closing the tab logs out).

const KEY = 'waihu.session';

export function session() {
  try {
    const s = JSON.parse(sessionStorage.getItem(KEY) || 'null');
    return s && s.token && s.user && s.role ? s : null;
  } catch {
    return null;
  }
}

export function saveSession(login) {
  const s = { token: login.token, user: login.user, role: login.role,
    expires_ms: Date.now() + (login.expires_in_s || 0) * 1000 };
  sessionStorage.setItem(KEY, JSON.stringify(s));
  return s;
}

export function clearSession() {
  sessionStorage.removeItem(KEY);
}

// Which pages a role may open (the API checks again: this only keeps people off pages
// that would answer 403). The first is the role's home.
export const PAGES = {
  admin: ['wallboard', 'campaigns', 'customers', 'alerts'],
  supervisor: ['wallboard', 'campaigns', 'customers', 'alerts'],
  auditor: ['wallboard', 'campaigns', 'alerts'],
  agent: ['agent', 'customers'],
};

export function pageUrl(page) {
  return `/console/${page}.html`;
}

export function homeOf(role) {
  const pages = PAGES[role];
  return pages ? pageUrl(pages[0]) : null;
}

export function mayOpen(role, page) {
  return (PAGES[role] || []).includes(page);
}

// Sends the browser to the login page, coming back here afterwards.
export function toLogin() {
  const next = location.pathname + location.search + location.hash;
  location.assign(`/console/?next=${encodeURIComponent(next)}`);
}
