/*
 * Two DTLS 1.3 contract breaks a libFuzzer campaign found, each pinned by a
 * regression test:
 *
 *   short      a record whose ciphertext is shorter than the 16-byte
 *              record-number sample (RFC 9147 §4.2.3) fails with -EBADMSG,
 *              and -EBADMSG promises a wiped payload region (zrec.h): the
 *              bytes after the header must read as zeros, contiguous and
 *              scattered.
 *   ku-retx    a KeyUpdate sealed six times (retransmissions, RFC 9147 §8):
 *              whichever single transmission reaches the peer, the peer's
 *              ACK of it moves the sender to the next write epoch.
 *
 *   dtls13_contract AEAD short|ku-retx
 */
#include "../common.h"

static enum zrec_aead_id aead;
static uint64_t seed = 0xd713c0de;

static void case_short(void)
{
    struct test_pair t = test_pair_new(ZREC_DTLS13, aead, NULL, NULL, &seed, 0);
    /* Unified header 0x2f: fixed bits 001, no CID, 16-bit sequence number,
     * length present, epoch bits 3 (the pair's epoch is 3); sequence 0,
     * length 4: four bytes of "ciphertext". */
    const uint8_t rec[9] = {0x2f, 0x00, 0x00, 0x00, 0x04, 0xaa, 0xbb, 0xcc, 0xdd};
    uint8_t buf[9];
    memcpy(buf, rec, sizeof buf);
    struct zrec_op op = {.sess = t.b, .data = buf, .len = sizeof buf};
    zrec_open_burst(&op, 1);
    CHECK(op.status == -EBADMSG, "short record: status %d", op.status);
    for (int i = 5; i < 9; i++)
        CHECK(buf[i] == 0, "payload byte %d left as received (%02x) after -EBADMSG", i, buf[i]);

    /* The same record in two segments. */
    uint8_t s1[6], s2[3];
    memcpy(s1, rec, 6);
    memcpy(s2, rec + 6, 3);
    struct zrec_seg seg[2] = {{s1, 6}, {s2, 3}};
    struct zrec_op sop = {.sess = t.b, .seg = seg, .nseg = 2};
    zrec_open_burst(&sop, 1);
    CHECK(sop.status == -EBADMSG, "scattered short record: status %d", sop.status);
    CHECK(s1[5] == 0 && s2[0] == 0 && s2[1] == 0 && s2[2] == 0,
          "scattered payload left as received after -EBADMSG");

    /* Invalid DTLS records are dropped and the session goes on (RFC 9147
     * §4.5.2): a real record still opens. */
    uint8_t m[64 + 64];
    struct zrec_overhead o;
    zrec_session_overhead(t.a, &o);
    test_fill(m + o.headroom, 16, &seed);
    uint8_t *r;
    int rl = zrec_seal_record(t.a, ZREC_CT_APPLICATION_DATA, m + o.headroom, 16, o.headroom, 40, &r);
    CHECK(rl > 0, "seal %d", rl);
    uint8_t *pt, ct;
    CHECK(zrec_open_record(t.b, r, (size_t)rl, &pt, &ct) == 16, "session unusable after it");
    test_pair_free(&t);
    printf("short: -EBADMSG with the payload wiped, contiguous and scattered\n");
}

static void case_ku_retx(void)
{
    for (int arrives = 1; arrives <= 6; arrives++) {
        struct test_pair t = test_pair_new(ZREC_DTLS13, aead, NULL, NULL, &seed, 0);
        uint16_t e0 = zrec_session_epoch(t.a, ZREC_DIR_WRITE);
        uint8_t tx[6][128];
        int len[6];
        for (int i = 0; i < 6; i++) {
            len[i] = zrec_seal_key_update(t.a, false, tx[i], sizeof tx[i]);
            CHECK(len[i] > 0, "KeyUpdate transmission %d: %d", i + 1, len[i]);
            CHECK(zrec_session_epoch(t.a, ZREC_DIR_WRITE) == e0, "epoch moved before an ACK");
        }
        /* Only transmission #arrives reaches the peer. */
        uint8_t *pt, ct;
        int rc = zrec_open_record(t.b, tx[arrives - 1], (size_t)len[arrives - 1], &pt, &ct);
        CHECK(rc >= 0 && ct == ZREC_CT_HANDSHAKE, "peer opens transmission %d: %d", arrives, rc);
        CHECK(zrec_session_events(t.b) & ZREC_EV_ACK_OWED, "peer owes an ACK");
        uint8_t ack[128];
        int al = zrec_seal_ack(t.b, ack, sizeof ack);
        CHECK(al > 0, "seal ACK: %d", al);
        rc = zrec_open_record(t.a, ack, (size_t)al, &pt, &ct);
        CHECK(rc >= 0 && ct == ZREC_CT_ACK, "ACK opens: %d", rc);
        CHECK(zrec_session_epoch(t.a, ZREC_DIR_WRITE) == e0 + 1,
              "ACK of transmission %d of 6 did not move the write epoch (still %u)", arrives,
              zrec_session_epoch(t.a, ZREC_DIR_WRITE));
        test_pair_free(&t);
    }
    printf("ku-retx: an ACK of any of six KeyUpdate transmissions completes it\n");
}

int main(int argc, char **argv)
{
    CHECK(argc == 3, "usage: dtls13_contract AEAD short|ku-retx");
    CHECK(test_aead_from_name(argv[1], &aead) == 0, "bad AEAD %s", argv[1]);
    if (strcmp(argv[2], "short") == 0)
        case_short();
    else if (strcmp(argv[2], "ku-retx") == 0)
        case_ku_retx();
    else
        CHECK(0, "unknown case %s", argv[2]);
    return 0;
}
