/* Shared by zrec-client and zrec-server: they are ordinary Zephyr socket
 * programs (zsock API, SOL_TLS options, tls_credential_*) running on the
 * facade, like the embedded code zrec targets. */
#ifndef ZREC_TOOL_H
#define ZREC_TOOL_H

#include <stdbool.h>
#include <stddef.h>

struct tool_opts {
    const char *proto;   /* tls1.2 | tls1.3 | dtls1.2 | dtls1.3 */
    const char *host;
    const char *port;
    const char *bind;
    const char *ca, *cert, *key;
    const char *psk_id, *psk_hex;
    const char *sni;
    const char *cipher;  /* IANA name */
    const char *alpn;    /* comma-separated */
    bool insecure, echo, once;
    int idle_timeout_ms;
};

enum { TAG_CA = 1, TAG_OWN = 2, TAG_PSK = 3 };

/* Socket protocol for --proto (IPPROTO_TLS_1_2 …) and whether it is DTLS;
 * -1 if unknown. */
int tool_proto(const char *name, bool *dtls);
/* IANA cipher-suite name -> identifier, -1 if unknown. */
int tool_cipher_id(const char *iana);
/* Register the credentials named by the options (files may be PEM or DER);
 * 0 or -1 with a message on stderr. */
int tool_credentials(const struct tool_opts *o);
/* Apply tags, cipher, ALPN, verify mode, hostname to a TLS socket. */
int tool_configure(int sock, const struct tool_opts *o, bool server);
/* Print "what: errno-name (message)" to stderr. */
void tool_error(const char *what, int err);

#endif
