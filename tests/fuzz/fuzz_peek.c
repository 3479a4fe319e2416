/*
 * fuzz_peek: the session-less header reader zrec_record_peek() and the
 * session's zrec_record_length(), over any bytes, TLS and DTLS, any CID
 * length.  Input: flags, CID length, the bytes.
 *
 * Contracts (zrec.h): a positive return is the record length, equal to
 * info->length, never shorter than its header nor longer than the limit;
 * the CID lies inside the bytes given; zrec_record_length() agrees with
 * zrec_record_peek() on where a record ends whenever it accepts one.
 */
#include <errno.h>

#include "../common.h"
#include "fuzz.h"

static struct zrec_session *sess[ZREC_PROTO_COUNT][5];

static struct zrec_session *session(enum zrec_proto p, uint8_t cid)
{
    if (sess[p][cid] == NULL) {
        uint8_t id[4] = {1, 2, 3, 4};
        bool dtls = p == ZREC_DTLS12 || p == ZREC_DTLS13;
        sess[p][cid] = test_session(p, ZREC_AES_128_GCM, NULL, id, dtls ? cid : 0, id,
                                    dtls ? cid : 0);
    }
    return sess[p][cid];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_in in = {data, size};
    unsigned flags = fuzz_u8(&in) & ZREC_PEEK_DTLS;
    uint8_t cid = fuzz_u8(&in) % 5;
    /* An exact-size copy: ASan sees any read past the bytes given. */
    uint8_t *b = malloc(in.n ? in.n : 1);
    if (in.n)
        memcpy(b, in.p, in.n);
    struct zrec_record_info info;
    long rc = zrec_record_peek(b, in.n, flags, cid, &info);
    FUZZ_ASSERT(rc >= 0 || rc == -EPROTO || rc == -EMSGSIZE, "peek: %ld", rc);
    if (rc > 0) {
        FUZZ_ASSERT((long)info.length == rc, "length %u, returned %ld", info.length, rc);
        FUZZ_ASSERT(info.header_len <= info.length, "header %u of %u", info.header_len,
                    info.length);
        FUZZ_ASSERT(info.length <= 5 + 16384 + 2048 + 64, "length %u over the limit",
                    info.length);
        if (info.cid)
            FUZZ_ASSERT(info.cid >= b && info.cid + info.cid_len <= b + in.n,
                        "CID outside the bytes");
    }
    for (int p = 0; p < ZREC_PROTO_COUNT; p++) {
        bool dtls = p == ZREC_DTLS12 || p == ZREC_DTLS13;
        if (dtls != (flags == ZREC_PEEK_DTLS))
            continue;
        long len = zrec_record_length(session((enum zrec_proto)p, cid), b, in.n);
        FUZZ_ASSERT(len >= 0 || len == -EPROTO || len == -EMSGSIZE, "%s length: %ld",
                    zrec_proto_name((enum zrec_proto)p), len);
        if (len > 0)
            FUZZ_ASSERT(len == rc, "%s: record length %ld, peek %ld",
                        zrec_proto_name((enum zrec_proto)p), len, rc);
    }
    free(b);
    return 0;
}

void fuzz_seeds(const char *dir)
{
    static const uint8_t tls[] = {0, 0, 23, 3, 3, 0, 20, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
                                  11, 12, 13, 14, 15, 16, 17, 18, 19, 20};
    static const uint8_t dtls12[] = {1, 0, 23, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 9, 0, 4,
                                     1, 2, 3, 4};
    static const uint8_t dtls13_cid[] = {1, 2, 0x3f, 0xaa, 0xbb, 0, 7, 0, 3, 1, 2, 3};
    static const uint8_t dtls13_nolen[] = {1, 0, 0x23, 9, 1, 2, 3, 4, 5};
    fuzz_seed_write(dir, "tls", tls, sizeof tls);
    fuzz_seed_write(dir, "dtls12", dtls12, sizeof dtls12);
    fuzz_seed_write(dir, "dtls13-cid", dtls13_cid, sizeof dtls13_cid);
    fuzz_seed_write(dir, "dtls13-nolen", dtls13_nolen, sizeof dtls13_nolen);
}
