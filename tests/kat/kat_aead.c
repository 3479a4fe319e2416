/*
 * AEAD known answers through the internal provider interface (aead.h), on
 * every provider: zrec__provider_ipsecmb (where built) and
 * zrec__provider_wolfcrypt.  All vectors use the 96-bit nonce the record
 * formats use.
 *
 *   aes128gcm, aes256gcm: McGrew & Viega, "The Galois/Counter Mode of
 *       Operation (GCM)", Appendix B Test Cases 1-4 (AES-128) and 13-16
 *       (AES-256); 4 and 16 carry 20 octets of AAD and a 60-octet plaintext.
 *   chacha20poly1305: RFC 8439 §2.8.2.
 *   aes128ccm (16-octet tag): NIST CAVP CCM vectors, VNT128.rsp, the
 *       [Nlen = 12] group (Alen = 32, Plen = 24, Tlen = 16), Counts 50-52.
 *       SP 800-38C's own examples have no 12-octet-nonce, 16-octet-tag case.
 *   aes128ccm8 (8-octet tag): NIST SP 800-38C Appendix C, Example 3.
 *
 * For each vector: seal gives the published ciphertext and tag; open gives
 * the plaintext back; a flipped bit in the tag, the ciphertext or the AAD
 * gives -EBADMSG.  The same through seal_v/open_v with the text split in
 * several segments (odd sizes, single octets, an empty segment): a provider
 * may answer -ENOTSUP only for CCM, which has no incremental form; the
 * engine's zrec__aead_seal_v/open_v must then still give the answer.
 *
 * The vectors were checked against an independent AEAD implementation before
 * being committed.
 */
#include "kat.h"

#include "aead.h"

struct aead_kat {
    const char *source;
    enum zrec_aead_id aead;
    const char *key, *nonce, *aad, *pt, *ct, *tag;
};

static const struct aead_kat kats[] = {
    {"McGrew & Viega, The Galois/Counter Mode of Operation (GCM), Test Case 1",
     ZREC_AES_128_GCM,
     /* K */
     "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00",
     /* N */
     "00 00 00 00 00 00 00 00 00 00 00 00",
     /* A */
     "",
     /* P */
     "",
     /* C */
     "",
     /* T */
     "58 e2 fc ce fa 7e 30 61 36 7f 1d 57 a4 e7 45 5a"},
    {"McGrew & Viega, The Galois/Counter Mode of Operation (GCM), Test Case 2",
     ZREC_AES_128_GCM,
     /* K */
     "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00",
     /* N */
     "00 00 00 00 00 00 00 00 00 00 00 00",
     /* A */
     "",
     /* P */
     "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00",
     /* C */
     "03 88 da ce 60 b6 a3 92 f3 28 c2 b9 71 b2 fe 78",
     /* T */
     "ab 6e 47 d4 2c ec 13 bd f5 3a 67 b2 12 57 bd df"},
    {"McGrew & Viega, The Galois/Counter Mode of Operation (GCM), Test Case 3",
     ZREC_AES_128_GCM,
     /* K */
     "fe ff e9 92 86 65 73 1c 6d 6a 8f 94 67 30 83 08",
     /* N */
     "ca fe ba be fa ce db ad de ca f8 88",
     /* A */
     "",
     /* P */
     "d9 31 32 25 f8 84 06 e5 a5 59 09 c5 af f5 26 9a"
     "86 a7 a9 53 15 34 f7 da 2e 4c 30 3d 8a 31 8a 72"
     "1c 3c 0c 95 95 68 09 53 2f cf 0e 24 49 a6 b5 25"
     "b1 6a ed f5 aa 0d e6 57 ba 63 7b 39 1a af d2 55",
     /* C */
     "42 83 1e c2 21 77 74 24 4b 72 21 b7 84 d0 d4 9c"
     "e3 aa 21 2f 2c 02 a4 e0 35 c1 7e 23 29 ac a1 2e"
     "21 d5 14 b2 54 66 93 1c 7d 8f 6a 5a ac 84 aa 05"
     "1b a3 0b 39 6a 0a ac 97 3d 58 e0 91 47 3f 59 85",
     /* T */
     "4d 5c 2a f3 27 cd 64 a6 2c f3 5a bd 2b a6 fa b4"},
    {"McGrew & Viega, The Galois/Counter Mode of Operation (GCM), Test Case 4",
     ZREC_AES_128_GCM,
     /* K */
     "fe ff e9 92 86 65 73 1c 6d 6a 8f 94 67 30 83 08",
     /* N */
     "ca fe ba be fa ce db ad de ca f8 88",
     /* A */
     "fe ed fa ce de ad be ef fe ed fa ce de ad be ef"
     "ab ad da d2",
     /* P */
     "d9 31 32 25 f8 84 06 e5 a5 59 09 c5 af f5 26 9a"
     "86 a7 a9 53 15 34 f7 da 2e 4c 30 3d 8a 31 8a 72"
     "1c 3c 0c 95 95 68 09 53 2f cf 0e 24 49 a6 b5 25"
     "b1 6a ed f5 aa 0d e6 57 ba 63 7b 39",
     /* C */
     "42 83 1e c2 21 77 74 24 4b 72 21 b7 84 d0 d4 9c"
     "e3 aa 21 2f 2c 02 a4 e0 35 c1 7e 23 29 ac a1 2e"
     "21 d5 14 b2 54 66 93 1c 7d 8f 6a 5a ac 84 aa 05"
     "1b a3 0b 39 6a 0a ac 97 3d 58 e0 91",
     /* T */
     "5b c9 4f bc 32 21 a5 db 94 fa e9 5a e7 12 1a 47"},
    {"McGrew & Viega, The Galois/Counter Mode of Operation (GCM), Test Case 13",
     ZREC_AES_256_GCM,
     /* K */
     "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"
     "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00",
     /* N */
     "00 00 00 00 00 00 00 00 00 00 00 00",
     /* A */
     "",
     /* P */
     "",
     /* C */
     "",
     /* T */
     "53 0f 8a fb c7 45 36 b9 a9 63 b4 f1 c4 cb 73 8b"},
    {"McGrew & Viega, The Galois/Counter Mode of Operation (GCM), Test Case 14",
     ZREC_AES_256_GCM,
     /* K */
     "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"
     "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00",
     /* N */
     "00 00 00 00 00 00 00 00 00 00 00 00",
     /* A */
     "",
     /* P */
     "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00",
     /* C */
     "ce a7 40 3d 4d 60 6b 6e 07 4e c5 d3 ba f3 9d 18",
     /* T */
     "d0 d1 c8 a7 99 99 6b f0 26 5b 98 b5 d4 8a b9 19"},
    {"McGrew & Viega, The Galois/Counter Mode of Operation (GCM), Test Case 15",
     ZREC_AES_256_GCM,
     /* K */
     "fe ff e9 92 86 65 73 1c 6d 6a 8f 94 67 30 83 08"
     "fe ff e9 92 86 65 73 1c 6d 6a 8f 94 67 30 83 08",
     /* N */
     "ca fe ba be fa ce db ad de ca f8 88",
     /* A */
     "",
     /* P */
     "d9 31 32 25 f8 84 06 e5 a5 59 09 c5 af f5 26 9a"
     "86 a7 a9 53 15 34 f7 da 2e 4c 30 3d 8a 31 8a 72"
     "1c 3c 0c 95 95 68 09 53 2f cf 0e 24 49 a6 b5 25"
     "b1 6a ed f5 aa 0d e6 57 ba 63 7b 39 1a af d2 55",
     /* C */
     "52 2d c1 f0 99 56 7d 07 f4 7f 37 a3 2a 84 42 7d"
     "64 3a 8c dc bf e5 c0 c9 75 98 a2 bd 25 55 d1 aa"
     "8c b0 8e 48 59 0d bb 3d a7 b0 8b 10 56 82 88 38"
     "c5 f6 1e 63 93 ba 7a 0a bc c9 f6 62 89 80 15 ad",
     /* T */
     "b0 94 da c5 d9 34 71 bd ec 1a 50 22 70 e3 cc 6c"},
    {"McGrew & Viega, The Galois/Counter Mode of Operation (GCM), Test Case 16",
     ZREC_AES_256_GCM,
     /* K */
     "fe ff e9 92 86 65 73 1c 6d 6a 8f 94 67 30 83 08"
     "fe ff e9 92 86 65 73 1c 6d 6a 8f 94 67 30 83 08",
     /* N */
     "ca fe ba be fa ce db ad de ca f8 88",
     /* A */
     "fe ed fa ce de ad be ef fe ed fa ce de ad be ef"
     "ab ad da d2",
     /* P */
     "d9 31 32 25 f8 84 06 e5 a5 59 09 c5 af f5 26 9a"
     "86 a7 a9 53 15 34 f7 da 2e 4c 30 3d 8a 31 8a 72"
     "1c 3c 0c 95 95 68 09 53 2f cf 0e 24 49 a6 b5 25"
     "b1 6a ed f5 aa 0d e6 57 ba 63 7b 39",
     /* C */
     "52 2d c1 f0 99 56 7d 07 f4 7f 37 a3 2a 84 42 7d"
     "64 3a 8c dc bf e5 c0 c9 75 98 a2 bd 25 55 d1 aa"
     "8c b0 8e 48 59 0d bb 3d a7 b0 8b 10 56 82 88 38"
     "c5 f6 1e 63 93 ba 7a 0a bc c9 f6 62",
     /* T */
     "76 fc 6e ce 0f 4e 17 68 cd df 88 53 bb 2d 55 1b"},
    {"RFC 8439 §2.8.2, Example and Test Vector for AEAD_CHACHA20_POLY1305",
     ZREC_CHACHA20_POLY1305,
     /* K */
     "80 81 82 83 84 85 86 87 88 89 8a 8b 8c 8d 8e 8f"
     "90 91 92 93 94 95 96 97 98 99 9a 9b 9c 9d 9e 9f",
     /* N */
     "07 00 00 00 40 41 42 43 44 45 46 47",
     /* A */
     "50 51 52 53 c0 c1 c2 c3 c4 c5 c6 c7",
     /* P: "Ladies and Gentlemen of the class of '99: If I could offer you only
      * one tip for the future, sunscreen would be it." (114 octets) */
     "4c 61 64 69 65 73 20 61 6e 64 20 47 65 6e 74 6c"
     "65 6d 65 6e 20 6f 66 20 74 68 65 20 63 6c 61 73"
     "73 20 6f 66 20 27 39 39 3a 20 49 66 20 49 20 63"
     "6f 75 6c 64 20 6f 66 66 65 72 20 79 6f 75 20 6f"
     "6e 6c 79 20 6f 6e 65 20 74 69 70 20 66 6f 72 20"
     "74 68 65 20 66 75 74 75 72 65 2c 20 73 75 6e 73"
     "63 72 65 65 6e 20 77 6f 75 6c 64 20 62 65 20 69"
     "74 2e",
     /* C */
     "d3 1a 8d 34 64 8e 60 db 7b 86 af bc 53 ef 7e c2"
     "a4 ad ed 51 29 6e 08 fe a9 e2 b5 a7 36 ee 62 d6"
     "3d be a4 5e 8c a9 67 12 82 fa fb 69 da 92 72 8b"
     "1a 71 de 0a 9e 06 0b 29 05 d6 a5 b6 7e cd 3b 36"
     "92 dd bd 7f 2d 77 8b 8c 98 03 ae e3 28 09 1b 58"
     "fa b3 24 e4 fa d6 75 94 55 85 80 8b 48 31 d7 bc"
     "3f f4 de f0 8e 4b 7a 9d e5 76 d2 65 86 ce c6 4b"
     "61 16",
     /* T */
     "1a e1 0b 59 4f 09 e2 6a 7e 90 2e cb d0 60 06 91"},
    {"NIST CAVP CCM test vectors (ccmtestvectors.zip), VNT128.rsp [Nlen = 12], Count = 50: Alen = 32, Plen = 24, Tlen = 16",
     ZREC_AES_128_CCM,
     /* K */
     "00 5e 8f 4d 8e 0c bf 4e 1c ee b5 d8 7a 27 58 48",
     /* N */
     "0e c3 ac 45 2b 54 7b 90 62 aa c8 fa",
     /* A */
     "2f 18 21 aa 57 e5 27 8f fd 33 c1 7d 46 61 5b 77"
     "36 31 49 db c9 84 70 41 3f 65 43 a6 b7 49 f2 ca",
     /* P */
     "b6 f3 45 20 45 26 43 9d af 84 99 8f 38 0d cf b4"
     "b4 16 7c 95 9c 04 ff 65",
     /* C */
     "95 75 e1 6f 35 da 3c 88 a1 9c 26 a7 b7 62 04 4f"
     "4d 7b bb af ef f0 5d 75",
     /* T */
     "48 29 e2 a7 75 2f a3 a1 48 90 97 28 84 b5 11 d8"},
    {"NIST CAVP CCM test vectors (ccmtestvectors.zip), VNT128.rsp [Nlen = 12], Count = 51: Alen = 32, Plen = 24, Tlen = 16",
     ZREC_AES_128_CCM,
     /* K */
     "00 5e 8f 4d 8e 0c bf 4e 1c ee b5 d8 7a 27 58 48",
     /* N */
     "47 27 11 26 1a 92 62 be f0 77 c0 b7",
     /* A */
     "17 c8 78 89 a2 65 26 36 bc f7 12 d1 11 c8 6b 9d"
     "68 d6 4d 18 d5 31 92 80 30 a5 ec 97 c5 99 31 a4",
     /* P */
     "9d 63 df 77 3b 37 99 e3 61 c5 32 8d 44 bb b1 2f"
     "41 54 74 7e cf 7c c6 67",
     /* C */
     "53 32 3b 82 d7 a7 54 d8 2c eb f0 d4 bc 93 0e f0"
     "6d 11 e1 62 c5 c0 27 c4",
     /* T */
     "71 5a 64 18 34 bb b7 5b b6 57 2c a5 a4 5c 31 83"},
    {"NIST CAVP CCM test vectors (ccmtestvectors.zip), VNT128.rsp [Nlen = 12], Count = 52: Alen = 32, Plen = 24, Tlen = 16",
     ZREC_AES_128_CCM,
     /* K */
     "00 5e 8f 4d 8e 0c bf 4e 1c ee b5 d8 7a 27 58 48",
     /* N */
     "6a 7b 80 b6 73 8f f0 a2 3a d5 8f b2",
     /* A */
     "26 c1 2e 5c df e2 25 a5 be 56 d7 a8 aa f9 fd 4e"
     "b3 27 d2 f2 9c 2e bc 73 96 02 2f 88 4f 33 ce 54",
     /* P */
     "ba 19 78 d5 84 92 c7 f8 27 ca fe f8 7d 00 f1 a1"
     "37 f3 f0 5a 2d ed b1 4d",
     /* C */
     "aa 1d 9e ac ab dc dd 0f 54 68 16 53 ac 44 04 2a"
     "3d d4 7e 33 8d 15 60 4e",
     /* T */
     "86 a0 e9 26 da f2 1d 17 b3 59 25 3d 0d 5d 5d 00"},
    {"NIST SP 800-38C Appendix C, Example 3: Klen = 128, Tlen = 64, Nlen = 96, Alen = 160, Plen = 192",
     ZREC_AES_128_CCM_8,
     /* K */
     "40 41 42 43 44 45 46 47 48 49 4a 4b 4c 4d 4e 4f",
     /* N */
     "10 11 12 13 14 15 16 17 18 19 1a 1b",
     /* A */
     "00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f"
     "10 11 12 13",
     /* P */
     "20 21 22 23 24 25 26 27 28 29 2a 2b 2c 2d 2e 2f"
     "30 31 32 33 34 35 36 37",
     /* C */
     "e3 b2 01 a9 f5 b7 1a 7a 9b 1c ea ec cd 97 e7 0b"
     "61 76 aa d9 a4 42 8a a5",
     /* T */
     "48 43 92 fb c1 b0 99 51"},
};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_IOV 256

struct vec {
    uint8_t *key, *nonce, *aad, *pt, *ct, *tag;
    size_t key_len, nonce_len, aad_len, pt_len, ct_len, tag_len;
};

static struct vec vec_decode(const struct aead_kat *k)
{
    struct vec v;
    v.key = kat_unhex(k->key, &v.key_len);
    v.nonce = kat_unhex(k->nonce, &v.nonce_len);
    v.aad = kat_unhex(k->aad, &v.aad_len);
    v.pt = kat_unhex(k->pt, &v.pt_len);
    v.ct = kat_unhex(k->ct, &v.ct_len);
    v.tag = kat_unhex(k->tag, &v.tag_len);
    const struct zrec_aead_alg *alg = zrec__aead_alg(k->aead);
    CHECK(v.key_len == alg->key_len && v.nonce_len == ZREC_NONCE_LEN &&
              v.tag_len == alg->tag_len && v.ct_len == v.pt_len,
          "%s: vector sizes do not fit %s", k->source, alg->name);
    return v;
}

static void vec_free(struct vec *v)
{
    free(v->key);
    free(v->nonce);
    free(v->aad);
    free(v->pt);
    free(v->ct);
    free(v->tag);
}

/* Segment sizes, cycled until the text runs out (0 ends a pattern; a pattern
 * that starts with 0 gives one empty segment first). */
static const uint16_t patterns[][6] = {
    {1, 0}, {7, 16, 1, 13, 0}, {15, 0}, {16, 0}, {17, 0}, {33, 5, 0},
};

static int make_iov(uint8_t *buf, size_t len, const uint16_t *pat, int empty_at,
                    struct iovec *iov)
{
    int n = 0;
    size_t off = 0;
    unsigned k = 0;
    while (off < len || n == 0) {
        CHECK(n < MAX_IOV - 1, "too many segments");
        if (n == empty_at)
            iov[n++] = (struct iovec){buf + off, 0};
        if (off == len)
            break;
        if (pat[k] == 0)
            k = 0;
        size_t take = pat[k] < len - off ? pat[k] : len - off;
        k++;
        iov[n++] = (struct iovec){buf + off, take};
        off += take;
    }
    return n;
}

static void one(const struct zrec_aead_provider *p, const struct aead_kat *k)
{
    struct vec v = vec_decode(k);
    const struct zrec_aead_alg *alg = zrec__aead_alg(k->aead);
    const int ccm = k->aead == ZREC_AES_128_CCM || k->aead == ZREC_AES_128_CCM_8;
    char what[256];
    CHECK(p->supports(k->aead), "%s does not support %s", p->name, alg->name);
    struct zrec_aead_ctx *ctx = zrec__aead_new(p, k->aead, v.key);
    CHECK(ctx != NULL, "zrec__aead_new(%s, %s): %s", p->name, alg->name, strerror(errno));
    uint8_t *buf = malloc(v.pt_len + 1);
    uint8_t tag[ZREC_MAX_TAG_LEN];
    int rc;

    /* Contiguous seal and open. */
    memcpy(buf, v.pt, v.pt_len);
    memset(tag, 0xee, sizeof tag);
    rc = p->seal(ctx, v.nonce, v.aad, v.aad_len, buf, buf, v.pt_len, tag);
    CHECK(rc == 0, "%s: %s seal: %d", k->source, p->name, rc);
    snprintf(what, sizeof what, "%s: %s seal: ciphertext", k->source, p->name);
    kat_expect_bytes(what, buf, v.pt_len, v.ct, v.ct_len);
    snprintf(what, sizeof what, "%s: %s seal: tag", k->source, p->name);
    kat_expect_bytes(what, tag, alg->tag_len, v.tag, v.tag_len);

    memcpy(buf, v.ct, v.ct_len);
    rc = p->open(ctx, v.nonce, v.aad, v.aad_len, buf, buf, v.ct_len, v.tag);
    CHECK(rc == 0, "%s: %s open: %d", k->source, p->name, rc);
    snprintf(what, sizeof what, "%s: %s open: plaintext", k->source, p->name);
    kat_expect_bytes(what, buf, v.ct_len, v.pt, v.pt_len);

    /* Tampering: every tag octet (low bit), the first and last tag bits,
     * the first and last ciphertext octets, the first and last AAD octets. */
    for (size_t i = 0; i < v.tag_len + 2; i++) {
        uint8_t bad[ZREC_MAX_TAG_LEN];
        memcpy(bad, v.tag, v.tag_len);
        if (i < v.tag_len)
            bad[i] ^= 0x01;
        else if (i == v.tag_len)
            bad[0] ^= 0x80;
        else
            bad[v.tag_len - 1] ^= 0x80;
        memcpy(buf, v.ct, v.ct_len);
        rc = p->open(ctx, v.nonce, v.aad, v.aad_len, buf, buf, v.ct_len, bad);
        CHECK(rc == -EBADMSG, "%s: %s open with a flipped tag bit (%zu): %d, expected -EBADMSG",
              k->source, p->name, i, rc);
    }
    for (int end = 0; end < 2 && v.ct_len > 0; end++) {
        memcpy(buf, v.ct, v.ct_len);
        buf[end ? v.ct_len - 1 : 0] ^= 0x01;
        rc = p->open(ctx, v.nonce, v.aad, v.aad_len, buf, buf, v.ct_len, v.tag);
        CHECK(rc == -EBADMSG, "%s: %s open with a flipped ciphertext bit: %d", k->source,
              p->name, rc);
    }
    for (int end = 0; end < 2 && v.aad_len > 0; end++) {
        uint8_t *aad = malloc(v.aad_len);
        memcpy(aad, v.aad, v.aad_len);
        aad[end ? v.aad_len - 1 : 0] ^= 0x01;
        memcpy(buf, v.ct, v.ct_len);
        rc = p->open(ctx, v.nonce, aad, v.aad_len, buf, buf, v.ct_len, v.tag);
        CHECK(rc == -EBADMSG, "%s: %s open with a flipped AAD bit: %d", k->source, p->name, rc);
        free(aad);
    }
    {
        uint8_t nonce[ZREC_NONCE_LEN];
        memcpy(nonce, v.nonce, sizeof nonce);
        nonce[11] ^= 0x01;
        memcpy(buf, v.ct, v.ct_len);
        rc = p->open(ctx, nonce, v.aad, v.aad_len, buf, buf, v.ct_len, v.tag);
        CHECK(rc == -EBADMSG, "%s: %s open with another nonce: %d", k->source, p->name, rc);
    }

    /* Scattered: the provider's own seal_v/open_v (where it advertises
     * ZREC_AEAD_CAP_SG: CCM has no incremental form, so it must not), then
     * the engine's entry points with the provider's capabilities, then with
     * none (the generic bounce path, for every AEAD). */
    uint32_t caps = zrec__aead_caps(p, k->aead).flags;
    CHECK((!(caps & ZREC_AEAD_CAP_SG)) == (ccm != 0), "%s: %s advertises scatter-gather for %s: %s",
          k->source, p->name, alg->name, caps & ZREC_AEAD_CAP_SG ? "yes" : "no");
    for (size_t pi = 0; pi < N_OF(patterns); pi++) {
        for (int empty_at = -1; empty_at <= 1; empty_at += 2) {
            struct iovec iov[MAX_IOV];
            for (int engine = 0; engine < 3; engine++) {
                if (engine == 0 && !(caps & ZREC_AEAD_CAP_SG))
                    continue; /* advertised, not stubbed */
                uint32_t use = engine == 1 ? caps : 0;
                const char *via = engine == 0   ? "seal_v"
                                  : engine == 1 ? "zrec__aead_seal_v"
                                                : "zrec__aead_seal_v (bounce)";
                memcpy(buf, v.pt, v.pt_len);
                int n = make_iov(buf, v.pt_len, patterns[pi], empty_at, iov);
                memset(tag, 0xee, sizeof tag);
                rc = engine ? zrec__aead_seal_v(ctx, use, v.nonce, v.aad, v.aad_len, iov, n, tag)
                            : p->seal_v(ctx, v.nonce, v.aad, v.aad_len, iov, n, tag);
                CHECK(rc == 0, "%s: %s %s (pattern %zu, %d segments): %d", k->source, p->name,
                      via, pi, n, rc);
                snprintf(what, sizeof what, "%s: %s %s (pattern %zu, %d segments): ciphertext",
                         k->source, p->name, via, pi, n);
                kat_expect_bytes(what, buf, v.pt_len, v.ct, v.ct_len);
                snprintf(what, sizeof what, "%s: %s %s (pattern %zu, %d segments): tag",
                         k->source, p->name, via, pi, n);
                kat_expect_bytes(what, tag, alg->tag_len, v.tag, v.tag_len);

                via = engine == 0   ? "open_v"
                      : engine == 1 ? "zrec__aead_open_v"
                                    : "zrec__aead_open_v (bounce)";
                memcpy(buf, v.ct, v.ct_len);
                rc = engine ? zrec__aead_open_v(ctx, use, v.nonce, v.aad, v.aad_len, iov, n, v.tag)
                            : p->open_v(ctx, v.nonce, v.aad, v.aad_len, iov, n, v.tag);
                CHECK(rc == 0, "%s: %s %s (pattern %zu, %d segments): %d", k->source, p->name,
                      via, pi, n, rc);
                snprintf(what, sizeof what, "%s: %s %s (pattern %zu, %d segments): plaintext",
                         k->source, p->name, via, pi, n);
                kat_expect_bytes(what, buf, v.ct_len, v.pt, v.pt_len);

                uint8_t bad[ZREC_MAX_TAG_LEN];
                memcpy(bad, v.tag, v.tag_len);
                bad[v.tag_len - 1] ^= 0x01;
                memcpy(buf, v.ct, v.ct_len);
                rc = engine ? zrec__aead_open_v(ctx, use, v.nonce, v.aad, v.aad_len, iov, n, bad)
                            : p->open_v(ctx, v.nonce, v.aad, v.aad_len, iov, n, bad);
                CHECK(rc == -EBADMSG, "%s: %s %s with a flipped tag bit: %d, expected -EBADMSG",
                      k->source, p->name, via, rc);
                if (engine && !(use & ZREC_AEAD_CAP_SG))
                    /* The bounce path hands back only authenticated text. */
                    kat_expect_bytes("segments after a failed bounce open", buf, v.ct_len, v.ct,
                                     v.ct_len);
            }
        }
    }
    zrec__aead_free(ctx);
    free(buf);
    vec_free(&v);
}

int main(int argc, char **argv)
{
    enum zrec_aead_id aead;
    if (argc != 2 || test_aead_from_name(argv[1], &aead)) {
        fprintf(stderr, "usage: %s AEAD\n", argv[0]);
        return 2;
    }
    const struct zrec_aead_provider *provs[] = {
#ifdef ZREC_HAVE_IPSECMB
        &zrec__provider_ipsecmb,
#else
        NULL,
#endif
        &zrec__provider_wolfcrypt,
    };
    CHECK(provs[0] == zrec_provider_ipsecmb(), "zrec_provider_ipsecmb()");
    unsigned done = 0;
    for (size_t pi = 0; pi < N_OF(provs); pi++) {
        if (provs[pi] == NULL) {
            printf("ipsecmb: not built here, skipped\n");
            continue;
        }
        for (size_t i = 0; i < N_OF(kats); i++) {
            if (kats[i].aead != aead)
                continue;
            one(provs[pi], &kats[i]);
            printf("%s: %s: %s: ok\n", argv[1], provs[pi]->name, kats[i].source);
            done++;
        }
    }
    CHECK(done > 0, "no vector for %s", argv[1]);
    return 0;
}
