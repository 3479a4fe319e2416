/* The DTLS 1.3 integrity limit (RFC 9147 §4.5.3): endpoints count the
 * records that fail authentication under a key and end the connection at
 * the AEAD's integrity limit — 2^7 for AEAD_AES_128_CCM_8, 2^23.5 for
 * AES-CCM, 2^36 for AES-GCM and ChaCha20-Poly1305.
 *
 * CCM_8: 127 forged records (fresh sequence numbers, bad tags) leave the
 * session working; the 128th makes it fatal (ZREC_EV_FATAL), after which even
 * genuine records are refused with -EPIPE and only alerts may be sealed
 * (zrec.h).  Records refused for other reasons — duplicates (-EALREADY),
 * another epoch (-ESTALE), malformed (-EPROTO) — never reach the AEAD, did not
 * fail authentication, and must not count.  Other AEADs: 1000 forgeries, far
 * below their limits, must not end the session.
 *
 * Usage: integrity dtls13 AEAD */
#include "engine_util.h"

static enum zrec_proto proto;
static enum zrec_aead_id aead;
static uint64_t seed;
static struct keymat km;
static struct zrec_session *a, *b, *other_epoch;
static uint8_t payload[100];

static uint8_t *seal_rec(struct zrec_session *s, int *len, uint64_t *seq)
{
    uint8_t *rec;
    struct zrec_op op;
    *len = seal_contig(s, ZREC_CT_APPLICATION_DATA, payload, sizeof payload, &rec, &op);
    CHECK(*len > 0, "seal: %s", err_name(*len));
    if (seq)
        *seq = op.seq;
    return rec;
}

/* A forged record: a genuine one with the last tag byte flipped (outside the
 * 16-byte record number sample, so the sequence number stays fresh). */
static int forgery(unsigned i)
{
    int len;
    uint8_t *rec = seal_rec(a, &len, NULL);
    rec[len - 1] ^= 0x01;
    int st;
    if (i % 2) {
        struct sg g;
        struct zrec_op op = open_scattered(b, rec, (size_t)len, hdr_len_of(proto, aead, 0),
                                           tag_len_of(aead), &g, &seed);
        st = op.status;
        sg_free(&g);
    } else {
        st = open_copy(b, rec, (size_t)len, NULL).status;
    }
    free(rec);
    return st;
}

static int genuine(uint8_t **keep, int *keep_len)
{
    int len;
    uint8_t *rec = seal_rec(a, &len, NULL);
    struct zrec_op op = open_copy(b, rec, (size_t)len, NULL);
    if (op.status == 0)
        EXPECT(op.rec_len == sizeof payload, "genuine record length");
    if (keep) {
        *keep = rec;
        *keep_len = len;
    } else {
        free(rec);
    }
    return op.status;
}

/* Failures that are not authentication failures. */
static void noise(const uint8_t *old, int old_len)
{
    int st = open_copy(b, old, (size_t)old_len, NULL).status;
    EXPECT(st == -EALREADY, "replayed genuine record: %s", err_name(st));
    int len;
    uint8_t *rec = seal_rec(other_epoch, &len, NULL);
    st = open_copy(b, rec, (size_t)len, NULL).status;
    EXPECT(st == -ESTALE, "record of another epoch: %s", err_name(st));
    free(rec);
    rec = seal_rec(a, &len, NULL);
    st = open_copy(b, rec, (size_t)len - 1, NULL).status; /* truncated: length mismatch */
    EXPECT(st == -EPROTO, "truncated record: %s", err_name(st));
    /* The genuine record of that truncated copy: its sequence number was not
     * consumed (it is delivered below, out of order, within the window). */
    st = open_copy(b, rec, (size_t)len, NULL).status;
    EXPECT(st == 0, "genuine record after its truncated copy: %s", err_name(st));
    free(rec);
}

int main(int argc, char **argv)
{
    parse_args(argc, argv, &proto, &aead);
    if (proto != ZREC_DTLS13) {
        printf("SKIP: the integrity limit is a DTLS 1.3 rule (RFC 9147 §4.5.3)\n");
        return 77;
    }
    seed = 0x1e670000u + aead;
    printf("seed %llu\n", (unsigned long long)seed);
    test_fill(payload, sizeof payload, &seed);
    keymat_new(&km, &seed);
    uint16_t e = default_epoch(proto);
    a = mk_session(proto, aead, zrec_provider_default(), &km, 0, SIDE_A, 0);
    b = mk_session(proto, aead, zrec_provider_default(), &km, 0, SIDE_B, 0);
    other_epoch = mk_session_at(proto, aead, zrec_provider_default(), &km, 0, SIDE_A, 1000,
                                (uint16_t)(e + 1), 0, e);
    uint8_t *old;
    int old_len;
    CHECK(genuine(&old, &old_len) == 0, "first genuine record");

    unsigned limit = aead == ZREC_AES_128_CCM_8 ? 128 : 0;
    unsigned rounds = limit ? limit - 1 : 1000;
    for (unsigned i = 1; i <= rounds; i++) {
        int st = forgery(i);
        EXPECT(st == -EBADMSG, "forgery %u: %s", i, err_name(st));
        EXPECT(!(zrec_session_events(b) & ZREC_EV_FATAL),
               "fatal after %u failed opens (limit %u)", i, limit);
        if (i % 8 == 0)
            noise(old, old_len);
        if (i % 16 == 0) {
            st = genuine(NULL, NULL);
            EXPECT(st == 0, "genuine record after %u forgeries: %s", i, err_name(st));
        }
    }
    int st = genuine(NULL, NULL);
    EXPECT(st == 0, "genuine record after %u forgeries: %s", rounds, err_name(st));
    EXPECT(!(zrec_session_events(b) & ZREC_EV_FATAL), "fatal after %u forgeries", rounds);
    if (limit) {
        /* The 2^7-th failure: the limit is reached, the connection ends. */
        st = forgery(limit);
        EXPECT(st == -EBADMSG, "forgery %u: %s", limit, err_name(st));
        EXPECT(zrec_session_events(b) & ZREC_EV_FATAL,
               "not fatal after %u failed opens (CCM_8 integrity limit 2^7)", limit);
        st = genuine(NULL, NULL);
        EXPECT(st == -EPIPE, "genuine record after the integrity limit: %s, want -EPIPE",
               err_name(st));
        /* zrec.h ZREC_EV_FATAL: "only alerts may still be sealed". */
        uint8_t buf[256];
        struct zrec_overhead o;
        zrec_session_overhead(b, &o);
        memcpy(buf + o.headroom, payload, 10);
        st = zrec_seal_record(b, ZREC_CT_APPLICATION_DATA, buf + o.headroom, 10, o.headroom,
                              o.tailroom, NULL);
        EXPECT(st == -EPIPE, "sealing data on the failed session: %s, want -EPIPE",
               err_name(st));
        st = zrec_seal_alert(b, ZREC_ALERT_FATAL, ZREC_ALERT_BAD_RECORD_MAC, buf, sizeof buf);
        EXPECT(st > 0, "sealing an alert on the failed session: %s", err_name(st));
    }
    free(old);
    zrec_session_free(a);
    zrec_session_free(b);
    zrec_session_free(other_epoch);
    return eu_finish("integrity", argv[1], argv[2]);
}
