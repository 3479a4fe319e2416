/* With CONFIG_NET_SOCKETS_POSIX_NAMES, close()/fcntl()/ioctl() are zsock's:
 * on descriptors that are not sockets they must act as the kernel's. */
#define CONFIG_NET_SOCKETS_POSIX_NAMES 1
#include <zephyr/net/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define CHECK(c, what)                                                                     \
    do {                                                                                   \
        if (!(c)) {                                                                        \
            fprintf(stderr, "FAIL: %s (errno %d)\n", what, errno);                         \
            return 1;                                                                      \
        }                                                                                  \
    } while (0)

int main(void)
{
    int fd = open("/dev/null", O_RDONLY);
    CHECK(fd >= 0, "open");
    CHECK(fcntl(fd, F_SETFD, FD_CLOEXEC) == 0, "fcntl F_SETFD on a file");
    CHECK(fcntl(fd, F_GETFD) == FD_CLOEXEC, "fcntl F_GETFD on a file");
    int flags = fcntl(fd, F_GETFL);
    CHECK(flags >= 0 && (flags & O_ACCMODE) == O_RDONLY, "fcntl F_GETFL on a file");
    CHECK(close(fd) == 0, "close a file");
    CHECK(close(fd) == -1 && errno == EBADF, "close it again: EBADF");
    /* And a socket through the same names. */
    int s = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    CHECK(s >= 0, "socket");
    CHECK(fcntl(s, F_SETFL, O_NONBLOCK) == 0 && (fcntl(s, F_GETFL) & O_NONBLOCK), "O_NONBLOCK");
    int n = -1;
    CHECK(ioctl(s, FIONREAD, &n) == 0 && n == 0, "FIONREAD");
    CHECK(close(s) == 0, "close socket");
    puts("ok");
    return 0;
}
