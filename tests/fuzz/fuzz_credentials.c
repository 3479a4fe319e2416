/*
 * fuzz_credentials: credential parsing - what tls_credential_add() takes
 * from provisioning (files, flash, the network) and the facade hands to
 * wolfSSL when a socket's handshake starts: CA certificates, the socket's
 * own certificate and private key, PEM (its NUL counted, as Zephyr does)
 * or DER, and PSKs with their identities.
 *
 * Input: up to six credentials, each [type][16-bit length][bytes], all
 * under one tag; then a DTLS 1.2 client socket with that tag connects
 * (non-blocking) to a local UDP port: the facade decides PEM or DER, wolfSSL
 * parses every credential, and the ClientHello goes out.  The credentials
 * are deleted after each input.
 *
 * Contracts, besides the sanitizers (and LeakSanitizer: nothing parsed
 * may leak): tls_credential_add() returns 0 or a documented error
 * (-EEXIST, -ENOMEM, -EINVAL); connect() either starts the handshake
 * (EINPROGRESS) or fails with EINVAL (a credential wolfSSL refuses),
 * ENOENT or ENOMEM; close() succeeds.
 *
 * Seeds: the test PKI's certificates and keys (PEM and DER), each alone
 * and as CA + certificate + key, and a PSK with its identity.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <zephyr/net/socket.h>
#include <zephyr/net/tls_credentials.h>

#include "fuzz.h"

#define TAG 21

static const enum tls_credential_type types[] = {
    TLS_CREDENTIAL_CA_CERTIFICATE, TLS_CREDENTIAL_SERVER_CERTIFICATE, TLS_CREDENTIAL_PRIVATE_KEY,
    TLS_CREDENTIAL_PSK, TLS_CREDENTIAL_PSK_ID};
#define NTYPES (sizeof types / sizeof *types)

static struct sockaddr_in sink; /* a bound UDP port nobody reads */

static void setup(void)
{
    static int fd = -1;
    if (fd >= 0)
        return;
    fd = socket(AF_INET, SOCK_DGRAM, 0);
    sink = (struct sockaddr_in){.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t l = sizeof sink;
    FUZZ_ASSERT(fd >= 0 && bind(fd, (struct sockaddr *)&sink, sizeof sink) == 0 &&
                    getsockname(fd, (struct sockaddr *)&sink, &l) == 0,
                "sink");
    int small = 4096; /* ClientHellos pile up unread: keep them few */
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    struct fuzz_in in = {data, size};
    void *bufs[6] = {0};
    enum tls_credential_type added[6];
    int n = 0;
    while (in.n > 0 && n < 6) {
        enum tls_credential_type type = types[fuzz_u8(&in) % NTYPES];
        size_t len = fuzz_u16(&in) % 8192, got;
        const uint8_t *b = fuzz_bytes(&in, len, &got);
        /* Zephyr keeps the caller's pointer: the copy lives until deleted. */
        void *copy = malloc(got ? got : 1);
        memcpy(copy, b, got);
        int rc = tls_credential_add(TAG, type, copy, got);
        FUZZ_ASSERT(rc == 0 || rc == -EEXIST || rc == -ENOMEM || rc == -EINVAL,
                    "tls_credential_add(type %d, %zu bytes): %d", (int)type, got, rc);
        if (rc != 0) {
            free(copy);
            continue;
        }
        bufs[n] = copy;
        added[n++] = type;
    }
    int s = zsock_socket(AF_INET, SOCK_DGRAM, IPPROTO_DTLS_1_2);
    FUZZ_ASSERT(s >= 0, "socket: errno %d", errno);
    sec_tag_t tags[] = {TAG};
    int nb = 1, none = TLS_PEER_VERIFY_NONE;
    FUZZ_ASSERT(zsock_setsockopt(s, SOL_TLS, TLS_SEC_TAG_LIST, tags, sizeof tags) == 0 &&
                    zsock_setsockopt(s, SOL_TLS, TLS_PEER_VERIFY, &none, sizeof none) == 0 &&
                    zsock_ioctl(s, ZFD_IOCTL_FIONBIO, &nb) == 0,
                "options: errno %d", errno);
    int rc = zsock_connect(s, (struct sockaddr *)&sink, sizeof sink);
    FUZZ_ASSERT(rc == -1 && (errno == EINPROGRESS || errno == EINVAL || errno == ENOENT ||
                             errno == ENOMEM),
                "connect: %d errno %d", rc, errno);
    FUZZ_ASSERT(zsock_close(s) == 0, "close: errno %d", errno);
    for (int i = 0; i < n; i++) {
        FUZZ_ASSERT(tls_credential_delete(TAG, added[i]) == 0, "delete");
        free(bufs[i]);
    }
    return 0;
}

/* ---- seeds ------------------------------------------------------------------- */

static size_t slurp(const char *name, uint8_t *b, size_t cap, bool nul)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", FUZZ_CERT_DIR, name);
    FILE *f = fopen(path, "rb");
    FUZZ_ASSERT(f != NULL, "%s", path);
    size_t n = fread(b, 1, cap - 1, f);
    fclose(f);
    if (nul)
        b[n++] = 0; /* a PEM credential counts its NUL */
    return n;
}

static size_t put(uint8_t *s, size_t at, int type_index, const uint8_t *b, size_t n)
{
    s[at++] = (uint8_t)type_index;
    s[at++] = (uint8_t)(n >> 8);
    s[at++] = (uint8_t)n;
    memcpy(s + at, b, n);
    return at + n;
}

void fuzz_seeds(const char *dir)
{
    static uint8_t seed[3 * 8200], a[8192], b[8192], c[8192];
    static const struct {
        const char *name, *ca, *cert, *key;
        bool pem;
    } sets[] = {{"pem-ecc", "ca-ecc-cert.pem", "server-ecc.pem", "ecc-key.pem", true},
                {"der-ecc", "ca-ecc-cert.der", "server-ecc.der", "ecc-key.der", false},
                {"pem-rsa", "ca-cert.pem", "server-cert.pem", "server-key.pem", true},
                {"der-rsa", "ca-cert.der", "server-cert.der", "server-key.der", false}};
    for (size_t i = 0; i < sizeof sets / sizeof *sets; i++) {
        size_t na = slurp(sets[i].ca, a, sizeof a, sets[i].pem);
        size_t nb = slurp(sets[i].cert, b, sizeof b, sets[i].pem);
        size_t nc = slurp(sets[i].key, c, sizeof c, sets[i].pem);
        size_t n = put(seed, 0, 0, a, na);
        n = put(seed, n, 1, b, nb);
        n = put(seed, n, 2, c, nc);
        char name[64];
        snprintf(name, sizeof name, "%s-all", sets[i].name);
        fuzz_seed_write(dir, name, seed, n);
        const uint8_t *one[3] = {a, b, c};
        const size_t len[3] = {na, nb, nc};
        for (int k = 0; k < 3; k++) {
            n = put(seed, 0, k, one[k], len[k]);
            snprintf(name, sizeof name, "%s-%d", sets[i].name, k);
            fuzz_seed_write(dir, name, seed, n);
        }
    }
    static const uint8_t psk[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    size_t n = put(seed, 0, 3, psk, sizeof psk);
    n = put(seed, n, 4, (const uint8_t *)"client", 6);
    fuzz_seed_write(dir, "psk", seed, n);
}
