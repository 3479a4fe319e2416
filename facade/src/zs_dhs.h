/* The DTLS handshake driver (dtls_hs.c, docs/FACADE.md): one wolfSSL object
 * per handshake over datagrams, until the handoff to the engine.  It knows
 * no socket: whoever carries the datagrams (the facade's DTLS sockets,
 * dtls_socket.c; the DPDK data plane, tools/dtls-gw) feeds it what arrives,
 * gives it a send callback and a configuration, and keeps its timer.
 *
 * Built into its own static library (facade/meson.build: zrec_dhs_dep) with
 * the stateless cookie exchange (zs_cookie.h) and the post-handshake
 * records a session owes (owed.c), so both carriers link the same code. */
#ifndef ZS_DHS_H
#define ZS_DHS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include "zrec/wolfssl.h"
#include "zrec/zrec.h"

#define ZS_DHS_CID_LEN 2 /* our connection IDs: wolfSSL 5.5.4's DTLS_CID_MAX_SIZE */

enum zs_dhs_cid {
    ZS_DHS_CID_OFF,       /* no connection_id extension */
    ZS_DHS_CID_SUPPORTED, /* we send the peer's CID, ask for none (RFC 9146 §3) */
    ZS_DHS_CID_ENABLED,   /* … and ask the peer to send us ours */
};

/* What every handshake of one carrier shares; it outlives them. */
struct zs_dhs_conf {
    WOLFSSL_CTX *ctx; /* a DTLS context with credentials; zs_dhs_init sets its I/O callbacks */
    bool server;
    bool dtls13;
    uint32_t timeout_min_ms, timeout_max_ms; /* the retransmission timer's range */
    enum zs_dhs_cid cid;
    const struct zrec_aead_provider *provider; /* the sessions' AEAD; NULL: the default */
    /* Optional: more settings on each new wolfSSL object (SNI, ALPN, the
     * carrier's callback contexts): 0 or a negative errno. */
    int (*config_ssl)(void *arg, WOLFSSL *ssl);
    /* Optional: the handshake ended, with the object still there: ok
     * (before the handoff) or failed. */
    void (*finished)(void *arg, WOLFSSL *ssl, bool ok);
    void *arg;
};

/* One datagram to the peer, best effort: n, or a negative errno (-EAGAIN:
 * try again later; -ECONNREFUSED: ICMP said nobody listens). */
typedef ssize_t (*zs_dhs_send_fn)(void *io, const void *buf, size_t n);

/* A handshake in progress, and what the driver keeps after it: the last
 * flight (for replays) and the negotiated connection IDs.  Embedded in the
 * carrier's peer; all zero is "nothing held". */
struct zs_dhs {
    const struct zs_dhs_conf *conf;
    zs_dhs_send_fn send;
    void *io;
    WOLFSSL *ssl;
    struct zrec_wolfssl_capture *cap;
    /* The step's datagram and what the step did. */
    const uint8_t *in;
    size_t in_len;
    bool progress;     /* wolfSSL read a datagram with something new */
    bool classified;   /* this step's first datagram out was looked at */
    bool mute;         /* drop what wolfSSL sends in this step */
    bool alerted;      /* wolfSSL sent an alert in this step */
    bool sent;         /* wolfSSL sent something */
    bool rtx;          /* wolfSSL is retransmitting: not a new flight */
    int peer_epoch;    /* the highest epoch seen from the peer, -1: none */
    int peer_msg_seq;  /* the highest plaintext message_seq seen, -1: none */
    int sent_msg_seq;  /* the highest plaintext message_seq we sent, -1: none */
    uint64_t next_seq0; /* the next record number of our epoch 0 */
    bool protected_out; /* we sent a record under keys (our epoch moved on) */
    int64_t answer_at;  /* no answer to a repeated flight before this */
    uint8_t held_alert[32]; /* a fatal alert held until the step's outcome */
    size_t held_len;
    /* For the carrier to read. */
    bool started;      /* the first step ran */
    bool server_hello; /* a ServerHello went out (not just a cookie request) */
    bool refused;      /* the send callback said -ECONNREFUSED */
    uint32_t rtx_ms;   /* the current retransmission timeout */
    int64_t rtx_at;    /* when it expires (zs_dhs_now_ms()): call zs_dhs_timeout */
    /* Our last flight as sent: [u16 length][datagram]… */
    uint8_t *flight;
    size_t flight_len;
    bool flight_over; /* the peer answered: the next send starts a new flight */
    bool flight_lost; /* too big to keep */
    int64_t replay_at;
    /* Connection IDs: ours (the peer sends it) and the peer's; after the
     * handoff, the negotiated ones (length 0: none). */
    uint8_t my_cid[ZS_DHS_CID_LEN], peer_cid[ZS_DHS_CID_LEN];
    uint8_t my_cid_len, peer_cid_len;
};

int64_t zs_dhs_now_ms(void); /* CLOCK_MONOTONIC, the driver's timers */

/* Start a handshake.  peer / peer_len: the peer's address as the carrier
 * names it (a server's cookie binds the ClientHello to it); my_cid: the
 * connection ID we ask the peer to use (conf->cid ENABLED), unique among
 * the carrier's peers; cookie_secret (servers): the secret that made the
 * ClientHello's cookie, which wolfSSL checks again.  0 or a negative
 * errno; on failure nothing is held. */
int zs_dhs_init(struct zs_dhs *h, const struct zs_dhs_conf *conf, zs_dhs_send_fn send, void *io,
                const void *peer, size_t peer_len, const uint8_t *my_cid, size_t my_cid_len,
                const uint8_t *cookie_secret, size_t secret_len);

/* One step over a received datagram (NULL: none, a client's first step).
 * 0: done, *out is the engine's session (wolfSSL is gone; the last flight
 * stays for replays until zs_dhs_release_flight); -EAGAIN: more to come;
 * else the handshake failed (-ECONNABORTED, -ECONNREFUSED, -EPROTONOSUPPORT). */
int zs_dhs_step(struct zs_dhs *h, const uint8_t *dgram, size_t n, struct zrec_session **out);

/* The timer (rtx_at) expired: retransmit (0) or give up (-ETIMEDOUT at the
 * longest timeout, or the failure). */
int zs_dhs_timeout(struct zs_dhs *h);

/* After the handoff: the peer repeats its flight (a stale-epoch or
 * handshake record), so it missed our last one: send it again (at most
 * once per 100 ms unless `timer`). */
void zs_dhs_replay_flight(struct zs_dhs *h, bool timer);
/* The peer has our last flight (its data or ACK came). */
void zs_dhs_release_flight(struct zs_dhs *h);
/* Everything held: the wolfSSL object, the capture, the flight. */
void zs_dhs_release(struct zs_dhs *h);

/* DTLS 1.3 KeyUpdate retransmission timeout (RFC 9147 §5.8). */
#define ZS_KEY_UPDATE_RTX_MS 1000

/* After the handshake (owed.c): the next post-handshake record owed to the
 * peer, sealed into buf: an ACK (DTLS 1.3, RFC 9147 §7), or a KeyUpdate
 * when the peer asked or the key nears its limit (RFC 8446 §4.6.3, §5.5) —
 * with key_update_at (DTLS 1.3), again every ZS_KEY_UPDATE_RTX_MS until the
 * peer's ACK switches the key.  Its length, 0 when nothing is owed, or
 * -errno.  now: milliseconds, only with key_update_at. */
int zs_pump_owed(struct zrec_session *zs, int64_t now, int64_t *key_update_at, uint8_t *buf,
                 size_t cap);

/* A datagram that starts with a plaintext epoch-0 ClientHello record. */
bool zs_dhs_is_client_hello(const uint8_t *b, size_t n);

#endif
