/* Filter language internals: the lexer shared by the parser (private to src/customer). */
#ifndef WAIHU_FILTER_INTERNAL_H
#define WAIHU_FILTER_INTERNAL_H

#include <stddef.h>

#include "customer.h"

enum tok_kind {
    TOK_END,
    TOK_LPAREN,
    TOK_RPAREN,
    TOK_COLON,
    TOK_AND,
    TOK_OR,
    TOK_NOT,
    TOK_IDENT,
    TOK_STRING,
    TOK_NUMBER,
    TOK_RELTIME,
    TOK_DATE,
    TOK_OP,
};

struct tok {
    enum tok_kind kind;
    size_t pos;           /* byte offset of the first character */
    size_t len;           /* bytes of source text */
    enum filter_op op;    /* TOK_OP */
    struct filter_value value; /* STRING (str.s owned by the token until taken), NUMBER, RELTIME, DATE */
};

struct lexer {
    const char *text;
    size_t len;
    size_t pos;
    struct filter_error *err;
};

/* Reads the next token. Returns 0, or WAIHU_EINVAL / WAIHU_ENOMEM with err set.
 * A TOK_STRING's value.u.str.s is malloc'd: the caller takes it or frees it. */
int filter_lex_next(struct lexer *lx, struct tok *t);

/* Reads a tag name right after "tag:": [A-Za-z0-9_.-]+ or a quoted string, returned
 * malloc'd in *name. Returns 0, WAIHU_EINVAL or WAIHU_ENOMEM with err set. */
int filter_lex_tag_name(struct lexer *lx, char **name, size_t *name_len);

/* Sets err (if any) to "col N: <why>" for byte offset pos; returns rv. */
int filter_lex_error(struct filter_error *err, size_t pos, int rv, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* A quoted string is printable as a bare tag name. */
int filter_lex_is_tag_char(char c);

/* Days since 1970-01-01 of a proleptic Gregorian date, and back. */
int64_t filter_lex_days_from_civil(int64_t y, unsigned m, unsigned d);
void filter_lex_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d);

#endif
