/* RIOT's net/ipv4/addr.h on Linux (zrec-zsock): the IPv4 address type and
 * the conversions applications use with sock endpoints. */
#ifndef ZREC_RIOT_NET_IPV4_ADDR_H
#define ZREC_RIOT_NET_IPV4_ADDR_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** An IPv4 address (network byte order). */
typedef union {
    uint8_t u8[4];
    uint32_t u32;
} ipv4_addr_t;

/** "255.255.255.255" with its NUL. */
#define IPV4_ADDR_MAX_STR_LEN (sizeof("255.255.255.255"))

/** addr (dotted decimal) into result; result, or NULL if it is not one. */
ipv4_addr_t *ipv4_addr_from_str(ipv4_addr_t *result, const char *addr);
/** addr as text into result (result_len bytes); result, or NULL if it does not fit. */
char *ipv4_addr_to_str(char *result, const ipv4_addr_t *addr, uint8_t result_len);

static inline bool ipv4_addr_equal(const ipv4_addr_t *a, const ipv4_addr_t *b)
{
    return a->u32 == b->u32;
}
static inline bool ipv4_addr_is_multicast(const ipv4_addr_t *addr)
{
    return (addr->u8[0] & 0xf0) == 0xe0; /* 224.0.0.0/4 */
}

#ifdef __cplusplus
}
#endif
#endif
