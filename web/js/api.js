// Calls the REST API of the node that served the page, with the session's bearer token.
import { clearSession, session, toLogin } from './session.js';

export class ApiError extends Error {
  constructor(status, doc) {
    const e = (doc && doc.error) || {};
    super(e.message || `HTTP ${status}`);
    this.status = status;
    this.code = e.code || '';
    this.field = e.field || null;
    this.retryAfterMs = e.retry_after_ms || 0;
  }
}

// Resolves with the parsed JSON body of a 2xx answer; rejects with ApiError otherwise.
// A 401 means the token expired or was never valid: back to the login page.
export async function api(method, path, body) {
  const s = session();
  const headers = { Accept: 'application/json' };
  if (s) headers.Authorization = `Bearer ${s.token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let r;
  try {
    r = await fetch(path, { method, headers, cache: 'no-store',
      body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (err) {
    throw new ApiError(0, { error: { code: 'network', message: String(err.message || err) } });
  }
  const text = await r.text();
  let doc = null;
  try {
    doc = text ? JSON.parse(text) : null;
  } catch {
    doc = null;
  }
  if (r.status === 401 && s && path !== '/v1/auth/login') {
    clearSession();
    toLogin();
  }
  if (!r.ok) throw new ApiError(r.status, doc);
  return doc;
}

export const get = (path) => api('GET', path);
export const post = (path, body) => api('POST', path, body === undefined ? {} : body);
export const put = (path, body) => api('PUT', path, body);
export const del = (path) => api('DELETE', path);

// encodeURIComponent for path segments and query values.
export const enc = encodeURIComponent;
