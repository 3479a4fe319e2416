/*
 * ESP-TLS (ESP-IDF 5.x, esp_tls.h) on Linux: libzrec-zsock's compat layer
 * (docs/COMPAT.md).  TLS client connections and server sessions over the
 * zsock facade and the zrec engine, with ESP-TLS's names, types, values and
 * return conventions: every configuration field up to ESP-IDF 5.5 is
 * present, always (no CONFIG_* needed), in ESP-IDF's order.  esp_tls_t is
 * opaque, as in 5.x.
 */
#ifndef _ESP_TLS_H_
#define _ESP_TLS_H_

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "esp_err.h"
#include "esp_tls_errors.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum esp_tls_conn_state {
    ESP_TLS_INIT = 0,
    ESP_TLS_CONNECTING,
    ESP_TLS_HANDSHAKE,
    ESP_TLS_FAIL,
    ESP_TLS_DONE,
} esp_tls_conn_state_t;

typedef enum esp_tls_role {
    ESP_TLS_CLIENT = 0,
    ESP_TLS_SERVER,
} esp_tls_role_t;

typedef enum esp_tls_addr_family {
    ESP_TLS_AF_UNSPEC = 0,
    ESP_TLS_AF_INET,
    ESP_TLS_AF_INET6,
} esp_tls_addr_family_t;

typedef enum {
    ESP_TLS_VER_ANY = 0, /* no preference: TLS 1.2 (ESP-IDF's default build) */
    ESP_TLS_VER_TLS_1_2 = 0x1,
    ESP_TLS_VER_TLS_1_3 = 0x2,
    ESP_TLS_VER_TLS_MAX,
} esp_tls_proto_ver_t;

typedef struct psk_key_hint {
    const uint8_t *key;
    const size_t key_size;
    const char *hint;
} psk_hint_key_t;

typedef struct tls_keep_alive_cfg {
    bool keep_alive_enable;
    int keep_alive_idle;     /* seconds */
    int keep_alive_interval; /* seconds */
    int keep_alive_count;
} tls_keep_alive_cfg_t;

/* A session to resume (esp_tls_get_client_session), opaque: ESP-IDF's holds
 * an mbedtls_ssl_session, which applications only pass around. */
typedef struct esp_tls_client_session esp_tls_client_session_t;

struct ifreq;

typedef struct esp_tls_cfg {
    const char **alpn_protos; /* NULL-ended array of protocol names */
    union {
        const unsigned char *cacert_buf; /* PEM (its NUL counted in cacert_bytes) or DER */
        const unsigned char *cacert_pem_buf;
    };
    union {
        unsigned int cacert_bytes;
        unsigned int cacert_pem_bytes;
    };
    union {
        const unsigned char *clientcert_buf;
        const unsigned char *clientcert_pem_buf;
    };
    union {
        unsigned int clientcert_bytes;
        unsigned int clientcert_pem_bytes;
    };
    union {
        const unsigned char *clientkey_buf;
        const unsigned char *clientkey_pem_buf;
    };
    union {
        unsigned int clientkey_bytes;
        unsigned int clientkey_pem_bytes;
    };
    const unsigned char *clientkey_password; /* not supported: must be NULL */
    unsigned int clientkey_password_len;
    bool use_ecdsa_peripheral; /* ESP32 hardware: not supported */
    uint8_t ecdsa_key_efuse_blk;
    bool non_block;
    bool use_secure_element; /* not supported */
    int timeout_ms;          /* connect and I/O timeout; 0: 10 s */
    bool use_global_ca_store;
    const char *common_name; /* the name checked (and sent as SNI); default: the host */
    bool skip_common_name;   /* no name check (the chain still is) */
    tls_keep_alive_cfg_t *keep_alive_cfg;
    const psk_hint_key_t *psk_hint_key;
    esp_err_t (*crt_bundle_attach)(void *conf); /* not supported: must be NULL */
    void *ds_data;                               /* not supported */
    bool is_plain_tcp;
    struct ifreq *if_name;
    esp_tls_client_session_t *client_session;
    esp_tls_addr_family_t addr_family;
    const int *ciphersuites_list; /* 0-ended IANA suite numbers */
    esp_tls_proto_ver_t tls_version;
} esp_tls_cfg_t;

/* Server session tickets (CONFIG_ESP_TLS_SERVER_SESSION_TICKETS, off in
 * ESP-IDF's default build): not available, see
 * esp_tls_cfg_server_session_tickets_init(). */
typedef struct esp_tls_server_session_ticket_ctx esp_tls_server_session_ticket_ctx_t;

/* ESP-IDF 5.3+ without CONFIG_ESP_TLS_SERVER_CERT_SELECT_HOOK: "only kept
 * for compatibility reasons, not to be used". */
typedef void *esp_tls_handshake_callback;

/* ESP-IDF 5.5's order; every field present. */
typedef struct esp_tls_cfg_server {
    const char **alpn_protos; /* NULL-ended array of protocol names */
    union {
        const unsigned char *cacert_buf; /* clients' CA: a client certificate is then required */
        const unsigned char *cacert_pem_buf;
    };
    union {
        unsigned int cacert_bytes; /* PEM (its NUL counted) or DER */
        unsigned int cacert_pem_bytes;
    };
    union {
        const unsigned char *servercert_buf;
        const unsigned char *servercert_pem_buf;
    };
    union {
        unsigned int servercert_bytes;
        unsigned int servercert_pem_bytes;
    };
    union {
        const unsigned char *serverkey_buf;
        const unsigned char *serverkey_pem_buf;
    };
    union {
        unsigned int serverkey_bytes;
        unsigned int serverkey_pem_bytes;
    };
    const unsigned char *serverkey_password; /* not supported: must be NULL */
    unsigned int serverkey_password_len;
    bool use_ecdsa_peripheral; /* ESP32 hardware: not supported */
    uint8_t ecdsa_key_efuse_blk;
    bool use_secure_element;           /* not supported */
    uint32_t tls_handshake_timeout_ms; /* 0: 10 s */
    esp_tls_server_session_ticket_ctx_t *ticket_ctx; /* accepted, no tickets issued */
    void *userdata;                                  /* kept, unused (mbedTLS's config's) */
    esp_tls_handshake_callback cert_select_cb;       /* not supported: must be NULL */
    const psk_hint_key_t *psk_hint_key; /* PSK (the hint is the identity), without a certificate */
} esp_tls_cfg_server_t;

typedef struct esp_tls esp_tls_t;

/* A handle to connect with; NULL when out of memory. */
esp_tls_t *esp_tls_init(void);

/* 1 connected, -1 failed (see esp_tls_get_error_handle), 0: the handshake
 * did not end within timeout_ms (sync), or not yet (async: call again). */
int esp_tls_conn_new_sync(const char *hostname, int hostlen, int port, const esp_tls_cfg_t *cfg,
                          esp_tls_t *tls);
int esp_tls_conn_new_async(const char *hostname, int hostlen, int port, const esp_tls_cfg_t *cfg,
                           esp_tls_t *tls);
/* The host and port of an http:// or https:// URL (port 80 / 443 by default). */
int esp_tls_conn_http_new_sync(const char *url, const esp_tls_cfg_t *cfg, esp_tls_t *tls);
int esp_tls_conn_http_new_async(const char *url, const esp_tls_cfg_t *cfg, esp_tls_t *tls);

/* Bytes written or read; a closed connection reads 0;
 * ESP_TLS_ERR_SSL_WANT_READ / WANT_WRITE when it would block (non_block,
 * or the timeout passed); another negative value on errors; -1 for a
 * handle that is not connected. */
ssize_t esp_tls_conn_write(esp_tls_t *tls, const void *data, size_t datalen);
ssize_t esp_tls_conn_read(esp_tls_t *tls, void *data, size_t datalen);
/* Closes (TLS: with close_notify) and frees; 0, or -1 for NULL. */
int esp_tls_conn_destroy(esp_tls_t *tls);

/* Decrypted bytes ready to read; -1 for NULL. */
ssize_t esp_tls_get_bytes_avail(esp_tls_t *tls);
esp_err_t esp_tls_get_conn_sockfd(esp_tls_t *tls, int *sockfd);
esp_err_t esp_tls_set_conn_sockfd(esp_tls_t *tls, int sockfd);
esp_err_t esp_tls_get_conn_state(esp_tls_t *tls, esp_tls_conn_state_t *conn_state);
esp_err_t esp_tls_set_conn_state(esp_tls_t *tls, esp_tls_conn_state_t conn_state);
/* The TLS library's connection object: not exposed here (NULL). */
void *esp_tls_get_ssl_context(esp_tls_t *tls);

/* The global CA store (cfg->use_global_ca_store). */
esp_err_t esp_tls_init_global_ca_store(void);
esp_err_t esp_tls_set_global_ca_store(const unsigned char *cacert_pem_buf,
                                      const unsigned int cacert_pem_bytes);
/* The store's certificates as given (PEM), or NULL when there is none. */
void *esp_tls_get_global_ca_store(void);
void esp_tls_free_global_ca_store(void);

esp_err_t esp_tls_get_and_clear_last_error(esp_tls_error_handle_t h, int *esp_tls_code,
                                           int *esp_tls_flags);
esp_err_t esp_tls_get_and_clear_error_type(esp_tls_error_handle_t h,
                                           esp_tls_error_type_t err_type, int *error_code);
esp_err_t esp_tls_get_error_handle(esp_tls_t *tls, esp_tls_error_handle_t *error_handle);

/* The cipher suites this library can offer (IANA numbers), 0-ended. */
const int *esp_tls_get_ciphersuites_list(void);

/* A TCP connection only; *sockfd its descriptor. */
esp_err_t esp_tls_plain_tcp_connect(const char *host, int hostlen, int port,
                                    const esp_tls_cfg_t *cfg, esp_tls_error_handle_t error_handle,
                                    int *sockfd);

/* The connection's TLS session for resumption (cfg->client_session on a
 * later connection), a copy to free with esp_tls_free_client_session(), or
 * NULL: TLS 1.2, the handshake's; TLS 1.3, the newest ticket received so
 * far by esp_tls_conn_read() (NULL before the server has sent one). */
esp_tls_client_session_t *esp_tls_get_client_session(esp_tls_t *tls);
void esp_tls_free_client_session(esp_tls_client_session_t *client_session); /* NULL: nothing */

/* ---- server sessions: sockfd is a connected socket the application
 * accept()ed (kernel TCP); it stays the application's to close. ---- */

/* Set up (no bytes exchanged): ESP_OK, ESP_ERR_INVALID_ARG (NULL), or
 * ESP_FAIL with the reason in the error handle. */
esp_err_t esp_tls_server_session_init(esp_tls_cfg_server_t *cfg, int sockfd, esp_tls_t *tls);
/* One step of the handshake (a blocking socket: to its end): 0 done,
 * ESP_TLS_ERR_SSL_WANT_READ / WANT_WRITE in progress, another negative
 * value when it failed (see the error handle; then free the handle). */
int esp_tls_server_session_continue_async(esp_tls_t *tls);
/* init, then the handshake to its end within tls_handshake_timeout_ms:
 * 0 done; init's error (ESP_FAIL, ESP_ERR_INVALID_ARG);
 * ESP_ERR_ESP_TLS_SERVER_HANDSHAKE_TIMEOUT (positive, as in ESP-IDF 5.5)
 * when the time ran out; another negative value when the handshake failed. */
int esp_tls_server_session_create(esp_tls_cfg_server_t *cfg, int sockfd, esp_tls_t *tls);
/* Ends the session (close_notify) and frees the handle; sockfd stays open
 * with the blocking mode it had.  NULL: nothing. */
void esp_tls_server_session_delete(esp_tls_t *tls);

/* ESP_ERR_NOT_SUPPORTED (ESP-IDF's answer without
 * CONFIG_ESP_TLS_SERVER_SESSION_TICKETS); free does nothing. */
esp_err_t esp_tls_cfg_server_session_tickets_init(esp_tls_cfg_server_t *cfg);
void esp_tls_cfg_server_session_tickets_free(esp_tls_cfg_server_t *cfg);

#ifdef __cplusplus
}
#endif

#endif
