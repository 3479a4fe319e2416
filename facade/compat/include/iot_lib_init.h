/* iot_lib_init.h (FreeRTOS libraries' initialisation declarations), for the
 * Secure Sockets API on Linux (libzrec-zsock's compat layer). */
#ifndef IOT_LIB_INIT_H_
#define IOT_LIB_INIT_H_

#include "FreeRTOS.h"

#define lib_initDECLARE_LIB_INIT(f) extern BaseType_t f(void)

#endif
