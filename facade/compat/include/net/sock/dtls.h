/* RIOT's net/sock/dtls.h on Linux (zrec-zsock, docs/COMPAT.md): DTLS 1.2
 * (RFC 6347) and DTLS 1.3 (RFC 9147) sessions over a UDP sock, client and
 * server, with credentials from credman (PSK; ECDSA secp256r1 keys).  The
 * handshakes are wolfSSL's, the records zrec's.
 *
 * Timeouts are in microseconds (SOCK_NO_TIMEOUT waits forever, 0 does not
 * wait); errors are negative errno values; a finished handshake is
 * reported as -SOCK_DTLS_HANDSHAKE by the receive functions. */
#ifndef ZREC_RIOT_NET_SOCK_DTLS_H
#define ZREC_RIOT_NET_SOCK_DTLS_H

#include <errno.h>
#include <stdint.h>
#include <sys/types.h>

#include "net/credman.h"
#include "net/sock.h"
#include "net/sock/udp.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifndef CONFIG_DTLS_HANDSHAKE_BUFSIZE_EXP
#define CONFIG_DTLS_HANDSHAKE_BUFSIZE_EXP 8
#endif
#ifndef DTLS_HANDSHAKE_BUFSIZE
#define DTLS_HANDSHAKE_BUFSIZE (1 << CONFIG_DTLS_HANDSHAKE_BUFSIZE_EXP)
#endif
/** Returned negative when a handshake completes. */
#define SOCK_DTLS_HANDSHAKE (EXDEV)
#ifndef CONFIG_DTLS_PSK_ID_HINT_MAX_SIZE
#define CONFIG_DTLS_PSK_ID_HINT_MAX_SIZE 32
#endif
#ifndef CONFIG_DTLS_CREDENTIALS_MAX
#define CONFIG_DTLS_CREDENTIALS_MAX 4 /* credential tags per sock */
#endif

enum {
    SOCK_DTLS_1_0 = 1, /**< DTLS 1.0: not supported (RFC 8996) */
    SOCK_DTLS_1_2 = 2, /**< DTLS 1.2 */
    SOCK_DTLS_1_3 = 3, /**< DTLS 1.3 */
};

enum {
    SOCK_DTLS_CLIENT = 1, /**< client role */
    SOCK_DTLS_SERVER = 2, /**< server role */
};

typedef struct sock_dtls sock_dtls_t;
typedef struct sock_dtls_session sock_dtls_session_t;
typedef sock_udp_aux_rx_t sock_dtls_aux_rx_t;
typedef sock_udp_aux_tx_t sock_dtls_aux_tx_t;

/** Picks the PSK credential (its tag) for a server's hint; CREDMAN_TAG_EMPTY:
 *  the sock's own choice (the credential whose hint matches, else the first). */
typedef credman_tag_t (*sock_dtls_client_psk_cb_t)(sock_dtls_t *sock, sock_udp_ep_t *ep,
                                                   credman_tag_t tags[], unsigned tags_len,
                                                   const char *hint, size_t hint_len);
/** Picks the ECDSA credential (its tag) for a handshake with ep;
 *  CREDMAN_TAG_EMPTY: the sock's first. */
typedef credman_tag_t (*sock_dtls_rpk_cb_t)(sock_dtls_t *sock, sock_udp_ep_t *ep,
                                            credman_tag_t tags[], unsigned tags_len);

/** A session: its peer's endpoint (a value; copy it, zero it, keep it).
 *  The session's state is the sock's. */
struct sock_dtls_session {
    sock_udp_ep_t ep;
};

/** A DTLS sock: complete, so applications declare it where they like.  Its
 *  members are the library's. */
struct sock_dtls {
    uint32_t magic;        /* a live sock */
    sock_udp_t *udp_sock;  /* the application's; not closed by sock_dtls_close() */
    int fd;                /* the zsock DTLS socket on the UDP socket, -1: none (client) */
    unsigned version, role;
    /* The application's CONFIG_DTLS_* limits (sock_dtls_create() below):
     * its build decides them, as on RIOT; the arrays are the most any may
     * ask for, so the struct is one size for every application. */
    unsigned tags_max, hint_max;
    credman_tag_t tags[16];
    unsigned tags_len;
    char psk_hint[128 + 1];
    sock_dtls_client_psk_cb_t client_psk_cb;
    sock_dtls_rpk_cb_t rpk_cb;
    sock_udp_ep_t peer;    /* client: the session's endpoint */
    int client_state;      /* client: none, handshake, reported, failed */
    void *rx_buf;          /* sock_dtls_recv_buf(): the record lent out */
};

/** Done by the library itself when it is loaded (RIOT's auto_init). */
void sock_dtls_init(void);
/** 0, or -1 (an unknown version or role, DTLS 1.0, a bad UDP sock). */
int sock_dtls_create(sock_dtls_t *sock, sock_udp_t *udp_sock, credman_tag_t tag,
                     unsigned version, unsigned role);
/* The application's limits go with the call (at most 16 tags, hints of
 * 128 bytes); sock_dtls_create() itself uses RIOT's defaults. */
int zrec_sock_dtls_create(sock_dtls_t *sock, sock_udp_t *udp_sock, credman_tag_t tag,
                          unsigned version, unsigned role, unsigned tags_max, unsigned hint_max);
#define sock_dtls_create(sock, udp_sock, tag, version, role)                                    \
    zrec_sock_dtls_create((sock), (udp_sock), (tag), (version), (role),                         \
                          CONFIG_DTLS_CREDENTIALS_MAX, CONFIG_DTLS_PSK_ID_HINT_MAX_SIZE)
sock_udp_t *sock_dtls_get_udp_sock(sock_dtls_t *sock);
/** Starts a handshake with ep (sends the ClientHello): 1; 0 if a session
 *  with ep is there; -EADDRNOTAVAIL, -EINVAL, -ENOMEM. */
int sock_dtls_session_init(sock_dtls_t *sock, const sock_udp_ep_t *ep,
                           sock_dtls_session_t *remote);
/** close_notify to the peer, and its session goes. */
void sock_dtls_session_destroy(sock_dtls_t *sock, sock_dtls_session_t *remote);
void sock_dtls_session_get_udp_ep(const sock_dtls_session_t *session, sock_udp_ep_t *ep);
void sock_dtls_session_set_udp_ep(sock_dtls_session_t *session, const sock_udp_ep_t *ep);

ssize_t sock_dtls_recv_aux(sock_dtls_t *sock, sock_dtls_session_t *remote, void *data,
                           size_t maxlen, uint32_t timeout, sock_dtls_aux_rx_t *aux);
static inline ssize_t sock_dtls_recv(sock_dtls_t *sock, sock_dtls_session_t *remote, void *data,
                                     size_t maxlen, uint32_t timeout)
{
    return sock_dtls_recv_aux(sock, remote, data, maxlen, timeout, NULL);
}
ssize_t sock_dtls_recv_buf_aux(sock_dtls_t *sock, sock_dtls_session_t *remote, void **data,
                               void **buf_ctx, uint32_t timeout, sock_dtls_aux_rx_t *aux);
static inline ssize_t sock_dtls_recv_buf(sock_dtls_t *sock, sock_dtls_session_t *remote,
                                         void **data, void **buf_ctx, uint32_t timeout)
{
    return sock_dtls_recv_buf_aux(sock, remote, data, buf_ctx, timeout, NULL);
}

ssize_t sock_dtls_sendv_aux(sock_dtls_t *sock, sock_dtls_session_t *remote,
                            const iolist_t *snips, uint32_t timeout, sock_dtls_aux_tx_t *aux);
static inline ssize_t sock_dtls_send_aux(sock_dtls_t *sock, sock_dtls_session_t *remote,
                                         const void *data, size_t len, uint32_t timeout,
                                         sock_dtls_aux_tx_t *aux)
{
    const iolist_t snip = {NULL, (void *)data, len};
    return sock_dtls_sendv_aux(sock, remote, &snip, timeout, aux);
}
static inline ssize_t sock_dtls_send(sock_dtls_t *sock, sock_dtls_session_t *remote,
                                     const void *data, size_t len, uint32_t timeout)
{
    return sock_dtls_send_aux(sock, remote, data, len, timeout, NULL);
}
static inline ssize_t sock_dtls_sendv(sock_dtls_t *sock, sock_dtls_session_t *remote,
                                      const iolist_t *snips, uint32_t timeout)
{
    return sock_dtls_sendv_aux(sock, remote, snips, timeout, NULL);
}

/** Every session goes (close_notify); the UDP sock stays the application's. */
void sock_dtls_close(sock_dtls_t *sock);

/* Credentials (RIOT's net/sock/dtls/creds.h). */
/** The hint a server sends (RFC 4279 §2): 0, or -1 if longer than
 *  CONFIG_DTLS_PSK_ID_HINT_MAX_SIZE. */
int sock_dtls_set_server_psk_id_hint(sock_dtls_t *sock, const char *hint);
/** 0, or -1 when the sock has CONFIG_DTLS_CREDENTIALS_MAX tags already. */
int sock_dtls_add_credential(sock_dtls_t *sock, credman_tag_t tag);
/** 0, or -1 when the sock does not have the tag. */
int sock_dtls_remove_credential(sock_dtls_t *sock, credman_tag_t tag);
size_t sock_dtls_get_credentials(sock_dtls_t *sock, const credman_tag_t **out);
void sock_dtls_set_client_psk_cb(sock_dtls_t *sock, sock_dtls_client_psk_cb_t cb);
void sock_dtls_set_rpk_cb(sock_dtls_t *sock, sock_dtls_rpk_cb_t cb);

#ifdef __cplusplus
}
#endif
#endif
