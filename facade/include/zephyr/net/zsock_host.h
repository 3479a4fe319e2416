/*
 * zrec libzrec-zsock (not a Zephyr header): the host (glibc/Linux) headers
 * that every facade header in zephyr/net/ stands on.
 *
 * Why one place: with CONFIG_NET_SOCKETS_POSIX_NAMES, <zephyr/net/socket.h>
 * maps socket(), close(), poll() ... to zsock_*() with macros, as Zephyr's
 * own header exposes those names.  glibc declares the same names in
 * <sys/socket.h>, <unistd.h>, <poll.h> ...; if one of those were included
 * *after* the macros, its declarations would be rewritten into conflicting
 * re-declarations of zsock_*().  Including all of them here, before any
 * macro, makes a later #include of them a no-op (include guards), so Zephyr
 * code may include <zephyr/net/socket.h> and the glibc headers in any order.
 *
 * The facade needs the POSIX/BSD parts of glibc (struct addrinfo, s6_addr16,
 * INADDR_*).  A translation unit that includes us first without any feature
 * macro and in strict ISO mode (-std=c11) would not get them, so in that
 * case only we ask for glibc's default set (_DEFAULT_SOURCE: what gcc's
 * default gnu dialects give anyway).
 */
#ifndef ZREC_ZSOCK_HOST_H_
#define ZREC_ZSOCK_HOST_H_

#if !defined(_FEATURES_H) && !defined(_GNU_SOURCE) && !defined(_DEFAULT_SOURCE) &&         \
    !defined(_POSIX_C_SOURCE) && !defined(_XOPEN_SOURCE) && !defined(_BSD_SOURCE)
#define _DEFAULT_SOURCE 1
#endif

#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/un.h>
#include <unistd.h>

#if !defined(__USE_XOPEN2K)
#error "zephyr/net headers on Linux need glibc's POSIX.1-2001 declarations: include it before other headers, or build with -D_DEFAULT_SOURCE (or _GNU_SOURCE, or -std=gnu11)"
#endif

#endif /* ZREC_ZSOCK_HOST_H_ */
