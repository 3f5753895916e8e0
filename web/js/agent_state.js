// Agent states (docs/seat-api.md "States"): display order and labels. Colours are in
// console.css under [data-state=...].
import { h } from './dom.js';
import { t } from './i18n.js';

export const STATES = ['ready', 'reserved', 'on_call', 'wrap_up', 'online', 'break', 'offline'];

export function stateBadge(state, testid) {
  return h('span', { class: 'state', dataset: { state, testid: testid || 'state' } },
    t(`state.${state}`));
}
