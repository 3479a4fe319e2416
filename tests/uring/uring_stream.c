/*
 * zrec/uring.h over a real io_uring and a real 127.0.0.1 TCP connection.
 *
 *   uring_stream PROTO AEAD CASE
 *     stream    records of random sizes written in random pieces (runts
 *               included) arrive through the RECORDS ring; every record is
 *               framed (in one slot or across slots), opened in place in
 *               bursts, its plaintext checked; records across slots are
 *               counted as scattered, never copied; no slot leaks.
 *     seal      plaintext received into PAYLOAD slots is sealed in place
 *               (header in the headroom, tag after it in the same slot), sent
 *               with the send queue (fixed writes and sendmsg), and the peer
 *               session opens every record.
 *     pressure  a pool of two record slots and one reserve slot: receives
 *               end on the empty ring (-ENOBUFS), partial records wait in
 *               every slot, and the reserve completes them; all data intact.
 *     dribble   a record arriving 7 bytes at a time pins at most three
 *               slots (the rest appended to the last one, counted).
 *     hostile   a stream that is not TLS fails framing with -EPROTO, an
 *               oversized length with -EMSGSIZE, without opening anything.
 */
#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../common.h"
#include "zrec/uring.h"

static enum zrec_proto proto;
static enum zrec_aead_id aead;
static uint64_t seed = 0x5eed0a11;

struct link {
    int tx, rx; /* tx writes, rx receives */
};

static struct link tcp_link(void)
{
    int l = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sa;
    CHECK(l >= 0 && bind(l, (struct sockaddr *)&sa, sizeof sa) == 0 && listen(l, 1) == 0 &&
              getsockname(l, (struct sockaddr *)&sa, &len) == 0,
          "listen: %s", strerror(errno));
    struct link k;
    k.tx = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(connect(k.tx, (struct sockaddr *)&sa, sizeof sa) == 0, "connect: %s", strerror(errno));
    k.rx = accept(l, NULL, NULL);
    CHECK(k.rx >= 0, "accept: %s", strerror(errno));
    close(l);
    int one = 1;
    setsockopt(k.tx, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return k;
}

static void write_all(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        CHECK(w > 0, "send: %s", strerror(errno));
        p += w;
        n -= (size_t)w;
    }
}

/* Seal `count` records of random sizes with session s into one buffer;
 * the plaintext of all of them, concatenated, into *plain. */
static uint8_t *make_records(struct zrec_session *s, unsigned count, size_t *len, uint8_t **plain,
                             size_t *plain_len)
{
    size_t cap = (size_t)count * (ZREC_MAX_PLAINTEXT + 64);
    uint8_t *buf = malloc(cap), *pt = malloc((size_t)count * ZREC_MAX_PLAINTEXT);
    CHECK(buf && pt, "malloc");
    struct zrec_overhead o;
    zrec_session_overhead(s, &o);
    size_t pos = 0, ppos = 0;
    uint8_t *tmp = malloc(ZREC_MAX_PLAINTEXT + 64);
    for (unsigned i = 0; i < count; i++) {
        /* Mostly large records (they straddle slots), some small ones. */
        size_t n = test_rand(&seed) % 4 == 0 ? 1 + test_rand(&seed) % 300
                                              : 1 + test_rand(&seed) % ZREC_MAX_PLAINTEXT;
        uint8_t *payload = tmp + o.headroom;
        test_fill(payload, n, &seed);
        memcpy(pt + ppos, payload, n);
        ppos += n;
        uint8_t *rec;
        int rl = zrec_seal_record(s, ZREC_CT_APPLICATION_DATA, payload, n, o.headroom, 32, &rec);
        CHECK(rl > 0, "seal: %d", rl);
        memcpy(buf + pos, rec, (size_t)rl);
        pos += (size_t)rl;
    }
    free(tmp);
    *len = pos;
    *plain = pt;
    *plain_len = ppos;
    return buf;
}

struct rxside {
    struct io_uring ring;
    struct zrec_uring_pool *pool;
    struct zrec_uring_rx rx;
    struct zrec_uring_burst burst;
    bool armed;
    int fd;
    int reserve_slot; /* -1: none in flight */
    uint8_t *reserve_at;
    unsigned long enobufs, reserve_uses;
};

static void rx_init(struct rxside *r, int fd, const struct zrec_uring_pool_params *pp)
{
    memset(r, 0, sizeof *r);
    CHECK(io_uring_queue_init(64, &r->ring, 0) == 0, "io_uring_queue_init");
    int err = 0;
    r->pool = zrec_uring_pool_new(&r->ring, pp, &err);
    CHECK(r->pool != NULL, "pool: %s", strerror(-err));
    zrec_uring_rx_init(&r->rx, r->pool);
    r->fd = fd;
    r->reserve_slot = -1;
}

static void rx_fini(struct rxside *r)
{
    zrec_uring_rx_clear(&r->rx);
    const struct zrec_uring_pool_params *pp = zrec_uring_pool_params(r->pool);
    /* Every slot is back: in its ring or in the reserve. */
    CHECK(zrec_uring_pool_ready(r->pool, ZREC_URING_RECORDS) == pp->record_slots,
          "record slots leaked: %u of %u ready",
          zrec_uring_pool_ready(r->pool, ZREC_URING_RECORDS), pp->record_slots);
    CHECK(zrec_uring_reserve_free(r->pool) == pp->reserve_slots, "reserve slot leaked");
    io_uring_queue_exit(&r->ring); /* cancels the multishot receive first */
    zrec_uring_pool_free(r->pool);
}

/* One round: arm what is needed, take the completions there are (waiting for
 * one when `wait`), open every complete record, check it against the
 * expected plaintext at *checked, consume it. */
static void rx_round(struct rxside *r, struct zrec_session *s, const uint8_t *plain,
                     size_t *checked, bool wait)
{
    if (!r->armed && zrec_uring_pool_ready(r->pool, ZREC_URING_RECORDS)) {
        struct io_uring_sqe *sqe = io_uring_get_sqe(&r->ring);
        zrec_uring_prep_recv(r->pool, sqe, r->fd, ZREC_URING_RECORDS);
        io_uring_sqe_set_data64(sqe, 0);
        r->armed = true;
    } else if (!r->armed && r->reserve_slot < 0 && zrec_uring_rx_need(&r->rx, s) > 0) {
        uint16_t slot;
        uint8_t *at;
        uint32_t len;
        if (zrec_uring_rx_reserve(&r->rx, (uint32_t)zrec_uring_rx_need(&r->rx, s), &slot, &at,
                                  &len) == 0) {
            struct io_uring_sqe *sqe = io_uring_get_sqe(&r->ring);
            io_uring_prep_recv(sqe, r->fd, at, len, 0);
            io_uring_sqe_set_data64(sqe, 1);
            r->reserve_slot = slot;
            r->reserve_at = at;
            r->reserve_uses++;
        }
    }
    io_uring_submit(&r->ring);
    struct io_uring_cqe *cqe;
    if (wait) {
        struct __kernel_timespec ts = {.tv_sec = 5};
        int rc = io_uring_wait_cqe_timeout(&r->ring, &cqe, &ts);
        CHECK(rc == 0,
              "no completion within 5 s (%s): stalled with %zu bytes in %u slots, need %ld, "
              "ring %u, reserve %u, armed %d, reserve in flight %d",
              strerror(-rc), zrec_uring_rx_bytes(&r->rx), zrec_uring_rx_slots(&r->rx),
              zrec_uring_rx_need(&r->rx, s), zrec_uring_pool_ready(r->pool, ZREC_URING_RECORDS),
              zrec_uring_reserve_free(r->pool), r->armed, r->reserve_slot >= 0);
    }
    unsigned head, seen = 0;
    io_uring_for_each_cqe(&r->ring, head, cqe)
    {
        seen++;
        if (cqe->user_data == 1) { /* the reserve receive */
            uint16_t slot = (uint16_t)r->reserve_slot;
            r->reserve_slot = -1;
            CHECK(cqe->res > 0, "reserve receive: %d", cqe->res);
            CHECK(zrec_uring_rx_push(&r->rx, slot, r->reserve_at, (uint32_t)cqe->res) == 0,
                  "push");
            continue;
        }
        uint16_t slot;
        uint8_t *data;
        int n = zrec_uring_recv_slot(r->pool, cqe, &slot, &data);
        if (!(cqe->flags & IORING_CQE_F_MORE))
            r->armed = false;
        if (n == -ENOBUFS) {
            r->enobufs++;
            continue;
        }
        CHECK(n > 0, "receive: %d", n);
        CHECK(zrec_uring_rx_push(&r->rx, slot, data, (uint32_t)n) == 0, "push");
    }
    io_uring_cq_advance(&r->ring, seen);
    for (;;) {
        zrec_uring_burst_reset(&r->burst);
        int k = zrec_uring_burst_frame(&r->burst, &r->rx, s, NULL);
        CHECK(k >= 0, "frame: %d", k);
        if (k == 0)
            break;
        unsigned ok = zrec_uring_burst_open(&r->burst);
        CHECK(ok == r->burst.n, "open burst: %u of %u", ok, r->burst.n);
        for (unsigned i = 0; i < r->burst.n; i++) {
            const struct zrec_op *op = &r->burst.op[i];
            CHECK(op->content_type == ZREC_CT_APPLICATION_DATA, "type %u", op->content_type);
            struct iovec iov[64];
            unsigned m = zrec_uring_op_plain_iov(op, iov, 64);
            size_t total = 0;
            for (unsigned j = 0; j < m; j++) {
                CHECK(memcmp(iov[j].iov_base, plain + *checked + total, iov[j].iov_len) == 0,
                      "plaintext differs at %zu", *checked + total);
                total += iov[j].iov_len;
            }
            CHECK(total == op->rec_len, "iov covers %zu of %u", total, op->rec_len);
            *checked += total;
            zrec_uring_rx_consume(&r->rx, zrec_uring_op_record_len(op));
        }
    }
}

static void case_stream(void)
{
    struct test_pair t = test_pair_new(proto, aead, NULL, NULL, &seed, 0);
    struct link k = tcp_link();
    struct zrec_uring_pool_params pp = {.record_slots = 16, .payload_slots = 2};
    struct rxside r;
    rx_init(&r, k.rx, &pp);
    size_t len, plen, checked = 0;
    uint8_t *plain;
    uint8_t *recs = make_records(t.a, 600, &len, &plain, &plen);
    size_t pos = 0;
    while (pos < len) {
        /* Pieces of 1 byte to 40 KiB; a small one now and then. */
        size_t piece = test_rand(&seed) % 8 == 0 ? 1 + test_rand(&seed) % 64
                                                 : 1 + test_rand(&seed) % 40960;
        if (piece > len - pos)
            piece = len - pos;
        write_all(k.tx, recs + pos, piece);
        pos += piece;
        rx_round(&r, t.b, plain, &checked, false);
    }
    while (checked < plen)
        rx_round(&r, t.b, plain, &checked, true);
    struct zrec_uring_stats st;
    zrec_uring_pool_stats(r.pool, &st);
    printf("stream: %zu records bytes, %lu contiguous, %lu scattered, %lu runt copies (%lu "
           "bytes), %lu empty-ring ends\n",
           len, st.records_contiguous, st.records_scattered, st.runt_copies, st.runt_bytes,
           st.enobufs);
    CHECK(st.records_contiguous + st.records_scattered == 600, "records framed: %lu",
          st.records_contiguous + st.records_scattered);
    CHECK(st.records_scattered > 0, "no record crossed a slot boundary");
    CHECK(st.runt_bytes <= st.runt_copies * 512, "a runt copy over 512 bytes");
    CHECK(zrec_uring_rx_bytes(&r.rx) == 0, "bytes left over");
    rx_fini(&r);
    free(recs);
    free(plain);
    close(k.tx);
    close(k.rx);
    test_pair_free(&t);
}

static void case_pressure(void)
{
    struct test_pair t = test_pair_new(proto, aead, NULL, NULL, &seed, 0);
    struct link k = tcp_link();
    /* Two record slots, one reserve: a record always outgrows what is left. */
    struct zrec_uring_pool_params pp = {.record_slots = 2, .payload_slots = 1, .reserve_slots = 1};
    struct rxside r;
    rx_init(&r, k.rx, &pp);
    size_t len, plen, checked = 0;
    uint8_t *plain;
    uint8_t *recs = make_records(t.a, 200, &len, &plain, &plen);
    size_t pos = 0;
    while (pos < len) {
        size_t piece = 1 + test_rand(&seed) % 9000; /* many receives per record */
        if (piece > len - pos)
            piece = len - pos;
        write_all(k.tx, recs + pos, piece);
        pos += piece;
        rx_round(&r, t.b, plain, &checked, false);
    }
    while (checked < plen)
        rx_round(&r, t.b, plain, &checked, true);
    printf("pressure: %lu empty-ring ends, %lu reserve receives, all %zu bytes intact\n",
           r.enobufs, r.reserve_uses, plen);
    CHECK(r.enobufs > 0, "the ring never ran empty");
    rx_fini(&r);
    free(recs);
    free(plain);
    close(k.tx);
    close(k.rx);
    test_pair_free(&t);
}

static void case_seal(void)
{
    struct test_pair t = test_pair_new(proto, aead, NULL, NULL, &seed, 0);
    struct link in = tcp_link(), out = tcp_link();
    struct io_uring ring;
    CHECK(io_uring_queue_init(64, &ring, 0) == 0, "io_uring_queue_init");
    struct zrec_uring_pool_params pp = {.record_slots = 2, .payload_slots = 16};
    int err = 0;
    struct zrec_uring_pool *pool = zrec_uring_pool_new(&ring, &pp, &err);
    CHECK(pool != NULL, "pool: %s", strerror(-err));
    struct zrec_uring_tx tx;
    zrec_uring_tx_init(&tx, pool);
    static struct zrec_uring_burst b;
    const size_t total = 3u << 20;
    uint8_t *plain = malloc(total), *got = malloc(total);
    test_fill(plain, total, &seed);
    size_t sent = 0, opened = 0;
    /* The peer's receive buffer for sealed records, opened with session b. */
    size_t rbuf_cap = 1 << 20, rlen = 0;
    uint8_t *rbuf = malloc(rbuf_cap);
    bool armed = false;
    const uint64_t TXUD = 2;
    for (int rounds = 0; opened < total; rounds++) {
        CHECK(rounds < 200000, "no progress");
        if (sent < total) {
            size_t piece = 1 + test_rand(&seed) % 30000;
            if (piece > total - sent)
                piece = total - sent;
            write_all(in.tx, plain + sent, piece);
            sent += piece;
        }
        if (!armed && zrec_uring_pool_ready(pool, ZREC_URING_PAYLOAD)) {
            struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
            zrec_uring_prep_recv(pool, sqe, in.rx, ZREC_URING_PAYLOAD);
            io_uring_sqe_set_data64(sqe, 0);
            armed = true;
        }
        zrec_uring_tx_prep(&tx, &ring, out.tx, TXUD);
        io_uring_submit(&ring);
        struct io_uring_cqe *cqe;
        struct __kernel_timespec ts = {.tv_nsec = 2000000};
        io_uring_wait_cqe_timeout(&ring, &cqe, &ts);
        unsigned head, seen = 0;
        zrec_uring_burst_reset(&b);
        io_uring_for_each_cqe(&ring, head, cqe)
        {
            seen++;
            if (cqe->user_data == TXUD) {
                CHECK(zrec_uring_tx_complete(&tx, cqe->res) > 0, "send: %d", cqe->res);
                continue;
            }
            uint16_t slot;
            uint8_t *data;
            int n = zrec_uring_recv_slot(pool, cqe, &slot, &data);
            if (!(cqe->flags & IORING_CQE_F_MORE))
                armed = false;
            if (n == -ENOBUFS)
                continue;
            CHECK(n > 0 && n <= (int)ZREC_MAX_PLAINTEXT, "payload receive: %d", n);
            CHECK(data == zrec_uring_slot(pool, slot) + zrec_uring_pool_params(pool)->headroom,
                  "payload not at the headroom");
            CHECK(zrec_uring_burst_add_seal(&b, pool, t.a, data, (uint32_t)n,
                                            ZREC_CT_APPLICATION_DATA, NULL) == 0, "add seal");
        }
        io_uring_cq_advance(&ring, seen);
        CHECK(zrec_uring_burst_seal(&b) == b.n, "seal burst");
        for (unsigned i = 0; i < b.n; i++) {
            struct zrec_op *op = &b.op[i];
            uint16_t slot = zrec_uring_slot_of(pool, op->data);
            /* Header and tag inside the same slot as the payload. */
            CHECK(op->rec >= zrec_uring_slot(pool, slot) &&
                      op->rec + op->rec_len <= zrec_uring_slot(pool, slot) + 20480,
                  "record outside its slot");
            CHECK(zrec_uring_tx_push(&tx, op->rec, op->rec_len, slot) == 0, "tx push");
            zrec_uring_slot_unref(pool, slot);
        }
        /* The peer: read what arrived, open whole records. */
        for (;;) {
            ssize_t r = recv(out.rx, rbuf + rlen, rbuf_cap - rlen, MSG_DONTWAIT);
            if (r <= 0)
                break;
            rlen += (size_t)r;
        }
        size_t off = 0;
        for (;;) {
            long l = zrec_record_length(t.b, rbuf + off, rlen - off);
            CHECK(l >= 0, "peer framing: %ld", l);
            if (l == 0 || (size_t)l > rlen - off)
                break;
            uint8_t *pt, ct;
            int pl = zrec_open_record(t.b, rbuf + off, (size_t)l, &pt, &ct);
            CHECK(pl >= 0, "peer open: %d", pl);
            memcpy(got + opened, pt, (size_t)pl);
            opened += (size_t)pl;
            off += (size_t)l;
        }
        memmove(rbuf, rbuf + off, rlen - off);
        rlen -= off;
    }
    CHECK(memcmp(plain, got, total) == 0, "sealed stream differs");
    struct zrec_uring_stats st;
    zrec_uring_pool_stats(pool, &st);
    printf("seal: %zu bytes sealed in place, %lu fixed writes, %lu sendmsg\n", total,
           st.sends_fixed, st.sends_msg);
    CHECK(st.sends_fixed + st.sends_msg > 0, "nothing sent");
    CHECK(zrec_uring_tx_bytes(&tx) == 0 && zrec_uring_tx_slots(&tx) == 0, "queue not empty");
    zrec_uring_tx_clear(&tx);
    CHECK(zrec_uring_pool_ready(pool, ZREC_URING_PAYLOAD) == pp.payload_slots,
          "payload slots leaked: %u", zrec_uring_pool_ready(pool, ZREC_URING_PAYLOAD));
    io_uring_queue_exit(&ring);
    zrec_uring_pool_free(pool);
    free(plain);
    free(got);
    free(rbuf);
    close(in.tx);
    close(in.rx);
    close(out.tx);
    close(out.rx);
    test_pair_free(&t);
}

/* A peer dribbles a record 7 bytes at a time: the stream holds at most
 * three slots while it waits (the rest is appended to the last slot's tail,
 * counted), and the record opens intact. */
static void case_dribble(void)
{
    struct test_pair t = test_pair_new(proto, aead, NULL, NULL, &seed, 0);
    struct link k = tcp_link();
    struct zrec_uring_pool_params pp = {.record_slots = 16, .payload_slots = 2};
    struct rxside r;
    rx_init(&r, k.rx, &pp);
    uint8_t payload[ZREC_MAX_PLAINTEXT + 64];
    struct zrec_overhead o;
    zrec_session_overhead(t.a, &o);
    const size_t n = 12000;
    test_fill(payload + o.headroom, n, &seed);
    uint8_t plain[12000];
    memcpy(plain, payload + o.headroom, n);
    uint8_t *rec;
    int rl = zrec_seal_record(t.a, ZREC_CT_APPLICATION_DATA, payload + o.headroom, n, o.headroom,
                              32, &rec);
    CHECK(rl > 0, "seal: %d", rl);
    size_t checked = 0, pos = 0;
    unsigned most = 0;
    while (pos < (size_t)rl) {
        size_t piece = (size_t)rl - pos < 7 ? (size_t)rl - pos : 7;
        write_all(k.tx, rec + pos, piece);
        pos += piece;
        rx_round(&r, t.b, plain, &checked, true); /* each piece its own receive */
        if (zrec_uring_rx_slots(&r.rx) > most)
            most = zrec_uring_rx_slots(&r.rx);
    }
    CHECK(checked == n, "record not opened (%zu of %zu)", checked, n);
    struct zrec_uring_stats st;
    zrec_uring_pool_stats(r.pool, &st);
    printf("dribble: %d-byte record in 7-byte pieces: at most %u slots held, %lu runts "
           "appended (%lu bytes)\n",
           rl, most, st.runt_copies, st.runt_bytes);
    CHECK(most <= 3, "a dribbling peer held %u slots", most);
    CHECK(st.runt_copies > 0, "no runt was appended");
    rx_fini(&r);
    close(k.tx);
    close(k.rx);
    test_pair_free(&t);
}

static void case_hostile(void)
{
    struct test_pair t = test_pair_new(proto, aead, NULL, NULL, &seed, 0);
    struct link k = tcp_link();
    struct zrec_uring_pool_params pp = {.record_slots = 4, .payload_slots = 2};
    struct rxside r;
    rx_init(&r, k.rx, &pp);
    /* Not TLS at all. */
    write_all(k.tx, (const uint8_t *)"GET / HTTP/1.1\r\n\r\n", 18);
    struct io_uring_sqe *sqe = io_uring_get_sqe(&r.ring);
    zrec_uring_prep_recv(r.pool, sqe, k.rx, ZREC_URING_RECORDS);
    io_uring_sqe_set_data64(sqe, 0);
    io_uring_submit(&r.ring);
    struct io_uring_cqe *cqe;
    CHECK(io_uring_wait_cqe(&r.ring, &cqe) == 0, "wait");
    uint16_t slot;
    uint8_t *data;
    int n = zrec_uring_recv_slot(r.pool, cqe, &slot, &data);
    io_uring_cqe_seen(&r.ring, cqe);
    CHECK(n == 18, "received %d", n);
    CHECK(zrec_uring_rx_push(&r.rx, slot, data, (uint32_t)n) == 0, "push");
    int rc = zrec_uring_burst_frame(&r.burst, &r.rx, t.b, NULL);
    CHECK(rc == -EPROTO, "framing garbage: %d", rc);
    CHECK(zrec_uring_rx_need(&r.rx, t.b) == -EPROTO, "need on garbage");
    zrec_uring_rx_consume(&r.rx, zrec_uring_rx_bytes(&r.rx));
    /* An application_data header claiming 2^15 bytes. */
    const uint8_t big[5] = {23, 3, 3, 0x80, 0x00};
    write_all(k.tx, big, sizeof big);
    CHECK(io_uring_wait_cqe(&r.ring, &cqe) == 0, "wait");
    n = zrec_uring_recv_slot(r.pool, cqe, &slot, &data);
    io_uring_cqe_seen(&r.ring, cqe);
    CHECK(n == 5, "received %d", n);
    CHECK(zrec_uring_rx_push(&r.rx, slot, data, (uint32_t)n) == 0, "push");
    zrec_uring_burst_reset(&r.burst);
    rc = zrec_uring_burst_frame(&r.burst, &r.rx, t.b, NULL);
    CHECK(rc == -EMSGSIZE, "framing an oversized record: %d", rc);
    CHECK(r.burst.n == 0, "an op was made");
    zrec_uring_rx_consume(&r.rx, zrec_uring_rx_bytes(&r.rx));
    rx_fini(&r);
    close(k.tx);
    close(k.rx);
    test_pair_free(&t);
    printf("hostile: garbage -EPROTO, oversized -EMSGSIZE, nothing opened\n");
}

int main(int argc, char **argv)
{
    CHECK(argc == 4, "usage: uring_stream PROTO AEAD stream|seal|pressure|dribble|hostile");
    CHECK(test_proto_from_name(argv[1], &proto) == 0 && test_aead_from_name(argv[2], &aead) == 0,
          "bad protocol or AEAD");
    const char *c = argv[3];
    if (strcmp(c, "stream") == 0)
        case_stream();
    else if (strcmp(c, "seal") == 0)
        case_seal();
    else if (strcmp(c, "pressure") == 0)
        case_pressure();
    else if (strcmp(c, "hostile") == 0)
        case_hostile();
    else if (strcmp(c, "dribble") == 0)
        case_dribble();
    else
        CHECK(0, "unknown case %s", c);
    return 0;
}
