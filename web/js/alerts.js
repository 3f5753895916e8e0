// Alerts page (docs/alerts.md): the fired alerts with their acknowledgements and webhook
// deliveries, read again every REFRESH_MS; the alert rules with a form to create, replace
// and delete them. Auditors read both; agents are kept off (session.js, and the API's 403).
import { setupRuleForm } from './alerts_form.js';
import { renderAlerts } from './alerts_list.js';
import { renderRules } from './alerts_rules.js';
import { get } from './api.js';
import { showError, startPage } from './layout.js';

const REFRESH_MS = 10000; // webhook deliveries move on without a push to the console
const s = startPage('alerts');
const canWrite = s && (s.role === 'admin' || s.role === 'supervisor');
let timer = null;

async function loadRules() {
  renderRules((await get('/v1/alert-rules')).items || [], canWrite, refreshAll);
}

async function loadAlerts() {
  renderAlerts(await get('/v1/alerts?limit=100'), canWrite, () => loadAlerts().catch(showError));
}

// Rules are read at load and after a change here, not on the timer: a re-drawn list
// would drop a Delete button waiting for its second click.
async function refresh(withRules) {
  clearTimeout(timer);
  try {
    await Promise.all([loadAlerts(), withRules ? loadRules() : null]);
  } catch (err) {
    showError(err);
    if (err.status === 403) return;
  }
  timer = setTimeout(() => refresh(false), REFRESH_MS);
}

function refreshAll() {
  return refresh(true);
}

if (s) {
  if (canWrite) setupRuleForm(refreshAll);
  refreshAll();
}
