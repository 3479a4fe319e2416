/*
 * Provider capabilities decide, not provider identity.
 *
 *   caps AEAD
 *
 * DTLS 1.2 with a 32-byte connection ID needs a 55-byte AAD (RFC 9146 §5);
 * intel-ipsec-mb's CCM takes at most 46 (its max_aad capability), so such a
 * session on the default provider must still seal and open every record
 * (through the reference provider), byte for byte, with the CID in each
 * header.  The other AEADs have no such limit and run as they are.
 */
#include "../common.h"

int main(int argc, char **argv)
{
    enum zrec_aead_id aead;
    CHECK(argc == 2 && test_aead_from_name(argv[1], &aead) == 0, "usage: caps AEAD");
    uint64_t seed = 0xca95;
    const uint8_t cid_len = 32; /* test_pair_new() holds CIDs of up to 32 bytes */
    struct test_pair t = test_pair_new(ZREC_DTLS12, aead, NULL, NULL, &seed, cid_len);
    struct zrec_overhead o;
    CHECK(zrec_session_overhead(t.a, &o) == 0 && o.headroom >= 13 + cid_len, "overhead");
    static uint8_t buf[ZREC_MAX_PLAINTEXT + 512], plain[ZREC_MAX_PLAINTEXT];
    for (int i = 0; i < 200; i++) {
        size_t n = test_rand(&seed) % 2000;
        test_fill(plain, n, &seed);
        memcpy(buf + o.headroom, plain, n);
        uint8_t *rec;
        int rl = zrec_seal_record(t.a, ZREC_CT_APPLICATION_DATA, buf + o.headroom, n, o.headroom,
                                  64, &rec);
        CHECK(rl > 0, "seal record %d (%zu bytes): %d", i, n, rl);
        struct zrec_record_info in;
        CHECK(zrec_record_peek(rec, (size_t)rl, ZREC_PEEK_DTLS, cid_len, &in) == rl &&
                  in.content_type == ZREC_CT_TLS12_CID && in.cid_len == cid_len,
              "tls12_cid header with the CID");
        uint8_t *pt, ct;
        int pl = zrec_open_record(t.b, rec, (size_t)rl, &pt, &ct);
        CHECK(pl == (int)n && ct == ZREC_CT_APPLICATION_DATA && memcmp(pt, plain, n) == 0,
              "open record %d: %d", i, pl);
    }
    test_pair_free(&t);
    printf("caps %s: DTLS 1.2 with a %u-byte CID: 200 records sealed and opened\n", argv[1],
           cid_len);
    return 0;
}
