/* facade/compat/riot internals: RIOT endpoints as the kernel's addresses,
 * and microsecond timeouts (docs/COMPAT.md).  Included after the host's
 * socket headers, so net/af.h keeps the host's AF_* values here and RIOT's
 * own numbering is spelled RIOT_AF_*. */
#ifndef ZREC_COMPAT_RIOT_H
#define ZREC_COMPAT_RIOT_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "net/sock/udp.h"

#define RIOT_AF_INET 3  /* RIOT's net/af.h */
#define RIOT_AF_INET6 4

#define RIOT_UDP_MAGIC 0x52554450u  /* "RUDP": a live sock_udp_t */
#define RIOT_DTLS_MAGIC 0x52444c53u /* "RDLS": a live sock_dtls_t */

/* The kernel's family for an endpoint's (either numbering), or -1. */
int riot_kernel_family(int family);
/* ep as a kernel address; its family may be AF_UNSPEC (then dflt, a kernel
 * family).  0, -EAFNOSUPPORT or -EINVAL (port 0 when need_port, an
 * unspecified address when need_addr). */
int riot_ep_to_sa(const sock_udp_ep_t *ep, int dflt, bool need_addr, bool need_port,
                  struct sockaddr_storage *sa, socklen_t *len);
/* A kernel address as an endpoint, the family numbered as RIOT's
 * (riot_af) or the host's. */
void riot_sa_to_ep(const struct sockaddr *sa, bool riot_af, sock_udp_ep_t *ep);
/* The same endpoint (family in either numbering, address, port). */
bool riot_ep_same(const sock_udp_ep_t *a, const sock_udp_ep_t *b);

/* A RIOT buffer list as an iovec array (at most max buffers): their count,
 * or -EINVAL (too many, or a NULL buffer with a length); *total: the bytes. */
struct iovec;
int riot_iolist_iov(const iolist_t *snips, struct iovec *iov, size_t max, size_t *total);

/* RIOT's recv_buf protocol: a call with *buf_ctx set takes back what the
 * last one lent out (0: the caller returns 0); otherwise *buf is made (cap
 * bytes) for the next datagram or record (1), or -ENOMEM.  riot_lend()
 * lends it out. */
int riot_lend_begin(void **data, void **buf_ctx, void **buf, size_t cap);
static inline void riot_lend(void **data, void **buf_ctx, void *buf)
{
    *data = buf;
    *buf_ctx = buf;
}

/* A timeout in microseconds as a deadline (CLOCK_MONOTONIC, µs); -1: none. */
int64_t riot_deadline(uint32_t timeout_us);
/* Milliseconds to wait until the deadline for poll(): -1 forever, 0 when
 * it passed (rounded up: never returns before it). */
int riot_poll_ms(int64_t deadline_us);
int64_t riot_now_us(void);

#endif
