/*
 * Many DTLS clients at once for tests/dtls-gw/dtls_gw.sh, on the zsock
 * facade (so on the engine): each client makes its own session, then all
 * send in rounds, one datagram each per round (random bytes, random
 * length), and every answer must be PREFIX + exactly what that client
 * sent.  A datagram whose answer does not come within a second is sent
 * again (a new record: DTLS has no retransmission of data), at most
 * three times.  At the end every client closes (close_notify).
 *
 *   dgw_load --proto dtls1.2|dtls1.3 --host IP --port N --ca FILE
 *            [--clients N] [--count M] [--max-size B] [--prefix S] [--cid]
 *
 * Prints one line: "clients N datagrams D bytes B resent R"; exit 0 when
 * every answer came right, 1 otherwise (the first difference on stderr).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <zephyr/net/socket.h>
#include <zephyr/net/tls_credentials.h>

#define TAG_CA 1
#define MAX_CLIENTS 512

static void die(const char *what, int err)
{
    fprintf(stderr, "dgw_load: %s: %s\n", what, strerror(err));
    exit(1);
}

static void add_ca(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        die(path, errno);
    static char pem[16384];
    size_t n = fread(pem, 1, sizeof pem - 1, f);
    fclose(f);
    pem[n] = '\0';
    int rc = tls_credential_add(TAG_CA, TLS_CREDENTIAL_CA_CERTIFICATE, pem, n + 1);
    if (rc < 0)
        die("tls_credential_add", -rc);
}

int main(int argc, char **argv)
{
    const char *host = NULL, *ca = NULL, *prefix = "echo:";
    int port = 0, nclients = 10, count = 20, max_size = 1200, proto = 0;
    bool cid = false;
    static const struct option lo[] = {
        {"proto", required_argument, 0, 'p'}, {"host", required_argument, 0, 'h'},
        {"port", required_argument, 0, 'P'},  {"ca", required_argument, 0, 'a'},
        {"clients", required_argument, 0, 'n'}, {"count", required_argument, 0, 'c'},
        {"max-size", required_argument, 0, 's'}, {"prefix", required_argument, 0, 'x'},
        {"cid", no_argument, 0, 'C'},         {0, 0, 0, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (c) {
        case 'p':
            proto = strcmp(optarg, "dtls1.3") == 0   ? IPPROTO_DTLS_1_3
                    : strcmp(optarg, "dtls1.2") == 0 ? IPPROTO_DTLS_1_2
                                                     : 0;
            break;
        case 'h': host = optarg; break;
        case 'P': port = atoi(optarg); break;
        case 'a': ca = optarg; break;
        case 'n': nclients = atoi(optarg); break;
        case 'c': count = atoi(optarg); break;
        case 's': max_size = atoi(optarg); break;
        case 'x': prefix = optarg; break;
        case 'C': cid = true; break;
        default: return 2;
        }
    }
    if (!proto || !host || !ca || port <= 0 || nclients < 1 || nclients > MAX_CLIENTS ||
        count < 1 || max_size < 16 || max_size > 1300) {
        fprintf(stderr, "usage: dgw_load --proto dtls1.2|dtls1.3 --host IP --port N --ca FILE "
                        "[--clients 1..%d] [--count M] [--max-size 16..1300] [--prefix S] "
                        "[--cid]\n", MAX_CLIENTS);
        return 2;
    }
    add_ca(ca);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (zsock_inet_pton(AF_INET, host, &to.sin_addr) != 1)
        die(host, EINVAL);

    static int s[MAX_CLIENTS];
    for (int i = 0; i < nclients; i++) {
        s[i] = zsock_socket(AF_INET, SOCK_DGRAM, proto);
        if (s[i] < 0)
            die("socket", errno);
        sec_tag_t tags[] = {TAG_CA};
        int mode = TLS_DTLS_CID_SUPPORTED; /* we send the gateway's CID, ask for none */
        struct zsock_timeval tv = {.tv_sec = 1};
        if (zsock_setsockopt(s[i], SOL_TLS, TLS_SEC_TAG_LIST, tags, sizeof tags) < 0 ||
            zsock_setsockopt(s[i], SOL_TLS, TLS_HOSTNAME, "localhost", 9) < 0 ||
            (cid && zsock_setsockopt(s[i], SOL_TLS, TLS_DTLS_CID, &mode, sizeof mode) < 0) ||
            zsock_setsockopt(s[i], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0)
            die("setsockopt", errno);
        if (zsock_connect(s[i], (struct sockaddr *)&to, sizeof to) < 0)
            die("connect (the handshake)", errno);
    }

    size_t plen = strlen(prefix);
    static uint8_t msg[1400], got[1500];
    unsigned long datagrams = 0, bytes = 0, resent = 0;
    for (int round = 0; round < count; round++) {
        for (int i = 0; i < nclients; i++) {
            uint16_t r;
            if (getrandom(&r, sizeof r, 0) != sizeof r || getrandom(msg, sizeof msg, 0) < 0)
                die("getrandom", errno);
            size_t len = 1 + r % (unsigned)max_size;
            int tries = 0;
            bool answered = false;
            while (!answered) {
                if (zsock_send(s[i], msg, len, 0) != (ssize_t)len)
                    die("send", errno);
                for (;;) {
                    ssize_t n = zsock_recv(s[i], got, sizeof got, 0);
                    if (n < 0 && errno == EAGAIN) {
                        if (++tries > 3)
                            die("recv (no answer after 3 resends)", EAGAIN);
                        resent++;
                        break; /* send it again */
                    }
                    if (n < 0)
                        die("recv", errno);
                    if ((size_t)n == plen + len && memcmp(got, prefix, plen) == 0 &&
                        memcmp(got + plen, msg, len) == 0) {
                        answered = true;
                        break;
                    }
                    /* A late answer to an earlier round's resent datagram
                     * is no error; anything else is. */
                    if (!(resent && (size_t)n > plen && memcmp(got, prefix, plen) == 0)) {
                        fprintf(stderr, "dgw_load: client %d round %d: sent %zu bytes, the "
                                        "answer (%zd bytes) differs\n", i, round, len, n);
                        return 1;
                    }
                }
            }
            datagrams++;
            bytes += len;
        }
    }
    for (int i = 0; i < nclients; i++)
        if (zsock_close(s[i]) < 0)
            die("close", errno);
    printf("clients %d datagrams %lu bytes %lu resent %lu\n", nclients, datagrams, bytes, resent);
    return 0;
}
