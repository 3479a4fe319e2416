/* Defaults of the Secure Sockets configuration (what a port leaves out). */
#ifndef AWS_INC_SECURE_SOCKETS_CONFIG_DEFAULTS_H_
#define AWS_INC_SECURE_SOCKETS_CONFIG_DEFAULTS_H_

#ifndef socketsconfigBYTE_ORDER
#error "socketsconfigBYTE_ORDER must be defined."
#endif
#ifndef socketsconfigDEFAULT_SEND_TIMEOUT
#define socketsconfigDEFAULT_SEND_TIMEOUT (10000)
#endif
#ifndef socketsconfigDEFAULT_RECV_TIMEOUT
#define socketsconfigDEFAULT_RECV_TIMEOUT (10000)
#endif
#ifndef AWS_IOT_SECURE_SOCKETS_METRICS_ENABLED
#define AWS_IOT_SECURE_SOCKETS_METRICS_ENABLED (0)
#endif

#endif
