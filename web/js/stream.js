// The live stream (WebSocket /v1/stream, docs/seat-api.md): the token goes as the first
// message; the server answers "hello", then pushes "agent" and "totals" messages, and to
// roles that read alerts "alert" and "alert_ack" (docs/alerts.md).
// Reconnects after any close with a growing delay (1 s .. 10 s). indicator (an element)
// says whether the page is live; onReconnect runs when the stream is back after a drop,
// for the page to read again what it may have missed.
import { enc, get } from './api.js';
import { fill } from './dom.js';
import { t } from './i18n.js';
import { session, toLogin } from './session.js';

const POLICY_VIOLATION = 1008;

export function openStream({ onHello, onAgent, onTotals, onAlert, onAlertAck, onReconnect,
  indicator }) {
  let ws = null;
  let delayMs = 1000;
  let timer = null;
  let stopped = false;
  let dropped = false;

  function status(s) {
    if (s === 'down') dropped = true;
    if (indicator) {
      indicator.dataset.status = s;
      fill(indicator, t(`live.${s}`));
    }
  }

  function connect() {
    const s = session();
    if (!s) return toLogin();
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    status('connecting');
    ws = new WebSocket(`${proto}//${location.host}/v1/stream`);
    ws.onopen = () => ws.send(JSON.stringify({ token: s.token }));
    ws.onmessage = (ev) => {
      let m;
      try {
        m = JSON.parse(ev.data);
      } catch {
        return;
      }
      if (m.type === 'hello') {
        delayMs = 1000;
        status('live');
        if (onHello) onHello(m);
        if (dropped && onReconnect) onReconnect();
        dropped = false;
      } else if (m.type === 'agent' && m.agent && onAgent) {
        onAgent(m.agent);
      } else if (m.type === 'totals' && m.totals && onTotals) {
        onTotals(m.totals);
      } else if (m.type === 'alert' && m.alert && onAlert) {
        onAlert(m.alert);
      } else if (m.type === 'alert_ack' && m.id && onAlertAck) {
        onAlertAck(m);
      }
    };
    ws.onclose = (ev) => {
      ws = null;
      if (stopped) return;
      status('down');
      // 1008 is a refused token, or a client too slow to read, or a bad first message:
      // ask the API whether the token is still good (a 401 there leads to the login page).
      if (ev.code === POLICY_VIOLATION) get(`/v1/agents/${enc(session().user)}`).catch(() => {});
      timer = setTimeout(connect, delayMs);
      delayMs = Math.min(delayMs * 2, 10000);
    };
  }

  connect();
  return {
    close() {
      stopped = true;
      clearTimeout(timer);
      if (ws) ws.close();
    },
  };
}
