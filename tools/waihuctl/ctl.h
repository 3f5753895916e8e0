/* waihuctl's shared context: global options, the HTTP client, exit codes, and the helpers
 * every command group uses to call the API and print results. */
#ifndef WAIHUCTL_CTL_H
#define WAIHUCTL_CTL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "args.h"
#include "endpoints.h"
#include "http.h"

enum ctl_exit {
    CTL_EXIT_OK = 0,
    CTL_EXIT_FAIL = 1,        /* the request failed: server error, conflict, not found */
    CTL_EXIT_USAGE = 2,       /* unknown command or flag, bad argument */
    CTL_EXIT_UNREACHABLE = 3, /* no endpoint answered */
};

#define CTL_DEFAULT_TIMEOUT_MS 5000

enum ctl_output { CTL_OUT_TABLE, CTL_OUT_JSON };

struct ctl_cmd;

struct ctl {
    /* Raw global flags, validated by ctl_parse once the whole command line is read. */
    const char *endpoints_arg;
    const char *output_arg;
    const char *timeout_arg;

    struct endpoints endpoints;
    enum ctl_output output;
    long timeout_ms;
    struct http_client http;
    uint64_t client_id;   /* random X-Waihu-Client for this run's writes */
    uint64_t seq;         /* last X-Waihu-Seq used */
    const struct ctl_cmd *cmd;
};

/* A subcommand: "<group> <name>". run gets argv after the name. */
struct ctl_cmd {
    const char *group;
    const char *name;
    const char *args;     /* usage after "waihuctl <group> <name>" */
    const char *summary;
    const char *help;     /* flag descriptions, may be NULL */
    int (*run)(struct ctl *ctl, int argc, char **argv);
};

extern const struct ctl_cmd ctl_cmds[];

/* The global flags, for inclusion at the end of every command's args_spec table. */
#define CTL_GLOBAL_SPECS(c)                                                                    \
    {"endpoints", 0, ARGS_VALUE, &(c)->endpoints_arg, NULL},                                   \
        {"output", 'o', ARGS_VALUE, &(c)->output_arg, NULL},                                   \
        {"timeout-ms", 0, ARGS_VALUE, &(c)->timeout_arg, NULL}, {NULL, 0, ARGS_FLAG, NULL, NULL}

/* Parses a command's argv with specs (which must end with CTL_GLOBAL_SPECS), requiring
 * min_pos..max_pos positionals, then validates globals and opens the HTTP client.
 * Returns -1 when the command should run, else the exit code to return at once
 * (0 after --help, CTL_EXIT_USAGE after printing the error and usage line). */
int ctl_parse(struct ctl *ctl, int argc, char **argv, const struct args_spec *specs,
              const char **pos, size_t min_pos, size_t max_pos);

/* Prints a command's help (summary, usage, flags, global flags) to f. */
void ctl_print_cmd_help(const struct ctl_cmd *c, FILE *f);

/* Prints "waihuctl: <msg>" and the command's usage line to stderr; returns CTL_EXIT_USAGE. */
int ctl_usage_error(const struct ctl *ctl, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prints "waihuctl: <msg>" to stderr. */
void ctl_errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Next write identity of this run (same client id, seq+1). */
struct http_write_id ctl_next_write_id(struct ctl *ctl);

/* Calls the API, trying endpoints in order: a connection error, a timeout or a 503 moves on.
 * Writes (not GET) carry one X-Waihu-Client/Seq pair across all tries, so a retry elsewhere
 * cannot apply twice. On a status in want_status (0-terminated), stores the body in *out (may
 * be NULL for an empty body; caller decrefs) and returns CTL_EXIT_OK. Otherwise prints
 * "waihuctl: <what>: <error>" and returns CTL_EXIT_FAIL (an HTTP answer, including 503 from
 * every endpoint) or CTL_EXIT_UNREACHABLE (no endpoint answered). out may be NULL. */
int ctl_call(struct ctl *ctl, const char *what, const char *method, const char *path,
             const json_t *body, const long *want_status, json_t **out);

/* Prints a JSON value on stdout (indented, one trailing newline). 0 or CTL_EXIT_FAIL. */
int ctl_print_json(const json_t *v);
/* Prints one object: as JSON, or as a one-row table through print_rows (which takes an
 * array). Returns a CTL_EXIT_* code. */
int ctl_print_one(const struct ctl *ctl, json_t *obj,
                  int (*print_rows)(const struct ctl *ctl, json_t *rows));

/* Helpers reading API objects leniently: missing or null fields give the fallback. */
const char *ctl_jstr(const json_t *obj, const char *key, const char *fallback);
uint64_t ctl_ju64(const json_t *obj, const char *key, uint64_t fallback);
bool ctl_jbool(const json_t *obj, const char *key, bool fallback);
/* Formats a JSON field as table text into buf: integers, strings, booleans as yes/no, null "-". */
const char *ctl_jcell(const json_t *obj, const char *key, char *buf, size_t len);

/* Sets up a fresh ctl (zeroed, defaults). */
void ctl_init(struct ctl *ctl);
void ctl_close(struct ctl *ctl);

/* 64 random bits, never 0. */
uint64_t ctl_random_u64(void);

#endif
