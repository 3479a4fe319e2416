// zrec-bench: declarations shared by the harness's translation units.
//
// The harness is split so that OpenSSL's and wolfSSL's headers never meet
// (wolfSSL's OpenSSL-compat layer redefines the <openssl/*.h> names):
//   main.cc         CLI, CPU pinning, reporter, table, plot
//   zrec_bench.cc   raw intel-ipsec-mb and zrec engine points
//   openssl_bench.cc  OpenSSL 3.0 writeread points (+ the test certificate)
//   wolfssl_bench.cc  wolfSSL writeread points
//   facade_bench.cc   libzrec-zsock over loopback vs plain TCP/UDP (sockpair.c:
//                     the C side, which alone sees the Zephyr headers)
//   uring_bench.cc    io_uring send/receive operations (zrec-gw's choices)
//   gw_bench.cc       zrec-gw beside HAProxy and nginx (separate processes,
//                     driven by zrec-gwload: gwload.c)
//   offload_bench.cc  the cryptodev provider (libzrec-offload) beside DPDK's
//                     own dpdk-test-crypto-perf on the same device
//   dgw_bench.cc      the DTLS data plane's loop (tools/dtls-gw) between two
//                     net_ring ports, beside the same loop without crypto
#ifndef ZREC_BENCH_H
#define ZREC_BENCH_H

#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

struct zrec_aead_provider;

namespace zb {

// The protocol / AEAD / size / burst grid of the issue.
inline const std::vector<std::string> &protos()
{
    static const std::vector<std::string> v = {"tls12", "tls13", "dtls12", "dtls13"};
    return v;
}
inline const std::vector<std::string> &aeads()
{
    static const std::vector<std::string> v = {"aes128gcm", "aes256gcm", "chacha20poly1305",
                                               "aes128ccm"};
    return v;
}
inline const std::vector<size_t> &sizes()
{
    static const std::vector<size_t> v = {64, 256, 1400, 4096, 16384};
    return v;
}
// Message sizes of the loopback socket points (facade:*, plain:tcp:*,
// plain:udp:*): a small message, one Ethernet-MTU-sized one, a full TLS
// record (over UDP: one 16384-byte datagram, one DTLS record).
inline const std::vector<size_t> &socket_sizes()
{
    static const std::vector<size_t> v = {64, 1400, 16384};
    return v;
}
inline const std::vector<unsigned> &bursts()
{
    static const std::vector<unsigned> v = {1, 32};
    return v;
}

// What to register.  quick = the headline subset (see main.cc).
struct Plan {
    bool quick = false;
    // --provider NAME (or ZREC_BENCH_PROVIDER): the provider of the zrec:*
    // engine points (ipsecmb, wolfcrypt, cryptodev:DEVICE); empty: default.
    std::string provider;
    unsigned threads = 2;  // --threads N: the :threadsN scaling points
    unsigned zipf_cache = 1u << 13;  // --zipf-cache N: key cache entries of the zipf1M points
};

// Each translation unit registers its points with benchmark::RegisterBenchmark
// and records every name it registered through note_registered() (main.cc
// uses the list to count the points a filter selects, for progress lines).
void note_registered(const std::string &name);

void register_raw(const Plan &plan);      // raw:<aead>:seal:<size>
void register_zrec(const Plan &plan);     // zrec:..., zrec-wolfcrypt:...
void register_openssl(const Plan &plan);  // openssl:<proto>:<aead>:writeread:<size>
void register_wolfssl(const Plan &plan);  // wolfssl:<proto>:<aead>:writeread:<size>
void register_facade(const Plan &plan);   // plain:{tcp,udp}:send_recv:<size>,
                                          // facade:<proto>:send_recv:<size>
void register_uring(const Plan &plan);    // uring:{send,recv}:<op>:<size>
void register_gateway(const Plan &plan);  // gw:<impl>:<mode>:<dir>:<size>, handshakes
void register_offload(const Plan &plan);  // cryptodev:<device>:tls13:aes128gcm:{seal,open}:<size>,
                                          // dpdk-test-crypto-perf:<device>:...:<size>
void register_dtls_gw(const Plan &plan);  // dtls-gw:{plain,dtls12,dtls13}:aes128gcm:<size>:sessions256
// EAL, once for every DPDK point (offload_bench.cc); false and *why if not.
bool dpdk_eal_up(std::string *why);
// zrec:tls13:aes128gcm:{seal,open}:{64,1400,16384}:burst32 points under the
// name `impl`, with the provider `get` makes when the first of them runs
// (nullptr: the point is skipped with *why).
void register_provider_points(const std::string &impl,
                              const struct zrec_aead_provider *(*get)(std::string *why));
// The provider --provider names (set before registration), made when a
// point first needs it; nullptr and *why on failure.  cryptodev:DEVICE
// through offload_bench.cc (where DPDK is built).
bool set_bench_provider(const std::string &name); // false: not a provider name
const struct zrec_aead_provider *bench_provider(std::string *why);
const struct zrec_aead_provider *offload_provider_named(const std::string &device,
                                                       std::string *why);

// Environment facts for the table header.
std::string ipsecmb_description();  // "intel-ipsec-mb 1.3.0, arch AVX2" or "not built"
std::string zrec_default_provider();
std::string openssl_version();
std::string wolfssl_version();

// A throwaway self-signed P-256 certificate and key (PEM), made with OpenSSL
// once and shared with the wolfSSL side so that no certificate files are
// needed at run time.  Empty strings on failure.
void test_certificate(std::string *cert_pem, std::string *key_pem);

// Headline subset membership, shared by all registrars.
inline bool quick_size(size_t size)
{
    return size == 64 || size == 1400 || size == 16384;
}

// The read half of a writeread point (OpenSSL's and wolfSSL's alike): read
// n bytes with read(p, len), which returns the bytes read, 0 when the
// library only wants more input, or -1 with the error noted.  A few
// WANT_READs are allowed (a record may arrive in two), no more.
template <class Read>
bool read_exact(uint8_t *buf, size_t n, Read read)
{
    size_t got = 0;
    for (int tries = 0; got < n && tries < 8; tries++) {
        int rc = read(buf + got, n - got);
        if (rc < 0)
            return false;
        got += static_cast<size_t>(rc);
    }
    return got == n;
}

// The timed loop of a writeread point: Conn has err (set up failed when not
// empty), c, s, writeread(w, r, buf, n) and error() (what went wrong).
template <class Conn>
void run_writeread(benchmark::State &st, Conn &conn, size_t size)
{
    if (!conn.err.empty()) {
        st.SkipWithError(conn.err.c_str());
        return;
    }
    std::vector<uint8_t> buf(size, 0x5a);
    for (auto _ : st) {
        if (__builtin_expect(!conn.writeread(conn.c, conn.s, buf.data(), size), 0)) {
            st.SkipWithError(conn.error().c_str());
            break;
        }
    }
    st.SetItemsProcessed(static_cast<int64_t>(st.iterations()));
    st.SetBytesProcessed(static_cast<int64_t>(st.iterations() * size));
}

}  // namespace zb

#endif
