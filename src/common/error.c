#include "common.h"

const char *waihu_strerror(int err)
{
    switch (err) {
    case WAIHU_OK: return "ok";
    case WAIHU_ENOMEM: return "out of memory";
    case WAIHU_EINVAL: return "invalid argument";
    case WAIHU_EIO: return "I/O error";
    case WAIHU_ENOTLEADER: return "not the leader";
    case WAIHU_ENOTFOUND: return "not found";
    case WAIHU_ECONFLICT: return "version conflict";
    case WAIHU_EUNAVAILABLE: return "cluster unavailable";
    case WAIHU_ECORRUPT: return "data corrupted";
    case WAIHU_ENOSPACE: return "no space left on device";
    case WAIHU_ETIMEDOUT: return "timed out";
    case WAIHU_ESHUTDOWN: return "shutting down";
    case WAIHU_ETOOBIG: return "too big";
    case WAIHU_ESTALE: return "stale request";
    default: return "unknown error";
    }
}
