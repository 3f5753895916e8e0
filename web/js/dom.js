// Small DOM and formatting helpers shared by the pages.

// h('div', {class: 'x', dataset: {state: 'ready'}, onclick: fn}, child, 'text', ...)
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

export function $(selector, root = document) {
  return root.querySelector(selector);
}

// Replaces el's children.
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// 75000 -> "1:15", 3725000 -> "1:02:05"; negative (clock skew) counts as 0.
export function duration(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return hh > 0 ? `${hh}:${String(mm).padStart(2, '0')}:${ss}` : `${mm}:${ss}`;
}

// 0.0312 -> "3.1%"; null/undefined -> "-".
export function percent(x) {
  return typeof x === 'number' && isFinite(x) ? `${(x * 100).toFixed(1)}%` : '-';
}

export function number(x) {
  return typeof x === 'number' ? x.toLocaleString() : '-';
}

// ISO time or ms -> local "2026-11-24 09:30"; empty -> "-".
export function when(t) {
  if (t === null || t === undefined || t === '') return '-';
  const d = new Date(t);
  if (isNaN(d)) return String(t);
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ` +
    `${p(d.getHours())}:${p(d.getMinutes())}`;
}
