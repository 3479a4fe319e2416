/*
 * DTLS sessions on the data plane's flows (docs/DTLS-GW.md).
 *
 * A ClientHello from an unknown address meets the stateless cookie
 * exchange first (dtls_cookie.c: HelloVerifyRequest, RFC 6347 §4.2.1;
 * HelloRetryRequest with a cookie, RFC 9147 §5.1): no state and no
 * public-key operation until the client has shown it receives at its
 * address.  One that brings a valid cookie back gets a flow and a wolfSSL
 * object run by the facade's handshake driver (zs_dhs.h) over the mbufs:
 * the driver reads the datagram where the NIC put it and sends its flights
 * through send_to_client(), which builds frames around them.  At the end of
 * the handshake the engine takes the keys (zrec_wolfssl_import) and wolfSSL
 * is gone.
 *
 * Records then open in place in their mbufs, up to 32 datagrams a burst
 * across all sessions (zrec_dpdk_open_burst); the plaintext is cut out of
 * the frame (zrec_dpdk_trim), wrapped in new UDP/IPv4/Ethernet headers and
 * sent to the backend from the flow's port.  The backend's replies are
 * sealed in place the same way (zrec_dpdk_seal_burst: header into the
 * headroom, tag into the tailroom) and sent to the client.  Nothing is
 * copied on this path.
 *
 * Invalid records (bad tag, replays, stale epochs, garbage) are dropped
 * and counted, and the session goes on (RFC 6347 §4.1.2.7, RFC 9147
 * §4.5.2).  A DTLS 1.3 client that was given a connection ID (RFC 9147 §9)
 * is found by it when its address changes, and its flow follows the new
 * address once a record from there authenticates.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include <rte_cycles.h>
#include <rte_hash.h>
#include <rte_jhash.h>
#include <rte_malloc.h>

#include "dgw.h"
#include "zs_cookie.h"

#define OPS_CAP (8 * DGW_BURST)   /* records queued for one burst */
#define RECS_PER_DGRAM 8          /* records of one datagram we open */
#define COOKIE_ROTATE_MS 60000    /* the cookie secret's period */
#define DGRAM_CAP 2048            /* our owed records (ACK, KeyUpdate) */

struct version {
    bool on;
    WOLFSSL_CTX *ctx;
    struct zs_dhs_conf conf;
    int suites[64]; /* the context's cipher suites, its order (the cookie exchange) */
    int nsuites;
};

/* A record queued for the open burst: whose it is, and where it came from. */
struct open_ctx {
    uint32_t flow;
    struct zrec_session *zs; /* the session it was queued for (the flow may change) */
    uint32_t ip;
    uint16_t port;
    bool whole; /* the datagram's only record: its mbuf is forwarded in place */
};

struct seal_ctx {
    uint32_t flow;
    struct zrec_session *zs;
};

struct dgw_dtls {
    struct version v12, v13;
    bool cid;
    struct zs_cookie_secrets cookie;
    struct rte_hash *by_cid; /* our connection ID → flow index (data) */
    uint32_t *hs;            /* flows in their handshake (their timers) */
    unsigned nhs, max_hs;
    uint64_t tick; /* counts authentic records: flows' activity order */
    int64_t timers_at;
    struct zrec_dpdk_op open_ops[OPS_CAP];
    struct open_ctx open_ctx[OPS_CAP];
    unsigned nopen;
    struct zrec_dpdk_op seal_ops[OPS_CAP];
    struct seal_ctx seal_ctx[OPS_CAP];
    unsigned nseal;
    uint8_t owed[DGRAM_CAP];
};

/* The handshake driver's send callback carries the flow only: one data
 * plane per process. */
static struct dgw *gw;

/* ---- datagrams out ---------------------------------------------------------- */

/* One datagram from our listening port to the flow's client (a handshake
 * flight, a cookie request, an ACK): a new mbuf, best effort. */
static ssize_t send_to_client(void *io, const void *buf, size_t n)
{
    const struct dgw_flow *f = io;
    struct rte_mbuf *m = rte_pktmbuf_alloc(gw->mp);
    if (m == NULL)
        return -EAGAIN; /* the timer brings the flight again */
    char *p = n <= UINT16_MAX ? rte_pktmbuf_append(m, (uint16_t)n) : NULL;
    if (p == NULL) {
        rte_pktmbuf_free(m);
        return -EMSGSIZE;
    }
    memcpy(p, buf, n);
    return dgw_send(gw, m, gw->listen_port, f->ip, f->port) == 0 ? (ssize_t)n : -EAGAIN;
}

/* ---- contexts ----------------------------------------------------------------- */

static int load(WOLFSSL_CTX *ctx, const char *file, bool key)
{
    if (key)
        return wolfSSL_CTX_use_PrivateKey_file(ctx, file, WOLFSSL_FILETYPE_PEM) ==
                       WOLFSSL_SUCCESS ||
                       wolfSSL_CTX_use_PrivateKey_file(ctx, file, WOLFSSL_FILETYPE_ASN1) ==
                           WOLFSSL_SUCCESS
                   ? 0
                   : -1;
    return wolfSSL_CTX_use_certificate_chain_file(ctx, file) == WOLFSSL_SUCCESS ||
                   wolfSSL_CTX_use_certificate_file(ctx, file, WOLFSSL_FILETYPE_ASN1) ==
                       WOLFSSL_SUCCESS
               ? 0
               : -1;
}

static int make_version(struct version *v, bool dtls13, const struct dgw_dtls_opts *o,
                        bool cid)
{
    const char *name = dtls13 ? "DTLS 1.3" : "DTLS 1.2";
    v->ctx = wolfSSL_CTX_new(dtls13 ? wolfDTLSv1_3_server_method() : wolfDTLSv1_2_server_method());
    if (v->ctx == NULL) {
        fprintf(stderr, "zrec-dtls-gw: %s: no wolfSSL context\n", name);
        return -1;
    }
    if (load(v->ctx, o->cert, false) < 0) {
        fprintf(stderr, "zrec-dtls-gw: --cert %s: not a PEM or DER certificate\n", o->cert);
        return -1;
    }
    if (load(v->ctx, o->key, true) < 0 || wolfSSL_CTX_check_private_key(v->ctx) != WOLFSSL_SUCCESS) {
        fprintf(stderr, "zrec-dtls-gw: --key %s: not the private key of --cert\n", o->key);
        return -1;
    }
    wolfSSL_CTX_set_verify(v->ctx, WOLFSSL_VERIFY_NONE, NULL);
    /* Only the suites the engine carries (the handoff would refuse any
     * other), in the order the cookie exchange must know. */
    char list[4096];
    uint16_t ids[64];
    int n = zrec_wolfssl_suite_ids(ids, 64);
    if (zrec_wolfssl_cipher_list(list, sizeof list) <= 0 || n <= 0 ||
        wolfSSL_CTX_set_cipher_list(v->ctx, list) != WOLFSSL_SUCCESS ||
        (dtls13 && wolfSSL_CTX_set_groups(v->ctx, (int *)zs_cookie_groups, ZS_COOKIE_NGROUPS) !=
                       WOLFSSL_SUCCESS)) {
        fprintf(stderr, "zrec-dtls-gw: %s: cipher suites or groups refused by wolfSSL\n", name);
        return -1;
    }
    for (int i = 0; i < n; i++)
        v->suites[i] = ids[i];
    v->nsuites = n;
    v->on = true;
    v->conf = (struct zs_dhs_conf){
        .ctx = v->ctx,
        .server = true,
        .dtls13 = dtls13,
        .timeout_min_ms = o->hs_timeout_min_ms,
        .timeout_max_ms = o->hs_timeout_max_ms,
        /* The engine carries connection IDs in DTLS 1.3 records only. */
        .cid = dtls13 && cid ? ZS_DHS_CID_ENABLED : ZS_DHS_CID_OFF,
        .provider = o->provider,
    };
    return 0;
}

int dgw_dtls_init(struct dgw *g, const struct dgw_dtls_opts *o)
{
    gw = g;
    struct dgw_dtls *d = rte_zmalloc("dgw_dtls", sizeof *d, 64);
    if (d == NULL) {
        fprintf(stderr, "zrec-dtls-gw: out of memory\n");
        return -1;
    }
    g->dtls = d;
    d->cid = o->cid;
    d->max_hs = o->max_handshakes;
    d->hs = calloc(d->max_hs, sizeof *d->hs);
    struct rte_hash_parameters hp = {.name = "dgw_cids",
                                     .entries = g->max_flows * 2 > 64 ? g->max_flows * 2 : 64,
                                     .key_len = sizeof(uint32_t),
                                     .hash_func = rte_jhash,
                                     .socket_id = (int)rte_socket_id()};
    d->by_cid = rte_hash_create(&hp);
    if (d->hs == NULL || d->by_cid == NULL ||
        zs_cookie_secrets_init(&d->cookie, COOKIE_ROTATE_MS, zs_dhs_now_ms()) < 0) {
        fprintf(stderr, "zrec-dtls-gw: session tables: out of memory or randomness\n");
        return -1;
    }
    if (wolfSSL_Init() != WOLFSSL_SUCCESS ||
        (o->dtls12 && make_version(&d->v12, false, o, o->cid) < 0) ||
        (o->dtls13 && make_version(&d->v13, true, o, o->cid) < 0))
        return -1;
    return 0;
}

void dgw_dtls_free(struct dgw *g)
{
    struct dgw_dtls *d = g->dtls;
    if (d == NULL)
        return;
    dgw_dtls_bursts(g);
    for (unsigned i = 0; i < g->max_flows; i++) {
        struct dgw_flow *f = &g->flow[i];
        if (!f->used)
            continue;
        /* A clean stop tells each client its session is over (RFC 8446 §6.1). */
        int n = f->zs ? zrec_seal_alert(f->zs, ZREC_ALERT_WARNING, ZREC_ALERT_CLOSE_NOTIFY,
                                          d->owed, DGRAM_CAP)
                        : 0;
        if (n > 0)
            (void)send_to_client(f, d->owed, (size_t)n);
        dgw_dtls_flow_end(g, f);
    }
    dgw_flush(g);
    wolfSSL_CTX_free(d->v12.ctx);
    wolfSSL_CTX_free(d->v13.ctx);
    rte_hash_free(d->by_cid);
    free(d->hs);
    explicit_bzero(&d->cookie, sizeof d->cookie);
    rte_free(d);
    g->dtls = NULL;
    wolfSSL_Cleanup();
}

/* ---- flows' DTLS state --------------------------------------------------------- */

static uint32_t cid_key(const uint8_t cid[ZS_DHS_CID_LEN])
{
    return (uint32_t)cid[0] << 8 | cid[1];
}

static uint32_t flow_index(struct dgw *g, const struct dgw_flow *f)
{
    return (uint32_t)(f - g->flow);
}

static void hs_unlist(struct dgw_dtls *d, struct dgw *g, struct dgw_flow *f)
{
    if (f->hs_slot < 0)
        return;
    uint32_t last = d->hs[--d->nhs];
    d->hs[f->hs_slot] = last;
    g->flow[last].hs_slot = f->hs_slot;
    f->hs_slot = -1;
}

void dgw_dtls_flow_end(struct dgw *g, struct dgw_flow *f)
{
    struct dgw_dtls *d = g->dtls;
    if (f->cid_linked) {
        uint32_t k = cid_key(f->hs.my_cid);
        rte_hash_del_key(d->by_cid, &k);
        f->cid_linked = false;
    }
    hs_unlist(d, g, f);
    zs_dhs_release(&f->hs);
    zrec_session_free(f->zs);
    f->zs = NULL;
}

/* The handshake ended: the engine has the session. */
static void handoff(struct dgw *g, struct dgw_flow *f, struct zrec_session *zs)
{
    struct dgw_dtls *d = g->dtls;
    hs_unlist(d, g, f);
    f->zs = zs;
    f->active = ++d->tick;
    g->cnt.handshakes_done++;
    if (f->hs.my_cid_len == ZS_DHS_CID_LEN) {
        uint32_t k = cid_key(f->hs.my_cid);
        f->cid_linked = rte_hash_add_key_data(d->by_cid, &k,
                                              (void *)(uintptr_t)flow_index(g, f)) == 0;
    }
}

static void end_and_free(struct dgw *g, struct dgw_flow *f)
{
    dgw_dtls_flow_end(g, f);
    dgw_flow_free(g, f);
}

/* The table is full and a client proved its address: the session silent
 * longest goes (clients that vanish without close_notify would otherwise
 * fill a long-running gateway). */
static bool evict_one(struct dgw *g)
{
    struct dgw_flow *oldest = NULL;
    for (unsigned i = 0; i < g->max_flows; i++) {
        struct dgw_flow *f = &g->flow[i];
        if (f->used && f->zs && (oldest == NULL || f->active < oldest->active))
            oldest = f;
    }
    if (oldest == NULL)
        return false;
    end_and_free(g, oldest);
    g->cnt.evicted++;
    return true;
}

/* A connection ID of ours no other flow has (RFC 9146 §3: it names the
 * flow; random, so it tells an observer nothing). */
static int fresh_cid(struct dgw_dtls *d, uint8_t cid[ZS_DHS_CID_LEN])
{
    for (int tries = 0; tries < 64; tries++) {
        if (getrandom(cid, ZS_DHS_CID_LEN, 0) != ZS_DHS_CID_LEN)
            return -EIO;
        uint32_t k = cid_key(cid);
        if (rte_hash_lookup(d->by_cid, &k) < 0)
            return 0;
    }
    return -EADDRINUSE;
}

/* ---- datagrams in ------------------------------------------------------------------ */

/* A ClientHello: the cookie exchange answers it, statelessly; one with a
 * valid cookie (or one the exchange leaves to wolfSSL) starts a handshake
 * on a flow, which stays only if wolfSSL answers with a ServerHello. */
static void client_hello(struct dgw *g, const uint8_t *b, size_t n, uint32_t ip, uint16_t port,
                         struct dgw_flow *old)
{
    struct dgw_dtls *d = g->dtls;
    struct version *v = d->v13.on && (zs_cookie_offers_dtls13(b, n) || !d->v12.on) ? &d->v13
                                                                                  : &d->v12;
    /* The address the cookie binds, as wolfSSL's cookie callback sees it
     * (wolfSSL_dtls_set_peer keeps a copy). */
    struct sockaddr_in peer = {.sin_family = AF_INET, .sin_port = port, .sin_addr.s_addr = ip};
    const struct zs_cookie_conf cc = zs_cookie_conf_now(&d->cookie, zs_dhs_now_ms(),
                                                        v->conf.dtls13, v->suites, v->nsuites);
    uint8_t answer[ZS_COOKIE_ANSWER_MAX];
    size_t alen = 0;
    const uint8_t *valid_with = NULL;
    enum zs_cookie_verdict verdict =
        zs_cookie_check(&cc, b, n, &peer, sizeof peer, answer, sizeof answer, &alen, &valid_with);
    if (verdict == ZS_COOKIE_DROP) {
        g->cnt.not_dtls++;
        return;
    }
    if (verdict == ZS_COOKIE_ANSWER) {
        struct dgw_flow to = {.ip = ip, .port = port};
        (void)send_to_client(&to, answer, alen);
        g->cnt.cookie_requests++;
        return;
    }
    /* A session at this address answered by a valid cookie: the client
     * restarted (RFC 6347 §4.2.8), its old session goes.  One the exchange
     * left to wolfSSL does not prove the address: the session stays. */
    if (old && verdict != ZS_COOKIE_VALID) {
        g->cnt.not_dtls++;
        return;
    }
    if (d->nhs >= d->max_hs) {
        g->cnt.handshakes_full++;
        return;
    }
    /* Records of the burst queued so far may belong to a session that
     * goes now: they are opened first. */
    dgw_dtls_bursts(g);
    if (old)
        end_and_free(g, old);
    struct dgw_flow *f = dgw_flow_new(g, ip, port);
    if (f == NULL && evict_one(g))
        f = dgw_flow_new(g, ip, port);
    if (f == NULL)
        return; /* counted as flows_full */
    f->hs_slot = -1;
    uint8_t cid[ZS_DHS_CID_LEN] = {0};
    if (v->conf.cid == ZS_DHS_CID_ENABLED && fresh_cid(d, cid) < 0) {
        dgw_flow_free(g, f);
        return;
    }
    int rc = zs_dhs_init(&f->hs, &v->conf, send_to_client, f, &peer, sizeof peer, cid,
                         v->conf.cid == ZS_DHS_CID_ENABLED ? ZS_DHS_CID_LEN : 0,
                         valid_with ? valid_with : d->cookie.cur, sizeof d->cookie.cur);
    struct zrec_session *zs = NULL;
    if (rc == 0)
        rc = zs_dhs_step(&f->hs, b, n, &zs);
    if ((rc == -EAGAIN || rc == 0) && f->hs.server_hello && dgw_flow_link(g, f) == 0) {
        g->cnt.handshakes++;
        if (rc == 0) {
            handoff(g, f, zs);
        } else {
            f->hs_slot = (int)d->nhs;
            d->hs[d->nhs++] = flow_index(g, f);
        }
        return;
    }
    /* Answered with a cookie request by wolfSSL itself, or failed. */
    zrec_session_free(zs);
    zs_dhs_release(&f->hs);
    dgw_flow_free(g, f);
}

/* A datagram for a flow in its handshake: the driver steps wolfSSL over it
 * where it lies in the mbuf. */
static void handshake_input(struct dgw *g, struct dgw_flow *f, const uint8_t *b, size_t n)
{
    struct zrec_session *zs = NULL;
    int rc = zs_dhs_step(&f->hs, b, n, &zs);
    if (rc == 0) {
        handoff(g, f, zs);
    } else if (rc != -EAGAIN) {
        g->cnt.handshakes_failed++;
        end_and_free(g, f);
    }
}

/* The flow of a datagram that names a session by connection ID (a DTLS
 * 1.3 unified header, RFC 9147 §4). */
static struct dgw_flow *find_by_cid(struct dgw *g, const uint8_t *b, size_t n)
{
    struct zrec_record_info info;
    void *data;
    if (zrec_record_peek(b, n, ZREC_PEEK_DTLS, ZS_DHS_CID_LEN, &info) <= 0 || info.cid == NULL ||
        info.cid_len != ZS_DHS_CID_LEN)
        return NULL;
    uint32_t k = cid_key(info.cid);
    if (rte_hash_lookup_data(g->dtls->by_cid, &k, &data) < 0)
        return NULL;
    struct dgw_flow *f = &g->flow[(uintptr_t)data];
    return f->used && f->zs ? f : NULL;
}

void dgw_dtls_from_client(struct dgw *g, struct rte_mbuf *m, uint32_t ip, uint16_t port)
{
    struct dgw_dtls *d = g->dtls;
    if (m->nb_segs > 1 && rte_pktmbuf_linearize(m) < 0) {
        g->cnt.dropped_record++;
        rte_pktmbuf_free(m);
        return;
    }
    const uint8_t *b = rte_pktmbuf_mtod(m, const uint8_t *);
    size_t n = rte_pktmbuf_data_len(m);
    struct dgw_flow *f = dgw_flow_find(g, ip, port);
    if (f && !f->zs) {
        handshake_input(g, f, b, n);
        rte_pktmbuf_free(m);
        return;
    }
    if (zs_dhs_is_client_hello(b, n)) {
        client_hello(g, b, n, ip, port, f);
        rte_pktmbuf_free(m);
        return;
    }
    if (f == NULL)
        f = find_by_cid(g, b, n);
    if (f == NULL) {
        g->cnt.no_flow++;
        rte_pktmbuf_free(m);
        return;
    }
    /* The datagram's records (RFC 9147 §4.3: several may share one), each
     * an op of the next open burst, in place. */
    if (d->nopen + RECS_PER_DGRAM > OPS_CAP)
        dgw_dtls_bursts(g);
    unsigned first = d->nopen, k = 0;
    for (size_t off = 0; off < n && k < RECS_PER_DGRAM; k++) {
        long len = zrec_record_length(f->zs, b + off, n - off);
        if (len <= 0 || (size_t)len > n - off) {
            /* Not a record of this session: a handshake record of an
             * epoch that is over means the peer repeats its last flight,
             * so it missed ours; the rest of the datagram goes with it. */
            if (b[off] == ZREC_CT_HANDSHAKE)
                zs_dhs_replay_flight(&f->hs, false);
            g->cnt.dropped_record++;
            break;
        }
        d->open_ops[d->nopen] = (struct zrec_dpdk_op){
            .sess = f->zs, .m = m, .off = (uint32_t)off, .len = (uint32_t)len};
        d->open_ctx[d->nopen++] = (struct open_ctx){
            .flow = flow_index(g, f), .zs = f->zs, .ip = ip, .port = port};
        off += (size_t)len;
    }
    unsigned queued = d->nopen - first;
    if (queued == 0) {
        rte_pktmbuf_free(m);
        return;
    }
    if (queued == 1)
        d->open_ctx[first].whole = true;
    else
        rte_mbuf_refcnt_update(m, (int16_t)(queued - 1)); /* each op frees its reference */
}

void dgw_dtls_from_backend(struct dgw *g, struct rte_mbuf *m, struct dgw_flow *f)
{
    struct dgw_dtls *d = g->dtls;
    if (!f->zs) {
        g->cnt.backend_early++;
        rte_pktmbuf_free(m);
        return;
    }
    if (d->nseal == OPS_CAP)
        dgw_dtls_bursts(g);
    d->seal_ops[d->nseal] = (struct zrec_dpdk_op){
        .sess = f->zs, .m = m, .content_type = ZREC_CT_APPLICATION_DATA};
    d->seal_ctx[d->nseal++] = (struct seal_ctx){.flow = flow_index(g, f), .zs = f->zs};
}

/* ---- bursts ------------------------------------------------------------------------- */

/* Owed post-handshake records (DTLS 1.3: ACKs of the client's KeyUpdates,
 * our KeyUpdate when asked or near the key's limit, RFC 9147 §7, §8). */
static void maintenance(struct dgw *g, struct dgw_flow *f)
{
    if (zrec_session_proto(f->zs) != ZREC_DTLS13 ||
        !(zrec_session_events(f->zs) &
          (ZREC_EV_ACK_OWED | ZREC_EV_KEY_UPDATE_OWED | ZREC_EV_REKEY_DUE)))
        return;
    int64_t now = zs_dhs_now_ms();
    for (int i = 0; i < 2; i++) {
        int n = zs_pump_owed(f->zs, now, &f->key_update_at, g->dtls->owed, DGRAM_CAP);
        if (n <= 0)
            break;
        (void)send_to_client(f, g->dtls->owed, (size_t)n);
        g->cnt.control_records++;
    }
}

/* Plaintext of an opened record to the backend, from the flow's port. */
static void to_backend(struct dgw *g, struct dgw_flow *f, struct zrec_dpdk_op *op, bool whole)
{
    struct rte_mbuf *m = op->m;
    if (whole) {
        m = zrec_dpdk_trim(m, op->pt_off, op->rec_len);
    } else {
        /* One record of several in the datagram: its own frame. */
        struct rte_mbuf *c = rte_pktmbuf_alloc(g->mp);
        char *p = c ? rte_pktmbuf_append(c, (uint16_t)op->rec_len) : NULL;
        if (p)
            rte_pktmbuf_read(op->m, op->pt_off, op->rec_len, p);
        rte_pktmbuf_free(op->m);
        if (p == NULL)
            rte_pktmbuf_free(c);
        m = p ? c : NULL;
    }
    if (m == NULL) {
        g->cnt.tx_dropped++;
        return;
    }
    if (dgw_send(g, m, f->our, g->backend_ip, g->backend_port) == 0)
        g->cnt.to_backend++;
}

static void opened(struct dgw *g, struct zrec_dpdk_op *op, const struct open_ctx *c)
{
    struct dgw_dtls *d = g->dtls;
    struct dgw_flow *f = &g->flow[c->flow];
    if (!f->used || f->zs != c->zs) {
        rte_pktmbuf_free(op->m); /* its session ended earlier in this burst */
        return;
    }
    if (op->status < 0) {
        if (op->status == -EBADMSG)
            g->cnt.dropped_auth++;
        else if (op->status == -EALREADY)
            g->cnt.dropped_replay++;
        else if (op->status == -ESTALE)
            g->cnt.dropped_stale++;
        else
            g->cnt.dropped_record++;
        /* A record of an earlier epoch: the peer repeats its handshake
         * flight, it missed our last one. */
        if (op->status == -ESTALE)
            zs_dhs_replay_flight(&f->hs, false);
        rte_pktmbuf_free(op->m);
        return;
    }
    g->cnt.records_opened++;
    f->active = ++d->tick;
    /* Authentic: a client found by its connection ID may speak from a new
     * address now (RFC 9146 §6, RFC 9147 §9); its flow follows. */
    if ((c->ip != f->ip || c->port != f->port) && dgw_flow_move(g, f, c->ip, c->port) == 0)
        g->cnt.cid_moves++;
    /* The client sends data (or an ACK) only once it has our last flight. */
    if (f->hs.flight && (op->content_type == ZREC_CT_APPLICATION_DATA ||
                         op->content_type == ZREC_CT_ACK))
        zs_dhs_release_flight(&f->hs);
    maintenance(g, f);
    unsigned ev = zrec_session_events(f->zs);
    if (op->content_type == ZREC_CT_APPLICATION_DATA && op->rec_len > 0) {
        to_backend(g, f, op, c->whole);
        return;
    }
    rte_pktmbuf_free(op->m);
    if (op->content_type == ZREC_CT_ALERT && (ev & (ZREC_EV_PEER_CLOSED | ZREC_EV_PEER_ALERT))) {
        /* close_notify or a fatal alert: the session is over. */
        g->cnt.closed++;
        end_and_free(g, f);
        return;
    }
    g->cnt.control_records++;
}

static void sealed(struct dgw *g, struct zrec_dpdk_op *op, const struct seal_ctx *c)
{
    struct dgw_flow *f = &g->flow[c->flow];
    if (op->status < 0 || !f->used || f->zs != c->zs) {
        g->cnt.seal_failed++;
        rte_pktmbuf_free(op->m);
        return;
    }
    if (dgw_send(g, op->m, g->listen_port, f->ip, f->port) != 0)
        return;
    g->cnt.records_sealed++;
    g->cnt.to_client++;
    maintenance(g, f); /* the key may be near its limit */
}

void dgw_dtls_bursts(struct dgw *g)
{
    struct dgw_dtls *d = g->dtls;
    unsigned nopen = d->nopen, nseal = d->nseal;
    if (nopen == 0 && nseal == 0)
        return;
    d->nopen = d->nseal = 0;
    /* Both bursts run before any result is acted upon: a close_notify may
     * end a session that has replies queued. */
    if (nopen)
        zrec_dpdk_open_burst(d->open_ops, nopen);
    if (nseal)
        zrec_dpdk_seal_burst(d->seal_ops, nseal, g->mp);
    for (unsigned i = 0; i < nopen; i++)
        opened(g, &d->open_ops[i], &d->open_ctx[i]);
    for (unsigned i = 0; i < nseal; i++)
        sealed(g, &d->seal_ops[i], &d->seal_ctx[i]);
}

void dgw_dtls_timers(struct dgw *g)
{
    struct dgw_dtls *d = g->dtls;
    if (d->nhs == 0)
        return;
    int64_t now = zs_dhs_now_ms();
    if (now < d->timers_at)
        return; /* once a millisecond at most */
    d->timers_at = now + 1;
    for (unsigned i = 0; i < d->nhs; i++) {
        struct dgw_flow *f = &g->flow[d->hs[i]];
        if (f->hs.rtx_at > now)
            continue;
        int rc = zs_dhs_timeout(&f->hs);
        if (rc == 0)
            continue;
        if (rc == -ETIMEDOUT)
            g->cnt.handshakes_timed_out++;
        else
            g->cnt.handshakes_failed++;
        end_and_free(g, f); /* its slot now holds the list's last flow */
        i--;
    }
}
