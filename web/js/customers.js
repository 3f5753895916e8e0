// Customers page: search by filter (docs/api-customers.md "Filters"), pages of 50, phones
// as the API gives them (masked). Reading a page is audited by the server.
import { enc, get } from './api.js';
import { $, fill, h, number, when } from './dom.js';
import { t } from './i18n.js';
import { showError, startPage, withButton } from './layout.js';

const PAGE = 50;
const s = startPage('customers');
let filter = '';
let cursor = null;

function row(c) {
  return h('tr', { dataset: { testid: `customer-${c.id}` } },
    h('td', {}, c.name || '-'),
    h('td', { class: 'phone', dataset: { testid: 'phone' } }, c.phone || '-'),
    h('td', {}, (c.tags || []).map((tag) => h('span', { class: 'tag' }, tag))),
    h('td', {}, c.status || ''),
    h('td', {}, c.owner || ''),
    h('td', {}, when(c.last_contact)));
}

async function page(first) {
  const q = `filter=${enc(filter)}&limit=${PAGE}${cursor && !first ? `&cursor=${enc(cursor)}` : ''}`;
  const doc = await get(`/v1/customers?${q}`);
  const rows = (doc.items || []).map(row);
  if (first) fill($('#rows'), rows);
  else $('#rows').append(...rows);
  cursor = doc.next_cursor || null;
  $('#more').hidden = !cursor;
  $('#empty').hidden = $('#rows').children.length > 0;
}

async function search() {
  cursor = null;
  fill($('#count'), '');
  await page(true);
  const c = await get(`/v1/customers/count?filter=${enc(filter)}`);
  fill($('#count'), t('customers.count', { n: number(c.count) }));
}

if (s) {
  const form = $('#search');
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    filter = form.filter.value.trim();
    withButton(form.querySelector('button'), search);
  });
  $('#more').addEventListener('click', (ev) => withButton(ev.target, () => page(false)));
  search().catch(showError);
}
