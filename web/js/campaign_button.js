// The pause/resume button of a campaign (campaigns page and wallboard).
import { enc, post } from './api.js';
import { h } from './dom.js';
import { t } from './i18n.js';
import { withButton } from './layout.js';

// Pause or resume; the list and the open campaign are read again after.
export function stateButton(c, after) {
  const pause = c.state === 'running';
  const button = h('button', { class: pause ? 'secondary' : '',
    dataset: { testid: `${pause ? 'pause' : 'resume'}-${c.id}` } },
  t(pause ? 'campaigns.pause' : 'campaigns.resume'));
  button.addEventListener('click', (ev) => {
    ev.stopPropagation();
    withButton(button, async () => {
      await post(`/v1/campaigns/${enc(c.id)}/${pause ? 'pause' : 'resume'}`);
      await after();
    });
  });
  return button;
}
