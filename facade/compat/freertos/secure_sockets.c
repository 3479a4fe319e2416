/*
 * Amazon FreeRTOS Secure Sockets over the zsock facade (docs/COMPAT.md):
 * each Socket_t holds its options until SOCKETS_Connect(), which makes a
 * zsock socket - IPPROTO_TCP, or IPPROTO_TLS_1_2 with SOCKETS_SO_REQUIRE_TLS
 * (the TLS version FreeRTOS's mbedTLS layer speaks) - and connects it.
 * From then on send and receive are the facade's, whose TLS records are
 * the zrec engine's.
 *
 * Handles are checked against a registry of live sockets before use: a
 * closed or made-up handle gets SOCKETS_EINVAL, never a dereference.
 * Connect, SetSockOpt, Shutdown and Close on one socket are not to be
 * called at the same time (the library says so); Send and Recv may, from
 * two threads: the facade never holds a socket's lock while it waits.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zephyr/net/socket.h>
#include <zephyr/net/tls_credentials.h>

#include "iot_secure_sockets.h"

#define TAG_BASE 0x46520000       /* our sec tags: one per socket with its own CA */
#define SYSTEM_TAG (TAG_BASE - 1) /* the system's roots, loaded once */
#define SYSTEM_ROOTS "/etc/ssl/certs/ca-certificates.crt"
#define WAKEUP_POLL_MS 100
#define WAKEUP_GAP_MS 10 /* at most one wakeup per this while data waits unread */

struct xSOCKET {
    int fd; /* the zsock socket once connect was attempted, else -1 */
    bool connect_attempted, connected, require_tls;
    TickType_t rcv_ticks, snd_ticks; /* 0: forever */
    int sndbuf, rcvbuf;               /* 0: the system's */
    uint8_t *ca; /* SOCKETS_SO_TRUSTED_SERVER_CERTIFICATE, ours (the facade keeps a pointer) */
    sec_tag_t ca_tag; /* 0: none registered */
    char *sni;
    char **alpn; /* NULL-ended */
    size_t nalpn;
    void (*wakeup)(Socket_t);
    pthread_t wakeup_thread;
    atomic_bool wakeup_run;
    bool wakeup_started;
};

/* ---- live handles ------------------------------------------------------------ */

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct xSOCKET **live;
static size_t nlive, cap_live;

static bool reg_add(struct xSOCKET *s)
{
    pthread_mutex_lock(&reg_lock);
    bool ok = true;
    if (nlive == cap_live) {
        size_t cap = cap_live ? 2 * cap_live : 16;
        struct xSOCKET **n = realloc(live, cap * sizeof *n);
        if (n) {
            live = n;
            cap_live = cap;
        } else {
            ok = false;
        }
    }
    if (ok)
        live[nlive++] = s;
    pthread_mutex_unlock(&reg_lock);
    return ok;
}

static bool reg_has(const struct xSOCKET *s)
{
    if (s == NULL || s == SOCKETS_INVALID_SOCKET)
        return false;
    pthread_mutex_lock(&reg_lock);
    bool found = false;
    for (size_t i = 0; i < nlive && !found; i++)
        found = live[i] == s;
    pthread_mutex_unlock(&reg_lock);
    return found;
}

static bool reg_remove(struct xSOCKET *s)
{
    pthread_mutex_lock(&reg_lock);
    bool found = false;
    for (size_t i = 0; i < nlive; i++)
        if (live[i] == s) {
            live[i] = live[--nlive];
            found = true;
            break;
        }
    pthread_mutex_unlock(&reg_lock);
    return found;
}

/* ---- helpers ------------------------------------------------------------------ */

static struct zsock_timeval ticks_tv(TickType_t ticks)
{
    uint64_t ms = (uint64_t)ticks * 1000u / configTICK_RATE_HZ;
    return (struct zsock_timeval){.tv_sec = (long)(ms / 1000), .tv_usec = (long)(ms % 1000) * 1000};
}

static void apply_timeouts(struct xSOCKET *s)
{
    struct zsock_timeval r = ticks_tv(s->rcv_ticks), w = ticks_tv(s->snd_ticks);
    (void)zsock_setsockopt(s->fd, SOL_SOCKET, SO_RCVTIMEO, &r, sizeof r);
    (void)zsock_setsockopt(s->fd, SOL_SOCKET, SO_SNDTIMEO, &w, sizeof w);
    if (s->sndbuf > 0)
        (void)zsock_setsockopt(s->fd, SOL_SOCKET, SO_SNDBUF, &s->sndbuf, sizeof s->sndbuf);
    if (s->rcvbuf > 0)
        (void)zsock_setsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &s->rcvbuf, sizeof s->rcvbuf);
}

/* The system's roots as one CA credential, read once: the default trust
 * of a socket with no SOCKETS_SO_TRUSTED_SERVER_CERTIFICATE.  Kept for the
 * process's life (the facade does not copy credentials).  0: none (then no
 * server verifies). */
static sec_tag_t roots_tag;
static char *roots_pem;

static void load_roots(void)
{
    FILE *f = fopen(SYSTEM_ROOTS, "rb");
    if (f == NULL)
        return;
    size_t cap = 1 << 20, n = 0;
    char *buf = malloc(cap + 1);
    while (buf && !feof(f) && !ferror(f) && n < cap)
        n += fread(buf + n, 1, cap - n, f);
    fclose(f);
    if (buf == NULL || n == 0 || n == cap) {
        free(buf);
        return;
    }
    buf[n] = '\0';
    if (tls_credential_add(SYSTEM_TAG, TLS_CREDENTIAL_CA_CERTIFICATE, buf, n + 1) == 0) {
        roots_pem = buf;
        roots_tag = SYSTEM_TAG;
    } else {
        free(buf);
    }
}

static sec_tag_t system_roots(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, load_roots);
    return roots_tag;
}

static void free_alpn(struct xSOCKET *s)
{
    for (size_t i = 0; s->alpn && i < s->nalpn; i++)
        free(s->alpn[i]);
    free(s->alpn);
    s->alpn = NULL;
    s->nalpn = 0;
}

/* ---- the wakeup callback --------------------------------------------------------- */

static void sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

/* Calls the socket's callback whenever there is something to read (data,
 * or the end of the connection), with the handle the application has; at
 * most once per WAKEUP_GAP_MS while it stays unread. */
static void *wakeup_main(void *arg)
{
    struct xSOCKET *s = arg;
    while (atomic_load(&s->wakeup_run)) {
        struct zsock_pollfd p = {.fd = s->fd, .events = ZSOCK_POLLIN};
        int n = zsock_poll(&p, 1, WAKEUP_POLL_MS);
        if (!atomic_load(&s->wakeup_run))
            break;
        if (n > 0 && (p.revents & (ZSOCK_POLLIN | ZSOCK_POLLHUP | ZSOCK_POLLERR))) {
            void (*cb)(Socket_t) = s->wakeup;
            if (cb)
                cb(s);
            sleep_ms(WAKEUP_GAP_MS);
        } else if (n < 0) {
            sleep_ms(WAKEUP_POLL_MS);
        }
    }
    return NULL;
}

static void wakeup_stop(struct xSOCKET *s)
{
    if (!s->wakeup_started)
        return;
    atomic_store(&s->wakeup_run, false);
    pthread_join(s->wakeup_thread, NULL);
    s->wakeup_started = false;
}

static int32_t wakeup_start(struct xSOCKET *s)
{
    if (s->wakeup_started || s->wakeup == NULL || !s->connected)
        return SOCKETS_ERROR_NONE;
    atomic_store(&s->wakeup_run, true);
    if (pthread_create(&s->wakeup_thread, NULL, wakeup_main, s) != 0)
        return SOCKETS_ENOMEM;
    s->wakeup_started = true;
    return SOCKETS_ERROR_NONE;
}

/* ---- the API ----------------------------------------------------------------------- */

BaseType_t SOCKETS_Init(void)
{
    return pdPASS;
}

Socket_t SOCKETS_Socket(int32_t lDomain, int32_t lType, int32_t lProtocol)
{
    if (lDomain != SOCKETS_AF_INET || lType != SOCKETS_SOCK_STREAM ||
        lProtocol != SOCKETS_IPPROTO_TCP)
        return SOCKETS_INVALID_SOCKET;
    struct xSOCKET *s = calloc(1, sizeof *s);
    if (s == NULL)
        return SOCKETS_INVALID_SOCKET;
    s->fd = -1;
    s->rcv_ticks = pdMS_TO_TICKS(socketsconfigDEFAULT_RECV_TIMEOUT);
    s->snd_ticks = pdMS_TO_TICKS(socketsconfigDEFAULT_SEND_TIMEOUT);
    atomic_init(&s->wakeup_run, false);
    if (!reg_add(s)) {
        free(s);
        return SOCKETS_INVALID_SOCKET;
    }
    return s;
}

/* A failed connect: what errno says, in the library's terms. */
static int32_t connect_error(const struct xSOCKET *s, int err)
{
    switch (err) {
    case ECONNREFUSED:
    case ETIMEDOUT:
    case ENETUNREACH:
    case EHOSTUNREACH:
    case ECONNRESET:
        return SOCKETS_SOCKET_ERROR;
    case ENOMEM:
        return SOCKETS_ENOMEM;
    default:
        /* The handshake failed: verification, no suite in common, an
         * alert from the server. */
        return s->require_tls ? SOCKETS_TLS_HANDSHAKE_ERROR : SOCKETS_SOCKET_ERROR;
    }
}

int32_t SOCKETS_Connect(Socket_t xSocket, SocketsSockaddr_t *pxAddress, Socklen_t xAddressLength)
{
    (void)xAddressLength; /* ignored, as the reference ports and their tests want */
    struct xSOCKET *s = xSocket;
    if (!reg_has(s) || pxAddress == NULL)
        return SOCKETS_EINVAL;
    if (s->connected)
        return SOCKETS_EISCONN;
    /* Linux would take 0.0.0.0 for this host and port 0 for an error of
     * its own: neither names a server. */
    if (pxAddress->ulAddress == 0 || pxAddress->usPort == 0)
        return SOCKETS_EINVAL;
    if (s->fd >= 0) { /* an earlier attempt's socket */
        zsock_close(s->fd);
        s->fd = -1;
    }
    s->connect_attempted = true;
    s->fd = zsock_socket(AF_INET, SOCK_STREAM, s->require_tls ? IPPROTO_TLS_1_2 : IPPROTO_TCP);
    if (s->fd < 0)
        return errno == ENOMEM ? SOCKETS_ENOMEM : SOCKETS_SOCKET_ERROR;
    apply_timeouts(s);
    if (s->require_tls) {
        sec_tag_t tag = s->ca_tag ? s->ca_tag : system_roots();
        int verify = TLS_PEER_VERIFY_REQUIRED;
        int rc = zsock_setsockopt(s->fd, SOL_TLS, TLS_PEER_VERIFY, &verify, sizeof verify);
        if (rc == 0 && tag)
            rc = zsock_setsockopt(s->fd, SOL_TLS, TLS_SEC_TAG_LIST, &tag, sizeof tag);
        /* SNI and the name checked against the certificate (RFC 6066 §3). */
        if (rc == 0 && s->sni)
            rc = zsock_setsockopt(s->fd, SOL_TLS, TLS_HOSTNAME, s->sni, strlen(s->sni));
        if (rc == 0 && s->nalpn)
            rc = zsock_setsockopt(s->fd, SOL_TLS, TLS_ALPN_LIST, s->alpn,
                                  (socklen_t)(s->nalpn * sizeof(char *)));
        if (rc != 0)
            return SOCKETS_TLS_INIT_ERROR;
    }
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = pxAddress->usPort,
                            .sin_addr.s_addr = pxAddress->ulAddress};
    if (zsock_connect(s->fd, (struct sockaddr *)&a, sizeof a) != 0) {
        int32_t rc = connect_error(s, errno);
        zsock_close(s->fd);
        s->fd = -1;
        return rc;
    }
    s->connected = true;
    return wakeup_start(s);
}

/* A send or receive error, in the library's terms. */
static int32_t io_error(const struct xSOCKET *s, int err, bool recv)
{
    switch (err) {
    case EAGAIN:
#if EWOULDBLOCK != EAGAIN
    case EWOULDBLOCK:
#endif
        return recv ? 0 : SOCKETS_EWOULDBLOCK;
    case EPIPE:
    case ESHUTDOWN:
    case ENOTCONN:
    case ECONNRESET:
        return SOCKETS_ECLOSED;
    case ENOMEM:
        return SOCKETS_ENOMEM;
    default:
        if (!s->require_tls)
            return SOCKETS_SOCKET_ERROR;
        return recv ? SOCKETS_TLS_RECV_ERROR : SOCKETS_TLS_SEND_ERROR;
    }
}

int32_t SOCKETS_Recv(Socket_t xSocket, void *pvBuffer, size_t xBufferLength, uint32_t ulFlags)
{
    (void)ulFlags;
    struct xSOCKET *s = xSocket;
    if (!reg_has(s) || pvBuffer == NULL || xBufferLength == 0)
        return SOCKETS_EINVAL;
    if (!s->connected)
        return SOCKETS_ENOTCONN;
    if (xBufferLength > INT32_MAX)
        xBufferLength = INT32_MAX;
    ssize_t n = zsock_recv(s->fd, pvBuffer, xBufferLength, 0);
    if (n > 0)
        return (int32_t)n;
    /* The end of the connection (the peer's FIN or close_notify, or our
     * own SOCKETS_SHUT_RD) is an error here, unlike POSIX's 0: 0 means the
     * timeout passed, and callers loop on it. */
    if (n == 0)
        return SOCKETS_ECLOSED;
    return io_error(s, errno, true);
}

int32_t SOCKETS_Send(Socket_t xSocket, const void *pvBuffer, size_t xDataLength, uint32_t ulFlags)
{
    (void)ulFlags;
    struct xSOCKET *s = xSocket;
    if (!reg_has(s) || pvBuffer == NULL || xDataLength == 0)
        return SOCKETS_EINVAL;
    if (!s->connected)
        return SOCKETS_ENOTCONN;
    if (xDataLength > INT32_MAX)
        xDataLength = INT32_MAX;
    ssize_t n = zsock_send(s->fd, pvBuffer, xDataLength, 0);
    return n >= 0 ? (int32_t)n : io_error(s, errno, false);
}

int32_t SOCKETS_Shutdown(Socket_t xSocket, uint32_t ulHow)
{
    struct xSOCKET *s = xSocket;
    if (!reg_has(s) || ulHow > SOCKETS_SHUT_RDWR)
        return SOCKETS_EINVAL;
    if (!s->connected)
        return SOCKETS_ENOTCONN;
    static const int how[] = {ZSOCK_SHUT_RD, ZSOCK_SHUT_WR, ZSOCK_SHUT_RDWR};
    return zsock_shutdown(s->fd, how[ulHow]) == 0 ? SOCKETS_ERROR_NONE : SOCKETS_SOCKET_ERROR;
}

int32_t SOCKETS_Close(Socket_t xSocket)
{
    struct xSOCKET *s = xSocket;
    if (!reg_remove(s))
        return SOCKETS_EINVAL;
    wakeup_stop(s);
    if (s->fd >= 0)
        zsock_close(s->fd); /* TLS: close_notify */
    if (s->ca_tag)
        tls_credential_delete(s->ca_tag, TLS_CREDENTIAL_CA_CERTIFICATE);
    free(s->ca);
    free(s->sni);
    free_alpn(s);
    free(s);
    return SOCKETS_ERROR_NONE;
}

static int32_t set_ticks(TickType_t *dst, const void *val, size_t len)
{
    if (val == NULL)
        return SOCKETS_EINVAL;
    /* A TickType_t; a 32-bit one too (boards where it is uint32_t). */
    if (len == sizeof(TickType_t))
        memcpy(dst, val, sizeof(TickType_t));
    else if (len == sizeof(uint32_t)) {
        uint32_t v;
        memcpy(&v, val, sizeof v);
        *dst = v;
    } else {
        return SOCKETS_EINVAL;
    }
    return SOCKETS_ERROR_NONE;
}

static int32_t set_ca(struct xSOCKET *s, const void *val, size_t len)
{
    static atomic_uint next_tag;
    if (val == NULL || len == 0)
        return SOCKETS_EINVAL;
    /* PEM with its NUL counted, as the option wants, or without; DER: the
     * facade's credential loader tells them apart. */
    uint8_t *copy = malloc(len);
    if (copy == NULL)
        return SOCKETS_ENOMEM;
    memcpy(copy, val, len);
    if (s->ca_tag)
        tls_credential_delete(s->ca_tag, TLS_CREDENTIAL_CA_CERTIFICATE);
    free(s->ca);
    s->ca = copy;
    s->ca_tag = (sec_tag_t)(TAG_BASE + (atomic_fetch_add(&next_tag, 1) & 0xffff));
    if (tls_credential_add(s->ca_tag, TLS_CREDENTIAL_CA_CERTIFICATE, s->ca, len) != 0) {
        s->ca_tag = 0;
        return SOCKETS_EINVAL;
    }
    return SOCKETS_ERROR_NONE;
}

static int32_t set_sni(struct xSOCKET *s, const void *val, size_t len)
{
    if (val == NULL || len == 0)
        return SOCKETS_EINVAL;
    /* The name's length, or more (callers pass sizeof a string: its NUL). */
    size_t n = strnlen(val, len);
    if (n == 0 || n > securesocketsMAX_DNS_NAME_LENGTH)
        return SOCKETS_EINVAL;
    char *name = malloc(n + 1);
    if (name == NULL)
        return SOCKETS_ENOMEM;
    memcpy(name, val, n);
    name[n] = '\0';
    free(s->sni);
    s->sni = name;
    return SOCKETS_ERROR_NONE;
}

static int32_t set_alpn(struct xSOCKET *s, const void *val, size_t count)
{
    const char *const *list = val;
    if (list == NULL || count == 0 || count > 16)
        return SOCKETS_EINVAL;
    char **copy = calloc(count + 1, sizeof *copy);
    if (copy == NULL)
        return SOCKETS_ENOMEM;
    for (size_t i = 0; i < count; i++) {
        size_t l = list[i] ? strlen(list[i]) : 0;
        if (l == 0 || l > 255 || (copy[i] = strdup(list[i])) == NULL) {
            for (size_t k = 0; k < i; k++)
                free(copy[k]);
            free(copy);
            return l == 0 || l > 255 ? SOCKETS_EINVAL : SOCKETS_ENOMEM;
        }
    }
    free_alpn(s);
    s->alpn = copy;
    s->nalpn = count;
    return SOCKETS_ERROR_NONE;
}

int32_t SOCKETS_SetSockOpt(Socket_t xSocket, int32_t lLevel, int32_t lOptionName,
                           const void *pvOptionValue, size_t xOptionLength)
{
    (void)lLevel;
    struct xSOCKET *s = xSocket;
    if (!reg_has(s))
        return SOCKETS_EINVAL;
    int32_t rc;
    switch (lOptionName) {
    case SOCKETS_SO_RCVTIMEO:
    case SOCKETS_SO_SNDTIMEO:
        rc = set_ticks(lOptionName == SOCKETS_SO_RCVTIMEO ? &s->rcv_ticks : &s->snd_ticks,
                       pvOptionValue, xOptionLength);
        if (rc == 0 && s->fd >= 0)
            apply_timeouts(s);
        return rc;
    case SOCKETS_SO_SNDBUF:
    case SOCKETS_SO_RCVBUF: {
        int v;
        if (pvOptionValue == NULL || xOptionLength != sizeof v)
            return SOCKETS_EINVAL;
        memcpy(&v, pvOptionValue, sizeof v);
        if (v <= 0)
            return SOCKETS_EINVAL;
        *(lOptionName == SOCKETS_SO_SNDBUF ? &s->sndbuf : &s->rcvbuf) = v;
        if (s->fd >= 0)
            apply_timeouts(s);
        return SOCKETS_ERROR_NONE;
    }
    case SOCKETS_SO_REQUIRE_TLS:
    case SOCKETS_SO_TRUSTED_SERVER_CERTIFICATE:
    case SOCKETS_SO_SERVER_NAME_INDICATION:
    case SOCKETS_SO_ALPN_PROTOCOLS:
        /* The handshake's: after a connect (even a failed one) too late. */
        if (s->connect_attempted)
            return SOCKETS_EISCONN;
        if (lOptionName == SOCKETS_SO_REQUIRE_TLS) {
            s->require_tls = true;
            return SOCKETS_ERROR_NONE;
        }
        if (lOptionName == SOCKETS_SO_TRUSTED_SERVER_CERTIFICATE)
            return set_ca(s, pvOptionValue, xOptionLength);
        if (lOptionName == SOCKETS_SO_SERVER_NAME_INDICATION)
            return set_sni(s, pvOptionValue, xOptionLength);
        return set_alpn(s, pvOptionValue, xOptionLength);
    case SOCKETS_SO_NONBLOCK:
        /* Non-blocking connect is not supported: after connect only. */
        if (!s->connected)
            return SOCKETS_ENOTCONN;
        if (zsock_fcntl(s->fd, F_SETFL, O_NONBLOCK) != 0)
            return SOCKETS_SOCKET_ERROR;
        return SOCKETS_ERROR_NONE;
    case SOCKETS_SO_WAKEUP_CALLBACK:
        /* The function itself is the value (NULL: none). */
        wakeup_stop(s);
        s->wakeup = (void (*)(Socket_t))(uintptr_t)pvOptionValue;
        return wakeup_start(s);
    default:
        return SOCKETS_ENOPROTOOPT;
    }
}

uint32_t SOCKETS_GetHostByName(const char *pcHostName)
{
    if (pcHostName == NULL || pcHostName[0] == '\0' ||
        strnlen(pcHostName, securesocketsMAX_DNS_NAME_LENGTH + 1) > securesocketsMAX_DNS_NAME_LENGTH)
        return 0;
    struct zsock_addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *res = NULL;
    if (zsock_getaddrinfo(pcHostName, NULL, &hints, &res) != 0 || res == NULL)
        return 0;
    uint32_t addr = 0;
    for (struct zsock_addrinfo *r = res; r && addr == 0; r = r->ai_next)
        if (r->ai_family == AF_INET)
            addr = ((const struct sockaddr_in *)r->ai_addr)->sin_addr.s_addr;
    zsock_freeaddrinfo(res);
    return addr;
}
