/*
 * FreeRTOS Secure Sockets (facade/compat, iot_secure_sockets.h) in the style
 * of the library's qualification tests (Full_TCP): each case runs against a
 * plain TCP echo server (a thread here, on the kernel's sockets) and, as
 * SECURE_, against a TLS echo server on OpenSSL (socat OPENSSL-LISTEN ...
 * PIPE: byte-wise; gnutls-serv --echo waits for whole lines) with the test
 * PKI, over loopback.
 *
 *   freertos_tcp CERT_DIR
 *
 * Covered: invalid parameters and wrong states (exact codes), connect with
 * odd address lengths, receive timeouts (30 / 100 / 1000 ms: never early,
 * at most 200 ms late, the connection usable after), non-blocking, varied
 * lengths, byte-by-byte receive, two secure connections at once, one
 * socket from two threads (a blocked receive never holds up a send),
 * shutdown, close, the wakeup callback, host names, the byte-order macros,
 * a wrong CA, a wrong name, a refused connection, and the library's
 * documented example (vConnectToServerWithSecureSocket).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "aws_secure_sockets.h" /* the old name: the same API */
#include "peers.h"
#include "iot_secure_sockets.h"


static char ca_pem[8192];
static size_t ca_len; /* with its NUL, as the option wants */
static char other_ca_pem[8192];
static size_t other_ca_len;
static uint16_t plain_port;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- helpers in the tests' style ---------------------------------------------- */

static SocketsSockaddr_t echo_addr(bool secure)
{
    SocketsSockaddr_t a;
    memset(&a, 0xa5, sizeof a); /* ucLength and ucSocketDomain left as garbage */
    a.usPort = SOCKETS_htons(secure ? tls_port : plain_port);
    a.ulAddress = SOCKETS_inet_addr_quick(127, 0, 0, 1);
    return a;
}

static int32_t set_secure(Socket_t s)
{
    int32_t rc = SOCKETS_SetSockOpt(s, 0, SOCKETS_SO_REQUIRE_TLS, NULL, 0);
    if (rc == 0)
        rc = SOCKETS_SetSockOpt(s, 0, SOCKETS_SO_TRUSTED_SERVER_CERTIFICATE, ca_pem, ca_len);
    return rc;
}

static Socket_t connect_echo(bool secure, TickType_t timeout_ms)
{
    Socket_t s = SOCKETS_Socket(SOCKETS_AF_INET, SOCKETS_SOCK_STREAM, SOCKETS_IPPROTO_TCP);
    CHECK(s != SOCKETS_INVALID_SOCKET, "socket");
    if (s == SOCKETS_INVALID_SOCKET)
        return s;
    TickType_t t = pdMS_TO_TICKS(timeout_ms);
    if (secure)
        CHECK(set_secure(s) == SOCKETS_ERROR_NONE, "TLS options");
    CHECK(SOCKETS_SetSockOpt(s, 0, SOCKETS_SO_RCVTIMEO, &t, sizeof t) == 0, "RCVTIMEO");
    CHECK(SOCKETS_SetSockOpt(s, 0, SOCKETS_SO_SNDTIMEO, &t, sizeof t) == 0, "SNDTIMEO");
    SocketsSockaddr_t a = echo_addr(secure);
    int32_t rc = SOCKETS_Connect(s, &a, sizeof a);
    CHECK(rc == SOCKETS_ERROR_NONE, "connect (%s): %d", secure ? "TLS" : "plain", (int)rc);
    return s;
}

static void fill(uint8_t *b, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)(i * 7 + seed * 13 + 1);
}

static bool send_all(Socket_t s, const uint8_t *b, size_t n)
{
    for (size_t done = 0; done < n;) {
        int32_t r = SOCKETS_Send(s, b + done, n - done, 0);
        if (r <= 0)
            return false;
        done += (size_t)r;
    }
    return true;
}

/* Receive n bytes in chunks of at most `chunk`; a timeout (0) is waited out
 * up to a deadline; nothing past the returned count is written. */
static bool recv_all(Socket_t s, uint8_t *b, size_t n, size_t chunk)
{
    int64_t end = now_ms() + 10000;
    for (size_t done = 0; done < n;) {
        size_t want = n - done < chunk ? n - done : chunk;
        int32_t r = SOCKETS_Recv(s, b + done, want, 0);
        if (r < 0 && r != SOCKETS_EWOULDBLOCK)
            return false;
        if (r > (int32_t)want)
            return false;
        if (r > 0)
            done += (size_t)r;
        if (now_ms() > end)
            return false;
    }
    return true;
}

/* prvShutdownHelper: shut down, receive until the end shows as an error. */
static void shutdown_close(Socket_t s)
{
    uint8_t b[256];
    CHECK(SOCKETS_Shutdown(s, SOCKETS_SHUT_RDWR) == SOCKETS_ERROR_NONE, "shutdown");
    int32_t r;
    int64_t end = now_ms() + 15000;
    do
        r = SOCKETS_Recv(s, b, sizeof b, 0);
    while (r >= 0 && now_ms() < end);
    CHECK(r < 0, "after shutdown, receive ends in an error (%d)", (int)r);
    CHECK(SOCKETS_Close(s) == SOCKETS_ERROR_NONE, "close");
}

/* ---- the cases ------------------------------------------------------------------- */

static void socket_cases(void)
{
    CHECK(SOCKETS_Init() == pdPASS, "SOCKETS_Init");
    Socket_t s = SOCKETS_Socket(SOCKETS_AF_INET, SOCKETS_SOCK_STREAM, SOCKETS_IPPROTO_TCP);
    CHECK(s != SOCKETS_INVALID_SOCKET, "Socket_TCP");
    CHECK(SOCKETS_Close(s) == SOCKETS_ERROR_NONE, "close");
    /* Socket_InvalidInputParams: every odd combination is refused. */
    const int32_t bad[][3] = {
        {SOCKETS_AF_INET + 1, SOCKETS_SOCK_STREAM, SOCKETS_IPPROTO_TCP},
        {SOCKETS_AF_INET, SOCKETS_SOCK_STREAM | SOCKETS_SOCK_DGRAM, SOCKETS_IPPROTO_TCP},
        {SOCKETS_AF_INET, SOCKETS_SOCK_STREAM, SOCKETS_IPPROTO_TCP | SOCKETS_IPPROTO_UDP},
        {SOCKETS_AF_INET, SOCKETS_SOCK_DGRAM, SOCKETS_IPPROTO_UDP},
        {SOCKETS_AF_INET, SOCKETS_SOCK_DGRAM, SOCKETS_IPPROTO_TCP},
        {SOCKETS_AF_INET, SOCKETS_SOCK_STREAM, SOCKETS_IPPROTO_UDP},
        {SOCKETS_AF_INET6, SOCKETS_SOCK_STREAM, SOCKETS_IPPROTO_TCP},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK(SOCKETS_Socket(bad[i][0], bad[i][1], bad[i][2]) == SOCKETS_INVALID_SOCKET,
              "invalid socket parameters %zu accepted", i);
    /* Socket_ConcurrentCount. */
    Socket_t many[5];
    for (int i = 0; i < 5; i++) {
        many[i] = SOCKETS_Socket(SOCKETS_AF_INET, SOCKETS_SOCK_STREAM, SOCKETS_IPPROTO_TCP);
        CHECK(many[i] != SOCKETS_INVALID_SOCKET, "socket %d of 5", i);
    }
    for (int i = 0; i < 5; i++)
        CHECK(SOCKETS_Close(many[i]) == SOCKETS_ERROR_NONE, "close %d", i);
    /* CloseInvalidParams, and a handle closed already. */
    CHECK(SOCKETS_Close(SOCKETS_INVALID_SOCKET) == SOCKETS_EINVAL, "close INVALID");
    CHECK(SOCKETS_Close(many[0]) == SOCKETS_EINVAL, "close twice");
    CHECK(SOCKETS_Send(many[1], "x", 1, 0) == SOCKETS_EINVAL, "send on a closed handle");
    uint8_t b;
    CHECK(SOCKETS_Recv(many[2], &b, 1, 0) == SOCKETS_EINVAL, "recv on a closed handle");
    printf("ok socket, invalid parameters, concurrent count, close\n");
}

static void connect_cases(bool secure)
{
    Socket_t s = SOCKETS_Socket(SOCKETS_AF_INET, SOCKETS_SOCK_STREAM, SOCKETS_IPPROTO_TCP);
    SocketsSockaddr_t a = echo_addr(false);
    CHECK(SOCKETS_Connect(SOCKETS_INVALID_SOCKET, &a, sizeof a) < 0, "connect INVALID");
    a.ulAddress = SOCKETS_inet_addr_quick(0, 0, 0, 0);
    CHECK(SOCKETS_Connect(s, &a, sizeof a) < 0, "connect to 0.0.0.0");
    a = echo_addr(false);
    a.usPort = SOCKETS_htons(0);
    CHECK(SOCKETS_Connect(s, &a, sizeof a) < 0, "connect to port 0");
    CHECK(SOCKETS_Connect(s, NULL, 0) == SOCKETS_EINVAL, "connect NULL");
    CHECK(SOCKETS_Close(s) == SOCKETS_ERROR_NONE, "close after failed connects");
    /* Connect_InvalidAddressLength: the lengths are ignored. */
    for (int i = 0; i < 2; i++) {
        s = SOCKETS_Socket(SOCKETS_AF_INET, SOCKETS_SOCK_STREAM, SOCKETS_IPPROTO_TCP);
        if (secure)
            CHECK(set_secure(s) == 0, "TLS options");
        a = echo_addr(secure);
        a.ucLength = i ? 100 : 0;
        int32_t rc = SOCKETS_Connect(s, &a, i ? 100 : 0);
        CHECK(rc == SOCKETS_ERROR_NONE, "connect with address length %d: %d", i ? 100 : 0, (int)rc);
        CHECK(SOCKETS_Connect(s, &a, sizeof a) == SOCKETS_EISCONN, "connect twice");
        shutdown_close(s);
    }
    /* A connection refused: a port nobody listens on. */
    int fd;
    uint16_t dead = listen_any(&fd);
    close(fd);
    s = SOCKETS_Socket(SOCKETS_AF_INET, SOCKETS_SOCK_STREAM, SOCKETS_IPPROTO_TCP);
    if (secure)
        set_secure(s);
    a = echo_addr(secure);
    a.usPort = SOCKETS_htons(dead);
    CHECK(SOCKETS_Connect(s, &a, sizeof a) == SOCKETS_SOCKET_ERROR, "connection refused");
    CHECK(SOCKETS_SetSockOpt(s, 0, SOCKETS_SO_REQUIRE_TLS, NULL, 0) == SOCKETS_EISCONN,
          "TLS option after a failed connect");
    CHECK(SOCKETS_Close(s) == SOCKETS_ERROR_NONE, "close");
    printf("ok %sconnect: invalid parameters, address lengths, twice, refused\n",
           secure ? "SECURE_" : "");
}

static void io_invalid_cases(bool secure)
{
    uint8_t buf[300] = {0};
    Socket_t s = connect_echo(secure, 2000);
    CHECK(SOCKETS_Send(SOCKETS_INVALID_SOCKET, buf, 300, 0) < 0, "send INVALID");
    CHECK(SOCKETS_Send(s, NULL, 300, 0) == SOCKETS_EINVAL, "send NULL");
    CHECK(SOCKETS_Send(s, buf, 0, 0) == SOCKETS_EINVAL, "send 0 bytes");
    CHECK(SOCKETS_Recv(s, NULL, 100, 0) == SOCKETS_EINVAL, "recv NULL");
    CHECK(SOCKETS_Recv(SOCKETS_INVALID_SOCKET, buf, 100, 0) < 0, "recv INVALID");
    /* SetSockOpt_InvalidParams. */
    CHECK(SOCKETS_SetSockOpt(s, 0, -1, NULL, 0) == SOCKETS_ENOPROTOOPT, "unknown option");
    TickType_t t = 100;
    CHECK(SOCKETS_SetSockOpt(SOCKETS_INVALID_SOCKET, 0, SOCKETS_SO_RCVTIMEO, &t, sizeof t) ==
              SOCKETS_EINVAL,
          "option on INVALID");
    CHECK(SOCKETS_SetSockOpt(s, 0, SOCKETS_SO_RCVTIMEO, NULL, sizeof t) == SOCKETS_EINVAL,
          "RCVTIMEO NULL");
    /* SetSecureOptionsAfterConnect. */
    const char *alpn[] = {socketsAWS_IOT_ALPN_MQTT};
    CHECK(SOCKETS_SetSockOpt(s, 0, SOCKETS_SO_REQUIRE_TLS, NULL, 0) == SOCKETS_EISCONN,
          "REQUIRE_TLS after connect");
    CHECK(SOCKETS_SetSockOpt(s, 0, SOCKETS_SO_ALPN_PROTOCOLS, alpn, 1) == SOCKETS_EISCONN,
          "ALPN after connect");
    CHECK(SOCKETS_SetSockOpt(s, 0, SOCKETS_SO_SERVER_NAME_INDICATION, "localhost", 10) ==
              SOCKETS_EISCONN,
          "SNI after connect");
    CHECK(SOCKETS_SetSockOpt(s, 0, SOCKETS_SO_TRUSTED_SERVER_CERTIFICATE, ca_pem, ca_len) ==
              SOCKETS_EISCONN,
          "CA after connect");
    shutdown_close(s);
    /* Recv_On_Unconnected_Socket, Send on one, NonBlockingConnect,
     * ShutdownInvalidParams. */
    Socket_t other = connect_echo(secure, 2000);
    CHECK(SOCKETS_Send(other, "a", 1, 0) == 1, "send 1 byte");
    Socket_t u = SOCKETS_Socket(SOCKETS_AF_INET, SOCKETS_SOCK_STREAM, SOCKETS_IPPROTO_TCP);
    CHECK(SOCKETS_Recv(u, buf, 1, 0) == SOCKETS_ENOTCONN, "recv on an unconnected socket");
    CHECK(SOCKETS_Send(u, buf, 300, 0) == SOCKETS_ENOTCONN, "send on an unconnected socket");
    uint32_t one = 1;
    CHECK(SOCKETS_SetSockOpt(u, 0, SOCKETS_SO_NONBLOCK, &one, sizeof one) < 0,
          "NONBLOCK before connect");
    CHECK(SOCKETS_Shutdown(u, ~0u) != SOCKETS_ERROR_NONE, "shutdown with a bad how");
    CHECK(SOCKETS_Shutdown(u, SOCKETS_SHUT_RDWR) == SOCKETS_ENOTCONN, "shutdown unconnected");
    CHECK(SOCKETS_Shutdown(SOCKETS_INVALID_SOCKET, SOCKETS_SHUT_RDWR) == SOCKETS_EINVAL,
          "shutdown INVALID");
    CHECK(SOCKETS_Close(u) == SOCKETS_ERROR_NONE, "close unconnected");
    shutdown_close(other);
    printf("ok %ssend/recv/setsockopt/shutdown: invalid parameters and states\n",
           secure ? "SECURE_" : "");
}

static void rcvtimeo_case(bool secure)
{
    Socket_t s = connect_echo(secure, 2000);
    const TickType_t timeouts[] = {30, 100, 1000};
    for (size_t i = 0; i < 3; i++) {
        TickType_t t = pdMS_TO_TICKS(timeouts[i]);
        CHECK(SOCKETS_SetSockOpt(s, 0, SOCKETS_SO_RCVTIMEO, &t, sizeof t) == 0, "RCVTIMEO");
        uint8_t b;
        int64_t t0 = now_ms();
        int32_t r = SOCKETS_Recv(s, &b, 1, 0);
        int64_t took = now_ms() - t0;
        CHECK(r == 0, "a timeout returns 0 (%d)", (int)r);
        CHECK(took >= (int64_t)timeouts[i] && took <= (int64_t)timeouts[i] + 200,
              "timeout %lu ms took %lld ms", timeouts[i], (long long)took);
    }
    /* The connection (and TLS session) goes on after timeouts. */
    uint8_t out[100], in[100];
    fill(out, sizeof out, 3);
    CHECK(send_all(s, out, sizeof out) && recv_all(s, in, sizeof in, sizeof in) &&
              memcmp(in, out, sizeof in) == 0,
          "echo after the timeouts");
    shutdown_close(s);
    printf("ok %sreceive timeouts 30/100/1000 ms: never early, <= 200 ms late, usable after\n",
           secure ? "SECURE_" : "");
}

static void nonblocking_case(bool secure)
{
    Socket_t s = connect_echo(secure, 2000);
    TickType_t zero = 0;
    CHECK(SOCKETS_SetSockOpt(s, 0, SOCKETS_SO_NONBLOCK, &zero, sizeof zero) == 0, "NONBLOCK");
    uint8_t b[1200], in[1200];
    int64_t t0 = now_ms();
    int32_t r = SOCKETS_Recv(s, b, 1, 0);
    CHECK(r == 0 && now_ms() - t0 < 200, "nothing there: 0 at once (%d)", (int)r);
    fill(b, sizeof b, 9);
    CHECK(send_all(s, b, sizeof b), "non-blocking send");
    memset(in, 0, sizeof in);
    size_t got = 0;
    int64_t end = now_ms() + 2000;
    while (got < sizeof in && now_ms() < end) {
        r = SOCKETS_Recv(s, in + got, sizeof in - got, 0);
        if (r < 0)
            break;
        got += (size_t)r;
    }
    CHECK(got == sizeof in && memcmp(in, b, sizeof in) == 0, "the echo: %zu bytes", got);
    shutdown_close(s);
    printf("ok %snon-blocking\n", secure ? "SECURE_" : "");
}

static void lengths_case(bool secure)
{
    static uint8_t out[3000], in[3000];
    Socket_t s = connect_echo(secure, 5000);
    /* Varied lengths, then 3000 bytes received one byte at a time. */
    for (size_t len = 1; len <= 3000; len = len * 3 + 7) {
        fill(out, len, (unsigned)len);
        memset(in, 0, sizeof in);
        CHECK(send_all(s, out, len) && recv_all(s, in, len, len) && memcmp(in, out, len) == 0,
              "%zu bytes echoed", len);
        CHECK(in[len] == 0 || len == sizeof in, "nothing written past %zu", len);
    }
    fill(out, sizeof out, 77);
    CHECK(send_all(s, out, sizeof out) && recv_all(s, in, sizeof in, 1) &&
              memcmp(in, out, sizeof in) == 0,
          "3000 bytes received byte by byte");
    shutdown_close(s);
    printf("ok %svaried lengths, byte-by-byte receive\n", secure ? "SECURE_" : "");
}

static void two_connections_case(void)
{
    Socket_t a = connect_echo(true, 5000), b = connect_echo(true, 5000);
    uint8_t oa[1000], ob[1000], ia[1000], ib[1000];
    fill(oa, sizeof oa, 1);
    fill(ob, sizeof ob, 2);
    CHECK(send_all(a, oa, sizeof oa) && send_all(b, ob, sizeof ob), "send on both");
    CHECK(recv_all(b, ib, sizeof ib, 300) && recv_all(a, ia, sizeof ia, 300), "receive on both");
    CHECK(memcmp(ia, oa, sizeof ia) == 0 && memcmp(ib, ob, sizeof ib) == 0, "each its own echo");
    shutdown_close(a);
    shutdown_close(b);
    printf("ok SECURE_ two connections at once\n");
}

/* Threadsafe_SameSocketDifferentTasks: one thread sends 3000 bytes (whole,
 * then one byte at a time) while the other is blocked receiving. */
static uint8_t big[3000];
struct tx_arg {
    Socket_t s;
    size_t chunk;
    bool ok;
};

static void *tx_main(void *arg)
{
    struct tx_arg *t = arg;
    t->ok = true;
    for (size_t done = 0; done < sizeof big && t->ok;) {
        size_t n = sizeof big - done < t->chunk ? sizeof big - done : t->chunk;
        int32_t r = SOCKETS_Send(t->s, big + done, n, 0);
        if (r < 0)
            t->ok = false;
        else
            done += (size_t)r;
    }
    return NULL;
}

static void threads_case(bool secure)
{
    fill(big, sizeof big, 5);
    for (int mode = 0; mode < 2; mode++) {
        Socket_t s = connect_echo(secure, 5000);
        struct tx_arg t = {.s = s, .chunk = mode ? 1 : sizeof big};
        pthread_t th;
        pthread_create(&th, NULL, tx_main, &t);
        static uint8_t in[3000];
        bool ok = recv_all(s, in, sizeof in, mode ? 1 : 256);
        pthread_join(th, NULL);
        CHECK(t.ok && ok && memcmp(in, big, sizeof in) == 0, "%s: two threads, chunks of %zu",
              secure ? "TLS" : "plain", t.chunk);
        shutdown_close(s);
    }
    printf("ok %sone socket, two threads (send while a receive waits)\n", secure ? "SECURE_" : "");
}

static void shutdown_cases(bool secure)
{
    uint8_t b;
    Socket_t s = connect_echo(secure, 1000);
    CHECK(SOCKETS_Shutdown(s, SOCKETS_SHUT_RD) == 0, "SHUT_RD");
    int32_t r;
    int64_t end = now_ms() + 5000;
    do
        r = SOCKETS_Recv(s, &b, 1, 0);
    while (r >= 0 && now_ms() < end);
    CHECK(r < 0, "receive after SHUT_RD ends in an error (%d)", (int)r);
    CHECK(SOCKETS_Close(s) == 0, "close");
    s = connect_echo(secure, 1000);
    CHECK(SOCKETS_Shutdown(s, SOCKETS_SHUT_WR) == 0, "SHUT_WR");
    CHECK(SOCKETS_Send(s, "x", 1, 0) < 0, "send after SHUT_WR fails (no SIGPIPE)");
    CHECK(SOCKETS_Close(s) == 0, "close");
    /* CloseWithoutReceiving. */
    s = connect_echo(secure, 1000);
    CHECK(SOCKETS_Send(s, big, sizeof big, 0) > 0, "send 3000");
    CHECK(SOCKETS_Close(s) == 0, "close without receiving");
    printf("ok %sshutdown RD / WR, close without receiving\n", secure ? "SECURE_" : "");
}

static atomic_int wakeups;
static Socket_t wakeup_socket;
static void on_wakeup(Socket_t s)
{
    if (s == wakeup_socket)
        atomic_fetch_add(&wakeups, 1);
}

static void wakeup_case(void)
{
    Socket_t s = connect_echo(true, 2000);
    wakeup_socket = s;
    CHECK(SOCKETS_SetSockOpt(s, 0, SOCKETS_SO_WAKEUP_CALLBACK, (void *)on_wakeup,
                             sizeof(void *)) == 0,
          "WAKEUP_CALLBACK");
    usleep(300 * 1000);
    CHECK(atomic_load(&wakeups) == 0, "no wakeup without data (%d)", atomic_load(&wakeups));
    CHECK(SOCKETS_Send(s, "ping", 4, 0) == 4, "send");
    for (int i = 0; i < 200 && atomic_load(&wakeups) == 0; i++)
        usleep(10 * 1000);
    CHECK(atomic_load(&wakeups) > 0, "the callback came with the echo");
    uint8_t b[4];
    CHECK(recv_all(s, b, 4, 4) && memcmp(b, "ping", 4) == 0, "the echo");
    CHECK(SOCKETS_SetSockOpt(s, 0, SOCKETS_SO_WAKEUP_CALLBACK, NULL, sizeof(void *)) == 0,
          "clear the callback");
    shutdown_close(s);
    printf("ok SECURE_ wakeup callback (%d calls)\n", atomic_load(&wakeups));
}

static void tls_failures(void)
{
    SocketsSockaddr_t a = echo_addr(true);
    /* TRUSTED_SERVER_CERTIFICATE: without it, the system's roots do not
     * know the test CA; with another CA, neither. */
    Socket_t s = SOCKETS_Socket(SOCKETS_AF_INET, SOCKETS_SOCK_STREAM, SOCKETS_IPPROTO_TCP);
    SOCKETS_SetSockOpt(s, 0, SOCKETS_SO_REQUIRE_TLS, NULL, 0);
    CHECK(SOCKETS_Connect(s, &a, sizeof a) == SOCKETS_TLS_HANDSHAKE_ERROR,
          "the system's roots do not trust the test CA");
    CHECK(SOCKETS_Send(s, "x", 1, 0) < 0, "no sending after a failed handshake");
    CHECK(SOCKETS_Close(s) == 0, "close");
    s = SOCKETS_Socket(SOCKETS_AF_INET, SOCKETS_SOCK_STREAM, SOCKETS_IPPROTO_TCP);
    SOCKETS_SetSockOpt(s, 0, SOCKETS_SO_REQUIRE_TLS, NULL, 0);
    SOCKETS_SetSockOpt(s, 0, SOCKETS_SO_TRUSTED_SERVER_CERTIFICATE, other_ca_pem, other_ca_len);
    CHECK(SOCKETS_Connect(s, &a, sizeof a) == SOCKETS_TLS_HANDSHAKE_ERROR, "a wrong CA");
    CHECK(SOCKETS_Close(s) == 0, "close");
    /* SERVER_NAME_INDICATION: the certificate's name (localhost) is
     * checked; a wrong one fails, set twice the last counts. */
    for (int right = 0; right < 2; right++) {
        s = SOCKETS_Socket(SOCKETS_AF_INET, SOCKETS_SOCK_STREAM, SOCKETS_IPPROTO_TCP);
        set_secure(s);
        static const char wrong[] = "localhost.invalid", good[] = "localhost";
        CHECK(SOCKETS_SetSockOpt(s, 0, SOCKETS_SO_SERVER_NAME_INDICATION, good, sizeof good) == 0,
              "SNI");
        if (!right)
            CHECK(SOCKETS_SetSockOpt(s, 0, SOCKETS_SO_SERVER_NAME_INDICATION, wrong,
                                     sizeof wrong - 1) == 0,
                  "SNI again");
        int32_t rc = SOCKETS_Connect(s, &a, sizeof a);
        CHECK(right ? rc == 0 : rc == SOCKETS_TLS_HANDSHAKE_ERROR, "SNI %s: %d",
              right ? good : wrong, (int)rc);
        if (right)
            shutdown_close(s);
        else
            CHECK(SOCKETS_Close(s) == 0, "close");
    }
    /* ALPN offered (the echo server has none: the handshake goes on). */
    s = SOCKETS_Socket(SOCKETS_AF_INET, SOCKETS_SOCK_STREAM, SOCKETS_IPPROTO_TCP);
    set_secure(s);
    const char *alpn[] = {"x-amzn-mqtt-ca", "http/1.1"};
    CHECK(SOCKETS_SetSockOpt(s, 0, SOCKETS_SO_ALPN_PROTOCOLS, alpn, 2) == 0, "ALPN");
    CHECK(SOCKETS_Connect(s, &a, sizeof a) == 0, "connect with ALPN");
    shutdown_close(s);
    printf("ok SECURE_ system roots, wrong CA, SNI and the name check, ALPN\n");
}

static void names_and_macros(void)
{
    CHECK(SOCKETS_GetHostByName("localhost") == SOCKETS_inet_addr_quick(127, 0, 0, 1),
          "localhost");
    CHECK(SOCKETS_GetHostByName("127.0.0.1") == SOCKETS_inet_addr_quick(127, 0, 0, 1),
          "a literal");
    char longname[300];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    CHECK(SOCKETS_GetHostByName(longname) == 0, "a name over 253 characters");
    CHECK(SOCKETS_GetHostByName("no-such-host.invalid") == 0, "an unknown name");
    CHECK(SOCKETS_GetHostByName(NULL) == 0, "NULL");
    CHECK(SOCKETS_htons(0x1234) == 0x3412, "htons");
    CHECK(SOCKETS_ntohl(SOCKETS_htonl(0x12345678u)) == 0x12345678u, "htonl");
    CHECK(SOCKETS_inet_addr_quick(192, 168, 2, 6) == 0x0602A8C0u, "inet_addr_quick");
    char s[16];
    SOCKETS_inet_ntoa(SOCKETS_inet_addr_quick(192, 168, 2, 6), s);
    CHECK(strcmp(s, "192.168.2.6") == 0, "inet_ntoa: %s", s);
    CHECK(pdMS_TO_TICKS(2000) == 2000 && configTICK_RATE_HZ == 1000, "a 1 kHz tick");
    printf("ok GetHostByName, byte-order macros, ticks\n");
}

/* The library's documented example (its user guide), as it is, against
 * the TLS echo server: connect, send "some message", shut down, close. */
static const TickType_t xReceiveTimeOut = pdMS_TO_TICKS(2000);
static const TickType_t xSendTimeOut = pdMS_TO_TICKS(2000);

static int vConnectToServerWithSecureSocket(void)
{
    Socket_t xSocket;
    SocketsSockaddr_t xEchoServerAddress;
    BaseType_t xTransmitted;

    xEchoServerAddress.usPort = SOCKETS_htons(tls_port);
    xEchoServerAddress.ulAddress = SOCKETS_inet_addr_quick(127, 0, 0, 1);
    xSocket = SOCKETS_Socket(SOCKETS_AF_INET, SOCKETS_SOCK_STREAM, SOCKETS_IPPROTO_TCP);
    configASSERT(xSocket != SOCKETS_INVALID_SOCKET);
    SOCKETS_SetSockOpt(xSocket, 0, SOCKETS_SO_RCVTIMEO, &xReceiveTimeOut, sizeof(xReceiveTimeOut));
    SOCKETS_SetSockOpt(xSocket, 0, SOCKETS_SO_SNDTIMEO, &xSendTimeOut, sizeof(xSendTimeOut));
    SOCKETS_SetSockOpt(xSocket, 0, SOCKETS_SO_REQUIRE_TLS, NULL, (size_t)0);
    SOCKETS_SetSockOpt(xSocket, 0, SOCKETS_SO_TRUSTED_SERVER_CERTIFICATE, ca_pem, ca_len);
    int result = -1;
    if (SOCKETS_Connect(xSocket, &xEchoServerAddress, sizeof(xEchoServerAddress)) == 0) {
        xTransmitted = SOCKETS_Send(xSocket, (void *)"some message", 12, 0);
        char back[12];
        if (xTransmitted == 12 && recv_all(xSocket, (uint8_t *)back, 12, 12) &&
            memcmp(back, "some message", 12) == 0)
            result = 0;
        SOCKETS_Shutdown(xSocket, SOCKETS_SHUT_RDWR);
    }
    SOCKETS_Close(xSocket);
    return result;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: freertos_tcp CERT_DIR\n");
        return 2;
    }
    signal(SIGPIPE, SIG_DFL); /* a send that raised SIGPIPE would kill us: it must not */
    /* PEM with its NUL counted, as SOCKETS_SO_TRUSTED_SERVER_CERTIFICATE wants. */
    ca_len = load_file(argv[1], "ca-cert.pem", ca_pem, sizeof ca_pem) + 1;
    other_ca_len = load_file(argv[1], "ca-ecc-cert.pem", other_ca_pem, sizeof other_ca_pem) + 1;
    int l;
    plain_port = listen_any(&l);
    pthread_t echo;
    pthread_create(&echo, NULL, echo_main, (void *)(intptr_t)l);
    pthread_detach(echo);
    start_tls_server(argv[1]);

    socket_cases();
    names_and_macros();
    for (int secure = 0; secure < 2; secure++) {
        connect_cases(secure);
        io_invalid_cases(secure);
        rcvtimeo_case(secure);
        nonblocking_case(secure);
        lengths_case(secure);
        threads_case(secure);
        shutdown_cases(secure);
    }
    two_connections_case();
    wakeup_case();
    tls_failures();
    CHECK(vConnectToServerWithSecureSocket() == 0, "the documented example");
    printf("ok the documented example (vConnectToServerWithSecureSocket)\n");

    kill(tls_pid, SIGTERM);
    waitpid(tls_pid, NULL, 0);
    printf("%s: %d failure(s)\n", failures ? "FAILED" : "passed", failures);
    return failures ? 1 : 0;
}
