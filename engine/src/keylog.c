/* SSLKEYLOGFILE support: NSS key log format, one line per secret, so
 * Wireshark/tshark can decrypt captures of zrec traffic. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zrec/zrec.h"

int zrec_keylog_write(const char *label, const uint8_t *client_random, size_t random_len,
                      const uint8_t *secret, size_t secret_len)
{
    const char *path = getenv("SSLKEYLOGFILE");
    if (path == NULL || *path == '\0')
        return 0;
    if (label == NULL || client_random == NULL || secret == NULL || random_len > 64 ||
        secret_len > 64)
        return -EINVAL;
    char line[64 + 1 + 128 + 1 + 128 + 2];
    size_t n = (size_t)snprintf(line, sizeof line, "%s ", label);
    if (n >= sizeof line - 2 * (random_len + secret_len) - 3)
        return -EINVAL;
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < random_len; i++) {
        line[n++] = hex[client_random[i] >> 4];
        line[n++] = hex[client_random[i] & 15];
    }
    line[n++] = ' ';
    for (size_t i = 0; i < secret_len; i++) {
        line[n++] = hex[secret[i] >> 4];
        line[n++] = hex[secret[i] & 15];
    }
    line[n++] = '\n';
    /* One write() per line on an O_APPEND descriptor: lines from several
     * threads or processes never interleave. */
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    ssize_t w = write(fd, line, n);
    int rc = w == (ssize_t)n ? 0 : (w < 0 ? -errno : -EIO);
    close(fd);
    memset(line, 0, sizeof line);
    return rc;
}
