// zrec-bench: the socket facade (libzrec-zsock) over loopback, beside plain
// kernel TCP and UDP on the same paths.
//
//   facade:<proto>:send_recv:<size>     proto: tls12, tls13 over TCP,
//                                              dtls12, dtls13 over UDP
//                                       (AES-128-GCM)
//   plain:tcp:send_recv:<size>          the baseline of tls12, tls13
//   plain:udp:send_recv:<size>          the baseline of dtls12, dtls13
//   inline:tls13|dtls13:send_recv:<size> the engine inline between the same
//                                       kernel calls, no facade: seal from the
//                                       caller's buffer, send, receive the
//                                       record, open into the caller's buffer
//                                       (what an application using libzrec
//                                       directly gets; fixed keys)
//   One iteration = one message of <size> payload bytes; both sockets are
//   used by the one measuring thread, pinned to one core.
//   Over TCP: the client socket sends it (one send call), the server socket
//   receives exactly that many bytes (one recv call, MSG_WAITALL).  The two
//   sockets are the two ends of one 127.0.0.1 TCP connection.
//       facade: two zsock TLS sockets (zsock_send / zsock_recv): per message
//       the engine seals one record from the caller's buffer, the kernel
//       carries it, the engine opens it into the caller's buffer.
//       plain: two kernel sockets (send / recv), the same TCP_NODELAY the
//       facade sets: what the same traffic costs without TLS.
//   Over UDP: the message is one datagram; the client socket (connected to
//   the server's 127.0.0.1 port) sends it (one send call), the server
//   socket (bound, unconnected, as a server serving many clients is)
//   receives it (one recvfrom call into a buffer with room to spare, as a
//   server that cannot know the next datagram's size has; the source
//   address included, as a server that answers needs it; exactly <size>
//   bytes or the point fails).
//       facade: a zsock DTLS client and a TLS_DTLS_ROLE_SERVER zsock socket:
//       per message the engine seals one record from the caller's buffer
//       into one datagram, the kernel carries it, the server socket finds
//       the session by source address, checks the replay window and opens
//       the record into the caller's buffer.
//       plain: two kernel UDP sockets, same shape (connected client, bound
//       server, send / recvfrom): the same datagrams without DTLS.
//   bytes_per_second = payload bytes, items_per_second = messages.
//
// Why one thread doing send then recv, not a thread per end: on loopback the
// kernel delivers a segment (TCP) or datagram (UDP) into the receiver's
// queue within the sender's send() (softirq on the way out of the call), so
// the message is waiting when recv() is called, nothing blocks, and every
// cycle the message costs - seal, send path, TCP/UDP loopback, receive path,
// open - is spent on the one pinned core, counted once.  (Checked with
// strace -c: in the timed loop every recv finds its data - no EAGAIN, no
// poll().  The facade's DTLS recvfrom() reads the kernel socket with
// MSG_DONTWAIT first, so a datagram not yet there would show as EAGAIN: its
// EAGAINs and poll()s, about seven per set-up, come from the handshake and
// do not grow with the message count.  And Google Benchmark's real and CPU
// times of these points agree within 1%, so no work escapes the thread's
// CPU time.)  That is the per-core cost of a message, the same accounting
// as the openssl/wolfssl writeread points (both ends on one core).  With a
// thread per end, each message would add two cross-core wake-ups (or a
// spinning second core) and the figure would measure the scheduler and the
// second core's availability on a shared machine, not the facade.
//
// The ratio that travels is facade / plain at the same size and transport
// (tls* vs plain:tcp, dtls* vs plain:udp): the share of plain throughput
// left once TLS/DTLS records go through the facade.  Both rates are Google
// Benchmark's CPU-time rates like every other point (the thread's CPU time
// includes its system calls).  Loopback keeps the kernel's share small (no
// NIC, no driver, no interrupts), so the facade's added microseconds weigh
// more here than on a wire: read the ratio as pessimistic for the facade.
//
// Setup, outside the timed loop: a full handshake (ECDHE, ECDSA P-256, the
// throwaway self-signed certificate of test_certificate(), no verification,
// as the OpenSSL/wolfSSL points; DTLS with the server's cookie exchange), the
// negotiated suite checked (AES-128-GCM), then one checked message each way.
// A DTLS server socket runs its handshakes inside recvfrom(), so during
// set-up only a helper thread sits in the server's recvfrom() while the
// client connects (sockpair.c); the timed loop has the one thread.  Google
// Benchmark calls a point's function several times (to size the iteration
// count); each call sets up a fresh pair, untimed.  The facade's C API
// lives in sockpair.c: the Zephyr headers are C headers and stay out of C++.
#include "bench.h"

#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "sockpair.h"

namespace zb {
namespace {

void bm_send_recv(benchmark::State &st, zb_pair_kind kind, size_t size)
{
    std::string cert, key;
    if (kind != ZB_PAIR_PLAIN_TCP && kind != ZB_PAIR_PLAIN_UDP &&
        kind != ZB_PAIR_INLINE_TLS13 && kind != ZB_PAIR_INLINE_DTLS13) {
        test_certificate(&cert, &key);
        if (cert.empty() || key.empty()) {
            st.SkipWithError("certificate generation failed");
            return;
        }
    }
    char err[256] = "";
    zb_pair *p = zb_pair_open(kind, cert.c_str(), key.c_str(), err, sizeof err);
    if (p == nullptr) {
        st.SkipWithError(err);
        return;
    }
    std::vector<uint8_t> out(size, 0x5a), in(size + ZB_PAIR_IN_SLACK);
    for (auto _ : st) {
        int rc = zb_pair_send_recv(p, out.data(), in.data(), size);
        if (__builtin_expect(rc != 0, 0)) {
            std::string e = "send_recv: " + std::string(std::strerror(-rc));
            st.SkipWithError(e.c_str());
            break;
        }
    }
    st.SetItemsProcessed(static_cast<int64_t>(st.iterations()));
    st.SetBytesProcessed(static_cast<int64_t>(st.iterations() * size));
    zb_pair_close(p);
}

// One iteration = one ClientHello flooded at a DTLS server socket and its
// cookie request read back (sockpair.h: zb_flood_*); plain = the kernel UDP
// reference with the same datagram sizes.  items_per_second = ClientHellos.
void bm_cookie(benchmark::State &st, zb_pair_kind kind, bool plain)
{
    std::string cert, key;
    test_certificate(&cert, &key);
    char err[256] = "";
    zb_flood *f = zb_flood_open(kind, plain, cert.c_str(), key.c_str(), err, sizeof err);
    if (f == nullptr) {
        st.SkipWithError(err);
        return;
    }
    for (auto _ : st) {
        int rc = zb_flood_round(f);
        if (__builtin_expect(rc != 0, 0)) {
            std::string e = "ClientHello round: " + std::string(std::strerror(-rc));
            st.SkipWithError(e.c_str());
            break;
        }
    }
    size_t hello = 0, answer = 0;
    zb_flood_sizes(f, &hello, &answer);
    st.counters["hello_bytes"] = static_cast<double>(hello);
    st.counters["answer_bytes"] = static_cast<double>(answer);
    st.SetItemsProcessed(static_cast<int64_t>(st.iterations()));
    zb_flood_close(f);
}

void reg(const std::string &name, zb_pair_kind kind, size_t size)
{
    benchmark::RegisterBenchmark(name.c_str(), bm_send_recv, kind, size);
    note_registered(name);
}

}  // namespace

void register_facade(const Plan &plan)
{
    // Google Benchmark runs points in registration order.  Per size and
    // transport, the plain baseline first and the facade right after it:
    // the two halves of a ratio run seconds apart, so a change in the
    // shared machine's load between them is less likely, and the facade's
    // progress line can already show the ratio.  --quick: tls13 and dtls13
    // with their baselines.
    struct Proto {
        const char *name;
        zb_pair_kind kind;
        bool quick;
    };
    static const Proto tcp[] = {{"tls12", ZB_PAIR_TLS12, false}, {"tls13", ZB_PAIR_TLS13, true}};
    static const Proto udp[] = {{"dtls12", ZB_PAIR_DTLS12, false},
                                {"dtls13", ZB_PAIR_DTLS13, true}};
    for (size_t size : socket_sizes()) {
        const std::string sz = std::to_string(size);
        reg("plain:tcp:send_recv:" + sz, ZB_PAIR_PLAIN_TCP, size);
        reg("inline:tls13:send_recv:" + sz, ZB_PAIR_INLINE_TLS13, size);
        for (const Proto &p : tcp)
            if (p.quick || !plan.quick)
                reg("facade:" + std::string(p.name) + ":send_recv:" + sz, p.kind, size);
        reg("plain:udp:send_recv:" + sz, ZB_PAIR_PLAIN_UDP, size);
        reg("inline:dtls13:send_recv:" + sz, ZB_PAIR_INLINE_DTLS13, size);
        for (const Proto &p : udp)
            if (p.quick || !plan.quick)
                reg("facade:" + std::string(p.name) + ":send_recv:" + sz, p.kind, size);
    }
    // ClientHello floods: what a server socket's stateless cookie exchange
    // costs per ClientHello, beside the kernel's answering the same
    // datagrams (target: >= 50k ClientHellos/s per core, DTLS 1.2 and 1.3).
    for (const Proto &p : udp) {
        const std::string ref = "plain:udp:cookie:" + std::string(p.name);
        const std::string fac = "facade:" + std::string(p.name) + ":cookie";
        benchmark::RegisterBenchmark(ref.c_str(), bm_cookie, p.kind, true);
        note_registered(ref);
        benchmark::RegisterBenchmark(fac.c_str(), bm_cookie, p.kind, false);
        note_registered(fac);
    }
}

}  // namespace zb
