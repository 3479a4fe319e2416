// zrec-bench: OpenSSL 3.0 reference points (this translation unit is the only
// one that sees <openssl/*.h>; wolfSSL's compat headers live elsewhere).
//
//   openssl:<proto>:<aead>:writeread:<size>
//       One iteration = SSL_write(client, size bytes) + SSL_read(server,
//       size bytes): one record sealed and opened, both ends in this thread
//       (so on the one pinned core).
//       TLS: the two SSL objects talk through a BIO pair (in-memory).
//       DTLS: a BIO pair does not keep datagram boundaries, and OpenSSL 3.0
//       has no datagram BIO pair (BIO_s_dgram_pair arrived in 3.2), so DTLS
//       runs over socketpair(AF_UNIX, SOCK_DGRAM) with BIO_new_dgram() on each
//       end (connected, non-blocking, MTU queries off): each SSL_write is one
//       send() of one datagram, each SSL_read one recv() — two system calls
//       per record that the TLS points do not pay.
//       DTLS 1.3: OpenSSL 3.0 does not implement it; those points are not
//       registered.
//       Handshake: ECDHE + ECDSA P-256 with a throwaway self-signed
//       certificate, no verification, no session tickets.
#include "bench.h"

#include <benchmark/benchmark.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/opensslv.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

namespace zb {
namespace {

EVP_PKEY *g_key = nullptr;
X509 *g_cert = nullptr;

bool make_identity()
{
    if (g_key != nullptr)
        return g_cert != nullptr;
    g_key = EVP_EC_gen("P-256");
    if (g_key == nullptr)
        return false;
    X509 *x = X509_new();
    if (x == nullptr)
        return false;
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600L * 24 * 365);
    X509_set_pubkey(x, g_key);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char *>("zrec-bench"), -1, -1, 0);
    X509_set_issuer_name(x, name);
    if (X509_sign(x, g_key, EVP_sha256()) == 0) {
        X509_free(x);
        return false;
    }
    g_cert = x;
    return true;
}

struct Suite {
    const char *tls12;  // OpenSSL cipher list name (TLS 1.2 / DTLS 1.2)
    const char *tls13;  // TLS 1.3 ciphersuite name
};

bool suite_for(const std::string &aead, Suite *s)
{
    if (aead == "aes128gcm")
        *s = {"ECDHE-ECDSA-AES128-GCM-SHA256", "TLS_AES_128_GCM_SHA256"};
    else if (aead == "aes256gcm")
        *s = {"ECDHE-ECDSA-AES256-GCM-SHA384", "TLS_AES_256_GCM_SHA384"};
    else if (aead == "chacha20poly1305")
        *s = {"ECDHE-ECDSA-CHACHA20-POLY1305", "TLS_CHACHA20_POLY1305_SHA256"};
    else if (aead == "aes128ccm")
        *s = {"ECDHE-ECDSA-AES128-CCM", "TLS_AES_128_CCM_SHA256"};
    else
        return false;
    return true;
}

std::string ossl_errors()
{
    std::string out;
    unsigned long e;
    char buf[256];
    while ((e = ERR_get_error()) != 0) {
        ERR_error_string_n(e, buf, sizeof buf);
        if (!out.empty())
            out += "; ";
        out += buf;
    }
    return out;
}

struct Conn {
    SSL_CTX *cctx = nullptr, *sctx = nullptr;
    SSL *c = nullptr, *s = nullptr;
    int fds[2] = {-1, -1};
    std::string err;

    Conn(const std::string &proto, const std::string &aead)
    {
        if (!setup(proto, aead) && err.empty())
            err = "OpenSSL setup failed";
        if (!err.empty()) {
            std::string e = ossl_errors();
            if (!e.empty())
                err += ": " + e;
        }
    }

    ~Conn()
    {
        SSL_free(c);
        SSL_free(s);
        SSL_CTX_free(cctx);
        SSL_CTX_free(sctx);
        for (int fd : fds)
            if (fd >= 0)
                close(fd);
    }

    Conn(const Conn &) = delete;
    Conn &operator=(const Conn &) = delete;

    static BIO *dgram_bio(int fd)
    {
        BIO *b = BIO_new_dgram(fd, BIO_NOCLOSE);
        if (b == nullptr)
            return nullptr;
        // A connected datagram BIO write()s instead of sendto()ing an
        // (unset) peer address, which AF_UNIX would reject.
        BIO_ADDR *peer = BIO_ADDR_new();
        if (peer == nullptr || !BIO_ADDR_rawmake(peer, AF_UNIX, "", 0, 0)) {
            BIO_ADDR_free(peer);
            BIO_free(b);
            return nullptr;
        }
        BIO_ctrl(b, BIO_CTRL_DGRAM_SET_CONNECTED, 0, peer);
        BIO_ADDR_free(peer);
        return b;
    }

    bool setup(const std::string &proto, const std::string &aead)
    {
        Suite suite;
        if (!suite_for(aead, &suite)) {
            err = "unknown AEAD";
            return false;
        }
        if (!make_identity()) {
            err = "certificate generation failed";
            return false;
        }
        const bool dtls = proto == "dtls12";
        const bool tls13 = proto == "tls13";
        int version = proto == "tls12" ? TLS1_2_VERSION
                      : tls13          ? TLS1_3_VERSION
                      : dtls           ? DTLS1_2_VERSION
                                       : 0;
        if (version == 0) {
            err = "protocol not available in OpenSSL 3.0";
            return false;
        }
        cctx = SSL_CTX_new(dtls ? DTLS_client_method() : TLS_client_method());
        sctx = SSL_CTX_new(dtls ? DTLS_server_method() : TLS_server_method());
        if (cctx == nullptr || sctx == nullptr)
            return false;
        for (SSL_CTX *ctx : {cctx, sctx}) {
            if (!SSL_CTX_set_min_proto_version(ctx, version) ||
                !SSL_CTX_set_max_proto_version(ctx, version))
                return false;
            if (tls13) {
                if (!SSL_CTX_set_ciphersuites(ctx, suite.tls13))
                    return false;
            } else if (!SSL_CTX_set_cipher_list(ctx, suite.tls12)) {
                return false;
            }
            SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
            SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
            SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
        }
        SSL_CTX_set_num_tickets(sctx, 0);
        if (SSL_CTX_use_certificate(sctx, g_cert) != 1 ||
            SSL_CTX_use_PrivateKey(sctx, g_key) != 1)
            return false;
        c = SSL_new(cctx);
        s = SSL_new(sctx);
        if (c == nullptr || s == nullptr)
            return false;
        if (dtls) {
            if (socketpair(AF_UNIX, SOCK_DGRAM, 0, fds) != 0) {
                err = std::string("socketpair: ") + std::strerror(errno);
                return false;
            }
            for (int fd : fds) {
                int fl = fcntl(fd, F_GETFL);
                fcntl(fd, F_SETFL, fl | O_NONBLOCK);
                int sz = 1 << 20;
                setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
                setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
            }
            BIO *bc = dgram_bio(fds[0]);
            BIO *bs = dgram_bio(fds[1]);
            if (bc == nullptr || bs == nullptr) {
                BIO_free(bc);
                BIO_free(bs);
                return false;
            }
            SSL_set_bio(c, bc, bc);
            SSL_set_bio(s, bs, bs);
            for (SSL *ssl : {c, s}) {
                SSL_set_options(ssl, SSL_OP_NO_QUERY_MTU);
                SSL_set_mtu(ssl, 1400);
            }
        } else {
            BIO *bc = nullptr, *bs = nullptr;
            if (!BIO_new_bio_pair(&bc, 64 * 1024, &bs, 64 * 1024))
                return false;
            SSL_set_bio(c, bc, bc);
            SSL_set_bio(s, bs, bs);
        }
        SSL_set_connect_state(c);
        SSL_set_accept_state(s);
        return handshake() && warm_up();
    }

    bool handshake()
    {
        bool cdone = false, sdone = false;
        for (int round = 0; round < 200 && !(cdone && sdone); round++) {
            for (SSL *ssl : {c, s}) {
                bool &done = ssl == c ? cdone : sdone;
                if (done)
                    continue;
                int rc = SSL_do_handshake(ssl);
                if (rc == 1) {
                    done = true;
                    continue;
                }
                int e = SSL_get_error(ssl, rc);
                if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
                    err = std::string("handshake (") + (ssl == c ? "client" : "server") +
                          ") error " + std::to_string(e);
                    return false;
                }
            }
        }
        if (!(cdone && sdone)) {
            err = "handshake did not complete";
            return false;
        }
        return true;
    }

    // One message each way, so that anything the handshake left in flight
    // is consumed before timing starts.
    bool warm_up()
    {
        uint8_t buf[64] = {1, 2, 3};
        return writeread(c, s, buf, sizeof buf) && writeread(s, c, buf, sizeof buf);
    }

    bool writeread(SSL *w, SSL *r, uint8_t *buf, size_t n)
    {
        if (SSL_write(w, buf, static_cast<int>(n)) != static_cast<int>(n)) {
            err = "SSL_write failed";
            return false;
        }
        bool ok = read_exact(buf, n, [&](uint8_t *p, size_t len) {
            int rc = SSL_read(r, p, static_cast<int>(len));
            if (rc > 0)
                return rc;
            int e = SSL_get_error(r, rc);
            if (e == SSL_ERROR_WANT_READ)
                return 0;
            err = "SSL_read error " + std::to_string(e);
            return -1;
        });
        if (!ok && err.empty())
            err = "SSL_read short";
        return ok;
    }

    std::string error() const { return err + ": " + ossl_errors(); }
};

void bm_writeread(benchmark::State &st, std::string proto, std::string aead, size_t size)
{
    Conn conn(proto, aead);
    run_writeread(st, conn, size);
}

}  // namespace

void register_openssl(const Plan &plan)
{
    for (const auto &p : protos()) {
        if (p == "dtls13")
            continue;  // OpenSSL 3.0 has no DTLS 1.3
        for (const auto &a : aeads()) {
            if (plan.quick && !(p == "tls13" && a == "aes128gcm"))
                continue;
            for (size_t size : sizes()) {
                if (plan.quick && !quick_size(size))
                    continue;
                std::string name = "openssl:" + p + ":" + a + ":writeread:" + std::to_string(size);
                benchmark::RegisterBenchmark(name.c_str(), bm_writeread, p, a, size);
                note_registered(name);
            }
        }
    }
}

std::string openssl_version()
{
    return OpenSSL_version(OPENSSL_VERSION);
}

void test_certificate(std::string *cert_pem, std::string *key_pem)
{
    cert_pem->clear();
    key_pem->clear();
    if (!make_identity())
        return;
    auto to_string = [](BIO *b) {
        char *p = nullptr;
        long n = BIO_get_mem_data(b, &p);
        std::string out(p != nullptr && n > 0 ? std::string(p, static_cast<size_t>(n)) : "");
        BIO_free(b);
        return out;
    };
    BIO *b = BIO_new(BIO_s_mem());
    if (b != nullptr && PEM_write_bio_X509(b, g_cert) == 1)
        *cert_pem = to_string(b);
    else
        BIO_free(b);
    b = BIO_new(BIO_s_mem());
    if (b != nullptr &&
        PEM_write_bio_PrivateKey(b, g_key, nullptr, nullptr, 0, nullptr, nullptr) == 1)
        *key_pem = to_string(b);
    else
        BIO_free(b);
}

}  // namespace zb
