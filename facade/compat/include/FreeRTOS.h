/*
 * FreeRTOS.h for code on Linux (libzrec-zsock's compat layer): the kernel's
 * types and macros that the Secure Sockets API uses, as the FreeRTOS POSIX
 * port defines them (portmacro.h, projdefs.h), with a 1 kHz tick.  No
 * scheduler: tasks, queues and timers stay FreeRTOS's own.
 */
#ifndef INC_FREERTOS_H
#define INC_FREERTOS_H

#include <assert.h>
#include <stdint.h>

typedef long BaseType_t;
typedef unsigned long UBaseType_t;
typedef unsigned long TickType_t;

#define portMAX_DELAY ((TickType_t)~0UL)

#ifndef configTICK_RATE_HZ
#define configTICK_RATE_HZ ((TickType_t)1000)
#endif
#define portTICK_PERIOD_MS ((TickType_t)1000 / configTICK_RATE_HZ)
#ifndef pdMS_TO_TICKS
#define pdMS_TO_TICKS(xTimeInMs)                                                                  \
    ((TickType_t)(((uint64_t)(xTimeInMs) * (uint64_t)configTICK_RATE_HZ) / (uint64_t)1000U))
#endif
#ifndef pdTICKS_TO_MS
#define pdTICKS_TO_MS(xTimeInTicks)                                                               \
    ((TickType_t)(((uint64_t)(xTimeInTicks) * (uint64_t)1000U) / (uint64_t)configTICK_RATE_HZ))
#endif

#define pdFALSE ((BaseType_t)0)
#define pdTRUE ((BaseType_t)1)
#define pdPASS (pdTRUE)
#define pdFAIL (pdFALSE)

#define pdFREERTOS_LITTLE_ENDIAN 0
#define pdFREERTOS_BIG_ENDIAN 1
#define pdLITTLE_ENDIAN pdFREERTOS_LITTLE_ENDIAN
#define pdBIG_ENDIAN pdFREERTOS_BIG_ENDIAN

#ifndef configASSERT
#define configASSERT(x) assert(x)
#endif

#endif
