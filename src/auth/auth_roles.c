/* Roles and what they may do (docs/api-auth.md has the table). */
#include <string.h>

#include "auth.h"

static const char *const names[AUTH_ROLE_COUNT] = {"admin", "supervisor", "agent", "auditor",
                                                   "backup-operator"};

/* One row per role: the actions it may take. Agents see masked data of their own
 * customers only; unmasking is for admins and supervisors, and is audited. */
static const bool allowed[AUTH_ROLE_COUNT][AUTH_ACTION_COUNT] = {
    [AUTH_ROLE_ADMIN] = {[AUTH_CUSTOMER_READ] = 1, [AUTH_CUSTOMER_WRITE] = 1,
                         [AUTH_CUSTOMER_UNMASK] = 1, [AUTH_CUSTOMER_ERASE] = 1,
                         [AUTH_CUSTOMER_IMPORT] = 1, [AUTH_CUSTOMER_EXPORT] = 1,
                         [AUTH_SCHEMA_WRITE] = 1, [AUTH_DNC_ADD] = 1, [AUTH_DNC_REMOVE] = 1,
                         [AUTH_USER_ADMIN] = 1, [AUTH_AUDIT_READ] = 1,
                         [AUTH_CLUSTER_READ] = 1, [AUTH_CALL_PLACE] = 1, [AUTH_CALL_READ] = 1,
                         [AUTH_CAMPAIGN_WRITE] = 1, [AUTH_CAMPAIGN_READ] = 1,
                         [AUTH_AGENT_READ] = 1, [AUTH_AGENT_STATE] = 1, [AUTH_WALLBOARD] = 1,
                         [AUTH_CALL_DISPOSE] = 1, [AUTH_REPORT_READ] = 1,
                         [AUTH_ALERT_READ] = 1, [AUTH_ALERT_WRITE] = 1,
                         [AUTH_EVENT_READ] = 1, [AUTH_WEBHOOK_ADMIN] = 1,
                         [AUTH_RECORDING_READ] = 1, [AUTH_RECORDING_HOLD] = 1,
                         [AUTH_RECORDING_POLICY] = 1},
    [AUTH_ROLE_SUPERVISOR] = {[AUTH_CUSTOMER_READ] = 1, [AUTH_CUSTOMER_WRITE] = 1,
                              [AUTH_CUSTOMER_UNMASK] = 1, [AUTH_CUSTOMER_IMPORT] = 1,
                              [AUTH_DNC_ADD] = 1, [AUTH_CLUSTER_READ] = 1,
                              [AUTH_CALL_PLACE] = 1, [AUTH_CALL_READ] = 1,
                              [AUTH_CAMPAIGN_WRITE] = 1, [AUTH_CAMPAIGN_READ] = 1,
                              [AUTH_AGENT_READ] = 1, [AUTH_AGENT_STATE] = 1,
                              [AUTH_WALLBOARD] = 1, [AUTH_CALL_DISPOSE] = 1,
                              [AUTH_REPORT_READ] = 1, [AUTH_ALERT_READ] = 1,
                              [AUTH_ALERT_WRITE] = 1, [AUTH_EVENT_READ] = 1,
                              [AUTH_RECORDING_READ] = 1},
    [AUTH_ROLE_AGENT] = {[AUTH_CUSTOMER_READ] = 1, [AUTH_CUSTOMER_WRITE] = 1,
                         [AUTH_DNC_ADD] = 1, [AUTH_CALL_PLACE] = 1, [AUTH_CALL_READ] = 1,
                         [AUTH_CAMPAIGN_READ] = 1, [AUTH_AGENT_READ] = 1,
                         [AUTH_AGENT_STATE] = 1, [AUTH_CALL_DISPOSE] = 1,
                         [AUTH_RECORDING_READ] = 1},
    [AUTH_ROLE_AUDITOR] = {[AUTH_AUDIT_READ] = 1, [AUTH_CLUSTER_READ] = 1,
                           [AUTH_CALL_READ] = 1, [AUTH_CAMPAIGN_READ] = 1,
                           [AUTH_AGENT_READ] = 1, [AUTH_WALLBOARD] = 1,
                           [AUTH_REPORT_READ] = 1, [AUTH_ALERT_READ] = 1,
                           [AUTH_EVENT_READ] = 1, [AUTH_RECORDING_READ] = 1},
    [AUTH_ROLE_BACKUP_OPERATOR] = {[AUTH_BACKUP] = 1, [AUTH_CLUSTER_READ] = 1},
};

const char *auth_role_name(enum auth_role role)
{
    return role < AUTH_ROLE_COUNT ? names[role] : "unknown";
}

int auth_role_parse(const char *text, enum auth_role *out)
{
    for (int i = 0; i < AUTH_ROLE_COUNT; i++) {
        if (strcmp(text, names[i]) == 0) {
            *out = (enum auth_role)i;
            return 0;
        }
    }
    return WAIHU_EINVAL;
}

bool auth_role_allows(enum auth_role role, enum auth_action action)
{
    return role < AUTH_ROLE_COUNT && action < AUTH_ACTION_COUNT && allowed[role][action];
}

bool auth_may_touch(const struct auth_principal *p, uint64_t tenant_id, const char *department,
                    const char *owner)
{
    if (p->system || p->tenant_id != tenant_id) {
        return false;
    }
    switch (p->role) {
    case AUTH_ROLE_ADMIN:
    case AUTH_ROLE_AUDITOR: return true;
    case AUTH_ROLE_SUPERVISOR:
        return p->department[0] == '\0' || strcmp(p->department, department) == 0;
    case AUTH_ROLE_AGENT: return strcmp(p->user, owner) == 0;
    default: return false;
    }
}
