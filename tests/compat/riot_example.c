/*
 * RIOT's examples/dtls-sock (dtls-client.c, dtls-server.c) as a test: the
 * example's client and server, their credentials and callbacks, unchanged
 * but for RIOT's shell and threads (a pthread server, the client in main)
 * and the address (::1).  It includes no host socket header, so it sees
 * RIOT's own address family numbers, as on RIOT.  PSK, then ECC with both
 * of the server's keys (the example's `dtlss ecc 0|1`).
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define CONFIG_CREDMAN_MAX_CREDENTIALS 4 /* the example's Makefile: client and server in one image */
#define DTLS_DEFAULT_PORT 20220
#define US_PER_SEC 1000000LU

#include "net/credman.h"
#include "net/sock/dtls.h"
#include "net/sock/dtls/creds.h"
#include "net/sock/udp.h"
#include "net/sock/util.h"

#include "riot/keys.h"

_Static_assert(AF_INET6 == 4 && AF_INET == 3, "RIOT's own address family numbers");

#define SOCK_DTLS_CLIENT_TAG_0 (2)
#define SOCK_DTLS_CLIENT_TAG_1 (3)
#define SOCK_DTLS_SERVER_TAG_0 (10)
#define SOCK_DTLS_SERVER_TAG_1 (11)
#define SERVER_PSK_IDENTITY_HINT "Prefer_Id_1"

static int failures, client_ok, server_received, server_connected;
#define CHECK(c, ...)                                                                             \
    do {                                                                                          \
        if (!(c)) {                                                                               \
            printf("FAIL %d: ", __LINE__);                                                        \
            printf(__VA_ARGS__);                                                                  \
            printf("\n");                                                                         \
            failures++;                                                                           \
        }                                                                                         \
    } while (0)

/* ---- the example's credentials ---------------------------------------------------- */

static const char psk_id_0[] = "Identity_0", psk_key_0[] = "secretPSK", psk_id_0_hint[] = "Prefer_Id_0";
static const char psk_id_1[] = "Identity_1", psk_key_1[] = "yetAnotherSecret",
                  psk_id_1_hint[] = "Prefer_Id_1";
static ecdsa_public_key_t known_server_public_keys[] = {{server0_x, server0_y}, {server1_x, server1_y}};
static ecdsa_public_key_t known_client_public_keys[] = {{client0_x, client0_y}};

static bool ecc;
static int _ecc_credential; /* the server's `dtlss ecc 0|1` */

static void add_credentials(void)
{
    if (!ecc) {
        credman_credential_t c0 = {.type = CREDMAN_TYPE_PSK, .tag = SOCK_DTLS_CLIENT_TAG_0,
                                   .params.psk = {.key = {psk_key_0, sizeof psk_key_0 - 1},
                                                  .id = {psk_id_0, sizeof psk_id_0 - 1},
                                                  .hint = {psk_id_0_hint, sizeof psk_id_0_hint - 1}}};
        credman_credential_t c1 = {.type = CREDMAN_TYPE_PSK, .tag = SOCK_DTLS_CLIENT_TAG_1,
                                   .params.psk = {.key = {psk_key_1, sizeof psk_key_1 - 1},
                                                  .id = {psk_id_1, sizeof psk_id_1 - 1},
                                                  .hint = {psk_id_1_hint, sizeof psk_id_1_hint - 1}}};
        credman_credential_t s0 = {.type = CREDMAN_TYPE_PSK, .tag = SOCK_DTLS_SERVER_TAG_0,
                                   .params.psk = {.key = {psk_key_1, sizeof psk_key_1 - 1},
                                                  .id = {psk_id_1, sizeof psk_id_1 - 1}}};
        CHECK(credman_add(&c0) == CREDMAN_OK && credman_add(&c1) == CREDMAN_OK &&
                  credman_add(&s0) == CREDMAN_OK,
              "PSK credentials");
    } else {
        credman_credential_t c = {.type = CREDMAN_TYPE_ECDSA, .tag = SOCK_DTLS_CLIENT_TAG_0,
                                  .params.ecdsa = {.private_key = client0_priv,
                                                   .public_key = {client0_x, client0_y},
                                                   .client_keys = known_server_public_keys,
                                                   .client_keys_size = 2}};
        credman_credential_t s0 = {.type = CREDMAN_TYPE_ECDSA, .tag = SOCK_DTLS_SERVER_TAG_0,
                                   .params.ecdsa = {.private_key = server0_priv,
                                                    .public_key = {server0_x, server0_y},
                                                    .client_keys = known_client_public_keys,
                                                    .client_keys_size = 1}};
        credman_credential_t s1 = s0;
        s1.tag = SOCK_DTLS_SERVER_TAG_1;
        s1.params.ecdsa.private_key = server1_priv;
        s1.params.ecdsa.public_key = (ecdsa_public_key_t){server1_x, server1_y};
        CHECK(credman_add(&c) == CREDMAN_OK && credman_add(&s0) == CREDMAN_OK &&
                  credman_add(&s1) == CREDMAN_OK,
              "ECC credentials");
    }
}

/* ---- the example's server (dtls-server.c) ------------------------------------------ */

static volatile bool active;
static pthread_mutex_t up_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t up_cond = PTHREAD_COND_INITIALIZER;
static bool up;

static credman_tag_t _rpk_cb(sock_dtls_t *sock, sock_udp_ep_t *ep, credman_tag_t tags[],
                             unsigned tags_len)
{
    (void)sock, (void)ep, (void)tags, (void)tags_len;
    return _ecc_credential ? SOCK_DTLS_SERVER_TAG_1 : SOCK_DTLS_SERVER_TAG_0;
}

static void *dtls_server_wrapper(void *arg)
{
    (void)arg;
    ssize_t res;
    char rcv[512];
    sock_dtls_t sock;
    sock_udp_t udp_sock;
    sock_udp_ep_t local = SOCK_IPV6_EP_ANY;
    local.port = DTLS_DEFAULT_PORT;
    CHECK(sock_udp_create(&udp_sock, &local, NULL, 0) == 0, "server UDP sock");
    res = sock_dtls_create(&sock, &udp_sock, SOCK_DTLS_SERVER_TAG_0, SOCK_DTLS_1_2,
                           SOCK_DTLS_SERVER);
    CHECK(res == 0, "Error creating DTLS sock");
    if (ecc) {
        CHECK(sock_dtls_add_credential(&sock, SOCK_DTLS_SERVER_TAG_1) == 0, "add credential");
        sock_dtls_set_rpk_cb(&sock, _rpk_cb);
    } else {
        CHECK(sock_dtls_set_server_psk_id_hint(&sock, SERVER_PSK_IDENTITY_HINT) == 0, "hint");
    }
    pthread_mutex_lock(&up_lock);
    up = true;
    pthread_cond_signal(&up_cond);
    pthread_mutex_unlock(&up_lock);
    while (active) {
        sock_dtls_session_t session = {0};
        res = sock_dtls_recv(&sock, &session, rcv, sizeof(rcv), US_PER_SEC / 5);
        if (res >= 0) {
            printf("Received %zd bytes -- (echo)\n", res);
            server_received++;
            res = sock_dtls_send(&sock, &session, rcv, (size_t)res, 0);
            if (res < 0)
                printf("Error resending DTLS message: %zd\n", res);
            sock_dtls_session_destroy(&sock, &session);
        } else if (res == -SOCK_DTLS_HANDSHAKE) {
            printf("New client connected\n");
            server_connected++;
        }
    }
    sock_dtls_close(&sock);
    sock_udp_close(&udp_sock);
    puts("Terminating");
    return NULL;
}

/* ---- the example's client (dtls-client.c) ------------------------------------------- */

static credman_tag_t _client_psk_cb(sock_dtls_t *sock, sock_udp_ep_t *ep, credman_tag_t tags[],
                                    unsigned tags_len, const char *hint, size_t hint_len)
{
    (void)sock, (void)tags, (void)tags_len;
    char addr[IPV6_ADDR_MAX_STR_LEN];
    uint16_t port;
    sock_udp_ep_fmt(ep, addr, &port);
    printf("From [%s]:%u\n", addr, port);
    /* The example compares with the hint's sizeof (its NUL counted): never
     * equal, so the sock's own hint matching decides. */
    if (hint && hint_len) {
        printf("Client got hint: %.*s\n", (int)hint_len, hint);
        if (hint_len == sizeof(psk_id_0_hint) && !memcmp(hint, psk_id_0_hint, hint_len))
            return SOCK_DTLS_CLIENT_TAG_0;
        if (hint_len == sizeof(psk_id_1_hint) && !memcmp(hint, psk_id_1_hint, hint_len))
            return SOCK_DTLS_CLIENT_TAG_1;
    }
    return CREDMAN_TAG_EMPTY;
}

static int client_send(const char *addr_str, const char *data, size_t datalen)
{
    ssize_t res;
    sock_udp_t udp_sock;
    sock_dtls_t dtls_sock;
    sock_dtls_session_t session;
    sock_udp_ep_t remote = SOCK_IPV6_EP_ANY;
    sock_udp_ep_t local = SOCK_IPV6_EP_ANY;
    local.port = 12345;
    remote.port = DTLS_DEFAULT_PORT;
    uint8_t buf[DTLS_HANDSHAKE_BUFSIZE];
    if (!ipv6_addr_from_str((ipv6_addr_t *)remote.addr.ipv6, addr_str)) {
        puts("Error parsing destination address");
        return -1;
    }
    if (sock_udp_create(&udp_sock, &local, NULL, 0) < 0) {
        puts("Error creating UDP sock");
        return -1;
    }
    if (sock_dtls_create(&dtls_sock, &udp_sock, SOCK_DTLS_CLIENT_TAG_0, SOCK_DTLS_1_2,
                         SOCK_DTLS_CLIENT) < 0) {
        puts("Error creating DTLS sock");
        sock_udp_close(&udp_sock);
        return -1;
    }
    if (!ecc) {
        if (sock_dtls_add_credential(&dtls_sock, SOCK_DTLS_CLIENT_TAG_1) < 0) {
            puts("Error cannot add second PSK credential");
            return -1;
        }
        sock_dtls_set_client_psk_cb(&dtls_sock, _client_psk_cb);
    }
    res = sock_dtls_session_init(&dtls_sock, &remote, &session);
    if (res <= 0) {
        sock_dtls_close(&dtls_sock);
        sock_udp_close(&udp_sock);
        return (int)res;
    }
    res = sock_dtls_recv(&dtls_sock, &session, buf, sizeof(buf), 5 * US_PER_SEC);
    if (res != -SOCK_DTLS_HANDSHAKE) {
        printf("Error creating session: %zd\n", res);
        sock_dtls_close(&dtls_sock);
        sock_udp_close(&udp_sock);
        return -1;
    }
    printf("Connection to server successful\n");
    if (sock_dtls_send(&dtls_sock, &session, data, datalen, 0) < 0) {
        puts("Error sending data");
    } else {
        printf("Sent DTLS message\n");
        res = sock_dtls_recv(&dtls_sock, &session, buf, sizeof(buf), 5 * US_PER_SEC);
        if (res >= 0) {
            printf("Received %zd bytes: \"%.*s\"\n", res, (int)res, (char *)buf);
            if ((size_t)res == datalen && memcmp(buf, data, datalen) == 0)
                client_ok++;
        }
    }
    puts("Terminating");
    sock_dtls_session_destroy(&dtls_sock, &session);
    sock_dtls_close(&dtls_sock);
    sock_udp_close(&udp_sock);
    return 0;
}

static void run(bool use_ecc, int ecc_credential)
{
    ecc = use_ecc;
    _ecc_credential = ecc_credential;
    credman_reset();
    add_credentials();
    client_ok = server_received = server_connected = 0;
    active = true;
    up = false;
    pthread_t t;
    pthread_create(&t, NULL, dtls_server_wrapper, NULL);
    pthread_mutex_lock(&up_lock);
    while (!up)
        pthread_cond_wait(&up_cond, &up_lock);
    pthread_mutex_unlock(&up_lock);
    const char msg[] = "Hello from the RIOT example";
    CHECK(client_send("::1", msg, sizeof msg - 1) == 0, "client_send");
    active = false;
    pthread_join(t, NULL);
    CHECK(client_ok == 1 && server_connected == 1 && server_received == 1,
          "%s %d: client %d, server connected %d, received %d", use_ecc ? "ECC" : "PSK",
          ecc_credential, client_ok, server_connected, server_received);
}

int main(void)
{
    run(false, 0);
    run(true, 0);
    run(true, 1);
    printf("riot_example: %d failures\n", failures);
    return failures ? 1 : 0;
}
