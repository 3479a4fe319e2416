/* RIOT's net/sock/dtls/creds.h on Linux (zrec-zsock): the credentials of a
 * DTLS sock, several per sock, chosen per handshake. */
#ifndef ZREC_RIOT_NET_SOCK_DTLS_CREDS_H
#define ZREC_RIOT_NET_SOCK_DTLS_CREDS_H

#include "net/sock/dtls.h"

#endif
