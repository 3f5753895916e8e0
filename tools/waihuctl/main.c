/* waihuctl: the operators' CLI for a Waihu cluster (docs/api-cluster.md).
 * waihuctl [global flags] <group> <command> [args] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmds.h"
#include "ctl.h"

const struct ctl_cmd ctl_cmds[] = {
    {"cluster", "status", "", "show every member's view and the cluster's health", NULL,
     cmd_cluster_status},
    {"member", "list", "", "list members", NULL, cmd_member_list},
    {"member", "add", "--id N --address HOST:PORT [--role voter|standby|spare]",
     "add a member (started with --join)",
     "  --id N               member id\n"
     "  --address HOST:PORT  its raft address\n"
     "  --role ROLE          voter|standby|spare (default standby: let it catch up, then "
     "promote)\n",
     cmd_member_add},
    {"member", "remove", "ID", "remove a member", NULL, cmd_member_remove},
    {"member", "promote", "ID", "make a member a voter", NULL, cmd_member_promote},
    {"member", "demote", "ID [--role standby|spare]", "make a voter a standby or spare",
     "  --role ROLE  standby|spare (default standby)\n", cmd_member_demote},
    {"leader", "transfer", "[--to ID]", "hand leadership to another voter",
     "  --to ID  target voter (default: the server picks)\n", cmd_leader_transfer},
    {"settings", "get", "KEY [--stale]", "read a setting",
     "  --stale  read the answering node's replica instead of a linearizable read\n",
     cmd_settings_get},
    {"settings", "put", "KEY VALUE [--version N]", "write a setting",
     "  --version N  compare-and-set: apply only if the current version is N (0: must not "
     "exist)\n",
     cmd_settings_put},
    {"settings", "delete", "KEY [--version N]", "delete a setting",
     "  --version N  compare-and-set: delete only if the current version is N\n",
     cmd_settings_delete},
    {"settings", "list", "[--prefix P]", "list settings", "  --prefix P  only keys starting with P\n",
     cmd_settings_list},
    {"drill", "dc-failover", "--dc NAME [--fence-ms 60000] [--timeout-s 60]",
     "fence a datacenter, time the failover and the convergence after unfencing",
     "  --dc NAME        datacenter whose members are fenced\n"
     "  --fence-ms N     fence duration, a safety net if waihuctl dies (default 60000)\n"
     "  --timeout-s N    give up each phase after N seconds (default 60)\n",
     cmd_drill_dc_failover},
    {"import", "start", "FILE --map COL=FIELD,... [--encoding auto|utf-8|gb18030]",
     "import customers from a CSV file in the node's import directory; prints the job id",
     "  --map COL=FIELD,...  CSV column to customer field (name, phone, tags, a custom\n"
     "                       field...); \\, and \\= escape a comma or '=' in a column\n"
     "  --encoding ENC       auto (default), utf-8 or gb18030\n",
     cmd_import_start},
    {"import", "status", "ID [--wait] [--timeout-s N]",
     "show an import's progress, counts and first errors",
     "  --wait         poll until the job is done or failed (exit 1 if failed)\n"
     "  --timeout-s N  give up waiting after N seconds (default 3600)\n"
     "A job lives on the node that started it: the first reachable endpoint is asked,\n"
     "as with start; point --endpoints at that node if another one answers 404.\n",
     cmd_import_status},
    {NULL, NULL, NULL, NULL, NULL, NULL},
};

static const char GLOBAL_HELP[] =
    "Global flags:\n"
    "  --endpoints H:P,H:P   API endpoints, tried in order (default $WAIHU_ENDPOINTS or "
    ENDPOINTS_DEFAULT ")\n"
    "  -o, --output FORMAT   table|json (default table)\n"
    "  --timeout-ms N        per-request timeout (default 5000)\n"
    "  -h, --help            help for any group or command\n"
    "\nExit codes: 0 ok, 1 request failed, 2 usage error, 3 no endpoint reachable.\n";

static void print_main_help(FILE *f)
{
    const struct ctl_cmd *c;

    fprintf(f, "usage: waihuctl [global flags] <group> <command> [args]\n\nCommands:\n");
    for (c = ctl_cmds; c->group != NULL; c++) {
        fprintf(f, "  %-8s %-12s %s\n", c->group, c->name, c->summary);
    }
    fprintf(f, "\n%s", GLOBAL_HELP);
}

static bool group_exists(const char *group)
{
    const struct ctl_cmd *c;

    for (c = ctl_cmds; c->group != NULL; c++) {
        if (strcmp(c->group, group) == 0) {
            return true;
        }
    }
    return false;
}

static void print_group_help(FILE *f, const char *group)
{
    const struct ctl_cmd *c;

    fprintf(f, "usage: waihuctl %s <command> [args]\n\nCommands:\n", group);
    for (c = ctl_cmds; c->group != NULL; c++) {
        if (strcmp(c->group, group) == 0) {
            fprintf(f, "  %-12s %s\n", c->name, c->summary);
        }
    }
    fprintf(f, "\nRun 'waihuctl %s <command> --help' for details.\n", group);
}

int main(int argc, char **argv)
{
    struct ctl ctl;
    struct args_spec specs[] = {CTL_GLOBAL_SPECS(&ctl)};
    struct args_result res = {0};
    const struct ctl_cmd *c;
    const char *group, *name;
    char err[256];
    int first, rv;
    bool help;

    ctl_init(&ctl);
    if (args_parse(argc - 1, argv + 1, specs, true, &res, err, sizeof(err)) != 0) {
        fprintf(stderr, "waihuctl: %s\nusage: waihuctl [global flags] <group> <command> [args]\n",
                err);
        return CTL_EXIT_USAGE;
    }
    first = 1 + res.next;
    help = res.help;
    if (first >= argc) {
        print_main_help(help ? stdout : stderr);
        return help ? CTL_EXIT_OK : CTL_EXIT_USAGE;
    }
    group = argv[first];
    if (!group_exists(group)) {
        fprintf(stderr, "waihuctl: unknown command \"%s\"\n", group);
        fprintf(stderr, "usage: waihuctl [global flags] <group> <command> [args]\n");
        return CTL_EXIT_USAGE;
    }
    /* Global flags and --help may also sit between the group and the command. */
    if (args_parse(argc - first - 1, argv + first + 1, specs, true, &res, err, sizeof(err)) !=
        0) {
        fprintf(stderr, "waihuctl: %s\nusage: waihuctl %s <command> [args]\n", err, group);
        return CTL_EXIT_USAGE;
    }
    help = help || res.help;
    if (res.next >= argc - first - 1) {
        print_group_help(help ? stdout : stderr, group);
        return help ? CTL_EXIT_OK : CTL_EXIT_USAGE;
    }
    first += 1 + res.next;
    name = argv[first];
    for (c = ctl_cmds; c->group != NULL; c++) {
        if (strcmp(c->group, group) == 0 && strcmp(c->name, name) == 0) {
            break;
        }
    }
    if (c->group == NULL) {
        fprintf(stderr, "waihuctl: unknown command \"%s %s\"\n", group, name);
        fprintf(stderr, "usage: waihuctl %s <command> [args]\n", group);
        return CTL_EXIT_USAGE;
    }
    ctl.cmd = c;
    if (help) {
        argv[first] = "--help"; /* `waihuctl settings --help put` means help for put */
        rv = c->run(&ctl, argc - first, argv + first);
    } else {
        rv = c->run(&ctl, argc - first - 1, argv + first + 1);
    }
    ctl_close(&ctl);
    return rv;
}

void ctl_print_cmd_help(const struct ctl_cmd *c, FILE *f)
{
    fprintf(f, "%s\n\nusage: waihuctl %s %s%s%s\n", c->summary, c->group, c->name,
            c->args[0] ? " " : "", c->args);
    if (c->help != NULL) {
        fprintf(f, "\nFlags:\n%s", c->help);
    }
    fprintf(f, "\n%s", GLOBAL_HELP);
}
