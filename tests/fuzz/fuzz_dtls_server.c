/*
 * fuzz_dtls_server: the DTLS server socket's datagram intake — what anyone
 * on the network can send to it before (and without) a handshake: the
 * ClientHello and cookie path (wolfSSL behind the facade's handshake
 * driver), records of unknown peers, unified headers with hostile
 * connection IDs.  Two server sockets live for the whole run (DTLS 1.2 and
 * DTLS 1.3 with CIDs enabled, PSK credentials, at most 64 peers each), on
 * 127.0.0.1; two kernel UDP sockets are the attackers (two source
 * addresses).
 *
 * Input: datagrams, each [selector][16-bit length][bytes]: the selector
 * picks the server and the attacker.  After each datagram the server is
 * drained with non-blocking recvfrom() until EAGAIN.
 *
 * Contracts: recvfrom() on the server never fails with anything but
 * EAGAIN (invalid datagrams are dropped silently, RFC 6347 §4.1.2.7, RFC
 * 9147 §4.5.2) and never hands out data (no handshake can complete from
 * one side's bytes alone); besides the sanitizers.
 */
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <zephyr/net/socket.h>
#include <zephyr/net/tls_credentials.h>

#include "fuzz.h"

#define TAG 7
static const uint8_t psk[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
static const char psk_id[] = "fuzz";

static int servers[2] = {-1, -1};
static struct sockaddr_in server_addr[2];
static int attackers[2] = {-1, -1};

static void credentials(void)
{
    static int done;
    if (done++)
        return;
    FUZZ_ASSERT(tls_credential_add(TAG, TLS_CREDENTIAL_PSK, psk, sizeof psk) == 0, "psk");
    FUZZ_ASSERT(tls_credential_add(TAG, TLS_CREDENTIAL_PSK_ID, psk_id, sizeof psk_id - 1) == 0,
                "psk id");
}

static int dtls_socket(int proto, bool server)
{
    int s = zsock_socket(AF_INET, SOCK_DGRAM, proto);
    FUZZ_ASSERT(s >= 0, "socket: %d", errno);
    sec_tag_t tags[] = {TAG};
    FUZZ_ASSERT(zsock_setsockopt(s, SOL_TLS, TLS_SEC_TAG_LIST, tags, sizeof tags) == 0, "tags");
    int role = server ? TLS_DTLS_ROLE_SERVER : TLS_DTLS_ROLE_CLIENT;
    FUZZ_ASSERT(zsock_setsockopt(s, SOL_TLS, TLS_DTLS_ROLE, &role, sizeof role) == 0, "role");
    if (proto == IPPROTO_DTLS_1_3) {
        int cid = TLS_DTLS_CID_ENABLED;
        FUZZ_ASSERT(zsock_setsockopt(s, SOL_TLS, TLS_DTLS_CID, &cid, sizeof cid) == 0, "cid");
    }
    return s;
}

static struct sockaddr_in loopback(unsigned short port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

static void setup(void)
{
    if (servers[0] >= 0)
        return;
    setenv("ZREC_DTLS_MAX_PEERS", "64", 1); /* memory stays bounded over the run */
    credentials();
    const int protos[2] = {IPPROTO_DTLS_1_2, IPPROTO_DTLS_1_3};
    for (int i = 0; i < 2; i++) {
        servers[i] = dtls_socket(protos[i], true);
        struct sockaddr_in a = loopback(0);
        FUZZ_ASSERT(zsock_bind(servers[i], (struct sockaddr *)&a, sizeof a) == 0, "bind");
        socklen_t al = sizeof server_addr[i];
        FUZZ_ASSERT(zsock_getsockname(servers[i], (struct sockaddr *)&server_addr[i], &al) == 0,
                    "getsockname");
        attackers[i] = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
        FUZZ_ASSERT(attackers[i] >= 0, "attacker socket");
    }
}

/* Take everything the server has, as an application would. */
static void drain(int s)
{
    for (int i = 0; i < 64; i++) {
        uint8_t buf[2048];
        struct sockaddr_in from;
        socklen_t fl = sizeof from;
        ssize_t n = zsock_recvfrom(s, buf, sizeof buf, ZSOCK_MSG_DONTWAIT,
                                   (struct sockaddr *)&from, &fl);
        if (n < 0) {
            FUZZ_ASSERT(errno == EAGAIN, "server recvfrom: errno %d", errno);
            return;
        }
        FUZZ_ASSERT(0, "the server delivered %zd bytes nobody could have sent", n);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup();
    struct fuzz_in in = {data, size};
    for (int dgrams = 0; in.n > 0 && dgrams < 16; dgrams++) {
        uint8_t sel = fuzz_u8(&in);
        size_t len = fuzz_u16(&in) % 2049, got;
        const uint8_t *b = fuzz_bytes(&in, len, &got);
        int srv = sel & 1, att = (sel >> 1) & 1;
        (void)sendto(attackers[att], b, got, 0, (struct sockaddr *)&server_addr[srv],
                     sizeof server_addr[srv]);
        drain(servers[srv]);
    }
    return 0;
}

/* Seeds: a real ClientHello of each version (a facade client's first
 * datagram, caught on a kernel socket), alone and twice in a row. */
void fuzz_seeds(const char *dir)
{
    credentials();
    const int protos[2] = {IPPROTO_DTLS_1_2, IPPROTO_DTLS_1_3};
    for (int i = 0; i < 2; i++) {
        int catcher = socket(AF_INET, SOCK_DGRAM, 0);
        struct sockaddr_in a = loopback(0);
        socklen_t al = sizeof a;
        FUZZ_ASSERT(bind(catcher, (struct sockaddr *)&a, sizeof a) == 0 &&
                        getsockname(catcher, (struct sockaddr *)&a, &al) == 0,
                    "catcher");
        int c = dtls_socket(protos[i], false);
        int nb = 1;
        zsock_ioctl(c, ZFD_IOCTL_FIONBIO, &nb);
        (void)zsock_connect(c, (struct sockaddr *)&a, sizeof a); /* EINPROGRESS: sent */
        uint8_t hello[2048];
        struct timeval tv = {2, 0};
        setsockopt(catcher, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        ssize_t n = recv(catcher, hello, sizeof hello, 0);
        FUZZ_ASSERT(n > 0, "no ClientHello caught: errno %d", errno);
        uint8_t seed[2 * (3 + sizeof hello)];
        size_t pos = 0;
        for (int k = 0; k < 2; k++) {
            seed[pos++] = (uint8_t)(i | (k << 1));
            seed[pos++] = (uint8_t)(n >> 8);
            seed[pos++] = (uint8_t)n;
            memcpy(seed + pos, hello, (size_t)n);
            pos += (size_t)n;
            char name[32];
            snprintf(name, sizeof name, "%s-hello-x%d", i ? "dtls13" : "dtls12", k + 1);
            fuzz_seed_write(dir, name, seed, pos);
        }
        zsock_close(c);
        close(catcher);
    }
}
