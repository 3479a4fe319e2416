/*
 * zrec libzrec-zsock: <zephyr/net/socket_poll.h> on Linux.
 *
 * Zephyr (include/zephyr/net/socket_poll.h) makes `zsock_pollfd` a macro
 * for its VFS type `zvfs_pollfd` ({int fd; short events; short revents;}).
 * Here it names glibc's `struct pollfd`, which has exactly that layout, so
 * an array of zsock_pollfd can be passed to the kernel's poll() as is and
 * the ZSOCK_POLL* bits (<zephyr/net/socket.h>) are the kernel's POLL* bits.
 */
#ifndef ZEPHYR_INCLUDE_NET_SOCKET_POLL_H_
#define ZEPHYR_INCLUDE_NET_SOCKET_POLL_H_

#include <zephyr/net/zsock_host.h> /* glibc: struct timeval, struct pollfd */

/** Zephyr's poll descriptor: the host's struct pollfd (same layout). */
#define zsock_pollfd pollfd

#endif /* ZEPHYR_INCLUDE_NET_SOCKET_POLL_H_ */
