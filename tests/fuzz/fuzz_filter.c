/* libFuzzer target for the filter language: any input either fails cleanly with a
 * positioned error, or parses to an AST whose canonical text parses back to an equal
 * AST with the same canonical text. Build: clang -fsanitize=fuzzer,address,undefined. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "customer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct filter_node *a = NULL, *b = NULL;
    struct filter_error err;
    char *c1 = NULL, *c2 = NULL;

    int rv = filter_parse((const char *)data, size, &a, &err);
    if (rv != 0) {
        if (a != NULL || err.msg[0] == '\0' || strlen(err.msg) >= sizeof(err.msg))
            abort();
        if (rv != WAIHU_ENOMEM && (err.col == 0 || err.col > size + 1))
            abort();
        return 0;
    }
    if (filter_format(a, &c1) != 0)
        abort();
    /* Canonical text may be a little longer than the input (spaces around operators);
     * past the length limit it is rightly refused. */
    if (strlen(c1) <= FILTER_MAX_BYTES) {
        if (filter_parse(c1, strlen(c1), &b, &err) != 0 || !filter_equal(a, b))
            abort();
        if (filter_format(b, &c2) != 0 || strcmp(c1, c2) != 0)
            abort();
    }
    free(c1);
    free(c2);
    filter_free(a);
    filter_free(b);
    return 0;
}
