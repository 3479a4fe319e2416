/*
 * zrec libzrec-zsock: <zephyr/net/tls_credentials.h> on Linux.
 *
 * Same API, types and values as Zephyr's include/zephyr/net/tls_credentials.h
 * (and subsys/net/lib/tls_credentials/tls_credentials.c for the behaviour).
 * A credential is registered under a secure tag (sec_tag_t) and a type; TLS
 * sockets then select credentials with setsockopt(SOL_TLS,
 * TLS_SEC_TAG_LIST, tags, sizeof(tags)).
 *
 * Ownership, as in Zephyr: tls_credential_add() does NOT copy the
 * credential.  The registry keeps the caller's pointer, so the buffer must
 * stay valid and unchanged for as long as the credential is registered and
 * any socket may use it (normally: a static const array).  Changing the
 * buffer changes the credential.
 *
 * Formats: DER, or PEM.  A PEM credential must be NUL-terminated and its
 * length must include the NUL (sizeof of a string array), as Zephyr/mbedTLS
 * require; it is stored exactly as given.
 *
 * Thread safety: all three functions may be called from any thread at any
 * time (one mutex guards the registry).  Sockets look credentials up when a
 * handshake starts, so a credential deleted or added later affects only
 * later handshakes.
 *
 * Registry size: ZREC_TLS_CREDENTIALS_MAX (1024) entries; Zephyr's limit is
 * CONFIG_TLS_MAX_CREDENTIALS_NUMBER (default 4).  Beyond it, -ENOMEM.
 */
#ifndef ZEPHYR_INCLUDE_NET_TLS_CREDENTIALS_H_
#define ZEPHYR_INCLUDE_NET_TLS_CREDENTIALS_H_

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/** TLS credential types (Zephyr's values: NONE 0 ... PSK_ID 5). */
enum tls_credential_type {
	/** Unspecified credential. */
	TLS_CREDENTIAL_NONE,
	/** A trusted CA certificate, to authenticate the peer. */
	TLS_CREDENTIAL_CA_CERTIFICATE,
	/** Our own (client or server) certificate; register with the matching
	 *  TLS_CREDENTIAL_PRIVATE_KEY under the same tag. */
	TLS_CREDENTIAL_PUBLIC_CERTIFICATE,
	/** Older name of TLS_CREDENTIAL_PUBLIC_CERTIFICATE (deprecated in
	 *  Zephyr, same value). */
	TLS_CREDENTIAL_SERVER_CERTIFICATE = TLS_CREDENTIAL_PUBLIC_CERTIFICATE,
	/** Private key of the certificate with the same tag. */
	TLS_CREDENTIAL_PRIVATE_KEY,
	/** Pre-shared key; register with TLS_CREDENTIAL_PSK_ID, same tag. */
	TLS_CREDENTIAL_PSK,
	/** Pre-shared key identity. */
	TLS_CREDENTIAL_PSK_ID
};

/** Secure tag, a reference to registered credentials.  Negative values are
 *  reserved (Zephyr: "for internal use"); tls_credential_add() refuses them. */
typedef int sec_tag_t;

/** Invalid secure tag value (Zephyr's SEC_TAG_TLS_INVALID). */
#define SEC_TAG_TLS_INVALID (-1)
/** "No tag", the same -1; Zephyr's tls_internal.h spells it this way. */
#ifndef TLS_SEC_TAG_NONE
#define TLS_SEC_TAG_NONE (-1)
#endif

/** Maximum number of registered credentials (zrec). */
#define ZREC_TLS_CREDENTIALS_MAX 1024

/**
 * Register a credential (not copied: see the ownership note above).
 * @retval 0       added
 * @retval -EEXIST a credential of this tag and type is already registered
 * @retval -ENOMEM the registry is full (ZREC_TLS_CREDENTIALS_MAX)
 * @retval -EINVAL cred NULL, credlen 0, tag negative or type not a credential
 */
int tls_credential_add(sec_tag_t tag, enum tls_credential_type type,
		       const void *cred, size_t credlen);

/**
 * Copy a registered credential into cred.
 * @param credlen in: size of cred; out: the credential's length
 * @retval 0       copied, *credlen set
 * @retval -ENOENT no such credential (*credlen set to 0, as Zephyr)
 * @retval -EFBIG  cred is too small; *credlen set to the size needed and
 *                 nothing copied (cred may be NULL with *credlen 0 to ask
 *                 for the size)
 * @retval -EINVAL credlen NULL, or cred NULL with *credlen > 0
 */
int tls_credential_get(sec_tag_t tag, enum tls_credential_type type,
		       void *cred, size_t *credlen);

/**
 * Unregister a credential (the caller's buffer is not touched).
 * @retval 0       deleted
 * @retval -ENOENT no such credential
 * @retval -EINVAL type not a credential type
 */
int tls_credential_delete(sec_tag_t tag, enum tls_credential_type type);

#ifdef __cplusplus
}
#endif

#endif /* ZEPHYR_INCLUDE_NET_TLS_CREDENTIALS_H_ */
