/* zsock-api-util: zsock_getaddrinfo()/getnameinfo()/gai_strerror(),
 * zsock_gethostname() and the address conversions (facade/src/zsock_util.c)
 * - edge cases beyond the compile tests.  Numeric hosts only: no DNS. */
#include <sys/utsname.h>

#include <zephyr/net/socket.h>

#include "common.h"

static int count(const struct zsock_addrinfo *ai)
{
    int n = 0;
    for (; ai != NULL; ai = ai->ai_next)
        n++;
    return n;
}

static void test_getaddrinfo(void)
{
    struct zsock_addrinfo *res = NULL, *ai;
    int rc;

    /* No hints: glibc's answer, every entry for 127.0.0.1:4433. */
    rc = zsock_getaddrinfo("127.0.0.1", "4433", NULL, &res);
    CHECK(rc == 0 && res != NULL, "no hints: %d", rc);
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        CHECK(ai->ai_family == AF_INET, "family");
        CHECK(net_sin(ai->ai_addr)->sin_port == htons(4433), "port");
    }
    zsock_freeaddrinfo(res);

    /* TLS over TCP: results are stream sockets labelled with the TLS
     * protocol, so zsock_socket(ai_family, ai_socktype, ai_protocol) makes
     * a TLS socket - also when the hints give no socket type. */
    struct zsock_addrinfo hints = {.ai_family = AF_UNSPEC, .ai_protocol = IPPROTO_TLS_1_3};
    rc = zsock_getaddrinfo("::1", "443", &hints, &res);
    CHECK(rc == 0 && res != NULL, "TLS hints: %d %s", rc, zsock_gai_strerror(rc));
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        CHECK(ai->ai_family == AF_INET6, "family %d", ai->ai_family);
        CHECK(ai->ai_socktype == SOCK_STREAM, "socktype %d", ai->ai_socktype);
        CHECK(ai->ai_protocol == IPPROTO_TLS_1_3, "protocol %d", ai->ai_protocol);
        CHECK(IN6_IS_ADDR_LOOPBACK(&net_sin6(ai->ai_addr)->sin6_addr), "::1");
    }
    zsock_freeaddrinfo(res);

    /* DTLS 1.3 (zrec extension) over UDP. */
    hints = (struct zsock_addrinfo){.ai_family = AF_INET, .ai_protocol = IPPROTO_DTLS_1_3};
    rc = zsock_getaddrinfo("127.0.0.1", "5684", &hints, &res);
    CHECK(rc == 0 && count(res) == 1, "DTLS hints: %d", rc);
    CHECK(res->ai_socktype == SOCK_DGRAM && res->ai_protocol == IPPROTO_DTLS_1_3, "DTLS");
    zsock_freeaddrinfo(res);

    /* Plain protocols pass through untouched. */
    hints = (struct zsock_addrinfo){.ai_family = AF_INET, .ai_protocol = IPPROTO_UDP};
    rc = zsock_getaddrinfo("127.0.0.1", "53", &hints, &res);
    CHECK(rc == 0 && res->ai_protocol == IPPROTO_UDP && res->ai_socktype == SOCK_DGRAM, "UDP");
    zsock_freeaddrinfo(res);

    /* Zephyr's AI_EXTFLAGS is accepted (glibc alone says EAI_BADFLAGS). */
    hints = (struct zsock_addrinfo){.ai_flags = AI_NUMERICHOST | AI_EXTFLAGS,
                                    .ai_socktype = SOCK_STREAM};
    rc = zsock_getaddrinfo("10.0.0.1", "80", &hints, &res);
    CHECK(rc == 0 && count(res) == 1, "AI_EXTFLAGS: %d", rc);
    zsock_freeaddrinfo(res);

    /* Passive, no host: the wildcard address. */
    hints = (struct zsock_addrinfo){.ai_flags = AI_PASSIVE, .ai_family = AF_INET,
                                    .ai_socktype = SOCK_DGRAM};
    rc = zsock_getaddrinfo(NULL, "4433", &hints, &res);
    CHECK(rc == 0 && net_sin(res->ai_addr)->sin_addr.s_addr == htonl(INADDR_ANY), "passive");
    zsock_freeaddrinfo(res);

    /* Errors are DNS_EAI_* (= glibc's EAI_*), and *res stays NULL. */
    hints = (struct zsock_addrinfo){.ai_flags = AI_NUMERICHOST};
    res = (struct zsock_addrinfo *)&hints; /* must be reset */
    rc = zsock_getaddrinfo("not-an-address", "80", &hints, &res);
    CHECK(rc == DNS_EAI_NONAME && res == NULL, "numeric host: %d", rc);
    hints = (struct zsock_addrinfo){.ai_flags = AI_NUMERICSERV};
    rc = zsock_getaddrinfo("127.0.0.1", "http", &hints, &res);
    CHECK(rc == DNS_EAI_NONAME, "numeric service: %d", rc);
    hints = (struct zsock_addrinfo){.ai_family = 12345};
    rc = zsock_getaddrinfo("127.0.0.1", "80", &hints, &res);
    CHECK(rc == DNS_EAI_FAMILY, "family: %d", rc);
    errno = 0;
    rc = zsock_getaddrinfo("127.0.0.1", "80", NULL, NULL);
    CHECK(rc == DNS_EAI_SYSTEM && errno == EINVAL, "NULL res: %d", rc);
    zsock_freeaddrinfo(NULL);

    const char *msg = zsock_gai_strerror(DNS_EAI_NONAME);
    CHECK(msg != NULL && msg[0] != '\0', "gai_strerror");
}

static void test_getnameinfo(void)
{
    struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_port = htons(5684)};
    CHECK(zsock_inet_pton(AF_INET6, "2001:db8::42", &a6.sin6_addr) == 1, "pton");
    char host[ZSOCK_NI_MAXHOST], serv[32];
    int rc = zsock_getnameinfo((struct sockaddr *)&a6, sizeof(a6), host, sizeof(host), serv,
                               sizeof(serv), NI_NUMERICHOST | NI_NUMERICSERV | NI_DGRAM);
    CHECK(rc == 0, "getnameinfo %d", rc);
    CHECK(strcmp(host, "2001:db8::42") == 0 && strcmp(serv, "5684") == 0, "%s %s", host, serv);
    /* A host buffer too small: EAI_OVERFLOW, as glibc. */
    char tiny[4];
    rc = zsock_getnameinfo((struct sockaddr *)&a6, sizeof(a6), tiny, sizeof(tiny), NULL, 0,
                           NI_NUMERICHOST);
    CHECK(rc == DNS_EAI_OVERFLOW, "overflow %d", rc);
}

static void test_hostname(void)
{
    struct utsname u;
    CHECK(uname(&u) == 0, "uname");
    char name[256];
    CHECK(zsock_gethostname(name, sizeof(name)) == 0, "gethostname");
    CHECK(strcmp(name, u.nodename) == 0, "%s vs %s", name, u.nodename);
    char tiny[1];
    errno = 0;
    CHECK(zsock_gethostname(tiny, sizeof(tiny)) == -1 && errno == ENAMETOOLONG,
          "short buffer: errno %d", errno);
}

static void test_addresses(void)
{
    struct in_addr a;
    char txt[NET_IPV4_ADDR_LEN];
    CHECK(NET_IPV4_ADDR_LEN == sizeof("255.255.255.255"), "NET_IPV4_ADDR_LEN");
    CHECK(net_addr_pton(AF_INET, "255.255.255.255", &a) == 0 && a.s_addr == 0xffffffffU, "max");
    CHECK(net_addr_ntop(AF_INET, &a, txt, sizeof(txt)) == txt &&
              strcmp(txt, "255.255.255.255") == 0,
          "fits NET_IPV4_ADDR_LEN");
    CHECK(net_addr_pton(AF_UNIX, "1.2.3.4", &a) == -EINVAL, "family");
    CHECK(net_addr_pton(AF_INET, "1.2.3.4 ", &a) == -EINVAL, "trailing space");
    errno = 0;
    CHECK(net_addr_ntop(AF_UNIX, &a, txt, sizeof(txt)) == NULL && errno == EAFNOSUPPORT,
          "ntop family: errno %d", errno);
    /* A v4-mapped IPv6 in text form fits NET_IPV6_ADDR_LEN. */
    struct in6_addr a6;
    char t6[NET_IPV6_ADDR_LEN];
    CHECK(zsock_inet_pton(AF_INET6, "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255", &a6) == 1,
          "long v6");
    CHECK(zsock_inet_ntop(AF_INET6, &a6, t6, sizeof(t6)) != NULL, "long v6 fits");
    CHECK(zsock_inet_pton(AF_INET6, "::ffff:192.0.2.1", &a6) == 1 &&
              ZSOCK_IN6_IS_ADDR_V4MAPPED(&a6),
          "v4-mapped");
}

int main(void)
{
    test_getaddrinfo();
    test_getnameinfo();
    test_hostname();
    test_addresses();
    puts("zsock-api-util: ok");
    return 0;
}
