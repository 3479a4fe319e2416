/*
 * zrec libzrec-zsock: the part of <zephyr/net/dns_resolve.h> that socket
 * code uses, on Linux.
 *
 * Zephyr's zsock_getaddrinfo() returns the DNS_EAI_* codes of
 * include/zephyr/net/dns_resolve.h (enum dns_resolve_status).  Their values
 * are glibc's EAI_* values (Zephyr copied glibc's <netdb.h>: BADFLAGS -1 ...
 * OVERFLOW -12, INPROGRESS -100 ... IDN_ENCODE -105), so zrec's
 * zsock_getaddrinfo() returns glibc's codes unchanged.  The values are
 * written out rather than taken from glibc's EAI_* because glibc shows half
 * of its EAI_* only under _GNU_SOURCE; tests/facade_api checks them against
 * glibc.  Zephyr's resolver API itself (dns_resolve_init(),
 * dns_get_addr_info() ...) is not provided: on Linux, names are glibc's.
 */
#ifndef ZEPHYR_INCLUDE_NET_DNS_RESOLVE_H_
#define ZEPHYR_INCLUDE_NET_DNS_RESOLVE_H_

#include <zephyr/net/zsock_host.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Zephyr: maximum host name length of its resolver (its default, 20).
 *  Kept for code that sizes buffers with it; glibc has no such limit. */
#ifndef DNS_MAX_NAME_SIZE
#define DNS_MAX_NAME_SIZE 20
#endif

/** Status codes of zsock_getaddrinfo() (Zephyr's enum dns_resolve_status). */
enum dns_resolve_status {
	DNS_EAI_BADFLAGS    = -1,   /* invalid ai_flags */
	DNS_EAI_NONAME      = -2,   /* NAME or SERVICE unknown */
	DNS_EAI_AGAIN       = -3,   /* temporary failure */
	DNS_EAI_FAIL        = -4,   /* non-recoverable failure */
	DNS_EAI_NODATA      = -5,   /* no address for NAME */
	DNS_EAI_FAMILY      = -6,   /* ai_family not supported */
	DNS_EAI_SOCKTYPE    = -7,   /* ai_socktype not supported */
	DNS_EAI_SERVICE     = -8,   /* SERVICE not supported for ai_socktype */
	DNS_EAI_ADDRFAMILY  = -9,   /* family not supported for NAME */
	DNS_EAI_MEMORY      = -10,  /* out of memory */
	DNS_EAI_SYSTEM      = -11,  /* system error, see errno */
	DNS_EAI_OVERFLOW    = -12,  /* argument buffer overflow */
	DNS_EAI_INPROGRESS  = -100, /* request in progress */
	DNS_EAI_CANCELED    = -101, /* request canceled */
	DNS_EAI_NOTCANCELED = -102, /* request not canceled */
	DNS_EAI_ALLDONE     = -103, /* all requests done */
	DNS_EAI_IDN_ENCODE  = -105, /* IDN encoding failed */
};

#ifdef __cplusplus
}
#endif

#endif /* ZEPHYR_INCLUDE_NET_DNS_RESOLVE_H_ */
