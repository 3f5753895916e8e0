// The agent desktop's preview panel (docs/seat-api.md, preview mode): while the agent is
// in a running preview campaign and free, the lead offered to it (its customer read once
// per offer: reads are audited), how long the offer holds, "call now" / "skip".
import { enc, get, post } from './api.js';
import { $, fill, h } from './dom.js';
import { t } from './i18n.js';
import { showError, withButton } from './layout.js';
import { until } from './timers.js';

const POLL_MS = 3000;
const CAMPAIGNS_MS = 10000;
let user = '';
let lead = null;        // the offer shown
let customer = null;    // its customer
let campaigns = [];     // running preview campaigns that list this agent
let campaignsAt = 0;
let timer = null;

async function myPreviewCampaigns() {
  if (Date.now() - campaignsAt < CAMPAIGNS_MS) return campaigns;
  const doc = await get('/v1/campaigns');
  campaigns = (doc.items || []).filter((c) => c.mode === 'preview' && c.state === 'running' &&
    (c.agents || []).includes(user));
  campaignsAt = Date.now();
  return campaigns;
}

function render(reason) {
  $('#preview').hidden = campaigns.length === 0;
  if (!lead) {
    fill($('#lead'), h('p', { class: 'muted', dataset: { testid: 'preview-reason' } },
      reason || t('desk.no_lead')));
    $('#call-now').disabled = $('#skip').disabled = true;
    return;
  }
  const c = customer || {};
  const camp = campaigns.find((x) => x.id === lead.campaign_id);
  fill($('#lead'), h('div', { class: 'screen-pop', dataset: { testid: 'preview-lead' } },
    h('div', { class: 'who' }, h('b', { dataset: { testid: 'preview-name' } }, c.name || '-'),
      h('span', { class: 'phone', dataset: { testid: 'preview-phone' } }, c.phone || '-')),
    h('div', {}, (c.tags || []).map((tag) => h('span', { class: 'tag' }, tag))),
    c.notes ? h('p', { class: 'notes' }, c.notes) : null,
    h('p', { class: 'muted small' }, camp ? `${t('desk.campaign')}: ${camp.name} · ` : '',
      `${t('desk.offer_left')} `,
      h('span', { dataset: { until: lead.until_ms } }, until(lead.until_ms)))));
  $('#call-now').disabled = $('#skip').disabled = false;
}

// Asks for an offer while the agent is free (ready or not ready, no call) and in a
// preview campaign; looks again at its campaigns every CAMPAIGNS_MS.
export async function refreshPreview(agent) {
  clearTimeout(timer);
  const free = agent && !agent.call_id && (agent.state === 'ready' || agent.state === 'online');
  if (!free) {
    lead = null;
    $('#preview').hidden = true;
    return; // the next change of the agent asks again
  }
  timer = setTimeout(() => refreshPreview(agent), POLL_MS);
  try {
    if ((await myPreviewCampaigns()).length === 0) {
      lead = null;
      $('#preview').hidden = true;
      return;
    }
    const doc = await get(`/v1/agents/${enc(user)}/preview`);
    const next = doc.lead;
    const same = next && lead && next.campaign_id === lead.campaign_id &&
      next.customer_id === lead.customer_id;
    if (next && !same) {
      customer = null;
      customer = await get(`/v1/customers/${enc(next.customer_id)}`);
    }
    lead = next;
    render(doc.reason);
  } catch (err) {
    showError(err);
  }
}

export function setupPreview(name, after) {
  user = name;
  const act = (what) => (ev) => withButton(ev.target, async () => {
    if (!lead) return;
    const offer = lead;
    lead = null;
    await post(`/v1/agents/${enc(user)}/preview/${what}`,
      { campaign_id: offer.campaign_id, customer_id: offer.customer_id });
    render();
    await after();
  });
  $('#call-now').addEventListener('click', act('call'));
  $('#skip').addEventListener('click', act('skip'));
}
