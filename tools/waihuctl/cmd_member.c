/* member list|add|remove|promote|demote: raft membership. */
#include <inttypes.h>
#include <string.h>

#include "cmds.h"
#include "table.h"

static const long OK200[] = {200, 0};

static int print_members(const struct ctl *ctl, json_t *members)
{
    static const char *const hdr[] = {"ID",    "NAME",  "DC",   "ROLE",
                                      "RAFT ADDRESS", "API ADDRESS", "MATCH", "REACHABLE"};
    static const char *const keys[] = {"id",          "name",        "dc",          "role",
                                       "raft_address", "api_address", "match_index", "reachable"};
    struct table t;
    size_t i, k;
    json_t *m;
    int rv = CTL_EXIT_OK;

    if (ctl->output == CTL_OUT_JSON) {
        return ctl_print_json(members);
    }
    if (table_init(&t, 8, hdr) != 0) {
        rv = CTL_EXIT_FAIL;
        goto out;
    }
    json_array_foreach(members, i, m) {
        char cells[8][128];
        const char *row[8];
        for (k = 0; k < 8; k++) {
            row[k] = ctl_jcell(m, keys[k], cells[k], sizeof(cells[k]));
        }
        if (table_add_row(&t, row) != 0) {
            rv = CTL_EXIT_FAIL;
            goto out;
        }
    }
    if (table_print(&t, stdout) != 0) {
        rv = CTL_EXIT_FAIL;
    }
out:
    table_close(&t);
    return rv;
}

static int parse_id(struct ctl *ctl, const char *text, uint64_t *id)
{
    if (args_parse_u64(text, id) != 0 || *id == 0 || *id > INT64_MAX) {
        return ctl_usage_error(ctl, "bad member id \"%s\" (want a positive number)", text);
    }
    return -1;
}

static bool role_valid(const char *role)
{
    return strcmp(role, "voter") == 0 || strcmp(role, "standby") == 0 ||
           strcmp(role, "spare") == 0;
}

int cmd_member_list(struct ctl *ctl, int argc, char **argv)
{
    struct args_spec specs[] = {CTL_GLOBAL_SPECS(ctl)};
    json_t *out = NULL, *members;
    int rv;

    if ((rv = ctl_parse(ctl, argc, argv, specs, NULL, 0, 0)) >= 0) {
        return rv;
    }
    rv = ctl_call(ctl, "member list", "GET", "/v1/cluster", NULL, OK200, &out);
    if (rv == CTL_EXIT_OK) {
        members = json_object_get(out, "members");
        if (!json_is_array(members)) {
            ctl_errorf("member list: answer has no \"members\" array");
            rv = CTL_EXIT_FAIL;
        } else {
            rv = print_members(ctl, members);
        }
    }
    json_decref(out);
    return rv;
}

int cmd_member_add(struct ctl *ctl, int argc, char **argv)
{
    static const long want[] = {200, 201, 0};
    const char *id_arg = NULL, *address = NULL, *role = "standby";
    struct args_spec specs[] = {{"id", 0, ARGS_VALUE, &id_arg, NULL},
                                {"address", 0, ARGS_VALUE, &address, NULL},
                                {"role", 0, ARGS_VALUE, &role, NULL},
                                CTL_GLOBAL_SPECS(ctl)};
    char what[64];
    uint64_t id;
    json_t *body, *out = NULL;
    int rv;

    if ((rv = ctl_parse(ctl, argc, argv, specs, NULL, 0, 0)) >= 0) {
        return rv;
    }
    if (id_arg == NULL || address == NULL) {
        return ctl_usage_error(ctl, "--id and --address are required");
    }
    if ((rv = parse_id(ctl, id_arg, &id)) >= 0) {
        return rv;
    }
    if (endpoints_check(address) != 0) {
        return ctl_usage_error(ctl, "bad --address \"%s\" (want host:port)", address);
    }
    if (!role_valid(role)) {
        return ctl_usage_error(ctl, "bad --role \"%s\" (want voter, standby or spare)", role);
    }
    body = json_pack("{s:I,s:s,s:s}", "id", (json_int_t)id, "raft_address", address, "role",
                     role);
    if (body == NULL) {
        return CTL_EXIT_FAIL;
    }
    snprintf(what, sizeof(what), "member add %" PRIu64, id);
    rv = ctl_call(ctl, what, "POST", "/v1/members", body, want, &out);
    if (rv == CTL_EXIT_OK) {
        rv = ctl_print_one(ctl, out, print_members);
    }
    json_decref(out);
    json_decref(body);
    return rv;
}

int cmd_member_remove(struct ctl *ctl, int argc, char **argv)
{
    static const long want[] = {200, 204, 0};
    struct args_spec specs[] = {CTL_GLOBAL_SPECS(ctl)};
    const char *pos[1];
    char what[64], path[64];
    uint64_t id;
    int rv;

    if ((rv = ctl_parse(ctl, argc, argv, specs, pos, 1, 1)) >= 0) {
        return rv;
    }
    if ((rv = parse_id(ctl, pos[0], &id)) >= 0) {
        return rv;
    }
    snprintf(what, sizeof(what), "member remove %" PRIu64, id);
    snprintf(path, sizeof(path), "/v1/members/%" PRIu64, id);
    rv = ctl_call(ctl, what, "DELETE", path, NULL, want, NULL);
    if (rv == CTL_EXIT_OK) {
        if (ctl->output == CTL_OUT_JSON) {
            printf("{\"id\": %" PRIu64 ", \"removed\": true}\n", id);
        } else {
            printf("member %" PRIu64 " removed\n", id);
        }
    }
    return rv;
}

static int set_role(struct ctl *ctl, const char *verb, const char *id_arg, const char *role)
{
    char what[64], path[64];
    uint64_t id;
    json_t *body, *out = NULL;
    int rv;

    if ((rv = parse_id(ctl, id_arg, &id)) >= 0) {
        return rv;
    }
    body = json_pack("{s:s}", "role", role);
    if (body == NULL) {
        return CTL_EXIT_FAIL;
    }
    snprintf(what, sizeof(what), "member %s %" PRIu64, verb, id);
    snprintf(path, sizeof(path), "/v1/members/%" PRIu64 "/role", id);
    rv = ctl_call(ctl, what, "POST", path, body, OK200, &out);
    if (rv == CTL_EXIT_OK) {
        rv = ctl_print_one(ctl, out, print_members);
    }
    json_decref(out);
    json_decref(body);
    return rv;
}

int cmd_member_promote(struct ctl *ctl, int argc, char **argv)
{
    struct args_spec specs[] = {CTL_GLOBAL_SPECS(ctl)};
    const char *pos[1];
    int rv;

    if ((rv = ctl_parse(ctl, argc, argv, specs, pos, 1, 1)) >= 0) {
        return rv;
    }
    return set_role(ctl, "promote", pos[0], "voter");
}

int cmd_member_demote(struct ctl *ctl, int argc, char **argv)
{
    const char *role = "standby";
    struct args_spec specs[] = {{"role", 0, ARGS_VALUE, &role, NULL}, CTL_GLOBAL_SPECS(ctl)};
    const char *pos[1];
    int rv;

    if ((rv = ctl_parse(ctl, argc, argv, specs, pos, 1, 1)) >= 0) {
        return rv;
    }
    if (strcmp(role, "standby") != 0 && strcmp(role, "spare") != 0) {
        return ctl_usage_error(ctl, "bad --role \"%s\" (want standby or spare)", role);
    }
    return set_role(ctl, "demote", pos[0], role);
}
