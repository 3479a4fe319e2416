/* Built by pkgconfig.sh with `pkg-config zrec-zsock` alone: FreeRTOS
 * Secure Sockets code, its headers included as on FreeRTOS. */
#include "FreeRTOS.h"
#include "iot_secure_sockets.h"

#include <stdio.h>

int main(void)
{
    if (SOCKETS_Init() != pdPASS)
        return 1;
    Socket_t s = SOCKETS_Socket(SOCKETS_AF_INET, SOCKETS_SOCK_STREAM, SOCKETS_IPPROTO_TCP);
    if (s == SOCKETS_INVALID_SOCKET)
        return 1;
    static const TickType_t timeout = pdMS_TO_TICKS(2000);
    if (SOCKETS_SetSockOpt(s, 0, SOCKETS_SO_RCVTIMEO, &timeout, sizeof timeout) != 0 ||
        SOCKETS_SetSockOpt(s, 0, SOCKETS_SO_REQUIRE_TLS, NULL, 0) != 0)
        return 1;
    SocketsSockaddr_t a = {.usPort = SOCKETS_htons(1), .ulAddress = 0};
    if (SOCKETS_Connect(s, &a, sizeof a) != SOCKETS_EINVAL) /* 0.0.0.0 names no server */
        return 1;
    if (SOCKETS_Close(s) != SOCKETS_ERROR_NONE || SOCKETS_Close(SOCKETS_INVALID_SOCKET) != SOCKETS_EINVAL)
        return 1;
    char ip[16];
    SOCKETS_inet_ntoa(SOCKETS_inet_addr_quick(10, 0, 0, 1), ip);
    printf("FreeRTOS Secure Sockets: %s\nok\n", ip);
    return 0;
}
