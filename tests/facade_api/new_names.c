/* zsock-api-compile-new: Zephyr 4.4 code, namespaced names only - zsock_*(),
 * ZSOCK_*, NET_AF_*, NET_SOCK_*, NET_IPPROTO_*, struct net_sockaddr_in,
 * net_htons(), net_socklen_t - without CONFIG_NET_SOCKETS_POSIX_NAMES.
 * The example client is compiled and linked only; the run exercises the
 * functions of this suite (address conversion, getaddrinfo, credentials). */
#include <zephyr/net/net_ip.h>
#include <zephyr/net/socket.h>
#include <zephyr/net/socket_poll.h>
#include <zephyr/net/socket_select.h>
#include <zephyr/net/tls_credentials.h>

#include <stdio.h>
#include <stdlib.h>

#ifdef CONFIG_NET_SOCKETS_POSIX_NAMES
#error "this test must build without POSIX names"
#endif
/* Without the option, the POSIX names stay glibc's. */
#if defined(socket) || defined(close) || defined(poll) || defined(select) || defined(fcntl)
#error "POSIX names mapped without CONFIG_NET_SOCKETS_POSIX_NAMES"
#endif

#define CHECK(c, ...)                                                                      \
    do {                                                                                   \
        if (!(c)) {                                                                        \
            fprintf(stderr, "%s:%d: CHECK(%s) failed: ", __FILE__, __LINE__, #c);          \
            fprintf(stderr, __VA_ARGS__);                                                  \
            fputc('\n', stderr);                                                           \
            exit(1);                                                                       \
        }                                                                                  \
    } while (0)

#define PSK_TAG 7

/* Zephyr 4.4 style DTLS/TLS client (subsys/net/lib/coap, lwm2m style). */
int new_example_client(void);
int new_example_client(void)
{
	static const sec_tag_t tags[] = {PSK_TAG};
	static const char *const alpn[] = {"coap", NULL};
	struct net_sockaddr_in addr = {
		.sin_family = NET_AF_INET,
		.sin_port = net_htons(5684),
	};
	struct net_sockaddr_storage peer;
	net_socklen_t peer_len = sizeof(peer);
	int cid = ZSOCK_TLS_DTLS_CID_ENABLED;
	int sock;
	char buf[32];

	if (zsock_inet_pton(NET_AF_INET, "127.0.0.1", &addr.sin_addr) != 1) {
		return -1;
	}
	sock = zsock_socket(NET_AF_INET, NET_SOCK_DGRAM, NET_IPPROTO_DTLS_1_2);
	if (sock < 0) {
		return -errno;
	}
	(void)zsock_setsockopt(sock, ZSOCK_SOL_TLS, ZSOCK_TLS_SEC_TAG_LIST, tags, sizeof(tags));
	(void)zsock_setsockopt(sock, ZSOCK_SOL_TLS, ZSOCK_TLS_DTLS_CID, &cid, sizeof(cid));
	(void)zsock_setsockopt(sock, ZSOCK_SOL_TLS, ZSOCK_TLS_ALPN_LIST, alpn, sizeof(alpn));
	if (zsock_connect(sock, (struct net_sockaddr *)&addr, sizeof(addr)) < 0) {
		(void)zsock_close(sock);
		return -errno;
	}

	int status = 0;
	net_socklen_t optlen = sizeof(status);
	(void)zsock_getsockopt(sock, ZSOCK_SOL_TLS, ZSOCK_TLS_DTLS_CID_STATUS, &status, &optlen);
	(void)zsock_fcntl(sock, ZVFS_F_SETFL, ZVFS_O_NONBLOCK);
	(void)zsock_send(sock, "x", 1, 0);

	struct zsock_pollfd fds[1] = {{.fd = sock, .events = ZSOCK_POLLIN}};
	if (zsock_poll(fds, 1, 100) > 0 && (fds[0].revents & ZSOCK_POLLIN)) {
		int avail = 0;
		(void)zsock_ioctl(sock, ZFD_IOCTL_FIONREAD, &avail);
		(void)zsock_recv(sock, buf, sizeof(buf), ZSOCK_MSG_DONTWAIT);
	}

	zsock_fd_set set;
	struct zsock_timeval tv = {.tv_sec = 0, .tv_usec = 1000};
	ZSOCK_FD_ZERO(&set);
	ZSOCK_FD_SET(sock, &set);
	if (zsock_select(sock + 1, &set, NULL, NULL, &tv) > 0 && ZSOCK_FD_ISSET(sock, &set)) {
		(void)zsock_recvfrom(sock, buf, sizeof(buf), 0, (struct net_sockaddr *)&peer,
				     &peer_len);
	}
	ZSOCK_FD_CLR(sock, &set);
	(void)zsock_shutdown(sock, ZSOCK_SHUT_RDWR);
	return zsock_close(sock);
}

int main(int argc, char **argv)
{
	(void)argv;
	if (argc > 99) { /* never under meson: link the example only */
		return new_example_client();
	}

	/* zsock_inet_pton()/zsock_inet_ntop() round trips. */
	struct net_in_addr a4;
	struct net_in6_addr a6;
	char txt[NET_INET6_ADDRSTRLEN];
	CHECK(zsock_inet_pton(NET_AF_INET, "10.1.2.3", &a4) == 1, "v4");
	CHECK(a4.s_addr == net_htonl(0x0a010203), "v4 value");
	CHECK(zsock_inet_ntop(NET_AF_INET, &a4, txt, sizeof(txt)) == txt, "ntop v4");
	CHECK(strcmp(txt, "10.1.2.3") == 0, "%s", txt);
	CHECK(zsock_inet_pton(NET_AF_INET6, "fe80::1234:5678", &a6) == 1, "v6");
	CHECK(zsock_inet_ntop(NET_AF_INET6, &a6, txt, sizeof(txt)) != NULL, "ntop v6");
	CHECK(strcmp(txt, "fe80::1234:5678") == 0, "%s", txt);
	CHECK(zsock_inet_pton(NET_AF_INET6, "fe80:::1", &a6) == 0, "bad v6 accepted");
	/* Too small a buffer: NULL (ENOSPC), as POSIX inet_ntop. */
	char tiny[4];
	errno = 0;
	CHECK(zsock_inet_ntop(NET_AF_INET, &a4, tiny, sizeof(tiny)) == NULL && errno == ENOSPC,
	      "short buffer: errno %d", errno);

	/* net_addr_pton()/ntop(): Zephyr's 0 / -EINVAL convention. */
	CHECK(net_addr_pton(NET_AF_INET, "127.0.0.1", &a4) == 0, "net_addr_pton");
	CHECK(a4.s_addr == net_htonl(0x7f000001), "loopback");
	CHECK(net_addr_pton(NET_AF_INET, "127.0.0.", &a4) == -EINVAL, "net_addr_pton bad");
	CHECK(net_addr_ntop(NET_AF_INET, &a4, txt, sizeof(txt)) == txt &&
		      strcmp(txt, "127.0.0.1") == 0,
	      "net_addr_ntop %s", txt);
	struct net_in_addr lo = NET_INADDR_LOOPBACK_INIT;
	CHECK(lo.s_addr == a4.s_addr, "NET_INADDR_LOOPBACK_INIT");

	/* zsock_getaddrinfo() for a DTLS socket: the result carries the secure
	 * protocol, ready for zsock_socket(). */
	struct zsock_addrinfo hints = {
		.ai_family = NET_AF_INET,
		.ai_socktype = NET_SOCK_DGRAM,
		.ai_protocol = NET_IPPROTO_DTLS_1_2,
	};
	struct zsock_addrinfo *res = NULL;
	int rc = zsock_getaddrinfo("127.0.0.1", "4433", &hints, &res);
	CHECK(rc == 0, "zsock_getaddrinfo: %d %s", rc, zsock_gai_strerror(rc));
	CHECK(res != NULL && res->ai_next == NULL, "one result");
	CHECK(res->ai_family == NET_AF_INET && res->ai_socktype == NET_SOCK_DGRAM &&
		      res->ai_protocol == NET_IPPROTO_DTLS_1_2,
	      "family %d type %d proto %d", res->ai_family, res->ai_socktype, res->ai_protocol);
	struct net_sockaddr_in *sin = net_sin(res->ai_addr);
	CHECK(net_ntohs(sin->sin_port) == 4433, "port");
	CHECK(sin->sin_addr.s_addr == net_htonl(0x7f000001), "addr");
	zsock_freeaddrinfo(res);

	/* A PSK pair under one tag, as Zephyr's PSK samples register it. */
	static const unsigned char psk[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08};
	static const char psk_id[] = "zrec-client";
	CHECK(tls_credential_add(PSK_TAG, TLS_CREDENTIAL_PSK, psk, sizeof(psk)) == 0, "psk");
	CHECK(tls_credential_add(PSK_TAG, TLS_CREDENTIAL_PSK_ID, psk_id, strlen(psk_id)) == 0,
	      "psk id");
	char idbuf[32];
	size_t idlen = sizeof(idbuf);
	CHECK(tls_credential_get(PSK_TAG, TLS_CREDENTIAL_PSK_ID, idbuf, &idlen) == 0 &&
		      idlen == strlen(psk_id) && memcmp(idbuf, psk_id, idlen) == 0,
	      "psk id back");
	CHECK(tls_credential_delete(PSK_TAG, TLS_CREDENTIAL_PSK) == 0, "delete psk");
	CHECK(tls_credential_delete(PSK_TAG, TLS_CREDENTIAL_PSK_ID) == 0, "delete psk id");
	CHECK(tls_credential_delete(PSK_TAG, TLS_CREDENTIAL_PSK_ID) == -ENOENT, "gone");

	puts("zsock-api-compile-new: ok");
	return 0;
}
