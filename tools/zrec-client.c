/*
 * zrec-client: a TLS/DTLS client in the manner of `openssl s_client`, built
 * on the zsock facade.  Sends stdin (for DTLS each stdin line is one
 * datagram), prints only received application data on stdout; after stdin
 * EOF it keeps printing until the peer closes or nothing arrives for
 * --idle-timeout ms, then closes cleanly (close_notify).  Exit status is
 * non-zero on any TLS or socket error, named on stderr.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zephyr/net/socket.h>

#include "zrec_tool.h"

/* --help: the text on stdout, status 0; a usage error: on stderr, 2. */
static void usage(int status)
{
    fprintf(status ? stderr : stdout,
            "usage: zrec-client --proto tls1.2|tls1.3|dtls1.2|dtls1.3 --host H --port N\n"
            "         [--ca F] [--cert F --key F] [--psk-id ID --psk HEX] [--sni NAME]\n"
            "         [--cipher IANA_NAME] [--alpn LIST] [--insecure] [--idle-timeout MS]\n"
            "\n"
            "  A TLS/DTLS client on the zsock facade, used like `openssl s_client`: sends\n"
            "  stdin (DTLS: each line one datagram, its newline included), prints only the\n"
            "  application data it receives on stdout.  After stdin ends it keeps printing\n"
            "  until the server closes or nothing arrives for --idle-timeout, then closes\n"
            "  (close_notify).\n"
            "\n"
            "  --proto P              protocol and version (required)\n"
            "  --host H --port N      the server: a name or address, a port (required)\n"
            "  --ca F                 verify the server's certificate against this CA (PEM\n"
            "                         or DER); the name checked is --sni, else --host\n"
            "  --cert F --key F       a client certificate and key, PEM or DER\n"
            "  --psk-id ID --psk HEX  a pre-shared key instead of certificates\n"
            "  --sni NAME             server name sent (SNI) and checked (default: --host)\n"
            "  --cipher NAME          offer only this IANA suite\n"
            "  --alpn LIST            comma-separated ALPN protocols to offer\n"
            "  --insecure             do not verify the server (testing only)\n"
            "  --idle-timeout MS      after stdin ends, close once nothing has arrived for\n"
            "                         MS (default 1000)\n"
            "  --help                 this text\n"
            "\n"
            "  Exit status: 0 after a clean close; 1 on any TLS or socket error, named on\n"
            "  stderr (ECONNABORTED: the handshake failed; ETIMEDOUT: no answer); 2 on a\n"
            "  usage error.\n");
    exit(status);
}

static int send_all(int sock, const char *p, size_t n)
{
    while (n) {
        ssize_t w = zsock_send(sock, p, n, 0);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct tool_opts o = {.idle_timeout_ms = 1000};
    static const struct option lo[] = {
        {"proto", 1, 0, 'p'}, {"host", 1, 0, 'h'}, {"port", 1, 0, 'P'}, {"ca", 1, 0, 'a'},
        {"cert", 1, 0, 'c'}, {"key", 1, 0, 'k'}, {"psk-id", 1, 0, 'i'}, {"psk", 1, 0, 's'},
        {"sni", 1, 0, 'n'}, {"cipher", 1, 0, 'C'}, {"alpn", 1, 0, 'A'},
        {"insecure", 0, 0, 'I'}, {"idle-timeout", 1, 0, 't'}, {"help", 0, 0, 'H'},
        {0, 0, 0, 0}};
    for (int c; (c = getopt_long(argc, argv, "", lo, NULL)) != -1;) {
        switch (c) {
        case 'p': o.proto = optarg; break;
        case 'h': o.host = optarg; break;
        case 'P': o.port = optarg; break;
        case 'a': o.ca = optarg; break;
        case 'c': o.cert = optarg; break;
        case 'k': o.key = optarg; break;
        case 'i': o.psk_id = optarg; break;
        case 's': o.psk_hex = optarg; break;
        case 'n': o.sni = optarg; break;
        case 'C': o.cipher = optarg; break;
        case 'A': o.alpn = optarg; break;
        case 'I': o.insecure = true; break;
        case 't': o.idle_timeout_ms = atoi(optarg); break;
        case 'H': usage(0); break;
        default: usage(2);
        }
    }
    bool dtls;
    int proto = tool_proto(o.proto, &dtls);
    if (proto < 0 || o.host == NULL || o.port == NULL)
        usage(2);
    if (tool_credentials(&o) < 0)
        return 1;

    struct zsock_addrinfo hints = {.ai_socktype = dtls ? SOCK_DGRAM : SOCK_STREAM}, *res;
    int gai = zsock_getaddrinfo(o.host, o.port, &hints, &res);
    if (gai != 0) {
        fprintf(stderr, "%s:%s: %s\n", o.host, o.port, zsock_gai_strerror(gai));
        return 1;
    }
    int sock = zsock_socket(res->ai_family, dtls ? SOCK_DGRAM : SOCK_STREAM, proto);
    if (sock < 0) {
        tool_error("socket", errno);
        return 1;
    }
    if (tool_configure(sock, &o, false) < 0)
        return 1;
    if (zsock_connect(sock, res->ai_addr, res->ai_addrlen) < 0) {
        tool_error("connect", errno);
        return 1;
    }
    zsock_freeaddrinfo(res);

    char buf[16384], line[16384];
    size_t line_len = 0;
    bool stdin_open = true;
    int status = 0;
    for (;;) {
        struct zsock_pollfd p[2] = {{sock, ZSOCK_POLLIN, 0}, {0, ZSOCK_POLLIN, 0}};
        int n = zsock_poll(p, stdin_open ? 2 : 1, stdin_open ? -1 : o.idle_timeout_ms);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            tool_error("poll", errno);
            status = 1;
            break;
        }
        if (n == 0)
            break; /* idle after stdin EOF: done */
        if (p[0].revents & (ZSOCK_POLLIN | ZSOCK_POLLHUP | ZSOCK_POLLERR)) {
            ssize_t r = zsock_recv(sock, buf, sizeof buf, ZSOCK_MSG_DONTWAIT);
            if (r > 0) {
                fwrite(buf, 1, (size_t)r, stdout);
                fflush(stdout);
            } else if (r == 0) {
                break; /* the peer closed (close_notify) */
            } else if (errno != EAGAIN) {
                tool_error("recv", errno);
                status = 1;
                break;
            }
        }
        if (stdin_open && (p[1].revents & (ZSOCK_POLLIN | ZSOCK_POLLHUP))) {
            ssize_t r = read(0, dtls ? line + line_len : buf,
                             dtls ? sizeof line - line_len : sizeof buf);
            if (r <= 0) {
                stdin_open = false;
                if (dtls && line_len && zsock_send(sock, line, line_len, 0) < 0) {
                    tool_error("send", errno);
                    status = 1;
                    break;
                }
                continue;
            }
            if (!dtls) {
                if (send_all(sock, buf, (size_t)r) < 0) {
                    tool_error("send", errno);
                    status = 1;
                    break;
                }
                continue;
            }
            /* DTLS: one datagram per complete line (newline included). */
            line_len += (size_t)r;
            size_t start = 0;
            for (size_t i = 0; i < line_len; i++) {
                if (line[i] != '\n')
                    continue;
                if (zsock_send(sock, line + start, i + 1 - start, 0) < 0) {
                    tool_error("send", errno);
                    status = 1;
                    goto out;
                }
                start = i + 1;
            }
            memmove(line, line + start, line_len - start);
            line_len -= start;
            if (line_len == sizeof line) { /* an over-long line: send what we have */
                if (zsock_send(sock, line, line_len, 0) < 0) {
                    tool_error("send", errno);
                    status = 1;
                    break;
                }
                line_len = 0;
            }
        }
    }
out:
    if (zsock_close(sock) < 0 && status == 0) {
        tool_error("close", errno);
        status = 1;
    }
    return status;
}
