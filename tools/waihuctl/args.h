/* Command-line option parsing for waihuctl: pure, no I/O, testable. */
#ifndef WAIHUCTL_ARGS_H
#define WAIHUCTL_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum args_kind { ARGS_FLAG, ARGS_VALUE };

/* One accepted option. "--name value", "--name=value", "-s value", "-svalue" and "-s=value"
 * set *value (pointer into argv, not copied); flags set *flag. A table ends with name NULL. */
struct args_spec {
    const char *name;  /* long name without "--" */
    char short_name;   /* 0 if none */
    enum args_kind kind;
    const char **value;
    bool *flag;
};

struct args_result {
    const char **pos;  /* positionals, pointers into argv; caller supplies the array */
    size_t pos_cap;
    size_t npos;
    bool help;         /* -h or --help was seen */
    int next;          /* with stop_at_positional: index of the first positional */
};

/* Parses argv[0..argc). Options may come before, between or after positionals unless
 * stop_at_positional, which stops at the first positional (res->next); "--" ends options.
 * Errors (unknown flag, missing value, too many positionals) return WAIHU_EINVAL with a
 * message such as `unknown flag "--x"` in errmsg. */
int args_parse(int argc, char **argv, const struct args_spec *specs, bool stop_at_positional,
               struct args_result *res, char *errmsg, size_t errlen);

/* Parses a decimal u64 without sign, spaces or overflow; 0 or WAIHU_EINVAL. */
int args_parse_u64(const char *text, uint64_t *out);

#endif
