/*
 * zrec/provider.h: what zrec_session_new() accepts as a provider.
 *
 * A provider written for another interface version, one missing a mandatory
 * slot, or one that declares itself asynchronous (reserved for the offload
 * pipeline) is refused with ENOTSUP, never half used; the test provider with
 * only the mandatory slots is accepted for every AEAD and protocol, and a
 * burst mixing its sessions with ipsec-mb's and wolfCrypt's seals and opens
 * every record (runs of one provider share the AEAD pass, record.c).
 */
#include "engine_util.h"
#include "test_provider.h"

static void async_caps(enum zrec_aead_id id, struct zrec_aead_caps *out)
{
    (void)id;
    out->flags = ZREC_AEAD_CAP_ASYNC;
    out->max_aad = 0;
}

static void refused(const struct zrec_aead_provider *p, const char *why)
{
    struct zrec_session_params prm = {.proto = ZREC_TLS13, .aead = ZREC_AES_128_GCM,
                                      .hash = ZREC_SHA256, .provider = p};
    errno = 0;
    struct zrec_session *s = zrec_session_new(&prm);
    EXPECT(s == NULL && errno == ENOTSUP, "a provider %s: session %p, errno %d (want ENOTSUP)",
           why, (void *)s, errno);
    zrec_session_free(s);
}

int main(void)
{
    struct zrec_aead_provider p = test_provider_minimal;
    p.abi = ZREC_PROVIDER_ABI + 1;
    refused(&p, "for another interface version");
    p = test_provider_minimal;
    p.open = NULL;
    refused(&p, "without open");
    p = test_provider_minimal;
    p.init = NULL;
    refused(&p, "without init");
    p = test_provider_minimal;
    p.caps = async_caps;
    refused(&p, "declaring itself asynchronous");

    /* Accepted everywhere, and mixed with the built-in providers in one burst. */
    const struct zrec_aead_provider *provs[] = {&test_provider_minimal, zrec_provider_wolfcrypt(),
                                                &test_provider_inplace, zrec_provider_default()};
    uint64_t seed = 0xab1;
    for (int proto = 0; proto < ZREC_PROTO_COUNT; proto++) {
        for (int aead = 0; aead < ZREC_AEAD_COUNT; aead++) {
            struct keymat km;
            keymat_new(&km, &seed);
            enum { N = 12 };
            struct zrec_session *tx[N], *rx[N];
            for (int i = 0; i < N; i++) {
                tx[i] = mk_session(proto, aead, provs[i / 3 % 4], &km, 0, SIDE_A, 0);
                rx[i] = mk_session(proto, aead, provs[(i / 3 + 1) % 4], &km, 0, SIDE_B, 0);
            }
            struct zrec_overhead o;
            CHECK(zrec_session_overhead(tx[0], &o) == 0, "overhead");
            size_t stride = o.headroom + 100 + o.tailroom;
            uint8_t *buf = xmalloc(stride * N);
            struct zrec_op ops[N];
            for (int i = 0; i < N; i++) {
                memset(buf + i * stride + o.headroom, 'a' + i, 100);
                ops[i] = (struct zrec_op){.sess = tx[i], .data = buf + i * stride + o.headroom,
                                          .len = 100, .headroom = o.headroom,
                                          .tailroom = o.tailroom,
                                          .content_type = ZREC_CT_APPLICATION_DATA};
            }
            EXPECT(zrec_seal_burst(ops, N) == N, "%s %s: mixed seal burst",
                   zrec_proto_name(proto), zrec_aead_name(aead));
            for (int i = 0; i < N; i++)
                ops[i] = (struct zrec_op){.sess = rx[i], .data = ops[i].rec,
                                          .len = ops[i].rec_len};
            EXPECT(zrec_open_burst(ops, N) == N, "%s %s: mixed open burst",
                   zrec_proto_name(proto), zrec_aead_name(aead));
            for (int i = 0; i < N; i++) {
                bool ok = ops[i].status == 0 && ops[i].rec_len == 100;
                for (int b = 0; ok && b < 100; b++)
                    ok = ops[i].rec[b] == 'a' + i;
                EXPECT(ok, "%s %s: record %d (%s -> %s) did not come back",
                       zrec_proto_name(proto), zrec_aead_name(aead), i,
                       zrec_provider_name(provs[i / 3 % 4]),
                       zrec_provider_name(provs[(i / 3 + 1) % 4]));
                zrec_session_free(tx[i]);
                zrec_session_free(rx[i]);
            }
            free(buf);
        }
    }
    return eu_finish("provider-abi", "all", "all");
}
