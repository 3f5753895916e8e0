#include "drill_plan.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "common.h"
#include "endpoints.h"

static const char *jstr(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : "";
}

static uint64_t ju64(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_integer(v) && json_integer_value(v) > 0 ? (uint64_t)json_integer_value(v) : 0;
}

static void list_dcs(const struct drill_plan *p, char *buf, size_t len)
{
    size_t i, j, used = 0;

    buf[0] = '\0';
    for (i = 0; i < p->n; i++) {
        for (j = 0; j < i && strcmp(p->members[j].dc, p->members[i].dc) != 0; j++) {
        }
        if (j == i && used < len) {
            snprintf(buf + used, len - used, "%s%s", used ? ", " : "", p->members[i].dc);
            used = strlen(buf);
        }
    }
}

int drill_plan_make(const json_t *cluster, const char *dc, struct drill_plan *out, char *errmsg,
                    size_t errlen)
{
    const json_t *members = json_object_get(cluster, "members");
    const struct drill_member *leader;
    char dcs[256];
    size_t i;
    json_t *m;

    memset(out, 0, sizeof(*out));
    if (!json_is_array(members) || json_array_size(members) == 0) {
        snprintf(errmsg, errlen, "the cluster answer lists no members");
        return WAIHU_EINVAL;
    }
    if (json_array_size(members) > DRILL_MEMBERS_MAX) {
        snprintf(errmsg, errlen, "too many members (max %d)", DRILL_MEMBERS_MAX);
        return WAIHU_EINVAL;
    }
    json_array_foreach(members, i, m) {
        struct drill_member *d = &out->members[out->n++];
        d->id = ju64(m, "id");
        snprintf(d->name, sizeof(d->name), "%s", jstr(m, "name"));
        snprintf(d->dc, sizeof(d->dc), "%s", jstr(m, "dc"));
        snprintf(d->api_address, sizeof(d->api_address), "%s", jstr(m, "api_address"));
        if (d->id == 0 || endpoints_check(d->api_address) != 0) {
            snprintf(errmsg, errlen, "member %" PRIu64 ": bad id or api_address \"%s\"", d->id,
                     d->api_address);
            return WAIHU_EINVAL;
        }
        d->in_dc = strcmp(d->dc, dc) == 0;
        out->n_in_dc += d->in_dc ? 1 : 0;
    }
    list_dcs(out, dcs, sizeof(dcs));
    if (out->n_in_dc == 0) {
        snprintf(errmsg, errlen, "no member in dc \"%s\" (dcs: %s)", dc, dcs);
        return WAIHU_EINVAL;
    }
    if (out->n_in_dc == out->n) {
        snprintf(errmsg, errlen, "every member is in dc \"%s\": nobody would survive", dc);
        return WAIHU_EINVAL;
    }
    out->old_leader = ju64(cluster, "leader_id");
    leader = drill_plan_find(out, out->old_leader);
    out->old_leader_in_dc = leader != NULL && leader->in_dc;
    return 0;
}

const struct drill_member *drill_plan_find(const struct drill_plan *p, uint64_t id)
{
    size_t i;

    for (i = 0; i < p->n && id != 0; i++) {
        if (p->members[i].id == id) {
            return &p->members[i];
        }
    }
    return NULL;
}
