/* The Secure Sockets library's port configuration (a FreeRTOS board ships
 * its own): this port runs on Linux, little- or big-endian as the host is. */
#ifndef IOT_SECURE_SOCKETS_CONFIG_H_
#define IOT_SECURE_SOCKETS_CONFIG_H_

#include "FreeRTOS.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define socketsconfigBYTE_ORDER pdBIG_ENDIAN
#else
#define socketsconfigBYTE_ORDER pdLITTLE_ENDIAN
#endif
#define socketsconfigDEFAULT_SEND_TIMEOUT (10000)
#define socketsconfigDEFAULT_RECV_TIMEOUT (10000)

#endif
