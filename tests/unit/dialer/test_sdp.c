/* SDP of call legs (src/dialer/sdp.h): what carriers and softphones send, and round trips of
 * what the bridge offers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "sdp.h"

static void parses_sipp_answer_with_static_payload_types(void **state)
{
    (void)state;
    /* sipp's built-in uas: static PT without rtpmap, session-level c= */
    const char *text = "v=0\r\no=user1 53655765 2353687637 IN IP4 127.0.0.1\r\ns=-\r\n"
                       "c=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 19200 RTP/AVP 8 101\r\n"
                       "a=rtpmap:101 telephone-event/8000\r\n";
    struct bridge_sdp s;
    char err[128];
    assert_int_equal(bridge_sdp_parse(text, &s, err, sizeof err), 0);
    assert_string_equal(s.ip, "127.0.0.1");
    assert_int_equal(s.port, 19200);
    assert_int_equal(s.codec, 8);
    assert_int_equal(s.te_pt, 101);
    assert_int_equal(s.sendrecv, 1);
}

static void parses_baresip_answer_media_level_connection(void **state)
{
    (void)state;
    const char *text = "v=0\r\no=- 2890 2891 IN IP4 10.0.0.9\r\ns=-\r\nc=IN IP4 10.0.0.9\r\n"
                       "t=0 0\r\nm=video 0 RTP/AVP 96\r\n"
                       "m=audio 19422 RTP/AVP 0 96\r\nc=IN IP4 127.0.0.1\r\n"
                       "a=rtpmap:0 PCMU/8000\r\na=rtpmap:96 telephone-event/8000\r\n"
                       "a=fmtp:96 0-15\r\na=sendrecv\r\na=ptime:20\r\n";
    struct bridge_sdp s;
    assert_int_equal(bridge_sdp_parse(text, &s, NULL, 0), 0);
    assert_string_equal(s.ip, "127.0.0.1");
    assert_int_equal(s.port, 19422);
    assert_int_equal(s.codec, 0);
    assert_int_equal(s.te_pt, 96);
}

static void first_g711_in_m_line_order_wins(void **state)
{
    (void)state;
    const char *text = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n"
                       "t=0 0\r\nm=audio 4000 RTP/AVP 18 8 0\r\na=rtpmap:18 G729/8000\r\n"
                       "a=sendonly\r\n";
    struct bridge_sdp s;
    assert_int_equal(bridge_sdp_parse(text, &s, NULL, 0), 0);
    assert_int_equal(s.codec, 8);
    assert_int_equal(s.te_pt, -1);
    assert_int_equal(s.sendrecv, 0); /* hold */
}

static void refuses_what_the_bridge_cannot_relay(void **state)
{
    (void)state;
    struct bridge_sdp s;
    char err[128] = "";
    const char *no_g711 = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n"
                          "t=0 0\r\nm=audio 4000 RTP/AVP 18\r\na=rtpmap:18 G729/8000\r\n";
    assert_int_equal(bridge_sdp_parse(no_g711, &s, err, sizeof err), WAIHU_EINVAL);
    assert_non_null(strstr(err, "PCMU"));
    const char *ipv6 = "v=0\r\no=- 1 1 IN IP6 ::1\r\ns=-\r\nc=IN IP6 ::1\r\n"
                       "t=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";
    assert_int_equal(bridge_sdp_parse(ipv6, &s, err, sizeof err), WAIHU_EINVAL);
    const char *no_audio = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n"
                           "t=0 0\r\nm=audio 0 RTP/AVP 0\r\n";
    assert_int_equal(bridge_sdp_parse(no_audio, &s, err, sizeof err), WAIHU_EINVAL);
    assert_int_equal(bridge_sdp_parse("this is not sdp", &s, err, sizeof err), WAIHU_EINVAL);
    assert_int_equal(bridge_sdp_parse("", &s, err, sizeof err), WAIHU_EINVAL);
    assert_int_equal(bridge_sdp_parse(NULL, &s, err, sizeof err), WAIHU_EINVAL);
}

static void offers_round_trip(void **state)
{
    (void)state;
    char buf[1024];
    struct bridge_sdp s;
    const int codecs[] = {-1, 0, 8};
    const int tes[] = {-1, 96, 101, 127};
    for (size_t i = 0; i < 3; i++) {
        for (size_t j = 0; j < 4; j++) {
            uint16_t port = (uint16_t)(19000 + 2 * (i * 4 + j));
            assert_int_equal(bridge_sdp_build(buf, sizeof buf, "127.0.0.1", port, codecs[i],
                                              tes[j], 42),
                             0);
            assert_int_equal(bridge_sdp_parse(buf, &s, NULL, 0), 0);
            assert_int_equal(s.port, port);
            assert_int_equal(s.codec, codecs[i] < 0 ? 0 : codecs[i]);
            assert_int_equal(s.te_pt, tes[j]);
            assert_string_equal(s.ip, "127.0.0.1");
            assert_int_equal(s.sendrecv, 1);
        }
    }
}

static void build_checks_arguments_and_size(void **state)
{
    (void)state;
    char buf[1024];
    assert_int_equal(bridge_sdp_build(buf, sizeof buf, "::1", 4000, -1, 101, 1), WAIHU_EINVAL);
    assert_int_equal(bridge_sdp_build(buf, sizeof buf, "127.0.0.1", 0, -1, 101, 1), WAIHU_EINVAL);
    assert_int_equal(bridge_sdp_build(buf, sizeof buf, "127.0.0.1", 4000, 18, 101, 1),
                     WAIHU_EINVAL);
    assert_int_equal(bridge_sdp_build(buf, sizeof buf, "127.0.0.1", 4000, -1, 95, 1),
                     WAIHU_EINVAL);
    assert_int_equal(bridge_sdp_build(buf, 40, "127.0.0.1", 4000, -1, 101, 1), WAIHU_ETOOBIG);
}

/* Truncations of a valid SDP never crash the parser and never yield a port of 0. */
static void truncations_are_safe(void **state)
{
    (void)state;
    char full[1024], cut[1024];
    struct bridge_sdp s;
    assert_int_equal(bridge_sdp_build(full, sizeof full, "127.0.0.1", 19500, -1, 101, 7), 0);
    for (size_t n = 0; n <= strlen(full); n++) {
        memcpy(cut, full, n);
        cut[n] = '\0';
        if (bridge_sdp_parse(cut, &s, NULL, 0) == 0) {
            assert_true(s.port != 0);
            assert_true(s.codec == 0 || s.codec == 8);
        }
    }
}

/* Debian's sofia-sip loops forever on a proto with non-token bytes (fuzz/fuzz_sdp.c found
 * it): a carrier's or softphone's answer would hang the core loop. Refused before sofia. */
static void refuses_media_lines_sofia_loops_on(void **state)
{
    (void)state;
    static const char *const protos[] = {"R\xa5\xa5", "X((", "RTP/\x01\x01", "udp::", "R@@",
                                         "PAR /TVP"};
    struct bridge_sdp s;
    char err[128], text[256];
    alarm(20); /* the default action fails the test instead of hanging it */
    for (size_t i = 0; i < sizeof protos / sizeof *protos; i++) {
        snprintf(text, sizeof text, "v=0\r\no=- 1 1 IN IP4 1.1.1.1\r\ns=-\r\n"
                 "c=IN IP4 1.1.1.1\r\nt=0 0\r\nm=audio %d %s 0\r\n", (int)i * 1000, protos[i]);
        assert_int_equal(bridge_sdp_parse(text, &s, err, sizeof err), WAIHU_EINVAL);
        assert_non_null(strstr(err, "m= line"));
    }
    /* A CR alone ends a line for sofia-sip too, and blanks before "m=" are skipped. */
    assert_int_equal(bridge_sdp_parse("v=0\rm=audio 0 X((\r", &s, err, sizeof err), WAIHU_EINVAL);
    assert_int_equal(bridge_sdp_parse("v=0\r\n \tm=audio 1 X((", &s, err, sizeof err),
                     WAIHU_EINVAL);
    alarm(0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_sipp_answer_with_static_payload_types),
        cmocka_unit_test(parses_baresip_answer_media_level_connection),
        cmocka_unit_test(first_g711_in_m_line_order_wins),
        cmocka_unit_test(refuses_what_the_bridge_cannot_relay),
        cmocka_unit_test(offers_round_trip),
        cmocka_unit_test(build_checks_arguments_and_size),
        cmocka_unit_test(truncations_are_safe),
        cmocka_unit_test(refuses_media_lines_sofia_loops_on),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
