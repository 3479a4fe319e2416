/*
 * fuzz_sockopt: setsockopt()/getsockopt() values from the network's side
 * of an application (configuration files, provisioning): every SOL_TLS
 * option that takes bytes, on TLS and DTLS sockets, client and server,
 * with any length and content, then a getsockopt() of any length.
 * Options whose value is a pointer by contract (TLS_ALPN_LIST's array of
 * strings, TLS_CERT_VERIFY_CALLBACK) are left out: no bytes make those.
 *
 * Contracts: 0, or -1 with errno one of EINVAL, ENOPROTOOPT, EOPNOTSUPP,
 * EISCONN, ENOTCONN, EDOM, ENOMEM, ENOBUFS; getsockopt() never writes
 * more than the length it is given (exact-size buffers under ASan).
 */
#include <errno.h>

#include <zephyr/net/socket.h>
#include <zrec/zsock_ext.h>

#include "fuzz.h"

static const int names[] = {
    TLS_SEC_TAG_LIST, TLS_HOSTNAME, TLS_CIPHERSUITE_LIST, TLS_CIPHERSUITE_USED,
    TLS_PEER_VERIFY, TLS_DTLS_ROLE, TLS_DTLS_HANDSHAKE_TIMEOUT_MIN,
    TLS_DTLS_HANDSHAKE_TIMEOUT_MAX, TLS_CERT_NOCOPY, TLS_NATIVE, TLS_SESSION_CACHE,
    TLS_SESSION_CACHE_PURGE, TLS_DTLS_CID, TLS_DTLS_CID_VALUE, TLS_DTLS_PEER_CID_VALUE,
    TLS_DTLS_CID_STATUS, TLS_DTLS_HANDSHAKE_ON_CONNECT, TLS_CERT_VERIFY_RESULT,
    ZREC_TLS_SESSION_RESUMED, ZREC_TLS_HANDSHAKE_TIMEOUT, 0, 999, -1};

static bool documented(int err)
{
    return err == EINVAL || err == ENOPROTOOPT || err == EOPNOTSUPP || err == EISCONN ||
           err == ENOTCONN || err == EDOM || err == ENOMEM || err == ENOBUFS;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int protos[] = {IPPROTO_TLS_1_2, IPPROTO_TLS_1_3, IPPROTO_DTLS_1_2,
                                 IPPROTO_DTLS_1_3};
    struct fuzz_in in = {data, size};
    int proto = protos[fuzz_u8(&in) % 4];
    bool dgram = proto == IPPROTO_DTLS_1_2 || proto == IPPROTO_DTLS_1_3;
    int s = zsock_socket(AF_INET, dgram ? SOCK_DGRAM : SOCK_STREAM, proto);
    FUZZ_ASSERT(s >= 0, "socket: errno %d", errno);
    for (int ops = 0; in.n > 0 && ops < 32; ops++) {
        uint8_t sel = fuzz_u8(&in);
        int name = names[(sel >> 1) % (sizeof names / sizeof *names)];
        if (name == TLS_SESSION_CACHE_PURGE && !(sel & 0x80))
            continue; /* process-wide: only now and then */
        size_t len = fuzz_u8(&in), got;
        const uint8_t *b = fuzz_bytes(&in, len, &got);
        if (sel & 1) {
            uint8_t *val = got ? malloc(got) : NULL;
            if (got)
                memcpy(val, b, got);
            int rc = zsock_setsockopt(s, SOL_TLS, name, val, (socklen_t)got);
            FUZZ_ASSERT(rc == 0 || (rc == -1 && documented(errno)),
                        "setsockopt(%d, %zu bytes): %d errno %d", name, got, rc, errno);
            free(val);
        } else {
            uint8_t *val = malloc(len ? len : 1);
            socklen_t vl = (socklen_t)len;
            int rc = zsock_getsockopt(s, SOL_TLS, name, len ? val : NULL, &vl);
            FUZZ_ASSERT(rc == 0 || (rc == -1 && documented(errno)),
                        "getsockopt(%d, %zu bytes): %d errno %d", name, len, rc, errno);
            if (rc == 0)
                FUZZ_ASSERT(vl <= len, "getsockopt(%d) says %u bytes of %zu", name, vl, len);
            free(val);
        }
    }
    zsock_close(s);
    return 0;
}

void fuzz_seeds(const char *dir)
{
    /* A TLS 1.3 client: tags {1,2}, hostname, a suite list, verify none,
     * then read them back; a DTLS 1.3 server: role, timeouts, CID. */
    static const uint8_t tls[] = {1, (0 << 1) | 1, 8, 1, 0, 0, 0, 2, 0, 0, 0,
                                  (1 << 1) | 1, 9, 'l', 'o', 'c', 'a', 'l', 'h', 'o', 's', 't',
                                  (2 << 1) | 1, 4, 0x01, 0x13, 0, 0,
                                  (4 << 1) | 1, 4, 0, 0, 0, 0,
                                  (0 << 1), 16, (2 << 1), 16, (4 << 1), 4};
    static const uint8_t dtls[] = {3, (5 << 1) | 1, 4, 1, 0, 0, 0,
                                   (6 << 1) | 1, 4, 100, 0, 0, 0,
                                   (7 << 1) | 1, 4, 0, 16, 0, 0,
                                   (12 << 1) | 1, 4, 2, 0, 0, 0,
                                   (13 << 1) | 1, 2, 0xab, 0xcd,
                                   (13 << 1), 8, (15 << 1), 4, (19 << 1), 4};
    fuzz_seed_write(dir, "tls13-client", tls, sizeof tls);
    fuzz_seed_write(dir, "dtls13-server", dtls, sizeof dtls);
}
