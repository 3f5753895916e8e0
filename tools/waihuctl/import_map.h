/* waihuctl import: the --map option and the job report, pure (no I/O but a FILE *). */
#ifndef WAIHUCTL_IMPORT_MAP_H
#define WAIHUCTL_IMPORT_MAP_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

#define IMPORT_MAP_MAX 64 /* mapped columns the server takes */

/* Parses "CSV column=field,Column 2=field2" into a new JSON object {"CSV column": "field"}
 * (caller decrefs). Blanks around names are dropped; "\," and "\=" put a comma or an
 * equals sign in a column name, "\\" a backslash. Returns 0, or WAIHU_EINVAL with a
 * message naming the bad entry in errmsg (empty entry, no '=', empty name, a column
 * mapped twice, more than IMPORT_MAP_MAX entries), or WAIHU_ENOMEM. */
int import_map_parse(const char *text, json_t **out, char *errmsg, size_t errlen);

/* True for an encoding POST /v1/imports accepts: auto, utf-8, gb18030. */
int import_encoding_valid(const char *enc);

/* Prints a job (GET /v1/imports/{id}) for people: state, progress, counts and up to
 * max_errors of its first errors ("  line 7: phone: reason"). */
void import_print_status(FILE *f, const json_t *job, size_t max_errors);

#endif
