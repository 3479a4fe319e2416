/* The wolfSSL half of interop-zrec (wolfssl_side.c), behind plain C so that
 * zrec_side.c, which owns the record layer after the handshake, never sees
 * a wolfSSL header. */
#ifndef ZREC_INTEROP_HANDOFF_H
#define ZREC_INTEROP_HANDOFF_H

#include <stdbool.h>

#include "interop.h"
#include "zrec/zrec.h"

/* Handshake with the OpenSSL peer over fd (non-blocking; every wait is a
 * poll() with IX_IO_TIMEOUT_MS), with zrec_wolfssl_prepare() before and
 * zrec_wolfssl_import() after; the WOLFSSL object and its context are freed
 * before this returns.  `provider` NULL = zrec's default.  Fails the test on
 * any error. */
struct zrec_session *ix_wolfssl_handshake(enum ix_proto proto, const struct ix_suite *suite,
                                          bool server, const char *certs, int fd,
                                          const struct zrec_aead_provider *provider);

#endif
