/* libzrec-zsock internal: the TLS credential registry, for the TLS sockets
 * (tls.c).  The public API is <zephyr/net/tls_credentials.h>. */
#ifndef ZS_CREDS_H
#define ZS_CREDS_H

#include <stdbool.h>
#include <stddef.h>

#include <zephyr/net/tls_credentials.h>

/* Find the credential registered under (tag, type).  On success *cred is
 * the caller's own buffer given to tls_credential_add() (Zephyr does not
 * copy credentials) and *len its length - for PEM including the final NUL.
 * The pointer stays valid while the application keeps its buffer, which
 * Zephyr requires anyway; it is not protected against a concurrent
 * tls_credential_delete(), which only unregisters.  Look credentials up
 * when a handshake starts and do not cache them across handshakes.
 * Returns 0, or -ENOENT (and *cred NULL, *len 0); -EINVAL if cred or len
 * is NULL. */
int zs_cred_find(sec_tag_t tag, enum tls_credential_type type, const void **cred,
                 size_t *len);

/* Whether any credential is registered under tag. */
bool zs_cred_tag_known(sec_tag_t tag);

/* PEM or DER?  True when the buffer starts with "-----BEGIN" (PEM's
 * encapsulation boundary, RFC 7468); DER starts with a SEQUENCE tag. */
bool zs_cred_is_pem(const void *cred, size_t len);

#endif
