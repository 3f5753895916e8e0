/* The recordings API's parsers (src/api/api_recording_params.c): search parameters and
 * their errors (400 malformed or unknown, 422 contradicting), cursors, ids, Range. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "recording_params.h"

/* A query string as the HTTP layer would give it (no URL escapes in these tests). */
static const char *get(void *data, const char *name, char *buf, size_t cap)
{
    const char *q = data;
    size_t n = strlen(name);
    while (*q) {
        const char *amp = strchr(q, '&');
        size_t len = amp ? (size_t)(amp - q) : strlen(q);
        if (len >= n && strncmp(q, name, n) == 0 && (len == n || q[n] == '=')) {
            size_t vl = len > n ? len - n - 1 : 0;
            if (vl >= cap) {
                vl = cap - 1;
            }
            memcpy(buf, q + n + (len > n), vl);
            buf[vl] = '\0';
            return buf;
        }
        q += len + (amp != NULL);
    }
    return NULL;
}

static int parse(const char *query, struct recording_query *q, const char **field)
{
    char why[160];
    return recording_query_parse(query, get, (void *)query, q, field, why, sizeof why);
}

static void test_defaults(void **state)
{
    (void)state;
    struct recording_query q;
    const char *field;
    assert_int_equal(parse("", &q, &field), 0);
    assert_int_equal(q.limit, RECORDING_PAGE_DEFAULT);
    assert_int_equal(q.from_ms, 0);
    assert_true(q.to_ms == INT64_MAX);
    assert_int_equal(q.max_duration_ms, UINT32_MAX);
    assert_false(q.has_customer || q.has_campaign || q.has_cursor);
    assert_string_equal(q.agent, "");
}

static void test_every_parameter(void **state)
{
    (void)state;
    struct recording_query q;
    const char *field;
    assert_int_equal(parse("customer_id=12&agent=agent1&campaign_id=3&from=1000&to=2000&"
                           "min_duration_ms=5&max_duration_ms=60000&disposition=sale&"
                           "keyword=refund&cursor=1500.1.42&limit=200",
                           &q, &field),
                     0);
    assert_true(q.has_customer && q.customer_id == 12);
    assert_true(q.has_campaign && q.campaign_id == 3);
    assert_string_equal(q.agent, "agent1");
    assert_int_equal(q.from_ms, 1000);
    assert_int_equal(q.to_ms, 2000);
    assert_int_equal(q.min_duration_ms, 5);
    assert_int_equal(q.max_duration_ms, 60000);
    assert_string_equal(q.disposition, "sale");
    assert_string_equal(q.keyword, "refund");
    assert_true(q.has_cursor && q.cursor_start_ms == 1500 && q.cursor_node == 1 &&
                q.cursor_call == 42);
    assert_int_equal(q.limit, 200);
}

static void test_errors(void **state)
{
    (void)state;
    static const struct {
        const char *query;
        int status;
        const char *field;
    } cases[] = {
        {"limit=0", 400, "limit"},
        {"limit=201", 400, "limit"},
        {"limit=", 400, "limit"},
        {"limit=1x", 400, "limit"},
        {"customer_id=0", 400, "customer_id"},
        {"customer_id=-4", 400, "customer_id"},
        {"customer_id=99999999999999999999999", 400, "customer_id"},
        {"campaign_id=abc", 400, "campaign_id"},
        {"agent=", 400, "agent"},
        {"agent=0123456789012345678901234567890123456789012345678901234567890123", 400,
         "agent"},
        {"from=yesterday", 400, "from"},
        {"to=9223372036854775808", 400, "to"},
        {"max_duration_ms=4294967296", 400, "max_duration_ms"},
        {"cursor=1.2", 400, "cursor"},
        {"cursor=1.2.3x", 400, "cursor"},
        {"cursor=a.b.c", 400, "cursor"},
        {"colour=red", 400, "colour"},
        {"limit=5&sort=asc", 400, "sort"},
        {"from=10&to=5", 422, "from"},
        {"from=5&to=5", 422, "from"},
        {"min_duration_ms=9&max_duration_ms=1", 422, "min_duration_ms"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct recording_query q;
        const char *field = NULL;
        int status = parse(cases[i].query, &q, &field);
        if (status != cases[i].status || field == NULL ||
            strcmp(field, cases[i].field) != 0) {
            fail_msg("%s: got %d %s, want %d %s", cases[i].query, status,
                     field ? field : "(null)", cases[i].status, cases[i].field);
        }
    }
}

static void test_cursor_round_trip(void **state)
{
    (void)state;
    char text[64], query[80];
    recording_cursor_format(1795574915255, 7, 18446744073709551615ULL, text, sizeof text);
    snprintf(query, sizeof query, "cursor=%s", text);
    struct recording_query q;
    const char *field;
    assert_int_equal(parse(query, &q, &field), 0);
    assert_true(q.cursor_start_ms == 1795574915255 && q.cursor_node == 7 &&
                q.cursor_call == 18446744073709551615ULL);
}

static void test_ids(void **state)
{
    (void)state;
    uint64_t node, call;
    assert_int_equal(recording_id_parse("1-42", &node, &call), 0);
    assert_true(node == 1 && call == 42);
    const char *bad[] = {"", "1", "-4", "1-", "0-4", "a-4", "1-4-5", "1--4", "1-4x", " 1-4"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (recording_id_parse(bad[i], &node, &call) == 0) {
            fail_msg("accepted id \"%s\"", bad[i]);
        }
    }
}

static void test_range(void **state)
{
    (void)state;
    static const struct {
        const char *header;
        uint64_t size;
        enum recording_range kind;
        uint64_t first, last;
    } cases[] = {
        {NULL, 100, RECORDING_RANGE_NONE, 0, 0},
        {"bytes=0-9", 100, RECORDING_RANGE_OK, 0, 9},
        {"bytes=10-", 100, RECORDING_RANGE_OK, 10, 99},
        {"bytes=-10", 100, RECORDING_RANGE_OK, 90, 99},
        {"bytes=-1000", 100, RECORDING_RANGE_OK, 0, 99},
        {"bytes=50-5000", 100, RECORDING_RANGE_OK, 50, 99},
        {"bytes=99-99", 100, RECORDING_RANGE_OK, 99, 99},
        {" bytes=0-0 ", 100, RECORDING_RANGE_OK, 0, 0},
        {"bytes=100-", 100, RECORDING_RANGE_UNSATISFIABLE, 0, 0},
        {"bytes=100-200", 100, RECORDING_RANGE_UNSATISFIABLE, 0, 0},
        {"bytes=-0", 100, RECORDING_RANGE_UNSATISFIABLE, 0, 0},
        {"bytes=0-", 0, RECORDING_RANGE_UNSATISFIABLE, 0, 0},
        {"bytes=9-3", 100, RECORDING_RANGE_NONE, 0, 0},      /* invalid: ignored */
        {"bytes=0-1,5-6", 100, RECORDING_RANGE_NONE, 0, 0},  /* several: whole body */
        {"items=0-1", 100, RECORDING_RANGE_NONE, 0, 0},
        {"bytes=a-b", 100, RECORDING_RANGE_NONE, 0, 0},
        {"bytes=", 100, RECORDING_RANGE_NONE, 0, 0},
        {"bytes=-", 100, RECORDING_RANGE_NONE, 0, 0},
        {"bytes=99999999999999999999-", 100, RECORDING_RANGE_NONE, 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint64_t first = 0, last = 0;
        enum recording_range k = recording_range_parse(cases[i].header, cases[i].size, &first,
                                                       &last);
        if (k != cases[i].kind ||
            (k == RECORDING_RANGE_OK && (first != cases[i].first || last != cases[i].last))) {
            fail_msg("%s: got %d %llu-%llu", cases[i].header ? cases[i].header : "(none)", k,
                     (unsigned long long)first, (unsigned long long)last);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),       cmocka_unit_test(test_every_parameter),
        cmocka_unit_test(test_errors),         cmocka_unit_test(test_cursor_round_trip),
        cmocka_unit_test(test_ids),            cmocka_unit_test(test_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
