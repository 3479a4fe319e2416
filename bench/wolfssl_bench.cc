// zrec-bench: wolfSSL reference points (this translation unit is the only one
// that includes wolfSSL headers: its OpenSSL-compat layer clashes with the
// real <openssl/*.h> used in openssl_bench.cc).
//
//   wolfssl:<proto>:<aead>:writeread:<size>
//       One iteration = wolfSSL_write(client, size bytes) + wolfSSL_read(server,
//       size bytes): one record sealed and opened, both ends in this thread.
//       I/O is in memory through wolfSSL_SSLSetIORecv / wolfSSL_SSLSetIOSend:
//       a byte queue per direction for TLS, a datagram queue (boundaries kept,
//       one datagram per recv) for DTLS.  No system calls in the loop.
//       DTLS: a constant cookie callback (there is no peer address with memory
//       I/O) and the MTU raised to wolfSSL's maximum, 16384 bytes for the
//       whole datagram: every size is one record except 16384, which wolfSSL
//       cannot put in one DTLS datagram — it goes as two writes (two records);
//       items_per_second then counts 16384-byte messages.
#include "bench.h"

#include <benchmark/benchmark.h>

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/version.h>
#include <wolfssl/wolfio.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace zb {
namespace {

// One direction of the in-memory link.
struct Pipe {
    static constexpr size_t kCap = 1 << 20;
    static constexpr size_t kMaxDgrams = 256;
    bool dgram = false;
    std::vector<uint8_t> buf = std::vector<uint8_t>(kCap);
    size_t head = 0, tail = 0;  // bytes [head, tail) are queued
    size_t lens[kMaxDgrams];    // datagram lengths (dgram mode), a ring
    size_t lhead = 0, ltail = 0;

    int send(const char *p, int sz)
    {
        size_t n = static_cast<size_t>(sz);
        if (head == tail)
            head = tail = 0;
        if (kCap - tail < n || (dgram && ltail - lhead == kMaxDgrams))
            return WOLFSSL_CBIO_ERR_WANT_WRITE;
        std::memcpy(buf.data() + tail, p, n);
        tail += n;
        if (dgram)
            lens[ltail++ % kMaxDgrams] = n;
        return sz;
    }

    int recv(char *p, int sz)
    {
        if (head == tail)
            return WOLFSSL_CBIO_ERR_WANT_READ;
        size_t avail = tail - head;
        size_t n = static_cast<size_t>(sz);
        if (dgram) {
            size_t dl = lens[lhead++ % kMaxDgrams];
            size_t take = dl < n ? dl : n;  // a short buffer truncates the datagram
            std::memcpy(p, buf.data() + head, take);
            head += dl;
            return static_cast<int>(take);
        }
        size_t take = avail < n ? avail : n;
        std::memcpy(p, buf.data() + head, take);
        head += take;
        return static_cast<int>(take);
    }
};

int io_send(WOLFSSL *, char *buf, int sz, void *ctx)
{
    return static_cast<Pipe *>(ctx)->send(buf, sz);
}

int io_recv(WOLFSSL *, char *buf, int sz, void *ctx)
{
    return static_cast<Pipe *>(ctx)->recv(buf, sz);
}

int gen_cookie(WOLFSSL *, unsigned char *buf, int sz, void *)
{
    std::memset(buf, 0x42, static_cast<size_t>(sz));
    return sz;
}

bool g_init = false;
std::string g_cert, g_key;

struct Conn {
    WOLFSSL_CTX *cctx = nullptr, *sctx = nullptr;
    WOLFSSL *c = nullptr, *s = nullptr;
    Pipe c2s, s2c;
    std::string err;

    Conn(const std::string &proto, const std::string &aead)
    {
        if (!setup(proto, aead) && err.empty())
            err = "wolfSSL setup failed";
    }

    ~Conn()
    {
        wolfSSL_free(c);
        wolfSSL_free(s);
        wolfSSL_CTX_free(cctx);
        wolfSSL_CTX_free(sctx);
    }

    Conn(const Conn &) = delete;
    Conn &operator=(const Conn &) = delete;

    bool setup(const std::string &proto, const std::string &aead)
    {
        if (!g_init) {
            if (wolfSSL_Init() != WOLFSSL_SUCCESS) {
                err = "wolfSSL_Init failed";
                return false;
            }
            test_certificate(&g_cert, &g_key);
            g_init = true;
        }
        if (g_cert.empty() || g_key.empty()) {
            err = "no test certificate";
            return false;
        }
        const bool tls13 = proto == "tls13" || proto == "dtls13";
        const bool dtls = proto == "dtls12" || proto == "dtls13";
        const char *suite = nullptr;
        if (aead == "aes128gcm")
            suite = tls13 ? "TLS13-AES128-GCM-SHA256" : "ECDHE-ECDSA-AES128-GCM-SHA256";
        else if (aead == "aes256gcm")
            suite = tls13 ? "TLS13-AES256-GCM-SHA384" : "ECDHE-ECDSA-AES256-GCM-SHA384";
        else if (aead == "chacha20poly1305")
            suite = tls13 ? "TLS13-CHACHA20-POLY1305-SHA256" : "ECDHE-ECDSA-CHACHA20-POLY1305";
        else if (aead == "aes128ccm")
            suite = tls13 ? "TLS13-AES128-CCM-SHA256" : "ECDHE-ECDSA-AES128-CCM";
        if (suite == nullptr) {
            err = "unknown AEAD";
            return false;
        }
        WOLFSSL_METHOD *cm = nullptr, *sm = nullptr;
        if (proto == "tls12") {
            cm = wolfTLSv1_2_client_method();
            sm = wolfTLSv1_2_server_method();
        } else if (proto == "tls13") {
            cm = wolfTLSv1_3_client_method();
            sm = wolfTLSv1_3_server_method();
        } else if (proto == "dtls12") {
            cm = wolfDTLSv1_2_client_method();
            sm = wolfDTLSv1_2_server_method();
        } else if (proto == "dtls13") {
            cm = wolfDTLSv1_3_client_method();
            sm = wolfDTLSv1_3_server_method();
        }
        if (cm == nullptr || sm == nullptr) {
            err = "wolfSSL method unavailable";
            return false;
        }
        cctx = wolfSSL_CTX_new(cm);
        sctx = wolfSSL_CTX_new(sm);
        if (cctx == nullptr || sctx == nullptr)
            return false;
        for (WOLFSSL_CTX *ctx : {cctx, sctx}) {
            if (wolfSSL_CTX_set_cipher_list(ctx, suite) != WOLFSSL_SUCCESS) {
                err = std::string("cipher suite ") + suite + " not available";
                return false;
            }
            wolfSSL_CTX_set_verify(ctx, WOLFSSL_VERIFY_NONE, nullptr);
            wolfSSL_CTX_SetIORecv(ctx, io_recv);
            wolfSSL_CTX_SetIOSend(ctx, io_send);
        }
        if (tls13)
            wolfSSL_CTX_no_ticket_TLSv13(sctx);
        if (dtls)
            wolfSSL_CTX_SetGenCookie(sctx, gen_cookie);
        if (wolfSSL_CTX_use_certificate_buffer(
                sctx, reinterpret_cast<const unsigned char *>(g_cert.data()),
                static_cast<long>(g_cert.size()), WOLFSSL_FILETYPE_PEM) != WOLFSSL_SUCCESS ||
            wolfSSL_CTX_use_PrivateKey_buffer(
                sctx, reinterpret_cast<const unsigned char *>(g_key.data()),
                static_cast<long>(g_key.size()), WOLFSSL_FILETYPE_PEM) != WOLFSSL_SUCCESS) {
            err = "loading the test certificate failed";
            return false;
        }
        c = wolfSSL_new(cctx);
        s = wolfSSL_new(sctx);
        if (c == nullptr || s == nullptr)
            return false;
        c2s.dgram = s2c.dgram = dtls;
        wolfSSL_SSLSetIOSend(c, io_send);
        wolfSSL_SSLSetIORecv(c, io_recv);
        wolfSSL_SSLSetIOSend(s, io_send);
        wolfSSL_SSLSetIORecv(s, io_recv);
        wolfSSL_SetIOWriteCtx(c, &c2s);
        wolfSSL_SetIOReadCtx(c, &s2c);
        wolfSSL_SetIOWriteCtx(s, &s2c);
        wolfSSL_SetIOReadCtx(s, &c2s);
        if (dtls) {
            for (WOLFSSL *ssl : {c, s}) {
                wolfSSL_dtls_set_using_nonblock(ssl, 1);
                // The largest MTU wolfSSL accepts (MAX_RECORD_SIZE): a
                // larger value fails and poisons the handshake.
                if (wolfSSL_dtls_set_mtu(ssl, 16384) != WOLFSSL_SUCCESS) {
                    err = "wolfSSL_dtls_set_mtu failed";
                    return false;
                }
            }
        }
        return handshake() && warm_up();
    }

    bool handshake()
    {
        bool cdone = false, sdone = false;
        for (int round = 0; round < 200 && !(cdone && sdone); round++) {
            if (!cdone) {
                int rc = wolfSSL_connect(c);
                if (rc == WOLFSSL_SUCCESS)
                    cdone = true;
                else if (!want(c, rc, "client"))
                    return false;
            }
            if (!sdone) {
                int rc = wolfSSL_accept(s);
                if (rc == WOLFSSL_SUCCESS)
                    sdone = true;
                else if (!want(s, rc, "server"))
                    return false;
            }
        }
        if (!(cdone && sdone)) {
            err = "handshake did not complete";
            return false;
        }
        return true;
    }

    bool want(WOLFSSL *ssl, int rc, const char *who)
    {
        int e = wolfSSL_get_error(ssl, rc);
        if (e == WOLFSSL_ERROR_WANT_READ || e == WOLFSSL_ERROR_WANT_WRITE)
            return true;
        char buf[WOLFSSL_MAX_ERROR_SZ];
        wolfSSL_ERR_error_string_n(static_cast<unsigned long>(e), buf, sizeof buf);
        err = std::string("handshake (") + who + "): " + std::to_string(e) + " " + buf;
        return false;
    }

    bool warm_up()
    {
        uint8_t buf[64] = {1, 2, 3};
        return writeread(c, s, buf, sizeof buf) && writeread(s, c, buf, sizeof buf) &&
               writeread(c, s, buf, sizeof buf);
    }

    // DTLS: wolfSSL caps a datagram at its MTU, itself capped at 16384 bytes
    // (MAX_RECORD_SIZE), and refuses larger writes (DTLS_SIZE_ERROR): a
    // 16384-byte message then goes as two writes, i.e. two records.
    bool writeread(WOLFSSL *w, WOLFSSL *r, uint8_t *buf, size_t n)
    {
        size_t sent = 0;
        while (sent < n) {
            size_t chunk = n - sent;
            int max = wolfSSL_GetMaxOutputSize(w);
            if (max > 0 && chunk > static_cast<size_t>(max))
                chunk = static_cast<size_t>(max);
            int wrc = wolfSSL_write(w, buf + sent, static_cast<int>(chunk));
            if (wrc != static_cast<int>(chunk)) {
                err = "wolfSSL_write: " + std::to_string(wolfSSL_get_error(w, wrc));
                return false;
            }
            sent += chunk;
        }
        bool ok = read_exact(buf, n, [&](uint8_t *p, size_t len) {
            int rc = wolfSSL_read(r, p, static_cast<int>(len));
            if (rc > 0)
                return rc;
            int e = wolfSSL_get_error(r, rc);
            if (e == WOLFSSL_ERROR_WANT_READ)
                return 0;
            err = "wolfSSL_read: " + std::to_string(e);
            return -1;
        });
        if (!ok && err.empty())
            err = "wolfSSL_read short";
        return ok;
    }

    std::string error() const { return err; }
};

void bm_writeread(benchmark::State &st, std::string proto, std::string aead, size_t size)
{
    Conn conn(proto, aead);
    run_writeread(st, conn, size);
}

}  // namespace

void register_wolfssl(const Plan &plan)
{
    for (const auto &p : protos()) {
        for (const auto &a : aeads()) {
            // --quick: the same headline as OpenSSL, plus DTLS 1.3 (which
            // OpenSSL 3.0 lacks).
            if (plan.quick && !((p == "tls13" || p == "dtls13") && a == "aes128gcm"))
                continue;
            for (size_t size : sizes()) {
                if (plan.quick && !quick_size(size))
                    continue;
                std::string name = "wolfssl:" + p + ":" + a + ":writeread:" + std::to_string(size);
                benchmark::RegisterBenchmark(name.c_str(), bm_writeread, p, a, size);
                note_registered(name);
            }
        }
    }
}

std::string wolfssl_version()
{
    return std::string("wolfSSL ") + wolfSSL_lib_version();
}

}  // namespace zb
