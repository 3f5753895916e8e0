/* Destination allow-lists; see dest.h. */
#include "dest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sip.h"

struct prefix {
    char digits[24];
    int deny;
};

struct tenant_list {
    char *tenant;
    struct prefix *prefixes;
    size_t n;
};

struct sip_dest_table {
    struct tenant_list *lists;
    size_t n;
};

void sip_dest_free(struct sip_dest_table *t)
{
    if (!t) {
        return;
    }
    for (size_t i = 0; i < t->n; i++) {
        free(t->lists[i].tenant);
        free(t->lists[i].prefixes);
    }
    free(t->lists);
    free(t);
}

int sip_dest_normalise(const char *number, char *out, size_t cap)
{
    size_t n = 0;
    const char *p = number;
    if (!p || cap == 0) {
        return -1;
    }
    if (*p == '+') {
        p++;
    }
    for (; *p && *p != ';'; p++) {
        if (*p >= '0' && *p <= '9') {
            if (n + 1 >= cap) {
                return -1;
            }
            out[n++] = *p;
        } else if (!strchr(" -.()", *p)) {
            return -1;
        }
    }
    out[n] = '\0';
    return n ? 0 : -1;
}

static int parse_list(const char *text, struct tenant_list *l, char *why, size_t why_len)
{
    size_t commas = 1;
    for (const char *p = text; *p; p++) {
        commas += *p == ',';
    }
    l->prefixes = calloc(commas, sizeof *l->prefixes);
    if (!l->prefixes) {
        snprintf(why, why_len, "out of memory");
        return -1;
    }
    for (const char *p = text; *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char item[32];
        while (len && (*p == ' ')) {
            p++, len--;
        }
        while (len && p[len - 1] == ' ') {
            len--;
        }
        if (len == 0 || len >= sizeof item) {
            snprintf(why, why_len, "empty or too long prefix");
            return -1;
        }
        memcpy(item, p, len);
        item[len] = '\0';
        struct prefix *x = &l->prefixes[l->n];
        x->deny = item[0] == '!';
        const char *digits = item + x->deny;
        if (*digits == '+') {
            digits++;
        }
        if (!*digits || strspn(digits, "0123456789") != strlen(digits) ||
            strlen(digits) >= sizeof x->digits) {
            snprintf(why, why_len, "prefix \"%s\" is not digits", item);
            return -1;
        }
        snprintf(x->digits, sizeof x->digits, "%s", digits);
        l->n++;
        p += len;
        p = strchr(p, ',') ? strchr(p, ',') + 1 : p + strlen(p);
    }
    return 0;
}

int sip_dest_compile(const struct sip_dest_rule *rules, size_t n, struct sip_dest_table **out,
                     char *err, size_t err_len)
{
    char why[128];
    struct sip_dest_table *t = calloc(1, sizeof *t);
    if (!t || !(t->lists = calloc(n ? n : 1, sizeof *t->lists))) {
        free(t);
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        struct tenant_list *l = &t->lists[t->n++];
        if (!rules[i].tenant || !rules[i].prefixes) {
            snprintf(err, err_len, "rule %zu: tenant and prefixes are required", i);
            goto err;
        }
        l->tenant = strdup(rules[i].tenant);
        if (!l->tenant || parse_list(rules[i].prefixes, l, why, sizeof why) != 0) {
            snprintf(err, err_len, "rule %zu (%s): %s", i, rules[i].tenant,
                     l->tenant ? why : "out of memory");
            goto err;
        }
    }
    *out = t;
    return 0;
err:
    sip_dest_free(t);
    return -1;
}

static const struct tenant_list *find(const struct sip_dest_table *t, const char *tenant)
{
    for (size_t i = 0; tenant && i < t->n; i++) {
        if (strcmp(t->lists[i].tenant, tenant) == 0) {
            return &t->lists[i];
        }
    }
    return NULL;
}

int sip_dest_allowed(const struct sip_dest_table *t, const char *tenant, const char *number)
{
    char digits[64];
    if (sip_dest_normalise(number, digits, sizeof digits) != 0) {
        return 0;
    }
    const struct tenant_list *l = find(t, tenant);
    if (!l) {
        l = find(t, "*");
    }
    if (!l) {
        return 0;
    }
    size_t best = 0;
    int allowed = 0;
    for (size_t i = 0; i < l->n; i++) {
        size_t len = strlen(l->prefixes[i].digits);
        if (len > best && strncmp(digits, l->prefixes[i].digits, len) == 0) {
            best = len;
            allowed = !l->prefixes[i].deny;
        }
    }
    return allowed;
}
