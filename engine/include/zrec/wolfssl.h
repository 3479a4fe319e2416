/*
 * zrec ⟷ wolfSSL handshake handoff.
 *
 * wolfSSL runs the handshake over whatever I/O the caller gives it; then the
 * connection's record state (keys, IVs, sequence numbers, epochs, TLS 1.3
 * traffic secrets, DTLS connection IDs) moves into a zrec session, and the
 * WOLFSSL object can be freed.
 *
 *     struct zrec_wolfssl_capture *cap = zrec_wolfssl_prepare(ssl);
 *     ... wolfSSL_connect(ssl) / wolfSSL_accept(ssl) until done ...
 *     struct zrec_session *s = zrec_wolfssl_import(ssl, cap, NULL, &err);
 *     wolfSSL_free(ssl);
 *
 * SSLKEYLOGFILE: when set, the secrets are logged in NSS key log format.
 *
 * The handoff moves record *state*, not bytes: wolfSSL must not hold received
 * bytes it has not processed.  wolfSSL 5.5.4 reads one record at a time, so
 * with I/O callbacks that return what they are asked for (as wolfSSL's own
 * socket callbacks do) nothing is in flight; an I/O callback that reads ahead
 * of wolfSSL's requests must hand its surplus to the engine itself.
 */
#ifndef ZREC_WOLFSSL_H
#define ZREC_WOLFSSL_H

#include "zrec/zrec.h"

#ifdef __cplusplus
extern "C" {
#endif

struct WOLFSSL;
struct WOLFSSL_SESSION;
struct zrec_wolfssl_capture;

/** Hook a WOLFSSL object before its handshake: records the TLS 1.3 / DTLS 1.3
 *  traffic secrets as wolfSSL derives them and keeps what key logging needs.
 *  Returns NULL (errno set) on failure. */
struct zrec_wolfssl_capture *zrec_wolfssl_prepare(struct WOLFSSL *ssl);

/** Free a capture that will not be imported (e.g. the handshake failed). */
void zrec_wolfssl_capture_free(struct zrec_wolfssl_capture *cap);

/** After a completed handshake: a new session holding the connection's record
 *  state.  `cap` is consumed whatever the outcome.  provider NULL = default.
 *  On failure returns NULL and *err (if given) is a negative errno:
 *  -EINVAL (handshake not complete), -ENOTSUP (cipher suite is not an AEAD
 *  zrec implements, or a DTLS 1.2 connection ID), -ENOKEY (secrets missing:
 *  zrec_wolfssl_prepare() was not called before the handshake). */
struct zrec_session *zrec_wolfssl_import(struct WOLFSSL *ssl, struct zrec_wolfssl_capture *cap,
                                         const struct zrec_aead_provider *provider, int *err);

/** Whether zrec carries the records of cipher suite cs0/cs1 (IANA numbers):
 *  one whose AEAD zrec implements (AES-128-GCM, AES-256-GCM,
 *  ChaCha20-Poly1305 per RFC 7905, AES-128-CCM, AES-128-CCM_8).  The same
 *  rule zrec_wolfssl_import() applies to a finished handshake, for building
 *  the suite list a handshake offers so that it never settles on a suite the
 *  handoff would refuse. */
bool zrec_wolfssl_suite_supported(uint8_t cs0, uint8_t cs1);

/** Every suite of this wolfSSL build that zrec carries
 *  (zrec_wolfssl_suite_supported()), as a wolfSSL cipher list ("A:B:..."),
 *  for wolfSSL_CTX_set_cipher_list(): what a handshake should offer when
 *  nothing narrower is asked for.  Returns how many suites, 0 if none or if
 *  the list does not fit in cap bytes. */
int zrec_wolfssl_cipher_list(char *out, size_t cap);

/** The same suites as IANA ids, each once (up to max); returns how many. */
int zrec_wolfssl_suite_ids(uint16_t *ids, int max);

/** TLS 1.3 client: a resumable session made from the newest NewSessionTicket
 *  the engine has opened since the handoff (RFC 8446 §4.6.1), for
 *  wolfSSL_set_session() on a later connection.  Free it with
 *  wolfSSL_SESSION_free().  NULL with errno ENOENT if no ticket has arrived,
 *  EINVAL if the session did not come from a TLS 1.3 client handoff. */
struct WOLFSSL_SESSION *zrec_wolfssl_get1_session(struct zrec_session *s);

/* ---- wolfSSL's own AES-GCM through a zrec provider ----------------------
 *
 * The records wolfSSL itself protects — the encrypted part of a TLS 1.3 /
 * DTLS 1.3 handshake, Finished, anything before the handoff — can run on the
 * same provider as zrec's (a crypto device, zrec/offload.h): a wolfCrypt
 * crypto-callback device (wc_CryptoCb_RegisterDevice) that does AES-GCM
 * (12-byte nonce, 16-byte tag) with `p` and leaves everything else to
 * wolfCrypt.  Give the id to wolfSSL_CTX_SetDevId() before making objects
 * from the context.  Each call expands the key afresh (wolfCrypt has no
 * hook to free a cached one): right for handshakes, not for bulk data,
 * which zrec's sessions carry. */

/** Register a device for provider p.  Returns its id (>= 0) or a negative
 *  errno (-ENOTSUP: p does neither AES-GCM; -ENOSPC: 16 devices already). */
int zrec_wolfssl_crypto_device(const struct zrec_aead_provider *p);
/** AES-GCM operations the device ran with its provider, and those it left
 *  to wolfCrypt (another nonce or tag length, or an AEAD p lacks). */
struct zrec_wolfssl_crypto_stats {
    uint64_t aead_ops;
    uint64_t declined;
};
int zrec_wolfssl_crypto_device_stats(int dev_id, struct zrec_wolfssl_crypto_stats *out);
/** Unregister (no WOLFSSL object may still use it). */
void zrec_wolfssl_crypto_device_remove(int dev_id);

#ifdef __cplusplus
}
#endif

#endif
