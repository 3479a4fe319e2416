/* tls_credential_add/get/delete: Zephyr's TLS credential registry
 * (include/zephyr/net/tls_credentials.h; behaviour after Zephyr's
 * subsys/net/lib/tls_credentials/tls_credentials.c).
 *
 * As in Zephyr, the registry stores the caller's pointer and length, not a
 * copy: credentials are normally static const arrays, and mbedTLS/Zephyr
 * parse them when a handshake starts.  One process-wide mutex guards the
 * table; the table is a fixed array (ZREC_TLS_CREDENTIALS_MAX entries), so
 * adding never allocates and -ENOMEM means "full", as with Zephyr's
 * CONFIG_TLS_MAX_CREDENTIALS_NUMBER. */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "zs_creds.h"

struct zs_cred {
    const void *buf; /* NULL: free slot */
    size_t len;
    sec_tag_t tag;
    enum tls_credential_type type;
};

static struct zs_cred creds[ZREC_TLS_CREDENTIALS_MAX];
static size_t creds_used; /* slots [0, creds_used) may be in use */
static pthread_mutex_t creds_lock = PTHREAD_MUTEX_INITIALIZER;

static bool type_valid(enum tls_credential_type type)
{
    return type >= TLS_CREDENTIAL_CA_CERTIFICATE && type <= TLS_CREDENTIAL_PSK_ID;
}

/* Caller holds creds_lock. */
static struct zs_cred *lookup(sec_tag_t tag, enum tls_credential_type type)
{
    for (size_t i = 0; i < creds_used; i++)
        if (creds[i].buf != NULL && creds[i].tag == tag && creds[i].type == type)
            return &creds[i];
    return NULL;
}

int tls_credential_add(sec_tag_t tag, enum tls_credential_type type, const void *cred,
                       size_t credlen)
{
    /* Zephyr does not check its arguments; a NULL or empty credential, a
     * reserved (negative) tag or TLS_CREDENTIAL_NONE can only be mistakes,
     * and TLS_CREDENTIAL_NONE marks a free slot in Zephyr's table. */
    if (cred == NULL || credlen == 0 || tag < 0 || !type_valid(type))
        return -EINVAL;

    int ret = 0;
    pthread_mutex_lock(&creds_lock);
    if (lookup(tag, type) != NULL) {
        ret = -EEXIST;
        goto out;
    }
    struct zs_cred *slot = NULL;
    for (size_t i = 0; i < creds_used && slot == NULL; i++)
        if (creds[i].buf == NULL)
            slot = &creds[i];
    if (slot == NULL) {
        if (creds_used == ZREC_TLS_CREDENTIALS_MAX) {
            ret = -ENOMEM;
            goto out;
        }
        slot = &creds[creds_used++];
    }
    *slot = (struct zs_cred){.buf = cred, .len = credlen, .tag = tag, .type = type};
out:
    pthread_mutex_unlock(&creds_lock);
    return ret;
}

int tls_credential_get(sec_tag_t tag, enum tls_credential_type type, void *cred,
                       size_t *credlen)
{
    if (credlen == NULL || (cred == NULL && *credlen > 0))
        return -EINVAL;

    int ret = 0;
    pthread_mutex_lock(&creds_lock);
    const struct zs_cred *c = lookup(tag, type);
    if (c == NULL) {
        *credlen = 0; /* as Zephyr */
        ret = -ENOENT;
    } else if (c->len > *credlen) {
        *credlen = c->len; /* the size needed; nothing copied */
        ret = -EFBIG;
    } else {
        /* Copied under the lock so that the length and bytes are of one
         * registered credential even if another thread deletes it. */
        memcpy(cred, c->buf, c->len);
        *credlen = c->len;
    }
    pthread_mutex_unlock(&creds_lock);
    return ret;
}

int tls_credential_delete(sec_tag_t tag, enum tls_credential_type type)
{
    if (!type_valid(type))
        return -EINVAL;

    int ret = 0;
    pthread_mutex_lock(&creds_lock);
    struct zs_cred *c = lookup(tag, type);
    if (c == NULL) {
        ret = -ENOENT;
    } else {
        *c = (struct zs_cred){0};
        /* Keep the scanned range tight when the last entries go. */
        while (creds_used > 0 && creds[creds_used - 1].buf == NULL)
            creds_used--;
    }
    pthread_mutex_unlock(&creds_lock);
    return ret;
}

int zs_cred_find(sec_tag_t tag, enum tls_credential_type type, const void **cred,
                 size_t *len)
{
    if (cred == NULL || len == NULL)
        return -EINVAL;

    int ret = 0;
    pthread_mutex_lock(&creds_lock);
    const struct zs_cred *c = lookup(tag, type);
    if (c == NULL) {
        *cred = NULL;
        *len = 0;
        ret = -ENOENT;
    } else {
        *cred = c->buf;
        *len = c->len;
    }
    pthread_mutex_unlock(&creds_lock);
    return ret;
}

bool zs_cred_tag_known(sec_tag_t tag)
{
    bool known = false;
    pthread_mutex_lock(&creds_lock);
    for (size_t i = 0; i < creds_used && !known; i++)
        known = creds[i].buf != NULL && creds[i].tag == tag;
    pthread_mutex_unlock(&creds_lock);
    return known;
}

bool zs_cred_is_pem(const void *cred, size_t len)
{
    static const char begin[] = "-----BEGIN";
    return cred != NULL && len >= sizeof(begin) - 1 &&
           memcmp(cred, begin, sizeof(begin) - 1) == 0;
}
