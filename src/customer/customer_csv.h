/* Customer CSV import and export building blocks (DM-1, CP-2). To be folded into
 * customer.h.
 *
 *  - csvreader_*:  streaming RFC 4180 reader (libcsv, strict) fed in chunks of any size;
 *                  UTF-8 or GB18030 input, header mapped to fields, one row or one row
 *                  error per record, resynchronises after broken records;
 *  - fieldcheck_*: validation of one imported value (phone, date, number, enum, tags)
 *                  with reasons such as  phone: "12345" is not a valid number for CN ...;
 *  - csvwriter_*:  RFC 4180 writer that neutralises spreadsheet formulas (OWASP).
 *
 * I/O-free, no global state; one object is used by one thread at a time (the import
 * runs it on the uv thread pool, never on the core loop). docs/import-csv.md describes
 * the reader's behaviour and every error reason.
 */
#ifndef WAIHU_CUSTOMER_CSV_H
#define WAIHU_CUSTOMER_CSV_H

#include <stddef.h>
#include <stdint.h>

#include "customer.h"

/* ---------------------------------------------------------------------------
 * Reader
 * ------------------------------------------------------------------------- */

#define CSVREADER_MAX_CELL_BYTES (64 * 1024)   /* default limits */
#define CSVREADER_MAX_RECORD_BYTES (1024 * 1024)
#define CSVREADER_MAX_COLUMNS 256
/* Bytes looked at, from the first non-ASCII byte on, to tell UTF-8 from GB18030. */
#define CSVREADER_SNIFF_BYTES (64 * 1024)

enum csvreader_encoding {
    CSVREADER_ENC_AUTO = 0, /* BOM, else UTF-8 unless the sniffed bytes say GB18030 */
    CSVREADER_ENC_UTF8,
    CSVREADER_ENC_GB18030,
};

/* Why one record was rejected. */
enum csvreader_reason {
    CSVREADER_R_QUOTE = 1, /* stray quote, text after a closing quote, quote never closed */
    CSVREADER_R_COLUMNS,   /* not as many columns as the header */
    CSVREADER_R_ENCODING,  /* invalid byte sequence (or NUL) in a mapped cell */
    CSVREADER_R_EMPTY,     /* a required field is empty */
    CSVREADER_R_TOOLONG,   /* a cell or the record is over its limit */
    CSVREADER_R_TOOMANY,   /* more columns than max_columns */
};
#define CSVREADER_R_COUNT 7 /* for arrays indexed by reason */

/* CSV column name (as in the header, compared trimmed and ASCII-case-insensitively)
 * to field name. A required column must be in the header and non-blank in every row. */
struct csvreader_map {
    const char *column;
    const char *field;
    int required;
};

struct csvreader_cell {
    const char *field;  /* map[i].field */
    const char *value;  /* UTF-8, NUL-terminated; NULL when the column is not in the file */
    size_t len;
};

/* One good record. Pointers are valid only during the on_row call. */
struct csvreader_row {
    uint64_t line;                      /* physical line (1-based) where the record starts */
    size_t n;                           /* == map_len */
    const struct csvreader_cell *cells; /* cells[i] belongs to map[i] */
};

/* One rejected record. Pointers are valid only during the on_error call. */
struct csvreader_error {
    uint64_t line;                  /* physical line where the record starts */
    enum csvreader_reason reason;
    const char *column;             /* header name concerned, or NULL */
    const char *msg;                /* "line 7: column \"phone\": cell is empty ..." */
};

/* Callbacks, called synchronously from csvreader_feed/finish in file order. A
 * non-zero return (a negative WAIHU_E*) stops the reader: feed/finish return it. */
struct csvreader_ops {
    int (*on_row)(void *ctx, const struct csvreader_row *row);
    int (*on_error)(void *ctx, const struct csvreader_error *err);
    /* Once per header column that no map entry names; may be NULL. */
    void (*on_unmapped)(void *ctx, const char *column);
};

struct csvreader_config {
    const struct csvreader_map *map; /* copied by csvreader_new */
    size_t map_len;                  /* 1..CSVREADER_MAX_COLUMNS */
    enum csvreader_encoding encoding;
    char delimiter;                  /* 0 means ',' */
    size_t max_cell_bytes;           /* 0 means the default above, likewise below */
    size_t max_record_bytes;
    size_t max_columns;
    struct csvreader_ops ops;
    void *ctx;
};

struct csvreader_stats {
    uint64_t rows_ok;
    uint64_t rows_failed;
    uint64_t failed_by_reason[CSVREADER_R_COUNT];
    uint64_t lines;      /* physical lines seen so far */
    uint64_t bytes_in;   /* bytes fed */
    enum csvreader_encoding encoding; /* AUTO while still undecided */
};

struct csvreader;

/* New reader; caller frees with csvreader_free. Returns 0, WAIHU_EINVAL (bad config,
 * why in errmsg) or WAIHU_ENOMEM. errmsg may be NULL. */
WAIHU_API int csvreader_new(const struct csvreader_config *cfg, struct csvreader **out,
                            char *errmsg, size_t errmsg_size);

/* Frees the reader (NULL is allowed). */
WAIHU_API void csvreader_free(struct csvreader *r);

/* Pushes len bytes (any split, even 1 byte at a time). Rows and row errors go to the
 * callbacks. Returns 0 or a fatal error after which every call returns it again:
 * WAIHU_EINVAL (header: parse error, bad encoding, duplicate mapped column, missing
 * required columns), WAIHU_ETOOBIG (header over the limits), WAIHU_ENOMEM, or the
 * callback's code. csvreader_errmsg tells why. */
WAIHU_API int csvreader_feed(struct csvreader *r, const void *buf, size_t len);

/* End of input: flushes the last record. Returns as feed, plus WAIHU_EINVAL when the
 * input had no header row. Feeding after finish is WAIHU_EINVAL. */
WAIHU_API int csvreader_finish(struct csvreader *r);

/* Message of the last fatal error ("" if none); valid until the reader is freed. */
WAIHU_API const char *csvreader_errmsg(const struct csvreader *r);

/* Counts so far; exact after csvreader_finish. */
WAIHU_API void csvreader_stats(const struct csvreader *r, struct csvreader_stats *out);

/* Short stable name of a reason ("quote", "columns", ...) for metrics and reports. */
WAIHU_API const char *csvreader_reason_name(enum csvreader_reason reason);

/* Cell of a row by field name, or NULL (not mapped, or column absent). */
WAIHU_API const struct csvreader_cell *csvreader_row_get(const struct csvreader_row *row,
                                                         const char *field);

/* ---------------------------------------------------------------------------
 * Encoding helpers (used by the reader; public for the API's own input checks)
 * ------------------------------------------------------------------------- */

/* Length of the leading run of ASCII bytes of s. */
WAIHU_API size_t csvenc_ascii_prefix(const unsigned char *s, size_t n);

/* Offset of the first byte that is not part of valid UTF-8 (RFC 3629: no overlongs,
 * surrogates or code points past U+10FFFF; a cut sequence at the end is invalid),
 * or n when all of s is valid. */
WAIHU_API size_t csvenc_utf8_check(const unsigned char *s, size_t n);

/* Guesses the encoding of a sample: UTF-8 unless it has at least 2 invalid UTF-8
 * sequences and ten times fewer invalid GB18030 ones. A sequence cut at the end of
 * the sample counts only when at_eof. Returns CSVREADER_ENC_UTF8 or _GB18030. */
WAIHU_API enum csvreader_encoding csvenc_guess(const unsigned char *s, size_t n, int at_eof);

/* ---------------------------------------------------------------------------
 * Field checks. Each returns 0, or WAIHU_EINVAL with a reason starting with the field
 * name in why (may be NULL): `budget: "12x" is not a number`.
 * ------------------------------------------------------------------------- */

#define FIELDCHECK_TAG_MAX 32   /* bytes of one tag */
#define FIELDCHECK_TAGS_MAX 32  /* tags in one cell */
#define FIELDCHECK_WHY_SIZE 160 /* room for any reason */

struct fieldcheck_tags {
    size_t n;
    char tag[FIELDCHECK_TAGS_MAX][FIELDCHECK_TAG_MAX + 1]; /* lowercase, unique, in order */
};

/* Phone via phone_normalize with the tenant's default country: out is E.164.
 * why: `phone: "12345" is not a valid number for CN (too few digits)`. */
WAIHU_API int fieldcheck_phone(const char *field, const char *value, const char *default_country,
                               char out[PHONE_E164_SIZE], char *why, size_t why_size);

/* "YYYY-MM-DD" or "YYYY-MM-DD HH:MM[:SS]" (a 'T' may replace the space), years
 * 1900..2999, real calendar dates. *unix_s is the time read as UTC; *has_time tells
 * whether a time of day was written. Either out-pointer may be NULL. */
WAIHU_API int fieldcheck_date(const char *field, const char *value, int64_t *unix_s,
                              int *has_time, char *why, size_t why_size);

/* Decimal number "-12", "3.50" (no exponent, no thousands separators, surrounding
 * blanks allowed) within [min, max]; integer_only refuses a fraction. */
WAIHU_API int fieldcheck_number(const char *field, const char *value, double min, double max,
                                int integer_only, double *out, char *why, size_t why_size);

/* value (trimmed, ASCII-case-insensitive) is one of allowed[0..n-1]; *index is its
 * position (may be NULL). */
WAIHU_API int fieldcheck_enum(const char *field, const char *value, const char *const *allowed,
                              size_t n, size_t *index, char *why, size_t why_size);

/* "a;b;c" or "a|b|c" (both separators may mix; blanks around items and empty items
 * are ignored) to lowercase tags of [a-z0-9_]{1,32}, duplicates dropped. An empty
 * value gives no tags. */
WAIHU_API int fieldcheck_tags(const char *field, const char *value, struct fieldcheck_tags *out,
                              char *why, size_t why_size);

/* Writes s (len bytes) into out for a message: in double quotes, \" \\ and control
 * bytes escaped, cut after 40 bytes at a UTF-8 boundary with "...". Never fails. */
WAIHU_API void fieldcheck_quote(const char *s, size_t len, char *out, size_t out_size);

/* ---------------------------------------------------------------------------
 * Writer
 * ------------------------------------------------------------------------- */

#define CSVWRITER_BOM 1u /* start with a UTF-8 BOM (Excel reads UTF-8 only with it) */
#define CSVWRITER_RAW 2u /* do not neutralise formulas (machine-to-machine exports) */

/* Where output goes: returns 0 or a negative WAIHU_E*, which the writer returns. */
typedef int (*csvwriter_sink_fn)(void *ctx, const void *buf, size_t len);

struct csvwriter;

/* New writer (flags: CSVWRITER_*); caller frees with csvwriter_free. 0 or WAIHU_ENOMEM. */
WAIHU_API int csvwriter_new(unsigned flags, csvwriter_sink_fn sink, void *ctx,
                            struct csvwriter **out);
/* Frees without flushing (NULL is allowed). */
WAIHU_API void csvwriter_free(struct csvwriter *w);

/* Appends one cell (len bytes of UTF-8) to the current row. Quoted when needed (, " CR
 * LF, blanks at either end); unless CSVWRITER_RAW, a cell whose first non-space byte
 * is = + - @ TAB or CR gets a leading apostrophe. Returns 0 or the sink's error. */
WAIHU_API int csvwriter_cell(struct csvwriter *w, const char *s, size_t len);
/* Ends the row with CRLF. */
WAIHU_API int csvwriter_end_row(struct csvwriter *w);
/* Cells of a whole row (NUL-terminated strings), then CRLF. */
WAIHU_API int csvwriter_row(struct csvwriter *w, const char *const *cells, size_t n);
/* Hands everything buffered to the sink. Call before csvwriter_free. */
WAIHU_API int csvwriter_flush(struct csvwriter *w);

/* 1 when a cell would get the formula apostrophe, else 0. */
WAIHU_API int csvwriter_is_formula(const char *s, size_t len);

#endif
