/* Turns an API error answer into one human line. Pure. */
#ifndef WAIHUCTL_APIERR_H
#define WAIHUCTL_APIERR_H

#include <jansson.h>
#include <stddef.h>

/* Writes "<code>: <message>[ (current N)][ (field F)]" from an error body
 * {"error":{"code","message","field"},"current_version"}; falls back to
 * "HTTP <status>: <first line of text>" when body is NULL or not in that shape.
 * body and text may be NULL. Always NUL-terminates buf. */
void apierr_format(long status, const json_t *body, const char *text, char *buf, size_t len);

/* The "code" word of an error body, or NULL. Borrowed from body. */
const char *apierr_code(const json_t *body);

#endif
