/* Built by pkgconfig.sh with `pkg-config zrec-zsock` alone: RIOT sock_dtls
 * and credman code, its headers included as on RIOT (RIOT's own address
 * family numbers: no host socket header here). */
#include <stdio.h>

#include "net/credman.h"
#include "net/sock/dtls.h"
#include "net/sock/udp.h"

static const char key[] = "secretPSK", id[] = "Identity_0";

int main(void)
{
    credman_credential_t c = {.type = CREDMAN_TYPE_PSK, .tag = 10,
                              .params.psk = {.key = {key, sizeof key - 1},
                                             .id = {id, sizeof id - 1}}};
    if (credman_add(&c) != CREDMAN_OK || credman_add(&c) != CREDMAN_EXIST)
        return 1;
    sock_udp_t udp;
    sock_dtls_t dtls;
    sock_udp_ep_t local = SOCK_IPV6_EP_ANY, ep;
    if (sock_udp_create(&udp, &local, NULL, 0) != 0 || sock_udp_get_local(&udp, &ep) != 0 ||
        ep.family != AF_INET6 || AF_INET6 != 4)
        return 1;
    if (sock_dtls_create(&dtls, &udp, 10, SOCK_DTLS_1_2, SOCK_DTLS_SERVER) != 0)
        return 1;
    sock_dtls_session_t session;
    char buf[64];
    ssize_t n = sock_dtls_recv(&dtls, &session, buf, sizeof buf, 0); /* nobody yet */
    sock_dtls_close(&dtls);
    sock_udp_close(&udp);
    printf("RIOT sock_dtls: recv %s\nok\n", n == -EAGAIN ? "-EAGAIN" : "?");
    return 0;
}
