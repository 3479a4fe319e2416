/* Built by pkgconfig.sh with `pkg-config zrec-zsock` alone: Zephyr socket
 * code on the facade. */
#include <zephyr/net/socket.h>
#include <zephyr/net/tls_credentials.h>
#include <zrec/zsock_ext.h>

#include <stdio.h>

static int open_close(int proto)
{
    int fd = zsock_socket(AF_INET, SOCK_STREAM, proto);
    if (fd < 0) {
        perror("zsock_socket");
        return -1;
    }
    if (zsock_close(fd) != 0) {
        perror("zsock_close");
        return -1;
    }
    return 0;
}

int main(void)
{
    if (open_close(IPPROTO_TCP) != 0 || open_close(IPPROTO_TLS_1_3) != 0)
        return 1;
    char buf[16];
    size_t len = sizeof buf;
    if (tls_credential_get(42, TLS_CREDENTIAL_CA_CERTIFICATE, buf, &len) != -ENOENT) {
        fputs("tls_credential_get: a credential that was never added\n", stderr);
        return 1;
    }
    printf("tcp and tls1.3 sockets, option %d\n", ZREC_TLS_SESSION_RESUMED);
    puts("ok");
    return 0;
}
