/*
 * Amazon FreeRTOS Secure Sockets on Linux (libzrec-zsock's compat layer,
 * docs/COMPAT.md): TCP client sockets with optional TLS, over the zsock
 * facade and the zrec engine.  Names, types and values are the library's
 * (iot_secure_sockets.h V1.x); behaviour follows its reference ports and
 * qualification tests (Full_TCP) where the header leaves it open:
 *
 *  - Errors are negative SOCKETS_* codes; a receive timeout returns 0 and
 *    leaves the connection (and its TLS session) usable; a closed
 *    connection, or one shut down locally, then returns SOCKETS_ECLOSED.
 *  - SOCKETS_SO_RCVTIMEO / SNDTIMEO take a TickType_t (1 tick = 1 ms), 0 =
 *    wait forever; the default is socketsconfigDEFAULT_*_TIMEOUT.
 *  - TLS options are taken before connect only (after it: SOCKETS_EISCONN);
 *    SOCKETS_SO_NONBLOCK after connect only (before it: SOCKETS_ENOTCONN).
 *  - Without SOCKETS_SO_TRUSTED_SERVER_CERTIFICATE the server is verified
 *    against the system's roots (/etc/ssl/certs/ca-certificates.crt); with
 *    SOCKETS_SO_SERVER_NAME_INDICATION its name is checked too.
 *  - Send and receive may run on one socket from two threads at once.
 *  - Invalid socket arguments return SOCKETS_INVALID_SOCKET (no assert).
 */
#ifndef _AWS_SECURE_SOCKETS_H_
#define _AWS_SECURE_SOCKETS_H_

#include <stddef.h>
#include <stdint.h>
#include <stdio.h> /* SOCKETS_inet_ntoa */

#include "iot_lib_init.h"
#include "iot_secure_sockets_config.h"
#include "iot_secure_sockets_config_defaults.h"

#ifdef __cplusplus
extern "C" {
#endif

struct xSOCKET;
typedef struct xSOCKET *Socket_t;

#define Socklen_t uint32_t

/* Error codes. */
#define SOCKETS_ERROR_NONE (0)
#define SOCKETS_SOCKET_ERROR (-1)
#define SOCKETS_EWOULDBLOCK (-11)
#define SOCKETS_ENOMEM (-12)
#define SOCKETS_EINVAL (-22)
#define SOCKETS_ENOPROTOOPT (-109)
#define SOCKETS_ENOTCONN (-126)
#define SOCKETS_EISCONN (-127)
#define SOCKETS_ECLOSED (-128)
#define SOCKETS_TLS_INIT_ERROR (-1001)
#define SOCKETS_TLS_HANDSHAKE_ERROR (-1002)
#define SOCKETS_TLS_SERVER_UNVERIFIED (-1003)
#define SOCKETS_TLS_RECV_ERROR (-1004)
#define SOCKETS_TLS_SEND_ERROR (-1005)
#define SOCKETS_PERIPHERAL_RESET (-1006)

#define SOCKETS_INVALID_SOCKET ((Socket_t)~0U)

#define SOCKETS_AF_INET (2)
#define SOCKETS_PF_INET SOCKETS_AF_INET
#define SOCKETS_AF_INET6 (10) /* not supported */

#define SOCKETS_SOCK_DGRAM (2) /* not supported */
#define SOCKETS_SOCK_STREAM (1)

#define SOCKETS_IPPROTO_UDP (17) /* not supported */
#define SOCKETS_IPPROTO_TCP (6)

/* SOCKETS_SetSockOpt() options. */
#define SOCKETS_SO_RCVTIMEO (0)
#define SOCKETS_SO_SNDTIMEO (1)
#define SOCKETS_SO_SNDBUF (4)
#define SOCKETS_SO_RCVBUF (5)
#define SOCKETS_SO_SERVER_NAME_INDICATION (6)
#define SOCKETS_SO_TRUSTED_SERVER_CERTIFICATE (7)
#define SOCKETS_SO_REQUIRE_TLS (8)
#define SOCKETS_SO_NONBLOCK (9)
#define SOCKETS_SO_ALPN_PROTOCOLS (10)
#define SOCKETS_SO_WAKEUP_CALLBACK (17)

#define SOCKETS_SHUT_RD (0)
#define SOCKETS_SHUT_WR (1)
#define SOCKETS_SHUT_RDWR (2)

#define securesocketsMAX_DNS_NAME_LENGTH (253)

typedef struct SocketsSockaddr {
    uint8_t ucLength;       /* ignored, as by the reference ports */
    uint8_t ucSocketDomain; /* ignored: SOCKETS_AF_INET */
    uint16_t usPort;        /* network byte order */
    uint32_t ulAddress;     /* network byte order */
} SocketsSockaddr_t;

#define securesocketsDEFAULT_TLS_DESTINATION_PORT 443
#define socketsAWS_IOT_ALPN_MQTT "x-amzn-mqtt-ca"

/* pdPASS (always, on Linux: the library also initialises itself). */
lib_initDECLARE_LIB_INIT(SOCKETS_Init);

/* A TCP socket (SOCKETS_AF_INET, SOCKETS_SOCK_STREAM, SOCKETS_IPPROTO_TCP);
 * SOCKETS_INVALID_SOCKET on anything else or when out of memory. */
Socket_t SOCKETS_Socket(int32_t lDomain, int32_t lType, int32_t lProtocol);

/* 0, or: SOCKETS_EINVAL (bad handle, NULL address, address or port 0),
 * SOCKETS_EISCONN, SOCKETS_TLS_HANDSHAKE_ERROR (the handshake failed: the
 * server was not verified, or no suite in common), SOCKETS_SOCKET_ERROR
 * (refused, unreachable, timed out).  After a failure only
 * SOCKETS_Close() is of use. */
int32_t SOCKETS_Connect(Socket_t xSocket, SocketsSockaddr_t *pxAddress, Socklen_t xAddressLength);

/* Bytes received; 0 when the receive timeout passed (or, non-blocking,
 * nothing is there); SOCKETS_ECLOSED once the peer closed or the socket
 * was shut down for reading; SOCKETS_EINVAL, SOCKETS_ENOTCONN,
 * SOCKETS_TLS_RECV_ERROR, SOCKETS_SOCKET_ERROR. */
int32_t SOCKETS_Recv(Socket_t xSocket, void *pvBuffer, size_t xBufferLength, uint32_t ulFlags);

/* Bytes sent (possibly fewer than asked); SOCKETS_EWOULDBLOCK (send
 * timeout, or non-blocking and no room); SOCKETS_ECLOSED, SOCKETS_EINVAL,
 * SOCKETS_ENOTCONN, SOCKETS_TLS_SEND_ERROR, SOCKETS_SOCKET_ERROR. */
int32_t SOCKETS_Send(Socket_t xSocket, const void *pvBuffer, size_t xDataLength, uint32_t ulFlags);

/* 0, SOCKETS_EINVAL (bad handle or ulHow), SOCKETS_ENOTCONN. */
int32_t SOCKETS_Shutdown(Socket_t xSocket, uint32_t ulHow);

/* 0 (a TLS connection sends close_notify), SOCKETS_EINVAL (bad handle). */
int32_t SOCKETS_Close(Socket_t xSocket);

/* lLevel is ignored.  0, SOCKETS_EINVAL, SOCKETS_EISCONN,
 * SOCKETS_ENOTCONN, SOCKETS_ENOMEM, SOCKETS_ENOPROTOOPT (unknown option).
 * Values: timeouts a TickType_t; SOCKETS_SO_TRUSTED_SERVER_CERTIFICATE PEM
 * with its NUL counted (or DER); SOCKETS_SO_SERVER_NAME_INDICATION the
 * name (a NUL within the length ends it); SOCKETS_SO_ALPN_PROTOCOLS an
 * array of strings, the length their count; SOCKETS_SO_WAKEUP_CALLBACK
 * the function itself, void (*)(Socket_t), NULL to clear: called from a
 * thread of the library's when data is there to read. */
int32_t SOCKETS_SetSockOpt(Socket_t xSocket, int32_t lLevel, int32_t lOptionName,
                           const void *pvOptionValue, size_t xOptionLength);

/* The IPv4 address of a host name, network byte order; 0 on error. */
uint32_t SOCKETS_GetHostByName(const char *pcHostName);

#if defined(socketsconfigBYTE_ORDER) && (socketsconfigBYTE_ORDER == pdLITTLE_ENDIAN)
#define SOCKETS_htonl(ulIn)                                                                       \
    ((uint32_t)((((ulIn)&0xFF) << 24) | (((ulIn)&0xFF00) << 8) | (((ulIn)&0xFF0000) >> 8) |       \
                (((ulIn)&0xFF000000) >> 24)))
#define SOCKETS_htons(usIn) ((uint16_t)((((usIn) << 8U) | ((usIn) >> 8U)) & 0xFFFFU))
#define SOCKETS_inet_addr_quick(ucOctet0, ucOctet1, ucOctet2, ucOctet3)                           \
    ((((uint32_t)(ucOctet3)) << 24UL) | (((uint32_t)(ucOctet2)) << 16UL) |                        \
     (((uint32_t)(ucOctet1)) << 8UL) | ((uint32_t)(ucOctet0)))
#define SOCKETS_inet_ntoa(ulIPAddress, pucBuffer)                                                 \
    sprintf((char *)(pucBuffer), "%u.%u.%u.%u", ((unsigned)((ulIPAddress)&0xffUL)),              \
            ((unsigned)(((ulIPAddress) >> 8) & 0xffUL)),                                          \
            ((unsigned)(((ulIPAddress) >> 16) & 0xffUL)), ((unsigned)((ulIPAddress) >> 24)))
#else
#define SOCKETS_htonl(ulIn) ((uint32_t)(ulIn))
#define SOCKETS_htons(usIn) ((uint16_t)(usIn))
#define SOCKETS_inet_addr_quick(ucOctet0, ucOctet1, ucOctet2, ucOctet3)                           \
    ((((uint32_t)(ucOctet0)) << 24UL) | (((uint32_t)(ucOctet1)) << 16UL) |                        \
     (((uint32_t)(ucOctet2)) << 8UL) | ((uint32_t)(ucOctet3)))
#define SOCKETS_inet_ntoa(ulIPAddress, pucBuffer)                                                 \
    sprintf((char *)(pucBuffer), "%u.%u.%u.%u", ((unsigned)((ulIPAddress) >> 24)),               \
            ((unsigned)(((ulIPAddress) >> 16) & 0xffUL)),                                         \
            ((unsigned)(((ulIPAddress) >> 8) & 0xffUL)), ((unsigned)((ulIPAddress)&0xffUL)))
#endif
#define SOCKETS_ntohl(usIn) SOCKETS_htonl(usIn)
#define SOCKETS_ntohs(usIn) SOCKETS_htons(usIn)

#ifdef __cplusplus
}
#endif

#endif
