/* An in-memory view of every customer's non-personal attributes (tenant, department,
 * owner, status, source, tags, times), so that filters over millions of customers are
 * answered without reading and decoding each record (docs/api-customers.md "Filters").
 * Strings are interned: a million customers share a few hundred tag sets and owners.
 * Custom fields are not in the view: filters naming one are answered by a scan.
 * Not thread-safe: the owner calls it from one thread. */
#ifndef WAIHU_CUSTOMER_VIEW_H
#define WAIHU_CUSTOMER_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "customer.h"

struct customer_view;

WAIHU_API struct customer_view *customer_view_new(void);
WAIHU_API void customer_view_free(struct customer_view *v);
/* Forgets everything (before a rebuild). */
WAIHU_API void customer_view_clear(struct customer_view *v);
/* Adds or replaces the customer (tenant_id, id). */
WAIHU_API void customer_view_put(struct customer_view *v, const CustomerRecord *r);
WAIHU_API void customer_view_delete(struct customer_view *v, uint64_t tenant_id, uint64_t id);
/* Live customers in the view. */
WAIHU_API size_t customer_view_size(const struct customer_view *v);

/* Whether f reads only attributes the view holds (no custom field). */
WAIHU_API bool customer_view_can_answer(const struct filter_node *f);

/* The record as the view holds it: personal fields, custom fields and version are
 * empty. allow decides visibility (roles); NULL allows all. */
typedef bool (*customer_view_allow_fn)(void *ctx, const CustomerRecord *r);

/* Counts the tenant's customers matching f (NULL: all) that allow accepts. */
WAIHU_API size_t customer_view_count(const struct customer_view *v, uint64_t tenant_id,
                                     const struct filter_node *f, int64_t now_ms,
                                     customer_view_allow_fn allow, void *ctx);
/* The ids of the first `limit` matching customers with id > after, ascending, into ids
 * (room for limit). Returns how many. */
WAIHU_API size_t customer_view_first(const struct customer_view *v, uint64_t tenant_id,
                                     const struct filter_node *f, int64_t now_ms,
                                     customer_view_allow_fn allow, void *ctx, uint64_t after,
                                     uint64_t *ids, size_t limit);

#endif
