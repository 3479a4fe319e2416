// zrec-bench: the io_uring operations zrec-gw could use to move a record,
// measured per message on one 127.0.0.1 TCP connection, so that the choice
// in zrec/uring.h (and docs/GATEWAY.md) rests on numbers of this machine.
//
//   uring:send:<op>:<size>   the sender's side through io_uring, one message
//                            per iteration (submit, wait for its completion),
//                            the receiving end read with plain recv():
//       write_fixed     IORING_OP_WRITE_FIXED from a registered buffer
//       send            IORING_OP_SEND from the same (unregistered) address
//       sendmsg         IORING_OP_SENDMSG with one iovec
//       send_zc_fixed   IORING_OP_SEND_ZC from a registered buffer; its
//                       notification CQE (buffer reusable) is waited for too
//   uring:recv:<op>:<size>   the receiver's side through io_uring, the
//                            message sent with plain send():
//       multishot       one IORING_OP_RECV multishot armed on a provided-
//                       buffer ring, each message one CQE, its buffer put
//                       back in the ring
//       read_fixed      IORING_OP_READ_FIXED into a registered buffer, one
//                       SQE per message
//       recv            IORING_OP_RECV into a plain buffer, one SQE per message
//   One thread does both ends (on loopback the data is in the receiver's
//   queue when send returns: see facade_bench.cc for why this counts every
//   cycle once), pinned like every point; bytes_per_second = payload.
#include "bench.h"

#include <benchmark/benchmark.h>

#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace zb {
namespace {

constexpr unsigned kBgid = 7;
constexpr unsigned kBufs = 64;
constexpr size_t kBufSize = 20480;

struct Conn {
    int a = -1, b = -1;  // a sends, b receives
    std::string err;
    Conn()
    {
        int l = socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof sa;
        if (l < 0 || bind(l, reinterpret_cast<sockaddr *>(&sa), sizeof sa) < 0 ||
            listen(l, 1) < 0 || getsockname(l, reinterpret_cast<sockaddr *>(&sa), &len) < 0) {
            err = std::string("listen: ") + std::strerror(errno);
        } else {
            a = socket(AF_INET, SOCK_STREAM, 0);
            if (connect(a, reinterpret_cast<sockaddr *>(&sa), sizeof sa) < 0)
                err = std::string("connect: ") + std::strerror(errno);
            else
                b = accept(l, nullptr, nullptr);
            int one = 1;
            setsockopt(a, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        }
        if (l >= 0)
            close(l);
    }
    ~Conn()
    {
        if (a >= 0)
            close(a);
        if (b >= 0)
            close(b);
    }
};

bool recv_all(int fd, uint8_t *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = recv(fd, buf + got, n - got, 0);
        if (r <= 0)
            return false;
        got += static_cast<size_t>(r);
    }
    return true;
}

enum class SendOp { write_fixed, send, sendmsg, send_zc_fixed };
enum class RecvOp { multishot, read_fixed, recv };

void bm_send(benchmark::State &st, SendOp op, size_t size)
{
    Conn c;
    io_uring ring;
    if (!c.err.empty() || io_uring_queue_init(8, &ring, 0) < 0) {
        st.SkipWithError(c.err.empty() ? "io_uring_queue_init failed" : c.err.c_str());
        return;
    }
    std::vector<uint8_t> out(kBufSize, 0x5a), in(size);
    iovec reg{out.data(), out.size()};
    if (io_uring_register_buffers(&ring, &reg, 1) < 0) {
        st.SkipWithError("io_uring_register_buffers failed");
        io_uring_queue_exit(&ring);
        return;
    }
    iovec iov{out.data(), size};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    for (auto _ : st) {
        io_uring_sqe *sqe = io_uring_get_sqe(&ring);
        switch (op) {
        case SendOp::write_fixed:
            io_uring_prep_write_fixed(sqe, c.a, out.data(), static_cast<unsigned>(size), 0, 0);
            break;
        case SendOp::send:
            io_uring_prep_send(sqe, c.a, out.data(), size, MSG_NOSIGNAL);
            break;
        case SendOp::sendmsg:
            io_uring_prep_sendmsg(sqe, c.a, &msg, MSG_NOSIGNAL);
            break;
        case SendOp::send_zc_fixed:
            io_uring_prep_send_zc_fixed(sqe, c.a, out.data(), size, MSG_NOSIGNAL, 0, 0);
            break;
        }
        io_uring_submit(&ring);
        // The result, and for SEND_ZC the notification that the buffer is
        // free again (IORING_CQE_F_NOTIF), which a gateway must wait for
        // before it reuses the slot.
        int want = op == SendOp::send_zc_fixed ? 2 : 1;
        bool ok = true;
        for (int i = 0; i < want; i++) {
            io_uring_cqe *cqe;
            if (io_uring_wait_cqe(&ring, &cqe) < 0) {
                ok = false;
                break;
            }
            if (!(cqe->flags & IORING_CQE_F_NOTIF)) {
                ok &= cqe->res == static_cast<int>(size);
                if (op == SendOp::send_zc_fixed && !(cqe->flags & IORING_CQE_F_MORE))
                    want = 1;  // no notification will follow
            }
            io_uring_cqe_seen(&ring, cqe);
        }
        if (!ok || !recv_all(c.b, in.data(), size)) {
            st.SkipWithError("send or receive failed");
            break;
        }
    }
    st.SetItemsProcessed(static_cast<int64_t>(st.iterations()));
    st.SetBytesProcessed(static_cast<int64_t>(st.iterations() * size));
    io_uring_queue_exit(&ring);
}

void bm_recv(benchmark::State &st, RecvOp op, size_t size)
{
    Conn c;
    io_uring ring;
    if (!c.err.empty() || io_uring_queue_init(8, &ring, 0) < 0) {
        st.SkipWithError(c.err.empty() ? "io_uring_queue_init failed" : c.err.c_str());
        return;
    }
    std::vector<uint8_t> out(size, 0x5a);
    void *mem = mmap(nullptr, kBufs * kBufSize, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    void *brmem = mmap(nullptr, kBufs * sizeof(io_uring_buf), PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    auto *base = static_cast<uint8_t *>(mem);
    auto *br = static_cast<io_uring_buf_ring *>(brmem);
    iovec reg{base, kBufSize};
    io_uring_buf_reg breg{};
    breg.ring_addr = reinterpret_cast<unsigned long>(br);
    breg.ring_entries = kBufs;
    breg.bgid = kBgid;
    if (mem == MAP_FAILED || brmem == MAP_FAILED || io_uring_register_buffers(&ring, &reg, 1) < 0 ||
        io_uring_register_buf_ring(&ring, &breg, 0) < 0) {
        st.SkipWithError("buffer registration failed");
        io_uring_queue_exit(&ring);
        return;
    }
    io_uring_buf_ring_init(br);
    const int mask = io_uring_buf_ring_mask(kBufs);
    for (unsigned i = 0; i < kBufs; i++)
        io_uring_buf_ring_add(br, base + i * kBufSize, kBufSize, static_cast<unsigned short>(i),
                              mask, static_cast<int>(i));
    io_uring_buf_ring_advance(br, kBufs);
    bool armed = false;
    std::vector<uint8_t> plain(kBufSize);
    for (auto _ : st) {
        if (send(c.a, out.data(), size, MSG_NOSIGNAL) != static_cast<ssize_t>(size)) {
            st.SkipWithError("send failed");
            break;
        }
        size_t got = 0;
        bool ok = true;
        while (ok && got < size) {
            if (op == RecvOp::multishot && !armed) {
                io_uring_sqe *sqe = io_uring_get_sqe(&ring);
                io_uring_prep_recv_multishot(sqe, c.b, nullptr, 0, 0);
                sqe->flags |= IOSQE_BUFFER_SELECT;
                sqe->buf_group = kBgid;
                io_uring_submit(&ring);
                armed = true;
            } else if (op == RecvOp::read_fixed) {
                io_uring_sqe *sqe = io_uring_get_sqe(&ring);
                io_uring_prep_read_fixed(sqe, c.b, base, kBufSize, 0, 0);
                io_uring_submit(&ring);
            } else if (op == RecvOp::recv) {
                io_uring_sqe *sqe = io_uring_get_sqe(&ring);
                io_uring_prep_recv(sqe, c.b, plain.data(), plain.size(), 0);
                io_uring_submit(&ring);
            }
            io_uring_cqe *cqe;
            if (io_uring_wait_cqe(&ring, &cqe) < 0 || cqe->res <= 0) {
                ok = false;
                break;
            }
            got += static_cast<size_t>(cqe->res);
            if (op == RecvOp::multishot) {
                if (!(cqe->flags & IORING_CQE_F_MORE))
                    armed = false;
                unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
                io_uring_buf_ring_add(br, base + bid * kBufSize, kBufSize,
                                      static_cast<unsigned short>(bid), mask, 0);
                io_uring_buf_ring_advance(br, 1);
            }
            io_uring_cqe_seen(&ring, cqe);
        }
        if (!ok) {
            st.SkipWithError("receive failed");
            break;
        }
    }
    st.SetItemsProcessed(static_cast<int64_t>(st.iterations()));
    st.SetBytesProcessed(static_cast<int64_t>(st.iterations() * size));
    io_uring_queue_exit(&ring);  // cancels the multishot, frees the rings
    munmap(mem, kBufs * kBufSize);
    munmap(brmem, kBufs * sizeof(io_uring_buf));
}

}  // namespace

void register_uring(const Plan &plan)
{
    struct S {
        const char *name;
        SendOp op;
    };
    struct R {
        const char *name;
        RecvOp op;
    };
    static const S sends[] = {{"write_fixed", SendOp::write_fixed},
                              {"send", SendOp::send},
                              {"sendmsg", SendOp::sendmsg},
                              {"send_zc_fixed", SendOp::send_zc_fixed}};
    static const R recvs[] = {{"multishot", RecvOp::multishot},
                              {"read_fixed", RecvOp::read_fixed},
                              {"recv", RecvOp::recv}};
    for (size_t size : socket_sizes()) {
        if (plan.quick && size == 64)
            continue;
        const std::string sz = std::to_string(size);
        for (const S &s : sends) {
            std::string name = std::string("uring:send:") + s.name + ":" + sz;
            benchmark::RegisterBenchmark(name.c_str(), bm_send, s.op, size);
            note_registered(name);
        }
        for (const R &r : recvs) {
            std::string name = std::string("uring:recv:") + r.name + ":" + sz;
            benchmark::RegisterBenchmark(name.c_str(), bm_recv, r.op, size);
            note_registered(name);
        }
    }
}

}  // namespace zb
