// Injected into every page before its scripts: records in window.__states each time an
// element with data-testid and data-state first shows a state ({key, state, at_ms}), and
// when the last element of a key leaves the page (state "gone"), so a test can tell when
// the page showed a change, not when the test happened to look.
export function trackStates() {
  window.__states = [];
  const last = new Map();
  function scan() {
    const now = Date.now();
    const present = new Set();
    for (const el of document.querySelectorAll('[data-testid][data-state]')) {
      const key = el.dataset.testid;
      present.add(key);
      if (last.get(key) !== el.dataset.state) {
        last.set(key, el.dataset.state);
        window.__states.push({ key, state: el.dataset.state, at_ms: now });
      }
    }
    for (const key of last.keys()) {
      if (!present.has(key)) {
        last.delete(key);
        window.__states.push({ key, state: 'gone', at_ms: now });
      }
    }
  }
  new MutationObserver(scan).observe(document, {
    subtree: true, childList: true, attributes: true, attributeFilter: ['data-state'] });
}
