/* Second translation unit of zsock-api-compile-old: glibc's socket headers
 * first, then Zephyr's with CONFIG_NET_SOCKETS_POSIX_NAMES - the other
 * include order.  The POSIX-name macros must not clash with the glibc
 * declarations already seen, nor with glibc headers included again. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

#include <zephyr/net/net_ip.h>
#include <zephyr/net/socket.h>
#include <zephyr/net/tls_credentials.h>

/* Included again after the macros: must be harmless. */
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

int glibc_first_example(int sock);
int glibc_first_example(int sock)
{
	struct pollfd pfd = {.fd = sock, .events = POLLOUT};
	sec_tag_t tag = 1;
	char c = 0;

	(void)setsockopt(sock, SOL_TLS, TLS_SEC_TAG_LIST, &tag, sizeof(tag));
	if (poll(&pfd, 1, 0) == 1) {
		(void)send(sock, &c, 1, MSG_DONTWAIT);
	}
	return close(sock);
}

int glibc_first_run(void);
int glibc_first_run(void)
{
	struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons(5684)};
	char txt[INET6_ADDRSTRLEN];

	if (inet_pton(AF_INET6, "::1", &a.sin6_addr) != 1) {
		return -1;
	}
	if (!IN6_IS_ADDR_LOOPBACK(&a.sin6_addr)) {
		return -2;
	}
	if (inet_ntop(AF_INET6, &a.sin6_addr, txt, sizeof(txt)) == NULL ||
	    strcmp(txt, "::1") != 0) {
		return -3;
	}
	/* Zephyr's 0 for a bad family: the call is zsock_inet_pton(). */
	return inet_pton(12345, "::1", &a.sin6_addr) == 0 ? 0 : -4;
}
