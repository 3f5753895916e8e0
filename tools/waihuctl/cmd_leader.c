/* leader transfer: hand raft leadership to another voter. */
#include <inttypes.h>

#include "cmds.h"

int cmd_leader_transfer(struct ctl *ctl, int argc, char **argv)
{
    static const long want[] = {200, 0};
    const char *to = NULL;
    struct args_spec specs[] = {{"to", 0, ARGS_VALUE, &to, NULL}, CTL_GLOBAL_SPECS(ctl)};
    uint64_t id = 0;
    json_t *body, *out = NULL;
    int rv;

    if ((rv = ctl_parse(ctl, argc, argv, specs, NULL, 0, 0)) >= 0) {
        return rv;
    }
    if (to != NULL && (args_parse_u64(to, &id) != 0 || id == 0 || id > INT64_MAX)) {
        return ctl_usage_error(ctl, "bad --to \"%s\" (want a member id)", to);
    }
    body = to != NULL ? json_pack("{s:I}", "to", (json_int_t)id) : json_object();
    if (body == NULL) {
        return CTL_EXIT_FAIL;
    }
    rv = ctl_call(ctl, "leader transfer", "POST", "/v1/leader/transfer", body, want, &out);
    if (rv == CTL_EXIT_OK) {
        if (ctl->output == CTL_OUT_JSON) {
            rv = ctl_print_json(out);
        } else {
            printf("leader is now %" PRIu64 "\n", ctl_ju64(out, "leader_id", 0));
        }
    }
    json_decref(out);
    json_decref(body);
    return rv;
}
