/*
 * RIOT's credman on Linux (docs/COMPAT.md): the pool of (D)TLS credentials
 * a sock_dtls finds by tag.  As RIOT's own (sys/net/credman), it keeps a
 * copy of the credential's fields and the caller's buffers by reference
 * (the key material is not copied); a tag holds one credential per type.
 * The pool's size is the application's CONFIG_CREDMAN_MAX_CREDENTIALS
 * (net/credman.h passes it), so a build configured as on RIOT behaves as
 * RIOT does when the pool is full.
 */
#include <pthread.h>
#include <string.h>

#include "net/credman.h"

#undef credman_add /* the function of that name, below */

#define POOL_CAP 256 /* the most any application may configure */

static credman_credential_t pool[POOL_CAP];
static int used;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

/* The slot of (tag, type), or -1; *free_slot: the first empty one, or -1. */
static int find(credman_tag_t tag, credman_type_t type, int *free_slot)
{
    if (free_slot)
        *free_slot = -1;
    for (int i = 0; i < POOL_CAP; i++) {
        if (pool[i].type == CREDMAN_TYPE_EMPTY) {
            if (free_slot && *free_slot < 0)
                *free_slot = i;
            continue;
        }
        if (pool[i].tag == tag && pool[i].type == type)
            return i;
    }
    return -1;
}

static int check(const credman_credential_t *c)
{
    if (c == NULL || c->tag == CREDMAN_TAG_EMPTY || c->type == CREDMAN_TYPE_EMPTY)
        return CREDMAN_INVALID;
    switch (c->type) {
    case CREDMAN_TYPE_PSK:
        /* The identity and hint may be empty; the key may not. */
        return c->params.psk.key.s && c->params.psk.key.len ? CREDMAN_OK : CREDMAN_INVALID;
    case CREDMAN_TYPE_ECDSA:
        return c->params.ecdsa.private_key && c->params.ecdsa.public_key.x &&
                       c->params.ecdsa.public_key.y &&
                       (c->params.ecdsa.client_keys || !c->params.ecdsa.client_keys_size)
                   ? CREDMAN_OK
                   : CREDMAN_INVALID;
    default:
        return CREDMAN_TYPE_UNKNOWN;
    }
}

int zrec_credman_add(const credman_credential_t *credential, unsigned max_credentials)
{
    int rc = check(credential);
    if (rc != CREDMAN_OK)
        return rc;
    if (max_credentials > POOL_CAP)
        max_credentials = POOL_CAP;
    pthread_mutex_lock(&lock);
    int slot;
    if (find(credential->tag, credential->type, &slot) >= 0)
        rc = CREDMAN_EXIST;
    else if (used >= (int)max_credentials || slot < 0)
        rc = CREDMAN_NO_SPACE;
    else {
        pool[slot] = *credential;
        used++;
    }
    pthread_mutex_unlock(&lock);
    return rc;
}

int credman_add(const credman_credential_t *credential)
{
    return zrec_credman_add(credential, 2); /* RIOT's default pool */
}

int credman_get(credman_credential_t *credential, credman_tag_t tag, credman_type_t type)
{
    if (credential == NULL)
        return CREDMAN_ERROR;
    pthread_mutex_lock(&lock);
    int i = tag == CREDMAN_TAG_EMPTY || type == CREDMAN_TYPE_EMPTY ? -1 : find(tag, type, NULL);
    if (i >= 0)
        *credential = pool[i];
    pthread_mutex_unlock(&lock);
    return i >= 0 ? CREDMAN_OK : CREDMAN_NOT_FOUND;
}

void credman_delete(credman_tag_t tag, credman_type_t type)
{
    pthread_mutex_lock(&lock);
    int i = tag == CREDMAN_TAG_EMPTY || type == CREDMAN_TYPE_EMPTY ? -1 : find(tag, type, NULL);
    if (i >= 0) {
        /* Wiped: the pointers lead to key material. */
        memset(&pool[i], 0, sizeof pool[i]);
        used--;
    }
    pthread_mutex_unlock(&lock);
}

int credman_get_used_count(void)
{
    pthread_mutex_lock(&lock);
    int n = used;
    pthread_mutex_unlock(&lock);
    return n;
}

void credman_reset(void)
{
    pthread_mutex_lock(&lock);
    memset(pool, 0, sizeof pool);
    used = 0;
    pthread_mutex_unlock(&lock);
}
