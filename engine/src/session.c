/* Sessions: creation, key installation and KeyUpdate (on keys.c's key
 * schedule), sizes, events, footprint. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

const struct zrec_format *zrec__format(enum zrec_proto p);
bool zrec__format_inner_type(enum zrec_proto p, uint8_t cid_len);

static const char *const proto_names[ZREC_PROTO_COUNT] = {"tls12", "tls13", "dtls12", "dtls13"};

const char *zrec_proto_name(enum zrec_proto p)
{
    return (unsigned)p < ZREC_PROTO_COUNT ? proto_names[p] : "unknown";
}

struct zrec_session *zrec_session_new(const struct zrec_session_params *prm)
{
    if (prm == NULL || (unsigned)prm->proto >= ZREC_PROTO_COUNT ||
        zrec__aead_alg(prm->aead) == NULL ||
        (prm->hash != ZREC_SHA256 && prm->hash != ZREC_SHA384) ||
        (prm->tx_cid_len && prm->tx_cid == NULL) || (prm->rx_cid_len && prm->rx_cid == NULL)) {
        errno = EINVAL;
        return NULL;
    }
    bool dtls = prm->proto == ZREC_DTLS12 || prm->proto == ZREC_DTLS13;
    if (!dtls && (prm->tx_cid_len || prm->rx_cid_len)) {
        errno = EINVAL; /* connection IDs exist only in DTLS */
        return NULL;
    }
    const struct zrec_aead_provider *p = prm->provider ? prm->provider : zrec_provider_default();
    /* zrec/provider.h: a provider written for another interface version,
     * one without a mandatory slot, or an asynchronous one (the offload
     * pipeline's) is refused, not half used. */
    if (p->abi != ZREC_PROVIDER_ABI || !p->supports || !p->ctx_size || !p->init ||
        !p->dispose || !p->seal || !p->open || !p->supports(prm->aead)) {
        errno = ENOTSUP;
        return NULL;
    }
    struct zrec_aead_caps caps = zrec__aead_caps(p, prm->aead);
    /* An asynchronous provider is taken for its synchronous slots too; its
     * submit/complete pair (read only under the flag: an older provider's
     * descriptor ends before them) serves zrec_async_*. */
    if ((caps.flags & ZREC_AEAD_CAP_ASYNC) && (!p->submit || !p->complete)) {
        errno = ENOTSUP;
        return NULL;
    }
    /* A capability without its slot is not offered. */
    if (!p->seal_v || !p->open_v)
        caps.flags &= ~ZREC_AEAD_CAP_SG;
    if (!p->seal_split)
        caps.flags &= ~ZREC_AEAD_CAP_SPLIT;
    /* open_split is read only under its flag: a provider built before the
     * slot existed has a shorter descriptor and never sets the flag. */
    if ((caps.flags & ZREC_AEAD_CAP_OPEN_SPLIT) && !p->open_split)
        caps.flags &= ~ZREC_AEAD_CAP_OPEN_SPLIT;
    const struct zrec_aead_alg *alg = zrec__aead_alg(prm->aead);
    /* The longest AAD a session can need is DTLS 1.2's with a CID (RFC 9146
     * §5): 23 + cid bytes.  A provider that takes less for this AEAD (its
     * max_aad capability) hands the session to the reference provider. */
    size_t cid_max = prm->tx_cid_len > prm->rx_cid_len ? prm->tx_cid_len : prm->rx_cid_len;
    size_t aad_need = prm->proto == ZREC_DTLS12 && cid_max ? 23u + cid_max : 13u;
    if (caps.max_aad && aad_need > caps.max_aad) {
        p = &zrec__provider_wolfcrypt;
        caps = zrec__aead_caps(p, prm->aead);
    }

    struct zrec_session *s = calloc(1, sizeof *s + prm->tx_cid_len + prm->rx_cid_len);
    if (s == NULL)
        return NULL;
    s->fmt = zrec__format(prm->proto);
    s->provider = p;
    s->caps = caps.flags;
    s->cache = prm->key_cache;
    if (s->cache)
        s->cache->sessions++;
    s->proto = prm->proto;
    s->aead = prm->aead;
    s->hash = prm->hash;
    s->tag_len = alg->tag_len;
    s->tx_inner = zrec__format_inner_type(prm->proto, prm->tx_cid_len);
    s->rx_inner = zrec__format_inner_type(prm->proto, prm->rx_cid_len);
    s->peer_alert = -1;
    s->tx_cid_len = prm->tx_cid_len;
    s->rx_cid_len = prm->rx_cid_len;
    if (prm->tx_cid_len) /* memcpy from NULL is undefined even for 0 bytes */
        memcpy(s->cids, prm->tx_cid, prm->tx_cid_len);
    if (prm->rx_cid_len)
        memcpy(s->cids + prm->tx_cid_len, prm->rx_cid, prm->rx_cid_len);
    switch (prm->proto) {
    case ZREC_TLS12:
        s->explicit_len = alg->tls12_explicit_len;
        s->hdr_len = (uint8_t)(5 + s->explicit_len);
        break;
    case ZREC_TLS13:
        s->hdr_len = 5;
        break;
    case ZREC_DTLS12:
        s->explicit_len = alg->tls12_explicit_len;
        s->hdr_len = (uint8_t)(13 + s->tx_cid_len + s->explicit_len);
        break;
    case ZREC_DTLS13:
        s->hdr_len = (uint8_t)(5 + s->tx_cid_len);
        s->min_ct = 16; /* RFC 9147 §4.2.3 sample */
        s->d13 = calloc(1, sizeof *s->d13);
        if (s->d13 == NULL) {
            free(s);
            return NULL;
        }
        break;
    default:
        break;
    }
    return s;
}

void zrec__retire(struct zrec_session *s, struct zrec_aead_ctx *aead, struct zrec_sn_cipher *sn)
{
    struct zrec__retired *r;
    if (s->aq_n == 0 || (aead == NULL && sn == NULL) || (r = malloc(sizeof *r)) == NULL) {
        /* Nothing in flight (or no memory to wait with: a device still
         * using the context would be the caller's breach of zrec.h). */
        zrec__aead_free(aead);
        zrec__sn_free(sn);
        return;
    }
    *r = (struct zrec__retired){aead, sn, s->aq_retired};
    s->aq_retired = r;
}

void zrec__retired_free(struct zrec_session *s)
{
    while (s->aq_retired) {
        struct zrec__retired *r = s->aq_retired;
        s->aq_retired = r->next;
        zrec__aead_free(r->aead);
        zrec__sn_free(r->sn);
        free(r);
    }
}

void zrec__dir_clear(struct zrec_session *s, struct zrec_dir_state *d)
{
    zrec__retire(s, d->aead, d->sn);
    zrec__kc_drop(s->cache, d);
    d->aead = NULL;
    d->sn = NULL;
    zrec__wipe(d, sizeof *d);
}

void zrec_session_free(struct zrec_session *s)
{
    if (s == NULL)
        return;
    s->aq_n = 0; /* zrec.h: no asynchronous op may be in flight now */
    zrec__retired_free(s);
    zrec__dir_clear(s, &s->tx);
    zrec__dir_clear(s, &s->rx);
    zrec__session_set_ticket_hook(s, NULL, NULL, NULL);
    if (s->d13) {
        if (s->d13->rx_prev) {
            zrec__dir_clear(s, s->d13->rx_prev);
            free(s->d13->rx_prev);
        }
        free(s->d13);
    }
    if (s->cache)
        s->cache->sessions--;
    zrec__wipe(s, sizeof *s + s->tx_cid_len + s->rx_cid_len);
    free(s);
}

void zrec__session_set_ticket_hook(struct zrec_session *s,
                                   int (*cb)(void *arg, const uint8_t *body, size_t len),
                                   void (*free_fn)(void *arg), void *arg)
{
    if (s->ticket_free)
        s->ticket_free(s->ticket_arg);
    s->ticket_cb = cb;
    s->ticket_free = free_fn;
    s->ticket_arg = arg;
}

int zrec__install(struct zrec_session *s, struct zrec_dir_state *d, const uint8_t *key,
                  const uint8_t *iv, const uint8_t *sn_key)
{
    const struct zrec_aead_alg *alg = zrec__aead_alg(s->aead);
    /* With a key cache only the key bytes are kept; the context is expanded
     * when a record needs it (zrec__dir_aead). */
    struct zrec_aead_ctx *ctx = NULL;
    if (s->cache == NULL && (ctx = zrec__aead_new(s->provider, s->aead, key)) == NULL)
        return -errno;
    struct zrec_sn_cipher *sn = NULL;
    if (sn_key != NULL) {
        sn = zrec__sn_new(s->provider, s->aead, sn_key, alg->key_len);
        if (sn == NULL) {
            int rc = -errno;
            zrec__aead_free(ctx);
            return rc;
        }
    }
    zrec__retire(s, d->aead, d->sn);
    zrec__kc_drop(s->cache, d);
    d->aead = ctx;
    d->sn = sn;
    d->key_id = zrec__next_key_id();
    if (s->cache)
        memcpy(d->key, key, alg->key_len);
    memcpy(d->iv, iv, ZREC_NONCE_LEN);
    memset(d->iv + ZREC_NONCE_LEN, 0, ZREC_NONCE_BUF - ZREC_NONCE_LEN);
    d->used = 0;
    d->limit = d == &s->tx ? alg->confidentiality_limit : alg->integrity_limit;
    d->warn_at = d->limit - d->limit / 4;
    return 0;
}

int zrec_session_set_keys(struct zrec_session *s, enum zrec_dir dir,
                          const struct zrec_traffic_keys *k)
{
    if (s == NULL || k == NULL || (dir != ZREC_DIR_WRITE && dir != ZREC_DIR_READ))
        return -EINVAL;
    struct zrec_dir_state *d = dir == ZREC_DIR_WRITE ? &s->tx : &s->rx;
    const struct zrec_aead_alg *alg = zrec__aead_alg(s->aead);
    uint8_t key[ZREC_MAX_KEY_LEN], iv[ZREC_NONCE_LEN], sn_key[ZREC_MAX_KEY_LEN];
    int rc;
    bool tls13 = s->proto == ZREC_TLS13 || s->proto == ZREC_DTLS13;
    if (tls13) {
        if (k->secret == NULL || k->secret_len != zrec__hash_len(s->hash))
            return -EINVAL;
        rc = zrec__derive_traffic(s, k->secret, k->secret_len, key, iv,
                                  s->proto == ZREC_DTLS13 ? sn_key : NULL);
    } else {
        if (k->key == NULL || k->iv == NULL)
            return -EINVAL;
        memcpy(key, k->key, alg->key_len);
        /* RFC 5288 §3 / RFC 6655 §3: salt (4 bytes) || explicit nonce (8);
         * RFC 7905 §2: a 12-byte IV. nonce_for() XORs the sequence value
         * into the last 8 bytes, which yields exactly those nonces. */
        memset(iv, 0, sizeof iv);
        memcpy(iv, k->iv, alg->tls12_fixed_iv_len);
        rc = 0;
    }
    if (rc == 0)
        rc = zrec__install(s, d, key, iv, s->proto == ZREC_DTLS13 ? sn_key : NULL);
    if (rc == 0) {
        d->seq = k->seq;
        d->epoch = k->epoch;
        /* DTLS read side: everything below the starting sequence number
         * counts as already received, so handshake records cannot be
         * replayed into the new state. */
        d->window = ~0ull;
        d->secret_len = 0;
        if (tls13) {
            memcpy(d->secret, k->secret, k->secret_len);
            d->secret_len = (uint8_t)k->secret_len;
        }
        if (dir == ZREC_DIR_WRITE)
            s->events &= ~(unsigned)ZREC_EV_REKEY_DUE;
    }
    zrec__wipe(key, sizeof key);
    zrec__wipe(iv, sizeof iv);
    zrec__wipe(sn_key, sizeof sn_key);
    return rc;
}

int zrec_session_overhead(const struct zrec_session *s, struct zrec_overhead *out)
{
    if (s == NULL || out == NULL)
        return -EINVAL;
    out->headroom = s->hdr_len;
    bool inner = s->proto == ZREC_TLS13 || s->proto == ZREC_DTLS13 ||
                 (s->proto == ZREC_DTLS12 && s->tx_cid_len > 0);
    size_t tail = (inner ? 1 : 0) + s->tag_len;
    if (tail < s->min_ct)
        tail = s->min_ct; /* DTLS 1.3 CCM_8: padding up to the 16-byte sample */
    out->tailroom = (uint16_t)tail;
    return 0;
}

enum zrec_proto zrec_session_proto(const struct zrec_session *s)
{
    return s->proto;
}

enum zrec_aead_id zrec_session_aead(const struct zrec_session *s)
{
    return s->aead;
}

uint64_t zrec_session_seq(const struct zrec_session *s, enum zrec_dir dir)
{
    return dir == ZREC_DIR_WRITE ? s->tx.seq : s->rx.seq;
}

uint16_t zrec_session_epoch(const struct zrec_session *s, enum zrec_dir dir)
{
    return dir == ZREC_DIR_WRITE ? s->tx.epoch : s->rx.epoch;
}

unsigned zrec_session_events(const struct zrec_session *s)
{
    return s->events & ~ZREC__EV_ASYNC_BUSY;
}

int zrec_session_peer_alert(const struct zrec_session *s)
{
    return s->peer_alert;
}

int zrec_session_set_write_limit(struct zrec_session *s, uint64_t records)
{
    if (s == NULL || records == 0 || s->tx.key_id == 0)
        return -EINVAL;
    uint64_t max = zrec__aead_alg(s->aead)->confidentiality_limit;
    if (records > max - s->tx.used)
        records = max - s->tx.used;
    s->tx.limit = s->tx.used + records;
    s->tx.warn_at = s->tx.used + records - records / 4;
    if (s->tx.used >= s->tx.warn_at)
        s->events |= ZREC_EV_REKEY_DUE;
    return 0;
}

size_t zrec_session_footprint(const struct zrec_session *s)
{
    if (s == NULL)
        return 0;
    return sizeof *s + s->tx_cid_len + s->rx_cid_len + (s->d13 ? sizeof *s->d13 : 0) +
           zrec__aead_footprint(s->tx.aead) +
           zrec__aead_footprint(s->rx.aead) + zrec__sn_footprint(s->tx.sn) +
           zrec__sn_footprint(s->rx.sn);
}

/* RFC 8446 §7.2 KeyUpdate of one direction: the next traffic secret, its
 * key and IV (keys.c), installed in place of the old ones. */
int zrec__key_update(struct zrec_session *s, struct zrec_dir_state *d)
{
    uint8_t next[ZREC_MAX_SECRET], key[ZREC_MAX_KEY_LEN], iv[ZREC_NONCE_LEN];
    uint8_t sn_key[ZREC_MAX_KEY_LEN];
    size_t len = d->secret_len;
    if (len == 0)
        return -ENOKEY;
    int rc = zrec__next_secret(s, d->secret, len, next);
    if (rc == 0)
        rc = zrec__derive_traffic(s, next, len, key, iv, s->proto == ZREC_DTLS13 ? sn_key : NULL);
    if (rc == 0) {
        uint16_t epoch = d->epoch;
        rc = zrec__install(s, d, key, iv, s->proto == ZREC_DTLS13 ? sn_key : NULL);
        if (rc == 0) {
            memcpy(d->secret, next, len);
            d->secret_len = (uint8_t)len;
            /* RFC 9147 §8: each KeyUpdate moves DTLS 1.3 to the next epoch;
             * TLS 1.3 restarts the sequence number at 0 (RFC 8446 §5.3). */
            d->epoch = s->proto == ZREC_DTLS13 ? (uint16_t)(epoch + 1) : epoch;
            d->seq = 0;
            d->window = 0;
        }
    }
    zrec__wipe(next, sizeof next);
    zrec__wipe(key, sizeof key);
    zrec__wipe(iv, sizeof iv);
    zrec__wipe(sn_key, sizeof sn_key);
    return rc;
}
