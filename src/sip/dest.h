/* Destination allow-lists per tenant (toll-fraud guard). Pure. */
#ifndef WAIHU_SIP_DEST_H
#define WAIHU_SIP_DEST_H

#include <stddef.h>

struct sip_dest_rule;
struct sip_dest_table;

/* Compiles the rules (see sip.h). Returns 0 or -1 with "rule N: why" in err. The table
 * owns copies; free with sip_dest_free. */
int sip_dest_compile(const struct sip_dest_rule *rules, size_t n, struct sip_dest_table **out,
                     char *err, size_t err_len);
void sip_dest_free(struct sip_dest_table *t);

/* Normalises a dialled user part to digits: drops a leading '+', visual separators
 * (space, '-', '.', '(', ')') and URI parameters (";..."). Returns -1 when anything else
 * remains or it does not fit. */
int sip_dest_normalise(const char *number, char *out, size_t cap);

/* 1 when tenant may call number: the longest prefix of the tenant's list (or of "*")
 * decides; no list or no match denies. */
int sip_dest_allowed(const struct sip_dest_table *t, const char *tenant, const char *number);

#endif
