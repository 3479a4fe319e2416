/* The key cache (zrec.h, internal.h): expanded AEAD contexts for many
 * sessions, made on demand from the key bytes an idle session keeps.
 *
 * Replacement is CLOCK (second chance): near LRU for skewed (Zipf) use at
 * one byte of state per entry.  A victim's context is disposed and wiped
 * before the new key is expanded into the same memory (same provider and
 * AEAD: no allocation on a miss in the common case).  It depends on aead.c
 * only; session.c and record.c call it. */
#include <errno.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

__thread uint64_t zrec__pass __attribute__((tls_model("initial-exec")));

/* Key ids are unique in the process (never reused), so an entry can never
 * be mistaken for a later key that happens to live at the same address. */
static atomic_uint_fast64_t key_ids;

uint64_t zrec__next_key_id(void)
{
    return atomic_fetch_add_explicit(&key_ids, 1, memory_order_relaxed) + 1;
}

#define KC_MIN 64 /* 2 x ZREC_AEAD_BURST_MAX: a victim outside the pass always exists */

struct zrec_key_cache *zrec_key_cache_new(unsigned entries)
{
    if (entries == 0 || entries > (1u << 30)) {
        errno = EINVAL;
        return NULL;
    }
    unsigned n = KC_MIN;
    while (n < entries)
        n <<= 1;
    struct zrec_key_cache *c = calloc(1, sizeof *c);
    if (c == NULL)
        return NULL;
    c->e = calloc(n, sizeof *c->e);
    if (c->e == NULL) {
        free(c);
        return NULL;
    }
    c->mask = n - 1;
    c->st.entries = n;
    c->st.bytes = sizeof *c + n * sizeof *c->e;
    return c;
}

/* Dispose (if keyed) and wipe an entry's context; keep its memory for the
 * next key of the same kind, or release it. */
static void entry_wipe(struct zrec_key_cache *c, struct zrec_kc_entry *e, bool release)
{
    struct zrec_aead_ctx *ctx = e->ctx;
    if (ctx != NULL) {
        const struct zrec_aead_alg *alg = ctx->alg;
        const struct zrec_aead_provider *p = ctx->provider;
        size_t size = zrec__aead_footprint(ctx);
        if (e->key_id != 0)
            p->dispose(ctx);
        zrec__wipe(ctx, size);
        if (release) {
            free(ctx);
            e->ctx = NULL;
            c->st.bytes -= size;
        } else {
            ctx->alg = alg;
            ctx->provider = p;
        }
    }
    if (e->key_id != 0)
        c->st.used--;
    e->key_id = 0;
    e->ref = 0;
}

int zrec_key_cache_free(struct zrec_key_cache *c)
{
    if (c == NULL)
        return 0;
    if (c->sessions != 0)
        return -EBUSY;
    for (unsigned i = 0; i <= c->mask; i++)
        entry_wipe(c, &c->e[i], true);
    free(c->e);
    zrec__wipe(c, sizeof *c);
    free(c);
    return 0;
}

void zrec_key_cache_stats(const struct zrec_key_cache *c, struct zrec_key_cache_stats *out)
{
    if (c != NULL && out != NULL)
        *out = c->st;
}

void zrec__kc_drop(struct zrec_key_cache *c, const struct zrec_dir_state *d)
{
    if (c == NULL || d->key_id == 0)
        return;
    struct zrec_kc_entry *e = &c->e[d->slot & c->mask];
    if (e->key_id == d->key_id)
        entry_wipe(c, e, false);
}

/* The hand sweeps: an entry used since it last passed gets a second chance;
 * entries of the current burst pass are never taken. */
static struct zrec_kc_entry *victim(struct zrec_key_cache *c, unsigned *idx)
{
    for (;;) {
        unsigned i = c->hand;
        c->hand = (c->hand + 1) & c->mask;
        struct zrec_kc_entry *e = &c->e[i];
        if (e->key_id != 0 && e->pass == zrec__pass)
            continue;
        if (e->ref) {
            e->ref = 0;
            continue;
        }
        *idx = i;
        return e;
    }
}

struct zrec_aead_ctx *zrec__kc_miss(struct zrec_key_cache *c, const struct zrec_session *s,
                                    struct zrec_dir_state *d)
{
    if (d->key_id == 0) {
        errno = ENOKEY;
        return NULL;
    }
    unsigned idx;
    struct zrec_kc_entry *e = victim(c, &idx);
    if (e->key_id != 0)
        c->st.evictions++;
    bool reuse = e->ctx != NULL && e->ctx->provider == s->provider &&
                 e->ctx->alg->id == s->aead;
    entry_wipe(c, e, !reuse);
    if (!reuse) {
        e->ctx = zrec__aead_new(s->provider, s->aead, d->key);
        if (e->ctx == NULL)
            return NULL;
        c->st.bytes += zrec__aead_footprint(e->ctx);
    } else if (s->provider->init(e->ctx, d->key) < 0) {
        entry_wipe(c, e, true);
        errno = EIO;
        return NULL;
    }
    c->st.misses++;
    c->st.used++;
    e->key_id = d->key_id;
    e->ref = 1;
    e->pass = zrec__pass;
    d->slot = idx;
    return e->ctx;
}
