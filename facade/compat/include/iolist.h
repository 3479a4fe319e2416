/* RIOT's iolist.h on Linux (zrec-zsock): a list of buffers, the gather
 * input of sock_udp_sendv() and sock_dtls_sendv(). */
#ifndef ZREC_RIOT_IOLIST_H
#define ZREC_RIOT_IOLIST_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct iolist iolist_t;

/** One buffer of a list. */
struct iolist {
    iolist_t *iol_next; /**< the next buffer, or NULL */
    void *iol_base;     /**< this buffer's data */
    size_t iol_len;     /**< its length */
};

/** The number of buffers in the list. */
static inline unsigned iolist_count(const iolist_t *iolist)
{
    unsigned n = 0;
    for (; iolist; iolist = iolist->iol_next)
        n++;
    return n;
}

/** The sum of the buffers' lengths. */
static inline size_t iolist_size(const iolist_t *iolist)
{
    size_t n = 0;
    for (; iolist; iolist = iolist->iol_next)
        n += iolist->iol_len;
    return n;
}

#ifdef __cplusplus
}
#endif
#endif
