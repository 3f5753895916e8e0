/* /v1/cluster, /v1/members, /v1/leader/transfer and /v1/admin/{fence,unfence}. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"

static json_t *member_json(const struct cluster_member_status *m)
{
    return json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:o, s:o}", "id", (json_int_t)m->conf.id,
                     "name", m->conf.name, "dc", m->conf.dc, "raft_address", m->conf.raft_address,
                     "api_address", m->conf.api_address, "role", cluster_role_name(m->conf.role),
                     "match_index",
                     m->has_progress ? json_integer((json_int_t)m->match_index) : json_null(),
                     "reachable", m->has_progress ? json_boolean(m->reachable) : json_null());
}

static void get_cluster(struct api *a, struct http_request *req)
{
    struct cluster_status st;
    cluster_status_get(a->cluster, &st);
    const struct cluster_config *cfg = cluster_config_get(a->cluster);
    json_t *members = json_array();
    for (int i = 0; i < st.n_members; i++) {
        json_array_append_new(members, member_json(&st.members[i]));
    }
    json_t *doc = json_pack(
        "{s:I, s:s, s:s, s:s, s:I, s:I, s:s, s:I, s:I, s:I, s:b, s:b, s:o}", "id",
        (json_int_t)cfg->self.id, "name", cfg->self.name, "dc", cfg->self.dc, "state", st.state,
        "term", (json_int_t)st.term, "leader_id", (json_int_t)st.leader_id, "leader_api_address",
        st.leader_api_address, "commit_index", (json_int_t)st.commit_index, "applied_index",
        (json_int_t)st.applied_index, "last_index", (json_int_t)st.last_index, "ready", st.ready,
        "fenced", st.fenced, "members", members);
    api_json(a, req, 200, doc);
}

struct change_op {
    struct api *a;
    struct http_request *req;
    uint64_t id;
    int ok_status;
};

static void change_done(void *data, int status, const char *errmsg)
{
    struct change_op *o = data;
    if (status == 0) {
        struct cluster_status st;
        cluster_status_get(o->a->cluster, &st);
        json_t *doc = NULL;
        for (int i = 0; i < st.n_members; i++) {
            if (st.members[i].conf.id == o->id) {
                doc = member_json(&st.members[i]);
            }
        }
        if (doc == NULL) {
            doc = json_pack("{s:I, s:I}", "id", (json_int_t)o->id, "leader_id",
                            (json_int_t)st.leader_id);
        }
        api_json(o->a, o->req, o->ok_status, doc);
    } else if (status == WAIHU_EUNAVAILABLE && errmsg != NULL && errmsg[0] != '\0') {
        api_error(o->a, o->req, 503, "unavailable", NULL, "%s", errmsg);
    } else if (status == WAIHU_ENOTLEADER || status == WAIHU_EUNAVAILABLE) {
        api_error_status(o->a, o->req, status, "membership");
    } else if (status == WAIHU_ENOTFOUND) {
        api_error(o->a, o->req, 404, "not_found", NULL, "member %llu: %s",
                  (unsigned long long)o->id, errmsg);
    } else if (status == WAIHU_ECONFLICT) {
        api_error(o->a, o->req, 409, "conflict", NULL, "member %llu: %s",
                  (unsigned long long)o->id, errmsg);
    } else {
        api_error(o->a, o->req, 400, "bad_request", NULL, "member %llu: %s",
                  (unsigned long long)o->id, errmsg);
    }
    free(o);
}

static struct change_op *change_op_new(struct api *a, struct http_request *req, uint64_t id,
                                       int ok_status)
{
    struct change_op *o = calloc(1, sizeof *o);
    if (o == NULL) {
        api_error(a, req, 503, "unavailable", NULL, "out of memory");
        return NULL;
    }
    o->a = a;
    o->req = req;
    o->id = id;
    o->ok_status = ok_status;
    return o;
}

static int role_field(struct api *a, struct http_request *req, json_t *body,
                      enum cluster_role *role)
{
    json_t *r = json_object_get(body, "role");
    if (r == NULL) {
        return 0;
    }
    if (!json_is_string(r) || cluster_role_parse(json_string_value(r), role) != 0) {
        api_error(a, req, 400, "bad_request", "role", "role must be voter, standby or spare");
        return -1;
    }
    return 0;
}

static void add_member(struct api *a, struct http_request *req)
{
    json_t *body = api_body_object(a, req);
    if (body == NULL) {
        return;
    }
    json_t *id = json_object_get(body, "id");
    json_t *addr = json_object_get(body, "raft_address");
    enum cluster_role role = CLUSTER_STANDBY;
    if (!json_is_integer(id) || json_integer_value(id) <= 0) {
        api_error(a, req, 400, "bad_request", "id", "id must be a positive integer");
    } else if (!json_is_string(addr) || strchr(json_string_value(addr), ':') == NULL ||
               json_string_length(addr) >= CLUSTER_ADDR_MAX) {
        api_error(a, req, 400, "bad_request", "raft_address", "raft_address must be host:port");
    } else if (role_field(a, req, body, &role) == 0) {
        struct change_op *o = change_op_new(a, req, (uint64_t)json_integer_value(id), 201);
        if (o != NULL) {
            cluster_member_add(a->cluster, o->id, json_string_value(addr), role, change_done, o);
        }
    }
    json_decref(body);
}

static int parse_id(const char *text, uint64_t *id)
{
    char *end;
    unsigned long long v = strtoull(text, &end, 10);
    if (*text == '\0' || *end != '\0' || v == 0 || *text == '-') {
        return -1;
    }
    *id = v;
    return 0;
}

static void member_route(struct api *a, struct http_request *req, const char *method,
                         const char *rest)
{
    char idbuf[32];
    const char *slash = strchr(rest, '/');
    size_t n = slash ? (size_t)(slash - rest) : strlen(rest);
    uint64_t id;
    if (n == 0 || n >= sizeof idbuf) {
        api_error(a, req, 404, "not_found", NULL, "no such member");
        return;
    }
    memcpy(idbuf, rest, n);
    idbuf[n] = '\0';
    if (parse_id(idbuf, &id) != 0) {
        api_error(a, req, 400, "bad_request", "id", "member id must be a positive integer");
        return;
    }
    if (slash == NULL && strcmp(method, "DELETE") == 0) {
        struct change_op *o = change_op_new(a, req, id, 200);
        if (o != NULL) {
            cluster_member_remove(a->cluster, id, change_done, o);
        }
    } else if (slash != NULL && strcmp(slash, "/role") == 0 && strcmp(method, "POST") == 0) {
        json_t *body = api_body_object(a, req);
        if (body == NULL) {
            return;
        }
        enum cluster_role role;
        if (json_object_get(body, "role") == NULL) {
            api_error(a, req, 400, "bad_request", "role", "role is required");
        } else if (role_field(a, req, body, &role) == 0) {
            struct change_op *o = change_op_new(a, req, id, 200);
            if (o != NULL) {
                cluster_member_assign(a->cluster, id, role, change_done, o);
            }
        }
        json_decref(body);
    } else {
        api_error(a, req, 405, "method_not_allowed", NULL, "%s not allowed here", method);
    }
}

static void transfer(struct api *a, struct http_request *req)
{
    size_t len;
    http_request_body(req, &len);
    uint64_t to = 0;
    if (len > 0) {
        json_t *body = api_body_object(a, req);
        if (body == NULL) {
            return;
        }
        json_t *t = json_object_get(body, "to");
        if (t != NULL && (!json_is_integer(t) || json_integer_value(t) <= 0)) {
            api_error(a, req, 400, "bad_request", "to", "to must be a member id");
            json_decref(body);
            return;
        }
        to = t ? (uint64_t)json_integer_value(t) : 0;
        json_decref(body);
    }
    struct change_op *o = change_op_new(a, req, to, 200);
    if (o != NULL) {
        cluster_leader_transfer(a->cluster, to, change_done, o);
    }
}

static void fence(struct api *a, struct http_request *req)
{
    json_t *body = api_body_object(a, req);
    if (body == NULL) {
        return;
    }
    json_t *d = json_object_get(body, "duration_ms");
    if (!json_is_integer(d) || json_integer_value(d) <= 0 ||
        json_integer_value(d) > 24 * 3600 * 1000) {
        api_error(a, req, 400, "bad_request", "duration_ms", "duration_ms must be 1..86400000");
    } else {
        cluster_fence(a->cluster, (uint64_t)json_integer_value(d));
        api_json(a, req, 200, json_pack("{s:b, s:I}", "fenced", 1, "duration_ms",
                                        json_integer_value(d)));
    }
    json_decref(body);
}

bool api_route_cluster(struct api *a, struct http_request *req, const char *method,
                       const char *path)
{
    if (strcmp(path, "/v1/cluster") == 0) {
        if (strcmp(method, "GET") == 0) {
            get_cluster(a, req);
        } else {
            api_error(a, req, 405, "method_not_allowed", NULL, "%s not allowed here", method);
        }
    } else if (strcmp(path, "/v1/members") == 0) {
        if (strcmp(method, "POST") == 0) {
            add_member(a, req);
        } else if (strcmp(method, "GET") == 0) {
            get_cluster(a, req);
        } else {
            api_error(a, req, 405, "method_not_allowed", NULL, "%s not allowed here", method);
        }
    } else if (strncmp(path, "/v1/members/", 12) == 0) {
        member_route(a, req, method, path + 12);
    } else if (strcmp(path, "/v1/leader/transfer") == 0 && strcmp(method, "POST") == 0) {
        transfer(a, req);
    } else if (strcmp(path, "/v1/admin/fence") == 0 && strcmp(method, "POST") == 0) {
        fence(a, req);
    } else if (strcmp(path, "/v1/admin/unfence") == 0 && strcmp(method, "POST") == 0) {
        cluster_unfence(a->cluster);
        api_json(a, req, 200, json_pack("{s:b}", "fenced", 0));
    } else {
        return false;
    }
    return true;
}
