/*
 * zrec libzrec-zsock: <zephyr/net/socket_select.h> on Linux.
 *
 * Zephyr (include/zephyr/net/socket_select.h) declares zsock_select() and
 * the ZSOCK_FD_* helpers over its VFS fd_set.  Here zsock_fd_set is glibc's
 * fd_set, ZSOCK_FD_SETSIZE is FD_SETSIZE (1024), and zsock_select() is
 * implemented on top of zsock_poll() (facade/src/zsock_util.c), so a TLS
 * socket holding already-decrypted data reports readable exactly as it
 * does with zsock_poll(); the kernel's select() could not know that.
 */
#ifndef ZEPHYR_INCLUDE_NET_SOCKET_SELECT_H_
#define ZEPHYR_INCLUDE_NET_SOCKET_SELECT_H_

#include <zephyr/net/zsock_host.h>
#include <zephyr/net/socket_types.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Socket descriptor set: the host's fd_set. */
typedef fd_set zsock_fd_set;

/** Number of descriptors a zsock_fd_set can hold (glibc's FD_SETSIZE). */
#define ZSOCK_FD_SETSIZE FD_SETSIZE

/**
 * Wait until one of the sockets in the sets is ready (POSIX select()).
 *
 * Zephyr's documentation calls this the legacy interface; zsock_poll() is
 * preferred.  Semantics follow POSIX/Linux: descriptors 0..nfds-1 are
 * examined; on return each set holds only the ready descriptors and the
 * result is the number of bits set over the three sets (0 on timeout).
 * Readable means POLLIN, POLLHUP or POLLERR; writable POLLOUT or POLLERR;
 * exceptional POLLPRI (as Linux's select()).  timeout NULL waits forever;
 * it is not modified.  Errors (-1 and errno, sets left unmodified): EINVAL
 * for nfds < 0, nfds > ZSOCK_FD_SETSIZE or a negative / out-of-range
 * timeout; EBADF for a descriptor that is not open; EINTR, ENOMEM as
 * zsock_poll().
 */
int zsock_select(int nfds, zsock_fd_set *readfds, zsock_fd_set *writefds,
		 zsock_fd_set *exceptfds, struct zsock_timeval *timeout);

/** Clear a set (POSIX FD_ZERO()). */
static inline void ZSOCK_FD_ZERO(zsock_fd_set *set)
{
	FD_ZERO(set);
}

/** Is fd a member of set?  (POSIX FD_ISSET()) */
static inline int ZSOCK_FD_ISSET(int fd, zsock_fd_set *set)
{
	return FD_ISSET(fd, set) ? 1 : 0;
}

/** Remove fd from set (POSIX FD_CLR()). */
static inline void ZSOCK_FD_CLR(int fd, zsock_fd_set *set)
{
	FD_CLR(fd, set);
}

/** Add fd to set (POSIX FD_SET()). */
static inline void ZSOCK_FD_SET(int fd, zsock_fd_set *set)
{
	FD_SET(fd, set);
}

#ifdef CONFIG_NET_SOCKETS_POSIX_NAMES
/* Zephyr exposes select() under its POSIX name with this option.  fd_set,
 * FD_SETSIZE and FD_ZERO/ISSET/CLR/SET already are glibc's, the same type
 * and macros as above, so only the function needs mapping.  An object-like
 * macro (not an inline function named select, which would clash with
 * glibc's declaration) - see <zephyr/net/socket.h> for the reasoning. */
#define select zsock_select
#endif

#ifdef __cplusplus
}
#endif

#endif /* ZEPHYR_INCLUDE_NET_SOCKET_SELECT_H_ */
