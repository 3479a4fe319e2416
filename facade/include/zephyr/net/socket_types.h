/*
 * zrec libzrec-zsock: <zephyr/net/socket_types.h> on Linux.
 *
 * Zephyr (include/zephyr/net/socket_types.h) defines `zsock_timeval` as a
 * macro for the C library's `struct timeval`; we do the same with glibc's,
 * so `struct zsock_timeval` and `struct timeval` are one type and
 * zsock_select() can hand it to the kernel's time arithmetic unchanged.
 */
#ifndef ZEPHYR_INCLUDE_NET_SOCKET_TYPES_H_
#define ZEPHYR_INCLUDE_NET_SOCKET_TYPES_H_

#include <zephyr/net/zsock_host.h> /* glibc: struct timeval, struct pollfd */

/** Zephyr's socket timeout type: the host's struct timeval. */
#define zsock_timeval timeval

#endif /* ZEPHYR_INCLUDE_NET_SOCKET_TYPES_H_ */
