/*
 * DTLS records of one session in one open burst share its AEAD pass
 * (record.c, may_join): every record is prepared before any is finished, so
 * what an earlier record turns out to be is applied when a later one
 * finishes.  Each case opens one burst of a session's records and checks
 * every status and every plaintext against opening the same records one by
 * one, as the engine did before they were joined:
 *
 *   dup        the same record two and three times in one burst (RFC 6347
 *              §4.1.2.6, RFC 9147 §4.5.1): delivered once, the copies
 *              refused with -EALREADY and their decrypted bytes wiped.
 *   keyupdate  DTLS 1.3: a KeyUpdate followed, in the same burst, by records
 *              of the same (old) epoch and a duplicate of one of them
 *              (RFC 9147 §8): the followers open with the old key, now the
 *              previous epoch's, the duplicate is refused, and afterwards
 *              old-epoch stragglers still open and the new epoch works.
 *   limit      DTLS 1.3, AES-128-CCM-8: the forgery that reaches the
 *              integrity limit (RFC 9147 §4.5.3: 2^7) followed, in the same
 *              burst, by genuine records: they are refused with -EPIPE as
 *              they would be after it, and what they decrypted is wiped.
 *
 *   burst_join PROTO AEAD dup|keyupdate|limit    (PROTO: dtls12 | dtls13)
 */
#include "engine_util.h"

static enum zrec_proto proto;
static enum zrec_aead_id aead;
static uint64_t seed = 0xb0857c0de;

#define PAYLOAD 48

struct rec {
    uint8_t *bytes; /* the sealed record (heap) */
    int len;
    uint8_t type;
    uint8_t pt[PAYLOAD];
};

static void seal_one(struct zrec_session *s, uint8_t type, struct rec *r)
{
    r->type = type;
    test_fill(r->pt, sizeof r->pt, &seed);
    r->len = seal_contig(s, type, r->pt, sizeof r->pt, &r->bytes, NULL);
    CHECK(r->len > 0, "seal: %s", err_name(r->len));
}

/* Open copies of recs[idx[0..n)] in one burst; check each status against
 * want[], each delivered plaintext against its record's, and that refused
 * records show none of their plaintext. */
static void open_burst_check(struct zrec_session *b, const struct rec *recs, const int *idx,
                             const int *want, unsigned n, const char *what)
{
    struct zrec_op ops[40];
    uint8_t *copy[40];
    CHECK(n <= 40, "burst too long");
    for (unsigned i = 0; i < n; i++) {
        const struct rec *r = &recs[idx[i]];
        copy[i] = xdup(r->bytes, (size_t)r->len);
        ops[i] = (struct zrec_op){.sess = b, .data = copy[i], .len = (uint32_t)r->len};
    }
    zrec_open_burst(ops, n);
    for (unsigned i = 0; i < n; i++) {
        const struct rec *r = &recs[idx[i]];
        EXPECT(ops[i].status == want[i], "%s: op %u (record %d) gave %s, want %s", what, i,
               idx[i], err_name(ops[i].status), err_name(want[i]));
        if (ops[i].status == 0 && want[i] == 0) {
            if (r->type == ZREC_CT_APPLICATION_DATA)
                EXPECT(ops[i].content_type == r->type && ops[i].rec_len == PAYLOAD &&
                           memcmp(ops[i].rec, r->pt, PAYLOAD) == 0,
                       "%s: op %u (record %d) plaintext wrong", what, i, idx[i]);
        } else if (r->type == ZREC_CT_APPLICATION_DATA) {
            struct pt_index ix;
            pt_index_build(&ix, r->pt, PAYLOAD);
            long at = pt_exposed(&ix, copy[i], (size_t)r->len);
            EXPECT(at < 0, "%s: refused op %u (record %d, %s) shows its plaintext at %ld", what, i,
                   idx[i], err_name(ops[i].status), at);
            pt_index_free(&ix);
        }
        free(copy[i]);
    }
}

static void free_recs(struct rec *recs, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        free(recs[i].bytes);
}

static void case_dup(void)
{
    struct test_pair t = test_pair_new(proto, aead, NULL, NULL, &seed, 0);
    struct rec r[12];
    for (int i = 0; i < 12; i++)
        seal_one(t.a, ZREC_CT_APPLICATION_DATA, &r[i]);
    /* Reordered, with record 3 three times and record 7 twice. */
    const int idx[] = {0, 1, 2, 3, 3, 4, 5, 3, 8, 6, 7, 9, 7, 10, 11};
    const int want[] = {0, 0, 0, 0, -EALREADY, 0, 0, -EALREADY, 0, 0, 0, 0, -EALREADY, 0, 0};
    open_burst_check(t.b, r, idx, want, sizeof idx / sizeof idx[0], "dup");
    /* The window holds: every record again, one by one, is a replay. */
    int again[12], all[12];
    for (int i = 0; i < 12; i++) {
        again[i] = i;
        all[i] = -EALREADY;
    }
    open_burst_check(t.b, r, again, all, 12, "dup, replayed");
    /* And the session goes on. */
    struct rec next;
    seal_one(t.a, ZREC_CT_APPLICATION_DATA, &next);
    const int one[] = {0}, ok[] = {0};
    open_burst_check(t.b, &next, one, ok, 1, "dup, next record");
    free_recs(r, 12);
    free_recs(&next, 1);
    test_pair_free(&t);
    printf("dup: one burst with duplicates delivers each record once\n");
}

static void case_keyupdate(void)
{
    CHECK(proto == ZREC_DTLS13, "keyupdate is a DTLS 1.3 case");
    struct test_pair t = test_pair_new(proto, aead, NULL, NULL, &seed, 0);
    const uint16_t e0 = zrec_session_epoch(t.a, ZREC_DIR_WRITE);
    struct rec r[8];
    /* r[0]: the KeyUpdate; r[1..7]: data the sender goes on sealing in the
     * old epoch until the ACK arrives (RFC 9147 §8). */
    uint8_t ku[128];
    int kl = zrec_seal_key_update(t.a, false, ku, sizeof ku);
    CHECK(kl > 0, "seal KeyUpdate: %s", err_name(kl));
    r[0].bytes = xdup(ku, (size_t)kl);
    r[0].len = kl;
    r[0].type = ZREC_CT_HANDSHAKE;
    for (int i = 1; i < 8; i++)
        seal_one(t.a, ZREC_CT_APPLICATION_DATA, &r[i]);
    CHECK(zrec_session_epoch(t.a, ZREC_DIR_WRITE) == e0, "write epoch moved before the ACK");
    /* One burst: data, the KeyUpdate, old-epoch data after it, a duplicate;
     * records 6 and 7 are held back (reordered after the burst). */
    const int idx[] = {1, 2, 0, 3, 4, 2, 5};
    const int want[] = {0, 0, 0, 0, 0, -EALREADY, 0};
    open_burst_check(t.b, r, idx, want, sizeof idx / sizeof idx[0], "keyupdate");
    CHECK(zrec_session_epoch(t.b, ZREC_DIR_READ) == e0 + 1,
          "the KeyUpdate did not move the read epoch (%u)", zrec_session_epoch(t.b, ZREC_DIR_READ));
    /* Old-epoch stragglers still open with the previous key, once. */
    const int late[] = {7, 6, 4};
    const int late_want[] = {0, 0, -EALREADY};
    open_burst_check(t.b, r, late, late_want, 3, "keyupdate, stragglers");
    /* The ACK moves the sender; new-epoch records open, several in one
     * burst. */
    CHECK(zrec_session_events(t.b) & ZREC_EV_ACK_OWED, "peer owes an ACK");
    uint8_t ack[128], *pt, ct;
    int al = zrec_seal_ack(t.b, ack, sizeof ack);
    CHECK(al > 0, "seal ACK: %s", err_name(al));
    int rc = zrec_open_record(t.a, ack, (size_t)al, &pt, &ct);
    CHECK(rc >= 0 && ct == ZREC_CT_ACK, "ACK opens: %s", err_name(rc));
    CHECK(zrec_session_epoch(t.a, ZREC_DIR_WRITE) == e0 + 1, "ACK did not move the write epoch");
    struct rec n[4];
    for (int i = 0; i < 4; i++)
        seal_one(t.a, ZREC_CT_APPLICATION_DATA, &n[i]);
    const int nidx[] = {0, 1, 2, 1, 3};
    const int nwant[] = {0, 0, 0, -EALREADY, 0};
    open_burst_check(t.b, n, nidx, nwant, 5, "keyupdate, new epoch");
    /* The old epoch's key is gone once the new epoch is in use. */
    const int gone[] = {5};
    const int gone_want[] = {-ESTALE};
    open_burst_check(t.b, r, gone, gone_want, 1, "keyupdate, old epoch after the new one");
    free_recs(r, 8);
    free_recs(n, 4);
    test_pair_free(&t);
    printf("keyupdate: records after a KeyUpdate in the same burst open with the old key\n");
}

static void case_limit(void)
{
    CHECK(proto == ZREC_DTLS13 && aead == ZREC_AES_128_CCM_8,
          "limit needs DTLS 1.3 with AES-128-CCM-8 (integrity limit 2^7)");
    struct test_pair t = test_pair_new(proto, aead, NULL, NULL, &seed, 0);
    /* 127 forgeries, one by one: the session still works. */
    for (int i = 0; i < 127; i++) {
        struct rec f;
        seal_one(t.a, ZREC_CT_APPLICATION_DATA, &f);
        f.bytes[f.len - 1] ^= 0x01; /* the tag's last byte: the number stays readable */
        const int one[] = {0}, bad[] = {-EBADMSG};
        open_burst_check(t.b, &f, one, bad, 1, "limit, forgery");
        free_recs(&f, 1);
    }
    /* One burst: a genuine record, the 128th forgery, then genuine records
     * of the same session.  The forgery ends the session (RFC 9147 §4.5.3);
     * the records after it in the burst are refused as they would be after
     * it, and what they decrypted is wiped. */
    struct rec r[5];
    for (int i = 0; i < 5; i++)
        seal_one(t.a, ZREC_CT_APPLICATION_DATA, &r[i]);
    r[1].bytes[r[1].len - 1] ^= 0x01;
    const int idx[] = {0, 1, 2, 3, 4};
    const int want[] = {0, -EBADMSG, -EPIPE, -EPIPE, -EPIPE};
    open_burst_check(t.b, r, idx, want, 5, "limit");
    CHECK(zrec_session_events(t.b) & ZREC_EV_FATAL, "the 128th forgery did not end the session");
    free_recs(r, 5);
    test_pair_free(&t);
    printf("limit: records after the forgery that ends the session are refused and wiped\n");
}

int main(int argc, char **argv)
{
    CHECK(argc == 4, "usage: burst_join PROTO AEAD dup|keyupdate|limit");
    parse_args(argc - 1, argv, &proto, &aead);
    CHECK(proto == ZREC_DTLS12 || proto == ZREC_DTLS13, "DTLS only");
    if (strcmp(argv[3], "dup") == 0)
        case_dup();
    else if (strcmp(argv[3], "keyupdate") == 0)
        case_keyupdate();
    else if (strcmp(argv[3], "limit") == 0)
        case_limit();
    else
        CHECK(0, "unknown case %s", argv[3]);
    return eu_finish("burst-join", argv[1], argv[2]);
}
