/* The Secure Sockets header under its name before 2019: the same API. */
#include "iot_secure_sockets.h"
