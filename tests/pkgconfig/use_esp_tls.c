/* Built by pkgconfig.sh with `pkg-config zrec-zsock` alone: ESP-TLS code,
 * its headers included as on ESP-IDF. */
#include "esp_err.h"
#include "esp_tls.h"

#include <stdio.h>

int main(void)
{
    esp_tls_t *tls = esp_tls_init();
    if (tls == NULL)
        return 1;
    esp_tls_cfg_t cfg = {.timeout_ms = 1000, .skip_common_name = true};
    /* No CA, no PSK: ESP-TLS refuses to connect without a way to verify. */
    if (esp_tls_conn_new_sync("127.0.0.1", 9, 1, &cfg, tls) != -1)
        return 1;
    esp_tls_error_handle_t h;
    int code = 0, flags = 0;
    if (esp_tls_get_error_handle(tls, &h) != ESP_OK)
        return 1;
    esp_err_t last = esp_tls_get_and_clear_last_error(h, &code, &flags);
    printf("ESP-TLS: %s\n", esp_err_to_name(last));
    if (esp_tls_conn_destroy(tls) != 0)
        return 1;
    /* A server session on no descriptor fails (ESP-IDF's own unit test). */
    esp_tls_t *server = esp_tls_init();
    esp_tls_cfg_server_t scfg = {.tls_handshake_timeout_ms = 1000};
    if (server == NULL || esp_tls_server_session_create(&scfg, -1, server) >= 0)
        return 1;
    esp_tls_server_session_delete(server);
    printf("ok\n");
    return 0;
}
