/* The pure parts of webhook delivery: which URLs and addresses pass, the signature, the
 * retry schedule and what each outcome means. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cmocka.h>

#include "webhook.h"

struct url_case {
    const char *url;
    bool allow_private;
    const char *why; /* NULL: accepted; else a part of the reason */
};

static void test_url_check(void **state)
{
    static const struct url_case cases[] = {
        {"https://hooks.example.com/waihu?team=7", false, NULL},
        {"http://example.com:8080/", false, NULL},
        {"HTTPS://Example.COM/x#frag", false, NULL},
        {"http://example.com:65535", false, NULL},
        {"http://8.8.8.8/hook", false, NULL},
        {"http://[2001:4860:4860::8888]:443/", false, NULL},
        {"", false, "empty"},
        {"ftp://example.com/", false, "only http:// and https://"},
        {"javascript:alert(1)", false, "only http:// and https://"},
        {"example.com/hook", false, "only http:// and https://"},
        {"file:///etc/passwd", false, "only http:// and https://"},
        {"http:/example.com/", false, "only http:// and https://"},
        {"http:///example.com/", false, "no host"},
        {"https://", false, "no host"},
        {"http://?x=1", false, "no host"},
        {"http://user:pass@example.com/", false, "user name or password"},
        {"http://user@example.com/", false, "user name or password"},
        {"http://@example.com/", false, "user name or password"},
        {"http://:pw@example.com/", false, "user name or password"},
        {"http://good.example.com\\@evil.example.com/", false, "user name or password"},
        {"http://example.com:0/", false, "between 1 and 65535"},
        {"http://example.com:65536/", false, "malformed URL"},
        {"http://example.com:99999999999999999999/", false, "malformed URL"},
        {"http://exa mple.com/", false, "offset 10"},
        {"http://example.com/\r\nX-Injected: 1", false, "control"},
        {"http://ex\xc3\xa4mple.com/", false, "non-ASCII"},
        {"http://[::1/", false, "malformed URL"},
        /* The SSRF guard's first layer: literals and localhost. */
        {"http://127.0.0.1/", false, "127.0.0.1 is a non-public address (loopback)"},
        {"http://127.0.0.1/", true, NULL},
        {"http://localhost:8080/", false, "localhost is this machine"},
        {"http://LOCALHOST./", false, "this machine"},
        {"http://api.localhost/", false, "this machine"},
        {"http://localhost:8080/", true, NULL},
        {"http://notlocalhost.example/", false, NULL},
        {"http://169.254.169.254/latest/meta-data/", false, "link-local"},
        {"http://10.1.2.3/", false, "private 10.0.0.0/8"},
        {"http://0.0.0.0:80/", false, "unspecified"},
        {"http://2130706433/", false, "loopback"}, /* 127.0.0.1 as one number */
        {"http://0x7f.1/", false, "loopback"},
        {"http://[::1]:8080/", false, "loopback"},
        {"http://[::ffff:10.0.0.1]/", false, "private"},
        {"http://[fe80::1%25eth0]/", false, "link-local"},
        {"http://[fe80::1%25eth0]/", true, NULL},
        {"http://[fd00:ec2::254]/", false, "unique local"},
    };
    char why[256];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct url_case *c = &cases[i];
        int rv = webhook_url_check(c->url, c->allow_private, why, sizeof(why));
        if (c->why == NULL) {
            if (rv != 0) {
                fail_msg("%s: refused: %s", c->url, why);
            }
            assert_string_equal(why, "");
        } else {
            if (rv != WAIHU_EINVAL || strstr(why, c->why) == NULL) {
                fail_msg("%s: rv %d why \"%s\", wanted \"%s\"", c->url, rv, why, c->why);
            }
        }
    }
}

static void test_url_limits(void **state)
{
    char url[WEBHOOK_URL_MAX_BYTES + 2], why[8];

    (void)state;
    assert_int_equal(webhook_url_check(NULL, false, NULL, 0), WAIHU_EINVAL);
    /* Exactly 2048 bytes pass; 2049 do not. */
    memset(url, 'a', sizeof(url));
    memcpy(url, "https://example.com/", 20);
    url[WEBHOOK_URL_MAX_BYTES] = '\0';
    assert_int_equal(webhook_url_check(url, false, NULL, 0), 0);
    url[WEBHOOK_URL_MAX_BYTES] = 'a';
    url[WEBHOOK_URL_MAX_BYTES + 1] = '\0';
    assert_int_equal(webhook_url_check(url, false, NULL, 0), WAIHU_EINVAL);
    /* A small reason buffer is cut, never overrun. */
    assert_int_equal(webhook_url_check("ftp://x/", false, why, sizeof(why)), WAIHU_EINVAL);
    assert_int_equal(strlen(why), sizeof(why) - 1);
}

static const char *kind_of(const char *text)
{
    static struct sockaddr_storage ss;
    struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;

    memset(&ss, 0, sizeof(ss));
    if (inet_pton(AF_INET, text, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
    } else if (inet_pton(AF_INET6, text, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
    } else {
        fail_msg("bad address in test: %s", text);
    }
    assert_true(webhook_addr_private((struct sockaddr *)&ss) ==
                (webhook_addr_kind((struct sockaddr *)&ss) != NULL));
    return webhook_addr_kind((struct sockaddr *)&ss);
}

static void test_addr_private(void **state)
{
    static const char *private_[] = {
        /* IPv4, at both edges of each range */
        "0.0.0.0",
        "0.255.255.255",
        "10.0.0.0",
        "10.255.255.255",
        "100.64.0.0",
        "100.127.255.255",
        "127.0.0.1",
        "127.255.255.254",
        "169.254.0.1",
        "169.254.169.254",
        "172.16.0.0",
        "172.31.255.255",
        "192.0.0.170",
        "192.168.0.1",
        "192.168.255.255",
        "198.18.0.1",
        "198.19.255.255",
        "224.0.0.1",
        "239.255.255.255",
        "240.0.0.1",
        "255.255.255.255",
        /* IPv6 */
        "::",
        "::1",
        "fc00::1",
        "fd00:ec2::254",
        "fdff:ffff::1",
        "fe80::1",
        "febf::1",
        "fec0::1",
        "ff02::1",
        "ff0e::1",
        "100::1",
        "::7f00:1",
        /* IPv4 inside IPv6: mapped, SIIT, NAT64, 6to4 */
        "::ffff:127.0.0.1",
        "::ffff:10.1.2.3",
        "::ffff:169.254.169.254",
        "::ffff:0.0.0.0",
        "::ffff:0:192.168.1.1",
        "64:ff9b::a00:1",
        "64:ff9b::7f00:1",
        "64:ff9b:1::1",
        "2002:7f00:1::",
        "2002:a9fe:a9fe::1",
        "2002:c0a8:101::1",
    };
    static const char *public_[] = {
        "1.1.1.1",        "8.8.8.8",          "9.255.255.255",        "11.0.0.0",
        "93.184.216.34",  "100.63.255.255",   "100.128.0.0",          "126.255.255.255",
        "128.0.0.0",      "169.253.255.255",  "169.255.0.0",          "172.15.255.255",
        "172.32.0.0",     "192.167.255.255",  "192.169.0.0",          "198.17.255.255",
        "198.20.0.0",     "223.255.255.255",  "2001:4860:4860::8888", "2606:4700:4700::1111",
        "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1",      "fbff::1",
        "fe7f::1",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(private_) / sizeof(private_[0]); i++) {
        if (kind_of(private_[i]) == NULL) {
            fail_msg("%s counted as public", private_[i]);
        }
    }
    for (size_t i = 0; i < sizeof(public_) / sizeof(public_[0]); i++) {
        const char *kind = kind_of(public_[i]);
        if (kind != NULL) {
            fail_msg("%s counted as %s", public_[i], kind);
        }
    }
    assert_string_equal(kind_of("127.0.0.1"), "loopback");
    assert_string_equal(kind_of("::ffff:127.0.0.1"), "loopback");
    assert_string_equal(kind_of("::1"), "loopback ::1");
    assert_non_null(strstr(kind_of("169.254.169.254"), "cloud metadata"));
    assert_non_null(strstr(kind_of("100.100.100.200"), "carrier-grade NAT"));

    /* What is not an IP address is never a webhook target. */
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    assert_true(webhook_addr_private((struct sockaddr *)&un));
    assert_true(webhook_addr_private(NULL));
}

/* Expected values computed apart from our code:
 *   printf '%s' '1700000000.{"event":"test"}' | openssl dgst -sha256 -hmac whsec_test */
static void test_sign_vector(void **state)
{
    static const char body[] = "{\"event\":\"test\"}";
    char hex[WEBHOOK_SIG_HEX_BYTES];

    (void)state;
    assert_int_equal(webhook_sign("whsec_test", 10, 1700000000, body, strlen(body), hex), 0);
    assert_string_equal(hex, "21d2d3606ebbdbf9307ee15e83085df2b83c83dd87cc2e6d2ea6b1cb61afdc3c");
    /* printf '%s' '1700000000.' | openssl dgst -sha256 -hmac whsec_test */
    assert_int_equal(webhook_sign("whsec_test", 10, 1700000000, NULL, 0, hex), 0);
    assert_string_equal(hex, "5967f3c560522fa40cf2876ebc3c3a08551dd6959aaade3b413460591895bdcc");
    /* printf '%s' '1712345678.{"type":"alert.raised","id":"evt_01"}' |
     *   openssl dgst -sha256 -hmac Jefe */
    static const char body2[] = "{\"type\":\"alert.raised\",\"id\":\"evt_01\"}";
    assert_int_equal(webhook_sign("Jefe", 4, 1712345678, body2, strlen(body2), hex), 0);
    assert_string_equal(hex, "23927e84cf8a54ca5e9b1574ad8892806c656736b9867e0b20703e67ee26ad30");

    /* The timestamp is signed: another t, another signature. */
    char other[WEBHOOK_SIG_HEX_BYTES];
    assert_int_equal(webhook_sign("Jefe", 4, 1712345679, body2, strlen(body2), other), 0);
    assert_string_not_equal(hex, other);

    assert_int_equal(webhook_sign("", 0, 1, body, strlen(body), hex), WAIHU_EINVAL);
    assert_string_equal(hex, "");
    assert_int_equal(webhook_sign("k", 1, 1, NULL, 3, hex), WAIHU_EINVAL);
}

static void test_backoff(void **state)
{
    const uint32_t lo = 0, mid = 1u << 31, hi = UINT32_MAX;

    (void)state;
    assert_int_equal(webhook_backoff_ms(1, mid), 1000);
    assert_int_equal(webhook_backoff_ms(1, lo), 800);
    assert_int_equal(webhook_backoff_ms(1, hi), 1199);  /* just under +20% */
    assert_int_equal(webhook_backoff_ms(0, mid), 1000); /* treated as the first */
    assert_int_equal(webhook_backoff_ms(2, mid), 2000);
    assert_int_equal(webhook_backoff_ms(3, mid), 4000);
    assert_int_equal(webhook_backoff_ms(9, mid), 256000);
    assert_int_equal(webhook_backoff_ms(9, hi), 300000); /* 307 s with jitter: capped */
    assert_int_equal(webhook_backoff_ms(10, mid), 300000);
    assert_int_equal(webhook_backoff_ms(10, lo), 240000);
    assert_int_equal(webhook_backoff_ms(10, hi), 300000);
    assert_int_equal(webhook_backoff_ms(1000, lo), 240000);
    assert_int_equal(webhook_backoff_ms(UINT32_MAX, hi), 300000);

    /* Over every attempt and jitter: within 0.8..1.2 of the base, never above the cap,
     * never shorter than the attempt before at the same jitter. */
    for (unsigned attempt = 1; attempt <= 64; attempt++) {
        uint64_t base = attempt > 20 ? 300000 : 1000ull << (attempt - 1);
        base = base > 300000 ? 300000 : base;
        for (uint64_t r = 0; r <= UINT32_MAX; r += 0x0fffffffu) {
            uint64_t d = webhook_backoff_ms(attempt, (uint32_t)r);
            assert_true(d >= base * 4 / 5);
            assert_true(d <= base * 6 / 5);
            assert_true(d <= WEBHOOK_BACKOFF_CAP_MS);
            if (attempt > 1) {
                assert_true(d >= webhook_backoff_ms(attempt - 1, (uint32_t)r));
            }
        }
    }
}

static void test_should_retry(void **state)
{
    static const long delivered[] = {200, 201, 202, 204, 299};
    static const long retry[] = {408, 425, 429, 500, 502, 503, 504, 599};
    static const long dead[] = {0,   100, 199, 300, 301, 302, 304, 307, 308, 400, 401,
                                403, 404, 405, 409, 410, 413, 415, 422, 451, 499, 600};

    (void)state;
    for (size_t i = 0; i < sizeof(delivered) / sizeof(delivered[0]); i++) {
        assert_int_equal(webhook_should_retry(delivered[i], 0), WEBHOOK_DELIVERED);
    }
    for (size_t i = 0; i < sizeof(retry) / sizeof(retry[0]); i++) {
        assert_int_equal(webhook_should_retry(retry[i], 0), WEBHOOK_RETRY);
    }
    for (size_t i = 0; i < sizeof(dead) / sizeof(dead[0]); i++) {
        if (webhook_should_retry(dead[i], 0) != WEBHOOK_DEAD) {
            fail_msg("HTTP %ld is not dead", dead[i]);
        }
    }
    /* Transport errors retry (even after headers came); refusals never do. */
    assert_int_equal(webhook_should_retry(0, WAIHU_ETIMEDOUT), WEBHOOK_RETRY);
    assert_int_equal(webhook_should_retry(200, WAIHU_ETIMEDOUT), WEBHOOK_RETRY);
    assert_int_equal(webhook_should_retry(0, WAIHU_EIO), WEBHOOK_RETRY);
    assert_int_equal(webhook_should_retry(0, WAIHU_ENOMEM), WEBHOOK_RETRY);
    assert_int_equal(webhook_should_retry(0, WAIHU_ESHUTDOWN), WEBHOOK_RETRY);
    assert_int_equal(webhook_should_retry(0, WAIHU_EINVAL), WEBHOOK_DEAD);
    assert_int_equal(webhook_should_retry(0, WAIHU_ETOOBIG), WEBHOOK_DEAD);
}

static void test_next(void **state)
{
    struct webhook_result res;
    uint64_t delay;
    char why[512];
    const uint32_t mid = 1u << 31;

    (void)state;
    memset(&res, 0, sizeof(res));
    res.status = 204;
    assert_int_equal(webhook_next(&res, 1, 0, mid, &delay, why, sizeof(why)), WEBHOOK_DELIVERED);
    assert_int_equal(delay, 0);
    assert_string_equal(why, "");

    /* 503: retry with backoff until the eighth attempt, then dead with the last reason. */
    res.status = 503;
    snprintf(res.why, sizeof(res.why), "hooks.example.com answered HTTP 503: down");
    for (unsigned a = 1; a < WEBHOOK_MAX_ATTEMPTS_DEFAULT; a++) {
        assert_int_equal(webhook_next(&res, a, 0, mid, &delay, why, sizeof(why)), WEBHOOK_RETRY);
        assert_int_equal(delay, webhook_backoff_ms(a, mid));
    }
    assert_int_equal(webhook_next(&res, 8, 0, mid, &delay, why, sizeof(why)), WEBHOOK_DEAD);
    assert_string_equal(why, "gave up after 8 attempts; last: hooks.example.com answered HTTP "
                             "503: down");
    assert_int_equal(webhook_next(&res, 3, 3, mid, &delay, NULL, 0), WEBHOOK_DEAD);

    /* Retry-After raises the delay, up to the cap, for 429 and 503 only. */
    res.status = 429;
    res.retry_after_s = 120;
    assert_int_equal(webhook_next(&res, 1, 0, mid, &delay, why, sizeof(why)), WEBHOOK_RETRY);
    assert_int_equal(delay, 120000);
    res.retry_after_s = 86400;
    assert_int_equal(webhook_next(&res, 1, 0, mid, &delay, why, sizeof(why)), WEBHOOK_RETRY);
    assert_int_equal(delay, WEBHOOK_BACKOFF_CAP_MS);
    res.retry_after_s = 1;
    assert_int_equal(webhook_next(&res, 5, 0, mid, &delay, why, sizeof(why)), WEBHOOK_RETRY);
    assert_int_equal(delay, 16000);
    res.status = 500;
    res.retry_after_s = 120;
    assert_int_equal(webhook_next(&res, 1, 0, mid, &delay, why, sizeof(why)), WEBHOOK_RETRY);
    assert_int_equal(delay, 1000);

    /* 404 is dead at the first attempt, the reason kept. */
    memset(&res, 0, sizeof(res));
    res.status = 404;
    snprintf(res.why, sizeof(res.why), "hooks.example.com answered HTTP 404: no such hook");
    assert_int_equal(webhook_next(&res, 1, 0, mid, &delay, why, sizeof(why)), WEBHOOK_DEAD);
    assert_string_equal(why, "permanent failure: hooks.example.com answered HTTP 404: no such "
                             "hook");
    /* A transport error without text still gives a reason. */
    memset(&res, 0, sizeof(res));
    res.err = WAIHU_EINVAL;
    assert_int_equal(webhook_next(&res, 1, 0, mid, &delay, why, sizeof(why)), WEBHOOK_DEAD);
    assert_non_null(strstr(why, "permanent failure: "));
    assert_true(strlen(why) > strlen("permanent failure: "));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url_check),    cmocka_unit_test(test_url_limits),
        cmocka_unit_test(test_addr_private), cmocka_unit_test(test_sign_vector),
        cmocka_unit_test(test_backoff),      cmocka_unit_test(test_should_retry),
        cmocka_unit_test(test_next),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
