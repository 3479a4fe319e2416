/* RIOT's net/ipv6/addr.h on Linux (zrec-zsock): the IPv6 address type and
 * the conversions applications use with sock endpoints. */
#ifndef ZREC_RIOT_NET_IPV6_ADDR_H
#define ZREC_RIOT_NET_IPV6_ADDR_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/** An IPv6 address (network byte order). */
typedef union {
    uint8_t u8[16];
    uint16_t u16[8];
    uint32_t u32[4];
    uint64_t u64[2];
} ipv6_addr_t;

/** "ffff:…:ffff" with its NUL. */
#define IPV6_ADDR_MAX_STR_LEN (sizeof("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255"))

/** addr (text) into result; result, or NULL if addr is not an IPv6 address. */
ipv6_addr_t *ipv6_addr_from_str(ipv6_addr_t *result, const char *addr);
/** addr as text into result (result_len bytes); result, or NULL if it does not fit. */
char *ipv6_addr_to_str(char *result, const ipv6_addr_t *addr, uint8_t result_len);

static inline bool ipv6_addr_equal(const ipv6_addr_t *a, const ipv6_addr_t *b)
{
    return memcmp(a, b, sizeof *a) == 0;
}
static inline bool ipv6_addr_is_multicast(const ipv6_addr_t *addr)
{
    return addr->u8[0] == 0xff;
}
static inline bool ipv6_addr_is_link_local(const ipv6_addr_t *addr)
{
    return (addr->u8[0] == 0xfe && (addr->u8[1] & 0xc0) == 0x80) ||
           (ipv6_addr_is_multicast(addr) && (addr->u8[1] & 0x0f) == 2);
}
static inline bool ipv6_addr_is_loopback(const ipv6_addr_t *addr)
{
    static const uint8_t lo[16] = {[15] = 1};
    return memcmp(addr, lo, 16) == 0;
}

#ifdef __cplusplus
}
#endif
#endif
