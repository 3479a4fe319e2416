/*
 * PROXY protocol version 2 (HAProxy's proxy-protocol.txt §2.2): the binary
 * header a gateway sends first on each backend connection so that the
 * backend learns the client's address, the negotiated ALPN and the SNI.
 */
#include <string.h>

#include "gw.h"

/* §2.2: the 12-byte signature, then version 2 / command PROXY. */
static const uint8_t sig[12] = {0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d,
                                0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a};
#define PP2_VERSION_PROXY 0x21
#define PP2_AF_INET_STREAM 0x11
#define PP2_AF_INET6_STREAM 0x21
/* §2.2.1 */
#define PP2_TYPE_ALPN 0x01
#define PP2_TYPE_AUTHORITY 0x02

static size_t tlv(uint8_t *p, size_t room, uint8_t type, const char *v)
{
    size_t n = v ? strlen(v) : 0;
    if (n == 0 || n > 0xffff || 3 + n > room)
        return 0;
    p[0] = type;
    p[1] = (uint8_t)(n >> 8);
    p[2] = (uint8_t)n;
    memcpy(p + 3, v, n);
    return 3 + n;
}

size_t gw_proxy_v2(uint8_t *out, size_t cap, const struct sockaddr *src, const struct sockaddr *dst,
                   const char *alpn, const char *sni)
{
    if (cap < 16 + 36 || src->sa_family != dst->sa_family)
        return 0;
    memcpy(out, sig, sizeof sig);
    out[12] = PP2_VERSION_PROXY;
    uint8_t *p = out + 16;
    if (src->sa_family == AF_INET) {
        const struct sockaddr_in *s = (const void *)src, *d = (const void *)dst;
        out[13] = PP2_AF_INET_STREAM;
        memcpy(p, &s->sin_addr, 4);
        memcpy(p + 4, &d->sin_addr, 4);
        memcpy(p + 8, &s->sin_port, 2); /* already in network order */
        memcpy(p + 10, &d->sin_port, 2);
        p += 12;
    } else if (src->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s = (const void *)src, *d = (const void *)dst;
        out[13] = PP2_AF_INET6_STREAM;
        memcpy(p, &s->sin6_addr, 16);
        memcpy(p + 16, &d->sin6_addr, 16);
        memcpy(p + 32, &s->sin6_port, 2);
        memcpy(p + 34, &d->sin6_port, 2);
        p += 36;
    } else {
        return 0;
    }
    p += tlv(p, cap - (size_t)(p - out), PP2_TYPE_ALPN, alpn);
    p += tlv(p, cap - (size_t)(p - out), PP2_TYPE_AUTHORITY, sni);
    size_t rest = (size_t)(p - out) - 16;
    out[14] = (uint8_t)(rest >> 8);
    out[15] = (uint8_t)rest;
    return (size_t)(p - out);
}
