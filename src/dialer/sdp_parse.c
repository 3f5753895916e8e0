/* A peer's SDP -> struct bridge_sdp, through sofia-sip's parser. */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <sofia-sip/sdp.h>
#include <sofia-sip/su_alloc.h>

#include "sdp.h"

static int fail(char *errmsg, size_t size, const char *why, const char *detail)
{
    if (errmsg && size) {
        snprintf(errmsg, size, "sdp: %s%s%s", why, detail ? ": " : "", detail ? detail : "");
    }
    return WAIHU_EINVAL;
}

/* 0 PCMU, 8 PCMA, -1 other; static payload types count even without an rtpmap. */
static int g711_of(const sdp_rtpmap_t *rm)
{
    if (rm->rm_rate != 8000 || !rm->rm_encoding) {
        return -1;
    }
    if (strcasecmp(rm->rm_encoding, "PCMU") == 0) {
        return 0;
    }
    if (strcasecmp(rm->rm_encoding, "PCMA") == 0) {
        return 8;
    }
    return -1;
}

static const sdp_media_t *audio_stream(const sdp_session_t *sess)
{
    for (const sdp_media_t *m = sess->sdp_media; m; m = m->m_next) {
        if (m->m_type == sdp_media_audio && m->m_proto == sdp_proto_rtp && m->m_port != 0 &&
            !m->m_rejected) {
            return m;
        }
    }
    return NULL;
}

static int fill(const sdp_session_t *sess, struct bridge_sdp *out, char *errmsg, size_t size)
{
    const sdp_media_t *m = audio_stream(sess);
    if (!m) {
        return fail(errmsg, size, "no audio RTP/AVP stream", NULL);
    }
    if (m->m_port > 65535) {
        return fail(errmsg, size, "bad port", NULL);
    }
    const sdp_connection_t *c = m->m_connections ? m->m_connections : sess->sdp_connection;
    struct in_addr a;
    if (!c || c->c_addrtype != sdp_addr_ip4 || !c->c_address ||
        inet_pton(AF_INET, c->c_address, &a) != 1) {
        return fail(errmsg, size, "no IPv4 connection address", c ? c->c_address : NULL);
    }
    out->codec = -1;
    out->te_pt = -1;
    for (const sdp_rtpmap_t *rm = m->m_rtpmaps; rm; rm = rm->rm_next) {
        int g = g711_of(rm);
        if (g >= 0 && out->codec < 0) {
            out->codec = g;
        } else if (out->te_pt < 0 && rm->rm_pt >= 96 && rm->rm_rate == 8000 && rm->rm_encoding &&
                   strcasecmp(rm->rm_encoding, "telephone-event") == 0) {
            out->te_pt = rm->rm_pt;
        }
    }
    if (out->codec < 0) {
        return fail(errmsg, size, "neither PCMU nor PCMA offered", NULL);
    }
    snprintf(out->ip, sizeof out->ip, "%s", c->c_address);
    out->port = (uint16_t)m->m_port;
    out->sendrecv = m->m_mode == sdp_sendrecv && strcmp(c->c_address, "0.0.0.0") != 0;
    return 0;
}

/* Length of the RFC 4566 token at s (token-char: no space, '/', quotes or separators). */
static size_t token_len(const char *s, size_t n)
{
    static const char chars[] = "!#$%&'*+-.^_`{|}~0123456789"
                                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    size_t i = 0;
    while (i < n && s[i] != '\0' && strchr(chars, s[i]) != NULL) {
        i++;
    }
    return i;
}

/* One m= line after "m=" (n bytes): <media> <port>[/<count>] <proto> <fmt>..., with proto
 * token *("/" token) (RFC 4566 5.14); blanks between fields. */
static bool media_line_ok(const char *s, size_t n)
{
    size_t i = 0, field = 0;
    while (i < n) {
        size_t k;
        if (s[i] == ' ' || s[i] == '\t') {
            i++;
            continue;
        }
        if (field == 1) { /* port: digits, optionally /digits */
            k = strspn(s + i, "0123456789");
            if (k > 0 && i + k < n && s[i + k] == '/') {
                size_t c = strspn(s + i + k + 1, "0123456789");
                k = c > 0 ? k + 1 + c : 0;
            }
        } else {
            k = token_len(s + i, n - i);
            while (field == 2 && k > 0 && i + k < n && s[i + k] == '/') {
                size_t t = token_len(s + i + k + 1, n - i - k - 1);
                k = t > 0 ? k + 1 + t : 0;
            }
        }
        if (k == 0 || (i + k < n && s[i + k] != ' ' && s[i + k] != '\t')) {
            return false;
        }
        i += k;
        field++;
    }
    return field >= 4;
}

/* Debian's sofia-sip 1.12.11 loops forever on some malformed m= lines ("m=audio 0 X((",
 * "m=audio 5004PAR /TVP 8": fuzz/fuzz_sdp.c), so only well-formed ones reach it. */
static bool media_lines_ok(const char *text)
{
    for (const char *line = text; line != NULL; line = strpbrk(line, "\r\n")) {
        line += strspn(line, "\r\n \t"); /* sofia-sip ends lines at CR or LF, skips blanks */
        if (line[0] == 'm' && line[1] == '=' &&
            !media_line_ok(line + 2, strcspn(line + 2, "\r\n"))) {
            return false;
        }
    }
    return true;
}

int bridge_sdp_parse(const char *text, struct bridge_sdp *out, char *errmsg, size_t errmsg_size)
{
    if (!text || !out) {
        return fail(errmsg, errmsg_size, "no body", NULL);
    }
    memset(out, 0, sizeof *out);
    if (!media_lines_ok(text)) {
        return fail(errmsg, errmsg_size, "syntax", "malformed m= line (RFC 4566 5.14)");
    }
    su_home_t *home = su_home_new(sizeof(su_home_t));
    if (!home) {
        return WAIHU_ENOMEM;
    }
    int rv;
    sdp_parser_t *p = sdp_parse(home, text, (issize_t)strlen(text), 0);
    const char *err = p ? sdp_parsing_error(p) : "out of memory";
    sdp_session_t *sess = p ? sdp_session(p) : NULL;
    if (!p) {
        rv = WAIHU_ENOMEM;
    } else if (err || !sess) {
        rv = fail(errmsg, errmsg_size, "syntax", err ? err : "no session");
    } else {
        rv = fill(sess, out, errmsg, errmsg_size);
    }
    if (p) {
        sdp_parser_free(p);
    }
    su_home_unref(home);
    return rv;
}
