/* zsock-api-compile-old: Zephyr code written with the older names and
 * CONFIG_NET_SOCKETS_POSIX_NAMES (defined by meson.build, as Zephyr's
 * autoconf.h would): socket(), AF_INET, struct sockaddr_in, htons(),
 * inet_pton(), SOL_TLS, TLS_SEC_TAG_LIST, struct pollfd, FD_SET() ...
 *
 * The Zephyr headers come first and glibc's after them (old_names_glibc_first.c
 * does the reverse), as Zephyr code that also uses libc does; both must
 * compile with -Wall -Wextra -Werror.  The example client and server below
 * are only compiled and linked (their socket calls are socket.c's, tested
 * in tests/facade); what runs is the part this suite owns: address
 * conversion, getaddrinfo() and the credential registry, through the POSIX
 * names. */
#include <zephyr/net/socket.h>
#include <zephyr/net/tls_credentials.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef CONFIG_NET_SOCKETS_POSIX_NAMES
#error "meson.build defines CONFIG_NET_SOCKETS_POSIX_NAMES for this test"
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

#define CA_TAG 42

/* A Zephyr "https client" in the style of samples/net/sockets/http_get. */
int old_example_client(const char *host);
int old_example_client(const char *host)
{
	static const sec_tag_t sec_tags[] = {CA_TAG};
	struct sockaddr_in addr;
	char buf[128];
	int verify = TLS_PEER_VERIFY_REQUIRED;
	int sock, ret;

	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_port = htons(4433);
	if (inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr) != 1) {
		return -1;
	}

	sock = socket(AF_INET, SOCK_STREAM, IPPROTO_TLS_1_2);
	if (sock < 0) {
		return -errno;
	}
	ret = setsockopt(sock, SOL_TLS, TLS_SEC_TAG_LIST, sec_tags, sizeof(sec_tags));
	ret |= setsockopt(sock, SOL_TLS, TLS_HOSTNAME, host, strlen(host) + 1);
	ret |= setsockopt(sock, SOL_TLS, TLS_PEER_VERIFY, &verify, sizeof(verify));
	if (ret < 0 || connect(sock, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		close(sock);
		return -errno;
	}

	int suite = 0;
	socklen_t optlen = sizeof(suite);
	(void)getsockopt(sock, SOL_TLS, TLS_CIPHERSUITE_USED, &suite, &optlen);

	fcntl(sock, F_SETFL, fcntl(sock, F_GETFL) | O_NONBLOCK);
	(void)send(sock, "GET / HTTP/1.0\r\n\r\n", 18, 0);

	struct pollfd fds[1] = {{.fd = sock, .events = POLLIN}};
	if (poll(fds, 1, 1000) > 0 && (fds[0].revents & POLLIN)) {
		int avail = 0;
		(void)ioctl(sock, FIONREAD, &avail);
		(void)recv(sock, buf, sizeof(buf), MSG_PEEK);
		(void)recv(sock, buf, sizeof(buf), 0);
	}

	fd_set rfds;
	struct timeval tv = {.tv_sec = 1, .tv_usec = 0};
	FD_ZERO(&rfds);
	FD_SET(sock, &rfds);
	if (select(sock + 1, &rfds, NULL, NULL, &tv) > 0 && FD_ISSET(sock, &rfds)) {
		(void)recvfrom(sock, buf, sizeof(buf), MSG_DONTWAIT, NULL, NULL);
	}

	struct sockaddr_storage peer;
	socklen_t plen = sizeof(peer);
	(void)getpeername(sock, (struct sockaddr *)&peer, &plen);
	plen = sizeof(peer);
	(void)getsockname(sock, (struct sockaddr *)&peer, &plen);
	(void)shutdown(sock, SHUT_RDWR);
	return close(sock);
}

/* A Zephyr DTLS server (samples/net/sockets/echo_server style). */
int old_example_dtls_server(void);
int old_example_dtls_server(void)
{
	static const sec_tag_t tags[] = {CA_TAG};
	struct sockaddr_in6 addr = {.sin6_family = AF_INET6, .sin6_port = htons(4433)};
	struct sockaddr_in6 client;
	socklen_t client_len = sizeof(client);
	int role = TLS_DTLS_ROLE_SERVER;
	char buf[64];
	int sock = socket(AF_INET6, SOCK_DGRAM, IPPROTO_DTLS_1_2);

	if (sock < 0) {
		return -1;
	}
	(void)setsockopt(sock, SOL_TLS, TLS_SEC_TAG_LIST, tags, sizeof(tags));
	(void)setsockopt(sock, SOL_TLS, TLS_DTLS_ROLE, &role, sizeof(role));
	if (bind(sock, (struct sockaddr *)&addr, sizeof(addr)) == 0) {
		ssize_t n = recvfrom(sock, buf, sizeof(buf), 0, (struct sockaddr *)&client,
				     &client_len);
		if (n > 0) {
			(void)sendto(sock, buf, (size_t)n, 0, (struct sockaddr *)&client,
				     client_len);
		}
	}
	return close(sock);
}

int old_example_tcp_server(void);
int old_example_tcp_server(void)
{
	int sv[2];
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_ANY)};
	int one = 1;
	int s = socket(AF_INET, SOCK_STREAM, IPPROTO_TLS_1_3);
	struct msghdr msg = {0};

	(void)setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	(void)bind(s, (struct sockaddr *)&a, sizeof(a));
	(void)listen(s, 5);
	int c = accept(s, NULL, NULL);
	(void)sendmsg(c, &msg, 0);
	(void)recvmsg(c, &msg, 0);
	(void)socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	close(c);
	return close(s);
}

/* In old_names_glibc_first.c. */
int glibc_first_run(void);

#define STR_(x) #x
#define STR(x)  STR_(x)

int main(int argc, char **argv)
{
	(void)argv;
	/* Never true under meson: links the examples without running them. */
	if (argc > 99) {
		return old_example_client("localhost") + old_example_dtls_server() +
		       old_example_tcp_server();
	}

	/* The POSIX names are Zephyr's zsock functions. */
	CHECK(strcmp(STR(socket), "zsock_socket") == 0, "%s", STR(socket));
	CHECK(strcmp(STR(close), "zsock_close") == 0, "%s", STR(close));
	CHECK(strcmp(STR(poll), "zsock_poll") == 0, "%s", STR(poll));
	CHECK(strcmp(STR(select), "zsock_select") == 0, "%s", STR(select));
	CHECK(strcmp(STR(inet_pton), "zsock_inet_pton") == 0, "%s", STR(inet_pton));
	CHECK(strcmp(STR(getaddrinfo), "zsock_getaddrinfo") == 0, "%s", STR(getaddrinfo));

	/* inet_pton/inet_ntop round trips. */
	struct in_addr a4;
	struct in6_addr a6;
	char txt[INET6_ADDRSTRLEN];
	CHECK(inet_pton(AF_INET, "192.0.2.33", &a4) == 1, "v4");
	CHECK(a4.s_addr == htonl(0xc0000221), "v4 value %08x", ntohl(a4.s_addr));
	CHECK(inet_ntop(AF_INET, &a4, txt, sizeof(txt)) == txt, "ntop v4");
	CHECK(strcmp(txt, "192.0.2.33") == 0, "%s", txt);
	CHECK(inet_pton(AF_INET6, "2001:db8::1:2", &a6) == 1, "v6");
	CHECK(a6.s6_addr[0] == 0x20 && a6.s6_addr[1] == 0x01 && a6.s6_addr[13] == 1 &&
		      a6.s6_addr[15] == 2,
	      "v6 bytes");
	CHECK(inet_ntop(AF_INET6, &a6, txt, sizeof(txt)) != NULL, "ntop v6");
	CHECK(strcmp(txt, "2001:db8::1:2") == 0, "%s", txt);
	CHECK(inet_pton(AF_INET, "256.1.1.1", &a4) == 0, "bad v4 accepted");
	/* Zephyr's inet_pton() says 0 (not POSIX's -1) for a bad family: this
	 * proves the call went to zsock_inet_pton(). */
	CHECK(inet_pton(AF_UNIX, "1.2.3.4", &a4) == 0, "bad family");

	/* getaddrinfo() through the POSIX name. */
	struct addrinfo hints, *res = NULL;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	int rc = getaddrinfo("127.0.0.1", "4433", &hints, &res);
	CHECK(rc == 0, "getaddrinfo: %d %s", rc, gai_strerror(rc));
	CHECK(res != NULL && res->ai_next == NULL, "one result");
	CHECK(res->ai_family == AF_INET && res->ai_socktype == SOCK_STREAM, "family/type");
	CHECK(res->ai_addrlen == sizeof(struct sockaddr_in), "addrlen %u",
	      (unsigned)res->ai_addrlen);
	const struct sockaddr_in *sin = (const struct sockaddr_in *)res->ai_addr;
	CHECK(sin->sin_port == htons(4433), "port %u", ntohs(sin->sin_port));
	CHECK(sin->sin_addr.s_addr == htonl(INADDR_LOOPBACK), "addr");
	char host[NI_MAXHOST], serv[NI_MAXSERV];
	CHECK(getnameinfo(res->ai_addr, res->ai_addrlen, host, sizeof(host), serv, sizeof(serv),
			  NI_NUMERICHOST | NI_NUMERICSERV) == 0,
	      "getnameinfo");
	CHECK(strcmp(host, "127.0.0.1") == 0 && strcmp(serv, "4433") == 0, "%s %s", host, serv);
	freeaddrinfo(res);

	char name[256];
	CHECK(gethostname(name, sizeof(name)) == 0 && name[0] != '\0', "gethostname");

	/* Credentials, as a Zephyr application registers its CA. */
	static const unsigned char ca_der[] = {0x30, 0x82, 0x01, 0x0a, 0x02, 0x01, 0x00};
	unsigned char out[sizeof(ca_der)];
	size_t outlen = sizeof(out);
	CHECK(tls_credential_add(CA_TAG, TLS_CREDENTIAL_CA_CERTIFICATE, ca_der,
				 sizeof(ca_der)) == 0,
	      "add");
	CHECK(tls_credential_add(CA_TAG, TLS_CREDENTIAL_CA_CERTIFICATE, ca_der,
				 sizeof(ca_der)) == -EEXIST,
	      "add twice");
	CHECK(tls_credential_get(CA_TAG, TLS_CREDENTIAL_CA_CERTIFICATE, out, &outlen) == 0,
	      "get");
	CHECK(outlen == sizeof(ca_der) && memcmp(out, ca_der, outlen) == 0, "get bytes");
	CHECK(tls_credential_delete(CA_TAG, TLS_CREDENTIAL_CA_CERTIFICATE) == 0, "delete");

	CHECK(glibc_first_run() == 0, "glibc-first translation unit");
	puts("zsock-api-compile-old: ok");
	return 0;
}
