/*
 * zrec-gw: a TLS-terminating gateway on io_uring (docs/GATEWAY.md).
 *
 * Files, dependencies pointing down:
 *   gw_main.c    options, --help, workers, signals, stats endpoint, access log
 *   gw_worker.c  one io_uring per worker: accept, handshake, records, backend
 *   gw_tls.c     wolfSSL contexts: certificates by SNI, ALPN, ticket keys
 *   gw_proxy.c   the PROXY protocol v2 header
 */
#ifndef ZREC_GW_H
#define ZREC_GW_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define GW_MAX_CERTS 16

struct zrec_aead_provider;

struct gw_opts {
    struct sockaddr_storage listen, backend, stats;
    socklen_t listen_len, backend_len, stats_len;
    const char *cert[GW_MAX_CERTS], *key[GW_MAX_CERTS];
    int ncert, nkey;
    const char *proto;        /* tls1.2 | tls1.3 | any */
    const char *alpn;         /* comma-separated, server preference order */
    const char *ticket_keys;  /* file in HAProxy's tls-ticket-keys format */
    const char *access_log;
    bool plain, proxy_protocol, have_stats;
    int workers;
    int max_conns;            /* per gateway, shared by all workers */
    int handshake_timeout_ms;
    int idle_timeout_ms;
    int drain_timeout_ms;     /* after SIGTERM, how long live connections may go on */
    unsigned pool_slots;      /* per worker and group (--pool-slots) */
    const char *cpus;         /* --cpus LIST: pin worker i to the i-th CPU */
    const char *provider_name; /* --provider: ipsecmb | wolfcrypt | cryptodev:DEVICE */
    const struct zrec_aead_provider *provider; /* the records' AEAD (NULL: default) */
    int crypto_dev;           /* wolfSSL's crypto device on the same provider, or -1 */
};

/* Counters: each worker owns its instance (no sharing on the hot path); the
 * stats endpoint sums them. */
struct gw_counters {
    _Atomic unsigned long conns_total, conns_active;
    _Atomic unsigned long hs_full, hs_resumed, hs_failed, hs_timeout;
    _Atomic unsigned long records_in, records_out;
    _Atomic unsigned long bytes_up, bytes_down;      /* plaintext */
    _Atomic unsigned long copies_runt, records_scattered, records_contiguous;
    _Atomic unsigned long err_bad_record, err_protocol, err_backend_connect,
        err_backend_reset, err_client_reset, err_idle_timeout, err_limit, err_alert_received;
    _Atomic unsigned long enobufs, reserve_recvs;
};

/* ---- gw_offload.c (with DPDK) ---- */

/* EAL up, the crypto device made: its provider, or NULL and why. */
const struct zrec_aead_provider *gw_offload_start(const char *device, char *err, size_t errlen);
/* The device's counters as stats lines. */
size_t gw_offload_stats(char *buf, size_t cap);
/* At exit (sessions gone): the device freed, EAL cleaned up, its runtime
 * directory removed. */
void gw_offload_stop(void);

/* ---- gw_tls.c ---- */

struct WOLFSSL;
struct gw_tls;

/* Load every certificate pair into wolfSSL contexts.  NULL and a message on
 * stderr on failure. */
struct gw_tls *gw_tls_load(const struct gw_opts *o);
/* Keep a reference (handshakes in progress hold one). */
void gw_tls_ref(struct gw_tls *t);
void gw_tls_unref(struct gw_tls *t);
/* A server WOLFSSL for a ClientHello whose SNI is `sni` (NULL or "": the
 * first certificate). */
struct WOLFSSL *gw_tls_new_ssl(struct gw_tls *t, const char *sni);
/* The SNI host name in a ClientHello record (`rec`, header included), or "". */
void gw_tls_sni_of(const uint8_t *rec, size_t len, char *out, size_t cap);

/* The current set, swapped on SIGHUP (gw_main.c). */
struct gw_tls *gw_tls_current(void);
int gw_tls_reload(const struct gw_opts *o);

/* ---- gw_proxy.c ---- */

/* A PROXY protocol v2 header (PROXY command, TCP over IPv4/IPv6) with the
 * ALPN and authority (SNI) TLVs.  Returns its length, 0 if it does not fit. */
size_t gw_proxy_v2(uint8_t *out, size_t cap, const struct sockaddr *src, const struct sockaddr *dst,
                   const char *alpn, const char *sni);

/* ---- gw_worker.c ---- */

struct gw_worker;
struct gw_worker *gw_worker_new(const struct gw_opts *o, int index, struct gw_counters *c);
int gw_worker_run(struct gw_worker *w); /* the worker thread's body */
/* Ask the worker to stop accepting and exit once its connections drained. */
void gw_worker_stop(struct gw_worker *w);
void gw_worker_free(struct gw_worker *w);

/* ---- gw_main.c ---- */

/* One access-log line (appended atomically); no-op without --access-log. */
void gw_access_log(const char *line, size_t len);
/* Connections admitted across workers, against --max-conns. */
bool gw_admit(void);
void gw_release(void);

#endif
