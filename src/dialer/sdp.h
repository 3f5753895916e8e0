/* SDP of a call leg, as the bridge needs it: where the peer wants RTP, in which G.711 law,
 * and its RFC 4733 payload type. Parsing goes through sofia-sip's SDP parser (each call
 * uses its own su_home, so it is safe on the core loop thread); building writes the
 * plain offer we send to carriers and agents. Private to src/dialer (docs/bridge.md). */
#ifndef WAIHU_DIALER_SDP_H
#define WAIHU_DIALER_SDP_H

#include <stddef.h>
#include <stdint.h>

#include "common.h"

#define BRIDGE_SDP_IP_BYTES 46

/* What one audio stream of a peer's SDP says. codec is 0 (PCMU) or 8 (PCMA): the first of
 * the two in the m= line's order (the answerer's choice); te_pt is the telephone-event/8000
 * payload type (96..127) or -1. */
struct bridge_sdp {
    char ip[BRIDGE_SDP_IP_BYTES]; /* IPv4 literal from the media or session c= line */
    uint16_t port;
    int codec;
    int te_pt;
    int sendrecv; /* 0 when the stream is inactive, sendonly or recvonly (hold) */
};

/* Parses text (NUL-terminated) and fills out from the first audio RTP/AVP stream with a
 * non-zero port. Errors: WAIHU_EINVAL with a reason in errmsg (syntax, no audio stream,
 * no PCMU/PCMA, no IPv4 connection address), WAIHU_ENOMEM. errmsg may be NULL. */
WAIHU_API int bridge_sdp_parse(const char *text, struct bridge_sdp *out, char *errmsg,
                               size_t errmsg_size);

/* Writes an offer for one audio stream at ip:port offering PCMU, PCMA (in that order, or
 * only codec when codec >= 0) and telephone-event/8000 at te_pt (omitted when -1).
 * session_id also serves as the version. Returns 0, WAIHU_EINVAL (bad ip, codec or te_pt)
 * or WAIHU_ETOOBIG (out too small). */
WAIHU_API int bridge_sdp_build(char *out, size_t out_size, const char *ip, uint16_t port,
                               int codec, int te_pt, uint64_t session_id);

#endif
