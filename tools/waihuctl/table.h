/* Aligned text tables in the kubectl look (upper-case header, 3-space gaps). Pure. */
#ifndef WAIHUCTL_TABLE_H
#define WAIHUCTL_TABLE_H

#include <stddef.h>
#include <stdio.h>

struct table {
    size_t ncols;
    size_t nrows;  /* including the header row */
    size_t cap;
    char **cells;  /* row-major, each heap-allocated */
};

/* Starts a table with ncols headers (copied). 0 or WAIHU_ENOMEM; always table_close. */
int table_init(struct table *t, size_t ncols, const char *const *headers);

/* Appends a row of ncols cells (copied; NULL shows as "-"; control characters are escaped as
 * \n, \t, \xNN so one row stays one line). 0 or WAIHU_ENOMEM. */
int table_add_row(struct table *t, const char *const *cells);

/* Renders into a heap string the caller frees with free(). Widths count UTF-8 code points. */
int table_render(const struct table *t, char **out);

/* table_render then fputs. 0, WAIHU_ENOMEM or WAIHU_EIO. */
int table_print(const struct table *t, FILE *f);

void table_close(struct table *t);

#endif
