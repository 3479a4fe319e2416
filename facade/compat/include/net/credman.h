/* RIOT's net/credman.h on Linux (zrec-zsock, docs/COMPAT.md): the (D)TLS
 * credential pool.  As on RIOT, credman keeps the credential's fields but
 * not the key material: the buffers they point to must stay valid while
 * the credential is in the pool. */
#ifndef ZREC_RIOT_NET_CREDMAN_H
#define ZREC_RIOT_NET_CREDMAN_H

#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Credentials the pool holds (RIOT's default: 2): the application's
 *  build decides, as on RIOT (credman_add() below passes it; at most 256). */
#ifndef CONFIG_CREDMAN_MAX_CREDENTIALS
#define CONFIG_CREDMAN_MAX_CREDENTIALS (2)
#endif
#ifndef CONFIG_CREDMAN_MAX_ASN1_OBJ
#define CONFIG_CREDMAN_MAX_ASN1_OBJ (8)
#endif

/** A buffer: s, len bytes. */
typedef struct {
    const void *s;
    size_t len;
} credman_buffer_t;

/** A pre-shared key: the key, its identity, and the hint a client matches
 *  against the server's (RFC 4279 §2). */
typedef struct {
    credman_buffer_t key;
    credman_buffer_t id;
    credman_buffer_t hint;
} psk_params_t;

/** A secp256r1 public key: x and y, 32 bytes each. */
typedef struct {
    const void *x;
    const void *y;
} ecdsa_public_key_t;

/** An ECDSA (secp256r1) key pair, raw (RFC 7250 raw public keys), and the
 *  peers' public keys this side trusts. */
typedef struct {
    const void *private_key;         /**< 32 bytes */
    ecdsa_public_key_t public_key;   /**< this side's */
    ecdsa_public_key_t *client_keys; /**< the trusted peers' */
    size_t client_keys_size;
} ecdsa_params_t;

typedef uint16_t credman_tag_t;
#define CREDMAN_TAG_EMPTY (0)

typedef enum {
    CREDMAN_TYPE_EMPTY = 0,
    CREDMAN_TYPE_PSK = 1,
    CREDMAN_TYPE_ECDSA = 2,
} credman_type_t;

/** A credential: its type, its tag, and its parameters. */
typedef struct {
    credman_type_t type;
    credman_tag_t tag;
    union {
        psk_params_t psk;
        ecdsa_params_t ecdsa;
    } params;
} credman_credential_t;

enum {
    CREDMAN_OK = 0,            /**< no error */
    CREDMAN_EXIST = -1,        /**< a credential of this tag and type is there */
    CREDMAN_NO_SPACE = -2,     /**< the pool is full */
    CREDMAN_NOT_FOUND = -3,    /**< no such credential */
    CREDMAN_INVALID = -4,      /**< tag, type or parameters missing */
    CREDMAN_TYPE_UNKNOWN = -5, /**< not PSK or ECDSA */
    CREDMAN_ERROR = -6,        /**< anything else */
};

/** Add a credential (the struct is copied, its buffers are not). */
int credman_add(const credman_credential_t *credential);
/* credman_add() with the application's pool size. */
int zrec_credman_add(const credman_credential_t *credential, unsigned max_credentials);
#define credman_add(credential) zrec_credman_add((credential), CONFIG_CREDMAN_MAX_CREDENTIALS)
/** Copy the credential of this tag and type into *credential. */
int credman_get(credman_credential_t *credential, credman_tag_t tag, credman_type_t type);
/** Take it out of the pool (nothing if there is none). */
void credman_delete(credman_tag_t tag, credman_type_t type);
/** How many credentials the pool holds. */
int credman_get_used_count(void);
/** Empty the pool (RIOT declares it for its test suites). */
void credman_reset(void);

#ifdef __cplusplus
}
#endif
#endif
