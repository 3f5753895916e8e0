/* The SDP offer the bridge sends on both legs: one audio stream, G.711 and RFC 4733. */
#include <arpa/inet.h>
#include <stdio.h>

#include "sdp.h"

int bridge_sdp_build(char *out, size_t out_size, const char *ip, uint16_t port, int codec,
                     int te_pt, uint64_t session_id)
{
    struct in_addr a;
    if (!out || !ip || inet_pton(AF_INET, ip, &a) != 1 || port == 0 ||
        (codec != -1 && codec != 0 && codec != 8) || (te_pt != -1 && (te_pt < 96 || te_pt > 127))) {
        return WAIHU_EINVAL;
    }
    char fmts[16], te_fmt[8] = "", maps[160], te[80] = "";
    if (codec < 0) {
        snprintf(fmts, sizeof fmts, "0 8");
        snprintf(maps, sizeof maps, "a=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n");
    } else {
        snprintf(fmts, sizeof fmts, "%d", codec);
        snprintf(maps, sizeof maps, "a=rtpmap:%d %s/8000\r\n", codec, codec ? "PCMA" : "PCMU");
    }
    if (te_pt >= 0) {
        snprintf(te_fmt, sizeof te_fmt, " %d", te_pt);
        snprintf(te, sizeof te, "a=rtpmap:%d telephone-event/8000\r\na=fmtp:%d 0-15\r\n", te_pt,
                 te_pt);
    }
    int n = snprintf(out, out_size,
                     "v=0\r\no=waihu %llu %llu IN IP4 %s\r\ns=waihu\r\nc=IN IP4 %s\r\nt=0 0\r\n"
                     "m=audio %u RTP/AVP %s%s\r\n%s%sa=ptime:20\r\na=sendrecv\r\n",
                     (unsigned long long)session_id, (unsigned long long)session_id, ip, ip,
                     (unsigned)port, fmts, te_fmt, maps, te);
    if (n < 0 || (size_t)n >= out_size) {
        return WAIHU_ETOOBIG;
    }
    return 0;
}
