/* Caller IDs: a number from the trunk's verified pool, local to the callee
 * when the pool has one. */
#include <stddef.h>

#include "trunk_internal.h"

/* Digits shared by a number and the destination, from the start ('+' and
 * separators in the destination are skipped). */
#define LOCAL_MIN_DIGITS 4 /* country and area code, roughly: "1212", "4420", "8610" */

static size_t common_digits(const char *cid, const char *dest)
{
    size_t n = 0;
    const char *a = cid + 1; /* pool numbers are "+digits" */
    for (const char *b = dest; *a && *b; b++) {
        if (*b < '0' || *b > '9')
            continue;
        if (*a != *b)
            break;
        a++;
        n++;
    }
    return n;
}

const char *trunk_caller_id_pick(struct trunk_entry *e, const char *destination)
{
    size_t best = 0, ties = 0;
    if (destination) {
        for (size_t i = 0; i < e->n_caller_ids; i++) {
            size_t c = common_digits(e->caller_ids[i], destination);
            if (c > best) {
                best = c;
                ties = 1;
            } else if (c == best) {
                ties++;
            }
        }
    }
    uint64_t turn = e->cid_next++;
    if (best < LOCAL_MIN_DIGITS)
        return e->caller_ids[turn % e->n_caller_ids];
    size_t want = (size_t)(turn % ties);
    for (size_t i = 0; i < e->n_caller_ids; i++)
        if (common_digits(e->caller_ids[i], destination) == best && want-- == 0)
            return e->caller_ids[i];
    return e->caller_ids[0]; /* not reached */
}
