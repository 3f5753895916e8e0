// Drives Debian's headless Chromium through playwright-core for
// tests/integration/test_console.py: one JSON command per line on stdin, one JSON answer
// per line on stdout ({"ok": true, ...} or {"error": "..."}). Each browser "tab" is its
// own context (own sessionStorage), so a supervisor and an agent can be logged in at
// once. Every wait is a condition with a deadline; nothing sleeps.
//
//   node driver.mjs --base http://127.0.0.1:30011 [--chromium /usr/bin/chromium]
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';
import { trackStates } from './track.mjs';

const args = Object.fromEntries(process.argv.slice(2).reduce((acc, a, i, all) =>
  (a.startsWith('--') ? [...acc, [a.slice(2), all[i + 1]]] : acc), []));
const base = args.base;
const executablePath = args.chromium || process.env.WAIHU_CHROMIUM || '/usr/bin/chromium';
if (!base) {
  console.error('usage: node driver.mjs --base http://HOST:PORT');
  process.exit(2);
}

const browser = await chromium.launch({ executablePath, headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
const tabs = new Map(); // id -> {context, page, errors}

function tab(id) {
  const t = tabs.get(id);
  if (!t) throw new Error(`no tab ${id}`);
  return t;
}

async function open({ id, lang = 'en-US' }) {
  if (tabs.has(id)) await tabs.get(id).context.close();
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 },
    locale: lang, baseURL: base });
  await context.addInitScript(trackStates);
  const page = await context.newPage();
  const t = { context, page, errors: [] };
  page.on('pageerror', (e) => t.errors.push(String(e && e.stack ? e.stack : e)));
  tabs.set(id, t);
  return {};
}

// Logs in through the login form; answers the page it lands on.
async function login({ id, user, password, next }) {
  const { page } = tab(id);
  await page.goto(next ? `/console/?next=${encodeURIComponent(next)}` : '/console/');
  await page.fill('[data-testid=username]', user);
  await page.fill('[data-testid=password]', password);
  await page.click('[data-testid=login]');
  await page.waitForURL((u) => u.pathname.endsWith('.html'), { timeout: 10000 });
  return { url: page.url() };
}

const ops = {
  open,
  login,
  async goto({ id, path }) {
    await tab(id).page.goto(path);
    return { url: tab(id).page.url() };
  },
  async url({ id }) {
    return { url: tab(id).page.url() };
  },
  async wait({ id, selector, state = 'visible', timeout_ms = 10000 }) {
    await tab(id).page.waitForSelector(selector, { state, timeout: timeout_ms });
    return { at_ms: Date.now() };
  },
  // Waits until element data-testid=key has had data-state=state since since_ms (page
  // clock = this machine's), answering when the page first showed it; state "gone": when
  // the last element of that key left the page (track.mjs).
  async wait_state({ id, key, state, since_ms = 0, timeout_ms = 10000 }) {
    const h = await tab(id).page.waitForFunction(
      ([k, s, t]) => (window.__states || []).find((c) => c.key === k && c.state === s && c.at_ms >= t),
      [key, state, since_ms], { timeout: timeout_ms, polling: 50 });
    return await h.jsonValue();
  },
  async states({ id }) {
    return { states: await tab(id).page.evaluate(() => window.__states || []) };
  },
  async click({ id, selector, timeout_ms = 10000 }) {
    await tab(id).page.click(selector, { timeout: timeout_ms });
    return {};
  },
  async fill({ id, selector, value }) {
    await tab(id).page.fill(selector, value);
    return {};
  },
  async check({ id, selector, checked = true }) {
    await tab(id).page.setChecked(selector, checked);
    return {};
  },
  async select({ id, selector, value }) {
    await tab(id).page.selectOption(selector, value);
    return {};
  },
  async text({ id, selector, timeout_ms = 10000 }) {
    return { text: await tab(id).page.textContent(selector, { timeout: timeout_ms }) };
  },
  async texts({ id, selector }) {
    return { texts: await tab(id).page.$$eval(selector, (els) => els.map((e) => e.textContent)) };
  },
  async content({ id }) {
    return { html: await tab(id).page.content() };
  },
  // js is an expression evaluated in the page.
  async eval({ id, js }) {
    return { value: await tab(id).page.evaluate(js) };
  },
  async screenshot({ id, path, full_page = true }) {
    await tab(id).page.screenshot({ path, fullPage: full_page });
    return { path };
  },
  async errors({ id }) {
    return { errors: tab(id).errors };
  },
  async close({ id }) {
    await tab(id).context.close();
    tabs.delete(id);
    return {};
  },
};

function answer(doc) {
  process.stdout.write(`${JSON.stringify(doc)}\n`);
}

answer({ ok: true, ready: true, chromium: browser.version() });
const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  if (!line.trim()) continue;
  let cmd;
  try {
    cmd = JSON.parse(line);
  } catch (e) {
    answer({ error: `bad command: ${e.message}` });
    continue;
  }
  if (cmd.op === 'quit') break;
  const fn = ops[cmd.op];
  if (!fn) {
    answer({ error: `unknown op ${cmd.op}` });
    continue;
  }
  try {
    answer({ ok: true, ...(await fn(cmd)) });
  } catch (e) {
    answer({ error: String(e && e.message ? e.message : e).split('\n').slice(0, 6).join('\n') });
  }
}
await browser.close();
