/*
 * Handshake handoff from wolfSSL 5.5.4.
 *
 * Public API where wolfSSL has one (atomic-user key getters, the TLS 1.3
 * secret callback, CID getters).  The next sequence numbers of each direction
 * are not public for DTLS (wolfSSL_GetSequenceNumber reads the TLS counters
 * and reports 1 for 0), so this one file reads them from wolfSSL's internal
 * structures; it is built against the exact wolfSSL the bootstrap installs,
 * with its options.h, so the layouts match.
 */
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/internal.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "zrec/wolfssl.h"

struct zrec_wolfssl_capture {
    uint8_t client_secret[ZREC_MAX_SECRET];
    uint8_t server_secret[ZREC_MAX_SECRET];
    uint8_t client_len;
    uint8_t server_len;
};

static const char *const secret_labels[] = {
    [CLIENT_EARLY_TRAFFIC_SECRET] = "CLIENT_EARLY_TRAFFIC_SECRET",
    [CLIENT_HANDSHAKE_TRAFFIC_SECRET] = "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
    [SERVER_HANDSHAKE_TRAFFIC_SECRET] = "SERVER_HANDSHAKE_TRAFFIC_SECRET",
    [CLIENT_TRAFFIC_SECRET] = "CLIENT_TRAFFIC_SECRET_0",
    [SERVER_TRAFFIC_SECRET] = "SERVER_TRAFFIC_SECRET_0",
    [EARLY_EXPORTER_SECRET] = "EARLY_EXPORTER_SECRET",
    [EXPORTER_SECRET] = "EXPORTER_SECRET",
};

static int on_secret(WOLFSSL *ssl, int id, const unsigned char *secret, int len, void *arg)
{
    struct zrec_wolfssl_capture *cap = arg;
    if (len <= 0 || len > ZREC_MAX_SECRET)
        return 0;
    if (id == CLIENT_TRAFFIC_SECRET) {
        memcpy(cap->client_secret, secret, (size_t)len);
        cap->client_len = (uint8_t)len;
    } else if (id == SERVER_TRAFFIC_SECRET) {
        memcpy(cap->server_secret, secret, (size_t)len);
        cap->server_len = (uint8_t)len;
    }
    if (id >= 0 && id <= EXPORTER_SECRET) {
        uint8_t cr[RAN_LEN];
        size_t crlen = wolfSSL_get_client_random(ssl, cr, sizeof cr);
        if (crlen == sizeof cr)
            (void)zrec_keylog_write(secret_labels[id], cr, crlen, secret, (size_t)len);
    }
    return 0;
}

struct zrec_wolfssl_capture *zrec_wolfssl_prepare(WOLFSSL *ssl)
{
    if (ssl == NULL) {
        errno = EINVAL;
        return NULL;
    }
    struct zrec_wolfssl_capture *cap = calloc(1, sizeof *cap);
    if (cap == NULL)
        return NULL;
    if (wolfSSL_set_tls13_secret_cb(ssl, on_secret, cap) != WOLFSSL_SUCCESS) {
        free(cap);
        errno = EIO;
        return NULL;
    }
    /* Keep client_random for the TLS 1.2 key log line at import time. */
    wolfSSL_KeepArrays(ssl);
    return cap;
}

void zrec_wolfssl_capture_free(struct zrec_wolfssl_capture *cap)
{
    if (cap == NULL)
        return;
    zrec__wipe(cap, sizeof *cap);
    free(cap);
}

/* aead_of() decides on a negotiated connection, from wolfSSL's cipher specs;
 * before a handshake there are only suite names (wolfSSL's own, e.g.
 * "ECDHE-RSA-AES128-GCM-SHA256", "TLS13-AES128-CCM-8-SHA256"): the same
 * AEADs by name.  "-OLD" is the pre-RFC 7905 ChaCha20-Poly1305 draft;
 * AES-256-CCM is not among zrec's AEADs. */
bool zrec_wolfssl_suite_supported(uint8_t cs0, uint8_t cs1)
{
    const char *name = wolfSSL_get_cipher_name_from_suite(cs0, cs1);
    if (name == NULL || strstr(name, "-OLD") != NULL || strstr(name, "NULL") != NULL)
        return false;
    return strstr(name, "AES128-GCM") != NULL || strstr(name, "AES256-GCM") != NULL ||
           strstr(name, "CHACHA20-POLY1305") != NULL || strstr(name, "AES128-CCM") != NULL;
}

/* The i-th suite of this wolfSSL build that zrec carries, from `*i` on:
 * its name and IANA id, NULL after the last.  The one walk behind
 * zrec_wolfssl_cipher_list() and zrec_wolfssl_suite_ids(). */
static const char *next_carried(int *i, uint16_t *id)
{
    const char *name;
    while ((name = wolfSSL_get_cipher_list((*i)++)) != NULL) {
        unsigned char b0, b1;
        int flags;
        if (wolfSSL_get_cipher_suite_from_name(name, &b0, &b1, &flags) == 0 &&
            zrec_wolfssl_suite_supported(b0, b1)) {
            *id = (uint16_t)(b0 << 8 | b1);
            return name;
        }
    }
    return NULL;
}

int zrec_wolfssl_cipher_list(char *out, size_t cap)
{
    size_t pos = 0;
    int n = 0, i = 0;
    uint16_t id;
    const char *name;
    if (cap)
        out[0] = 0;
    while ((name = next_carried(&i, &id)) != NULL) {
        size_t l = strlen(name);
        if (pos + l + 2 > cap)
            return 0; /* does not fit: a partial list would silently drop suites */
        if (pos)
            out[pos++] = ':';
        memcpy(out + pos, name, l + 1);
        pos += l;
        n++;
    }
    return n;
}

int zrec_wolfssl_suite_ids(uint16_t *ids, int max)
{
    int n = 0, i = 0;
    uint16_t id;
    while (next_carried(&i, &id) != NULL) {
        bool seen = false; /* wolfSSL knows some suites by two names */
        for (int j = 0; j < n; j++)
            seen |= ids[j] == id;
        if (!seen && n < max)
            ids[n++] = id;
    }
    return n;
}

static int aead_of(WOLFSSL *ssl, enum zrec_aead_id *aead)
{
    int bulk = wolfSSL_GetBulkCipher(ssl);
    int key = wolfSSL_GetKeySize(ssl);
    int tag = wolfSSL_GetAeadMacSize(ssl);
    if (bulk == wolfssl_aes_gcm && key == 16 && tag == 16)
        *aead = ZREC_AES_128_GCM;
    else if (bulk == wolfssl_aes_gcm && key == 32 && tag == 16)
        *aead = ZREC_AES_256_GCM;
    else if (bulk == wolfssl_chacha && key == 32)
        *aead = ZREC_CHACHA20_POLY1305;
    else if (bulk == wolfssl_aes_ccm && key == 16 && tag == 16)
        *aead = ZREC_AES_128_CCM;
    else if (bulk == wolfssl_aes_ccm && key == 16 && tag == 8)
        *aead = ZREC_AES_128_CCM_8;
    else
        return -ENOTSUP;
    return 0;
}

static int proto_of(WOLFSSL *ssl, enum zrec_proto *p)
{
    /* wolfSSL_version() does not know DTLS 1.3 in 5.5.4: read the
     * negotiated ProtocolVersion. */
    uint8_t major = ssl->version.major, minor = ssl->version.minor;
    if (major == SSLv3_MAJOR && minor == TLSv1_2_MINOR)
        *p = ZREC_TLS12;
    else if (major == SSLv3_MAJOR && minor == TLSv1_3_MINOR)
        *p = ZREC_TLS13;
    else if (major == DTLS_MAJOR && minor == DTLSv1_2_MINOR)
        *p = ZREC_DTLS12;
    else if (major == DTLS_MAJOR && minor == DTLSv1_3_MINOR)
        *p = ZREC_DTLS13;
    else
        return -ENOTSUP;
    return 0;
}

static void keylog_tls12(WOLFSSL *ssl)
{
    uint8_t cr[RAN_LEN], ms[SECRET_LEN];
    if (wolfSSL_get_client_random(ssl, cr, sizeof cr) != sizeof cr)
        return;
    if (wolfSSL_SESSION_get_master_key(wolfSSL_get_session(ssl), ms, sizeof ms) != sizeof ms)
        return;
    (void)zrec_keylog_write("CLIENT_RANDOM", cr, sizeof cr, ms, sizeof ms);
    zrec__wipe(ms, sizeof ms);
}

/* ---- NewSessionTicket after the handoff (RFC 8446 §4.6.1) ----------------
 *
 * At import, a TLS 1.3 client keeps a copy of its WOLFSSL_SESSION (it holds
 * the resumption master secret, suite, version and group).  Each ticket the
 * engine later opens is written into a copy of it exactly as wolfSSL's own
 * DoTls13NewSessionTicket() would, so wolfSSL_set_session() resumes with it. */

struct ticket_state {
    WOLFSSL_SESSION *base;   /* the handshake's session, no ticket */
    WOLFSSL_SESSION *latest; /* base + the newest ticket */
};

static void ticket_state_free(void *arg)
{
    struct ticket_state *t = arg;
    if (t == NULL)
        return;
    wolfSSL_SESSION_free(t->base);
    wolfSSL_SESSION_free(t->latest);
    free(t);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int on_ticket(void *arg, const uint8_t *m, size_t len)
{
    struct ticket_state *t = arg;
    /* struct { uint32 ticket_lifetime; uint32 ticket_age_add;
     *          opaque ticket_nonce<0..255>; opaque ticket<1..2^16-1>;
     *          Extension extensions<0..2^16-2>; } NewSessionTicket; */
    if (len < 9)
        return -EPROTO;
    uint32_t lifetime = get32(m), age_add = get32(m + 4);
    size_t nonce_len = m[8], pos = 9;
    if (pos + nonce_len + 2 > len)
        return -EPROTO;
    const uint8_t *nonce = m + pos;
    pos += nonce_len;
    size_t ticket_len = zrec__get16(m + pos);
    pos += 2;
    if (ticket_len == 0 || pos + ticket_len + 2 > len)
        return -EPROTO;
    const uint8_t *ticket = m + pos;
    pos += ticket_len;
    size_t ext_len = zrec__get16(m + pos);
    if (pos + 2 + ext_len != len)
        return -EPROTO;
    /* §4.6.1: servers MUST NOT use a lifetime over seven days. */
    if (lifetime > MAX_LIFETIME)
        return -EPROTO;
    if (nonce_len > MAX_TICKET_NONCE_STATIC_SZ || ticket_len < ID_LEN)
        return 0; /* valid, but not storable in wolfSSL 5.5.4's session: ignore it */

    WOLFSSL_SESSION *n = wolfSSL_SESSION_dup(t->base);
    if (n == NULL)
        return -ENOMEM;
    /* The copy brought the base's own ticket (a resumed connection's: in a
     * buffer of the copy's own when longer than staticTicket); this one
     * replaces it. */
    if (n->ticket != n->staticTicket) {
        free(n->ticket); /* wolfSSL's XFREE is free() in this build */
        n->ticket = n->staticTicket;
        n->ticketLenAlloc = 0;
    }
    if (ticket_len > sizeof n->staticTicket) {
        n->ticket = malloc(ticket_len);
        if (n->ticket == NULL) {
            n->ticket = n->staticTicket;
            wolfSSL_SESSION_free(n);
            return -ENOMEM;
        }
        n->ticketLenAlloc = (word16)ticket_len;
    } else {
        n->ticket = n->staticTicket;
        n->ticketLenAlloc = 0;
    }
    memcpy(n->ticket, ticket, ticket_len);
    n->ticketLen = (word16)ticket_len;
    /* As SetTicket(): the session ID is taken from the ticket's tail. */
    memcpy(n->sessionID, ticket + ticket_len - ID_LEN, ID_LEN);
    n->sessionIDSz = ID_LEN;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    n->ticketSeen = (__typeof__(n->ticketSeen))((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
    n->ticketAdd = age_add;
    n->timeout = lifetime;
    n->bornOn = (word32)ts.tv_sec;
    n->ticketNonce.len = (byte)nonce_len;
    memcpy(n->ticketNonce.data, nonce, nonce_len);
    wolfSSL_SESSION_free(t->latest);
    t->latest = n;
    return 0;
}

WOLFSSL_SESSION *zrec_wolfssl_get1_session(struct zrec_session *s)
{
    if (s == NULL || s->ticket_cb != on_ticket) {
        errno = EINVAL;
        return NULL;
    }
    struct ticket_state *t = s->ticket_arg;
    if (t->latest == NULL) {
        errno = ENOENT;
        return NULL;
    }
    return wolfSSL_SESSION_dup(t->latest);
}

static int keep_ticket_state(WOLFSSL *ssl, struct zrec_session *s)
{
    struct ticket_state *t = calloc(1, sizeof *t);
    if (t == NULL)
        return -ENOMEM;
    /* ssl->session holds the resumption master secret (derived when the
     * client sent Finished); what DoTls13NewSessionTicket() copies from the
     * connection when a ticket arrives is copied here once. */
    t->base = wolfSSL_SESSION_dup(ssl->session);
    if (t->base == NULL) {
        free(t);
        return -ENOMEM;
    }
    t->base->side = WOLFSSL_CLIENT_END;
    t->base->version = ssl->version;
    t->base->cipherSuite0 = ssl->options.cipherSuite0;
    t->base->cipherSuite = ssl->options.cipherSuite;
    t->base->namedGroup = ssl->namedGroup;
    zrec__session_set_ticket_hook(s, on_ticket, ticket_state_free, t);
    return 0;
}

/* The record state of each direction, read from wolfSSL. */
struct wolf_seq {
    uint64_t tx_seq, rx_seq;
    uint16_t tx_epoch, rx_epoch;
};

static int read_sequence_state(WOLFSSL *ssl, enum zrec_proto p, struct wolf_seq *q)
{
    const Keys *k = &ssl->keys;
    switch (p) {
    case ZREC_TLS12:
    case ZREC_TLS13:
        q->tx_seq = (uint64_t)k->sequence_number_hi << 32 | k->sequence_number_lo;
        q->rx_seq = (uint64_t)k->peer_sequence_number_hi << 32 | k->peer_sequence_number_lo;
        q->tx_epoch = q->rx_epoch = 0;
        return 0;
    case ZREC_DTLS12:
        q->tx_epoch = k->dtls_epoch;
        q->tx_seq = (uint64_t)k->dtls_sequence_number_hi << 32 | k->dtls_sequence_number_lo;
        q->rx_epoch = k->peerSeq[0].nextEpoch;
        q->rx_seq = (uint64_t)k->peerSeq[0].nextSeq_hi << 32 | k->peerSeq[0].nextSeq_lo;
        return 0;
    case ZREC_DTLS13: {
        /* RFC 9147 §6.1: application data flows in epoch 3. */
        w64wrapper app = {0};
        app.n = 3;
        Dtls13Epoch *e = Dtls13GetEpoch(ssl, app);
        if (e == NULL)
            return -EINVAL;
        q->tx_epoch = q->rx_epoch = 3;
        q->tx_seq = e->nextSeqNumber.n;
        q->rx_seq = e->nextPeerSeqNumber.n;
        return 0;
    }
    default:
        return -ENOTSUP;
    }
}

static struct zrec_session *import(WOLFSSL *ssl, struct zrec_wolfssl_capture *cap,
                                   const struct zrec_aead_provider *provider, int *err)
{
    enum zrec_proto proto;
    enum zrec_aead_id aead;
    int rc;
    if (!wolfSSL_is_init_finished(ssl))
        return *err = -EINVAL, NULL;
    if ((rc = proto_of(ssl, &proto)) < 0 || (rc = aead_of(ssl, &aead)) < 0)
        return *err = rc, NULL;
    bool client = wolfSSL_GetSide(ssl) == WOLFSSL_CLIENT_END;

    struct zrec_session_params prm = {.proto = proto, .aead = aead, .provider = provider};
    prm.hash = (wolfSSL_get_current_cipher_suite(ssl) & 0xffff) == 0x1302 ? ZREC_SHA384
                                                                         : ZREC_SHA256;
    uint8_t tx_cid[ZREC_MAX_CID], rx_cid[ZREC_MAX_CID];
    unsigned int tx_cid_len = 0, rx_cid_len = 0;
    if (proto == ZREC_DTLS12 || proto == ZREC_DTLS13) {
        int use = 0;
        if (wolfSSL_dtls_cid_is_enabled(ssl) == WOLFSSL_SUCCESS)
            use = 1;
        if (use) {
            if (wolfSSL_dtls_cid_get_tx_size(ssl, &tx_cid_len) != WOLFSSL_SUCCESS)
                tx_cid_len = 0;
            if (wolfSSL_dtls_cid_get_rx_size(ssl, &rx_cid_len) != WOLFSSL_SUCCESS)
                rx_cid_len = 0;
            if (tx_cid_len > ZREC_MAX_CID || rx_cid_len > ZREC_MAX_CID)
                return *err = -EPROTO, NULL;
            if (tx_cid_len)
                wolfSSL_dtls_cid_get_tx(ssl, tx_cid, tx_cid_len);
            if (rx_cid_len)
                wolfSSL_dtls_cid_get_rx(ssl, rx_cid, rx_cid_len);
            /* wolfSSL 5.5.4 implements CIDs for DTLS 1.3 only. */
            if (proto == ZREC_DTLS12 && (tx_cid_len || rx_cid_len))
                return *err = -ENOTSUP, NULL;
        }
    }
    prm.tx_cid = tx_cid;
    prm.tx_cid_len = (uint8_t)tx_cid_len;
    prm.rx_cid = rx_cid;
    prm.rx_cid_len = (uint8_t)rx_cid_len;

    struct wolf_seq q;
    if ((rc = read_sequence_state(ssl, proto, &q)) < 0)
        return *err = rc, NULL;
    struct zrec_session *s = zrec_session_new(&prm);
    if (s == NULL)
        return *err = -errno, NULL;

    struct zrec_traffic_keys tx = {.seq = q.tx_seq, .epoch = q.tx_epoch};
    struct zrec_traffic_keys rx = {.seq = q.rx_seq, .epoch = q.rx_epoch};
    if (proto == ZREC_TLS13 || proto == ZREC_DTLS13) {
        if (cap->client_len == 0 || cap->server_len == 0) {
            zrec_session_free(s);
            return *err = -ENOKEY, NULL;
        }
        tx.secret = client ? cap->client_secret : cap->server_secret;
        tx.secret_len = client ? cap->client_len : cap->server_len;
        rx.secret = client ? cap->server_secret : cap->client_secret;
        rx.secret_len = client ? cap->server_len : cap->client_len;
    } else {
        tx.key = client ? wolfSSL_GetClientWriteKey(ssl) : wolfSSL_GetServerWriteKey(ssl);
        tx.iv = client ? wolfSSL_GetClientWriteIV(ssl) : wolfSSL_GetServerWriteIV(ssl);
        rx.key = client ? wolfSSL_GetServerWriteKey(ssl) : wolfSSL_GetClientWriteKey(ssl);
        rx.iv = client ? wolfSSL_GetServerWriteIV(ssl) : wolfSSL_GetClientWriteIV(ssl);
        keylog_tls12(ssl);
    }
    if ((rc = zrec_session_set_keys(s, ZREC_DIR_WRITE, &tx)) < 0 ||
        (rc = zrec_session_set_keys(s, ZREC_DIR_READ, &rx)) < 0 ||
        ((proto == ZREC_TLS13 || proto == ZREC_DTLS13) && client &&
         (rc = keep_ticket_state(ssl, s)) < 0) ||
        (proto == ZREC_DTLS13 &&
         (rc = zrec_session_set_dtls13_message_seq(
              s, ssl->keys.dtls_handshake_number,
              ssl->keys.dtls_expected_peer_handshake_number)) < 0)) {
        zrec_session_free(s);
        return *err = rc, NULL;
    }
    return s;
}

struct zrec_session *zrec_wolfssl_import(WOLFSSL *ssl, struct zrec_wolfssl_capture *cap,
                                         const struct zrec_aead_provider *provider, int *err)
{
    int local;
    if (err == NULL)
        err = &local;
    *err = 0;
    if (ssl == NULL || cap == NULL) {
        zrec_wolfssl_capture_free(cap);
        *err = -EINVAL;
        return NULL;
    }
    struct zrec_session *s = import(ssl, cap, provider, err);
    /* The secrets now live only in the session; drop wolfSSL's copies of
     * the handshake arrays and our capture. */
    wolfSSL_set_tls13_secret_cb(ssl, NULL, NULL);
    wolfSSL_FreeArrays(ssl);
    zrec_wolfssl_capture_free(cap);
    return s;
}
