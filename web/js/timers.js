// Live timers ("in this state for 1:23"): elements with data-since="<ms>" show the time
// since then, data-until="<ms>" the time left, refreshed every second. States are stamped by the cluster leader's clock;
// when the server tells its time (now_ms) the difference to this browser's clock is
// taken off, so a PC whose clock is off still shows the right durations.
import { duration } from './dom.js';

let offsetMs = 0;

export function serverNow(nowMs) {
  if (typeof nowMs === 'number' && nowMs > 0) offsetMs = nowMs - Date.now();
}

export function now() {
  return Date.now() + offsetMs;
}

// "-" for 0: an agent never seen has no start time.
export function since(ms) {
  return ms > 0 ? duration(now() - ms) : '-';
}

export function until(ms) {
  return duration(ms - now());
}

function tick() {
  for (const el of document.querySelectorAll('[data-since]')) {
    el.textContent = since(Number(el.dataset.since));
  }
  for (const el of document.querySelectorAll('[data-until]')) {
    el.textContent = until(Number(el.dataset.until));
  }
}

export function startTicking() {
  tick();
  setInterval(tick, 1000);
}
