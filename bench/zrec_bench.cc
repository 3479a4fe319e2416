// zrec-bench: the raw intel-ipsec-mb points and the zrec engine points.
//
//   raw:<aead>:seal:<size>
//       One AEAD seal through intel-ipsec-mb directly, on a pre-expanded key
//       and one hot buffer, 13 bytes of AAD (one GHASH / CBC-MAC block, as for
//       every record format): the physical limit of the provider.
//       AES-GCM: the direct one-shot API (IMB_AES{128,256}_GCM_ENC), with a
//       fresh nonce every call as every real record has (IV xor counter,
//       built in a register and written with one 16-byte store: the way
//       that does not stall the AEAD's 16-byte load of it on store
//       forwarding).  ChaCha20-Poly1305 and AES-CCM: the job API (one job,
//       submit + flush), the only one-shot form ipsec-mb 1.3 has for them,
//       fixed nonce.
//
//   raw:<gcm>:open:<size>
//       One AES-GCM decrypt (IMB_AES{128,256}_GCM_DEC) in place and the tag
//       compared, records of a pool sealed untimed with nonces 0..n-1 and
//       opened in turn, the pool re-sealed untimed when used up (the same
//       accounting as the engine's open points).
//
//   zrec:<proto>:<aead>:seal:<size>:burst<n>[:mixed32]
//   zrec-wolfcrypt:<proto>:<aead>:seal:<size>:burst<n>
//       One iteration = one zrec_seal_burst() of n records, sealed in place
//       in n buffers reused every iteration (the payload is re-encrypted;
//       its content does not matter to the cost).  mixed32: op i of the burst
//       belongs to session i (32 sessions).
//
//   zrec:<proto>:<aead>:open:<size>:burst<n>[:mixed32]
//       One iteration = one zrec_open_burst() of n records.  How open is
//       measured honestly: a pool of records (about 256 KiB, at least one
//       burst) is sealed by the engine OUTSIDE the timed region; the timed
//       loop opens the pool burst by burst; when the pool is used up, the
//       timer is paused once, the whole pool is re-sealed in place (the
//       plaintext open left behind becomes the next payload) and the timer
//       resumes.  Re-sealing gives every record a fresh sequence number, so
//       TLS receivers see the sequence they expect and the DTLS replay window
//       accepts every record: each open does the full replay check + window
//       update.  One PauseTiming/ResumeTiming pair leaks ~0.7 us of CPU time
//       into the measurement (measured on the dev box); it is paid once per
//       pool (>= ~90 us of opens), i.e. < 1%, and charged to open, never
//       hidden.  Pool sizes from 32 KiB to 512 KiB gave the same figures
//       within noise.  (Manual timing would rename the points
//       "<name>/manual_time" in Google Benchmark 1.7; restoring saved
//       ciphertext cannot work for TLS, whose receiver expects the next
//       sequence number.)
//
// Keys are re-installed (fresh random key material, zrec_session_set_keys,
// untimed) every kRekeyEvery records per session so that no point runs into
// the AEAD usage limits (AES-CCM: 2^21.5 records per key).
#include "bench.h"

#include <benchmark/benchmark.h>

#include <endian.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "zrec/zrec.h"

#ifdef ZREC_HAVE_IPSECMB
#include <emmintrin.h>
#include <intel-ipsec-mb.h>
#endif

namespace zb {
namespace {

constexpr uint64_t kRekeyEvery = 1u << 20;  // records per session between re-keys
constexpr size_t kOpenPoolBytes = 256 * 1024;
constexpr size_t kOpenPoolMaxRecords = 4096;
constexpr size_t kAlign = 64;

thread_local uint64_t g_rng = 0x9e3779b97f4a7c15ull;

// Key material and payload filler for a benchmark (not a cryptographic RNG:
// the keys protect nothing).
uint64_t rnd()
{
    uint64_t x = g_rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return g_rng = x;
}

void fill(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = static_cast<uint8_t>(rnd() >> 24);
}

size_t round_up(size_t v, size_t a)
{
    return (v + a - 1) / a * a;
}

// 64-byte aligned, zeroed memory.
struct Mem {
    uint8_t *p = nullptr;
    explicit Mem(size_t n)
    {
        p = static_cast<uint8_t *>(std::aligned_alloc(kAlign, round_up(n ? n : 1, kAlign)));
        if (p != nullptr)
            std::memset(p, 0, round_up(n ? n : 1, kAlign));
    }
    ~Mem() { std::free(p); }
    Mem(const Mem &) = delete;
    Mem &operator=(const Mem &) = delete;
};

bool proto_by_name(const std::string &n, enum zrec_proto *p)
{
    for (int i = 0; i < ZREC_PROTO_COUNT; i++)
        if (n == zrec_proto_name(static_cast<enum zrec_proto>(i)))
            return *p = static_cast<enum zrec_proto>(i), true;
    return false;
}

bool aead_by_name(const std::string &n, enum zrec_aead_id *a)
{
    for (int i = 0; i < ZREC_AEAD_COUNT; i++)
        if (n == zrec_aead_name(static_cast<enum zrec_aead_id>(i)))
            return *a = static_cast<enum zrec_aead_id>(i), true;
    return false;
}

// ---------------------------------------------------------------------------
// raw intel-ipsec-mb
// ---------------------------------------------------------------------------

#ifdef ZREC_HAVE_IPSECMB
IMB_MGR *g_mgr = nullptr;
IMB_ARCH g_arch = IMB_ARCH_NONE;

IMB_MGR *raw_mgr()
{
    if (g_mgr == nullptr) {
        IMB_MGR *m = alloc_mb_mgr(0);
        if (m == nullptr)
            return nullptr;
        init_mb_mgr_auto(m, &g_arch);
        if (imb_get_errno(m) != 0) {
            free_mb_mgr(m);
            return nullptr;
        }
        g_mgr = m;
    }
    return g_mgr;
}

const char *arch_name(IMB_ARCH a)
{
    switch (a) {
    case IMB_ARCH_NOAESNI:
        return "NOAESNI";
    case IMB_ARCH_SSE:
        return "SSE";
    case IMB_ARCH_AVX:
        return "AVX";
    case IMB_ARCH_AVX2:
        return "AVX2";
    case IMB_ARCH_AVX512:
        return "AVX512";
    default:
        return "unknown";
    }
}

// One job (ChaCha20-Poly1305 or AES-CCM), submitted and flushed at once.
inline bool raw_job(IMB_MGR *m, IMB_CIPHER_MODE cipher, IMB_HASH_ALG hash, const void *key,
                    uint64_t key_len, const uint8_t *nonce, const uint8_t *aad,
                    uint64_t aad_len, uint8_t *buf, uint64_t len, uint8_t *tag)
{
    IMB_JOB *job = IMB_GET_NEXT_JOB(m);
    job->cipher_direction = IMB_DIR_ENCRYPT;
    job->cipher_mode = cipher;
    job->hash_alg = hash;
    job->enc_keys = key;
    job->dec_keys = key;
    job->key_len_in_bytes = key_len;
    job->src = buf;
    job->dst = buf;
    job->cipher_start_src_offset_in_bytes = 0;
    job->msg_len_to_cipher_in_bytes = len;
    job->hash_start_src_offset_in_bytes = 0;
    job->msg_len_to_hash_in_bytes = len;
    job->iv = nonce;
    job->iv_len_in_bytes = 12;
    if (cipher == IMB_CIPHER_CCM) {
        job->chain_order = IMB_ORDER_HASH_CIPHER;
        job->u.CCM.aad = aad;
        job->u.CCM.aad_len_in_bytes = aad_len;
    } else {
        job->chain_order = IMB_ORDER_CIPHER_HASH;
        job->u.CHACHA20_POLY1305.aad = aad;
        job->u.CHACHA20_POLY1305.aad_len_in_bytes = aad_len;
    }
    job->auth_tag_output = tag;
    job->auth_tag_output_len_in_bytes = 16;
    job = IMB_SUBMIT_JOB(m);
    while (job == nullptr)
        job = IMB_FLUSH_JOB(m);
    return job->status == IMB_STATUS_COMPLETED;
}

// nonce = iv xor (0^4 || seq big-endian), built in a register and stored
// once, 16 bytes wide (RFC 8446 §5.3's construction).
inline void fresh_nonce(const uint8_t iv[16], uint64_t seq, uint8_t out[16])
{
    __m128i s = _mm_slli_si128(_mm_cvtsi64_si128(static_cast<long long>(__builtin_bswap64(seq))), 4);
    _mm_store_si128(reinterpret_cast<__m128i *>(out),
                    _mm_xor_si128(_mm_load_si128(reinterpret_cast<const __m128i *>(iv)), s));
}

void bm_raw_open(benchmark::State &st, enum zrec_aead_id aead, size_t size)
{
    IMB_MGR *m = raw_mgr();
    if (m == nullptr) {
        st.SkipWithError("intel-ipsec-mb manager allocation failed");
        return;
    }
    const bool aes128 = aead == ZREC_AES_128_GCM;
    const size_t stride = round_up(size + 16, kAlign);
    size_t n = kOpenPoolBytes / stride;
    n = n < 32 ? 32 : n > kOpenPoolMaxRecords ? kOpenPoolMaxRecords : n;
    Mem pool(n * stride);
    Mem keys(sizeof(struct gcm_key_data));
    auto *gcm = reinterpret_cast<struct gcm_key_data *>(keys.p);
    uint8_t key[32], aad[13];
    alignas(16) uint8_t iv16[16] = {0}, gcm_nonce[16], calc[16];
    fill(key, sizeof key);
    fill(iv16, 12);
    fill(aad, sizeof aad);
    if (aes128)
        IMB_AES128_GCM_PRE(m, key, gcm);
    else
        IMB_AES256_GCM_PRE(m, key, gcm);
    struct gcm_context_data gctx;
    // Seal record i of the pool with nonce i; its tag after its payload.
    auto seal_pool = [&] {
        for (size_t i = 0; i < n; i++) {
            uint8_t *r = pool.p + i * stride;
            fresh_nonce(iv16, i, gcm_nonce);
            if (aes128)
                IMB_AES128_GCM_ENC(m, gcm, &gctx, r, r, size, gcm_nonce, aad, sizeof aad,
                                   r + size, 16);
            else
                IMB_AES256_GCM_ENC(m, gcm, &gctx, r, r, size, gcm_nonce, aad, sizeof aad,
                                   r + size, 16);
        }
    };
    fill(pool.p, n * stride);
    seal_pool();
    size_t i = 0;
    bool ok = true;
    for (auto _ : st) {
        if (i == n) {
            st.PauseTiming();
            seal_pool(); // the plaintext left by the opens becomes the next payload
            st.ResumeTiming();
            i = 0;
        }
        uint8_t *r = pool.p + i * stride;
        fresh_nonce(iv16, i++, gcm_nonce);
        if (aes128)
            IMB_AES128_GCM_DEC(m, gcm, &gctx, r, r, size, gcm_nonce, aad, sizeof aad, calc, 16);
        else
            IMB_AES256_GCM_DEC(m, gcm, &gctx, r, r, size, gcm_nonce, aad, sizeof aad, calc, 16);
        ok &= std::memcmp(calc, r + size, 16) == 0;
        benchmark::ClobberMemory();
    }
    if (!ok) {
        st.SkipWithError("a record failed authentication");
        return;
    }
    st.SetItemsProcessed(static_cast<int64_t>(st.iterations()));
    st.SetBytesProcessed(static_cast<int64_t>(st.iterations() * size));
}

void bm_raw_seal(benchmark::State &st, enum zrec_aead_id aead, size_t size)
{
    IMB_MGR *m = raw_mgr();
    if (m == nullptr) {
        st.SkipWithError("intel-ipsec-mb manager allocation failed");
        return;
    }
    Mem buf(size + 16);
    Mem keys(sizeof(struct gcm_key_data) + 2 * 16 * 15);
    uint8_t key[32], nonce[12], aad[13], tag[16];
    fill(key, sizeof key);
    fill(nonce, sizeof nonce);
    fill(aad, sizeof aad);
    fill(buf.p, size);
    auto *gcm = reinterpret_cast<struct gcm_key_data *>(keys.p);
    // AES-CCM: encryption round keys (the decryption schedule is unused).
    uint8_t *ccm_enc = keys.p;
    uint8_t *ccm_dec = keys.p + 16 * 15;
    switch (aead) {
    case ZREC_AES_128_GCM:
        IMB_AES128_GCM_PRE(m, key, gcm);
        break;
    case ZREC_AES_256_GCM:
        IMB_AES256_GCM_PRE(m, key, gcm);
        break;
    case ZREC_AES_128_CCM:
        IMB_AES_KEYEXP_128(m, key, ccm_enc, ccm_dec);
        break;
    default:
        break;
    }
    struct gcm_context_data gctx;
    bool ok = true;
    alignas(16) uint8_t iv16[16] = {0}, gcm_nonce[16];
    std::memcpy(iv16, nonce, 12);
    uint64_t seq = 0;
    switch (aead) {
    case ZREC_AES_128_GCM:
        for (auto _ : st) {
            fresh_nonce(iv16, seq++, gcm_nonce);
            IMB_AES128_GCM_ENC(m, gcm, &gctx, buf.p, buf.p, size, gcm_nonce, aad, sizeof aad,
                               tag, 16);
            benchmark::DoNotOptimize(tag);
            benchmark::ClobberMemory();
        }
        break;
    case ZREC_AES_256_GCM:
        for (auto _ : st) {
            fresh_nonce(iv16, seq++, gcm_nonce);
            IMB_AES256_GCM_ENC(m, gcm, &gctx, buf.p, buf.p, size, gcm_nonce, aad, sizeof aad,
                               tag, 16);
            benchmark::DoNotOptimize(tag);
            benchmark::ClobberMemory();
        }
        break;
    case ZREC_CHACHA20_POLY1305:
        for (auto _ : st) {
            ok &= raw_job(m, IMB_CIPHER_CHACHA20_POLY1305, IMB_AUTH_CHACHA20_POLY1305, key, 32,
                          nonce, aad, sizeof aad, buf.p, size, tag);
            benchmark::DoNotOptimize(tag);
            benchmark::ClobberMemory();
        }
        break;
    case ZREC_AES_128_CCM:
        for (auto _ : st) {
            ok &= raw_job(m, IMB_CIPHER_CCM, IMB_AUTH_AES_CCM, ccm_enc, 16, nonce, aad,
                          sizeof aad, buf.p, size, tag);
            benchmark::DoNotOptimize(tag);
            benchmark::ClobberMemory();
        }
        break;
    default:
        st.SkipWithError("unknown AEAD");
        return;
    }
    if (!ok) {
        st.SkipWithError("an intel-ipsec-mb job did not complete");
        return;
    }
    st.SetItemsProcessed(static_cast<int64_t>(st.iterations()));
    st.SetBytesProcessed(static_cast<int64_t>(st.iterations() * size));
}
#endif  // ZREC_HAVE_IPSECMB

// ---------------------------------------------------------------------------
// zrec engine
// ---------------------------------------------------------------------------

struct Spec {
    enum zrec_proto proto;
    enum zrec_aead_id aead;
    size_t size;
    unsigned burst;
    unsigned nsess;                        // 1, or 32 for :mixed32
    const struct zrec_aead_provider *prov;  // nullptr = default
    unsigned threads = 1;                  // :threadsN: N independent engines
    // A provider made when the point first runs (a crypto device), or
    // nullptr; on failure it says why in *why.
    const struct zrec_aead_provider *(*lazy)(std::string *why) = nullptr;
};

// :threadsN points: Google Benchmark runs the point's function in N threads
// at once; thread i moves itself to the i-th CPU the process may use (the
// harness pinned the process to one), each with its own sessions and
// buffers (and intel-ipsec-mb manager: the engine keeps one per thread),
// and puts the process's mask back when done.  Rates are over wall time,
// summed over the threads.
struct ThreadPin {
    cpu_set_t saved;
    bool active = false;
    explicit ThreadPin(const benchmark::State &st, unsigned threads)
    {
        if (threads <= 1 || sched_getaffinity(0, sizeof saved, &saved) != 0)
            return;
        int want = st.thread_index() % CPU_COUNT_ONLINE();
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(want, &one);
        active = sched_setaffinity(0, sizeof one, &one) == 0;
    }
    ~ThreadPin()
    {
        if (active)
            sched_setaffinity(0, sizeof saved, &saved);
    }
    static int CPU_COUNT_ONLINE()
    {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        return n > 0 ? static_cast<int>(n) : 1;
    }
};

// Sessions, buffers and ops for `nrec` records.  Sender session i seals for
// receiver session i; record r belongs to pair r % nsess.
struct Fixture {
    Spec sp;
    std::vector<struct zrec_session *> tx, rx;
    size_t nrec = 0, stride = 0, payload_off = 0;
    struct zrec_overhead oh {};
    Mem *slab = nullptr;
    std::vector<struct zrec_op> seal_ops, open_ops;
    std::string err;

    Fixture(const Spec &s, size_t records) : sp(s), nrec(records)
    {
        if (sp.lazy != nullptr) {
            std::string why;
            sp.prov = sp.lazy(&why);
            if (sp.prov == nullptr) {
                err = why;
                return;
            }
        }
        for (unsigned i = 0; i < sp.nsess; i++) {
            struct zrec_session_params p;
            std::memset(&p, 0, sizeof p);
            p.proto = sp.proto;
            p.aead = sp.aead;
            p.hash = sp.aead == ZREC_AES_256_GCM ? ZREC_SHA384 : ZREC_SHA256;
            p.provider = sp.prov;
            struct zrec_session *a = zrec_session_new(&p);
            struct zrec_session *b = zrec_session_new(&p);
            if (a == nullptr || b == nullptr) {
                err = std::string("zrec_session_new: ") + std::strerror(errno);
                zrec_session_free(a);
                zrec_session_free(b);
                return;
            }
            tx.push_back(a);
            rx.push_back(b);
        }
        if (!rekey())
            return;
        if (zrec_session_overhead(tx[0], &oh) != 0) {
            err = "zrec_session_overhead failed";
            return;
        }
        payload_off = round_up(oh.headroom, kAlign);
        stride = round_up(payload_off + sp.size + oh.tailroom, kAlign);
        slab = new Mem(stride * nrec);
        if (slab->p == nullptr) {
            err = "out of memory";
            return;
        }
        seal_ops.resize(nrec);
        open_ops.resize(nrec);
        for (size_t r = 0; r < nrec; r++) {
            uint8_t *payload = slab->p + r * stride + payload_off;
            fill(payload, sp.size);
            struct zrec_op &o = seal_ops[r];
            std::memset(&o, 0, sizeof o);
            o.sess = tx[r % sp.nsess];
            o.data = payload;
            o.len = static_cast<uint32_t>(sp.size);
            o.headroom = oh.headroom;  // exactly: the record starts at payload - headroom
            o.tailroom = oh.tailroom;
            o.content_type = ZREC_CT_APPLICATION_DATA;
            std::memset(&open_ops[r], 0, sizeof open_ops[r]);
            open_ops[r].sess = rx[r % sp.nsess];
        }
    }

    ~Fixture()
    {
        for (auto *s : tx)
            zrec_session_free(s);
        for (auto *s : rx)
            zrec_session_free(s);
        delete slab;
    }

    Fixture(const Fixture &) = delete;
    Fixture &operator=(const Fixture &) = delete;

    bool ok() const { return err.empty(); }

    // Fresh keys for every pair (tx write = rx read), sequence numbers from 0.
    bool rekey()
    {
        const bool tls13 = sp.proto == ZREC_TLS13 || sp.proto == ZREC_DTLS13;
        const uint16_t epoch = sp.proto == ZREC_DTLS12 ? 1 : sp.proto == ZREC_DTLS13 ? 3 : 0;
        for (unsigned i = 0; i < sp.nsess; i++) {
            uint8_t mat[64];
            fill(mat, sizeof mat);
            struct zrec_traffic_keys k;
            std::memset(&k, 0, sizeof k);
            if (tls13) {
                k.secret = mat;
                k.secret_len = sp.aead == ZREC_AES_256_GCM ? 48 : 32;
            } else {
                k.key = mat;
                k.iv = mat + 32;
            }
            k.seq = 0;
            k.epoch = epoch;
            int rc = zrec_session_set_keys(tx[i], ZREC_DIR_WRITE, &k);
            if (rc == 0)
                rc = zrec_session_set_keys(rx[i], ZREC_DIR_READ, &k);
            if (rc != 0) {
                err = "zrec_session_set_keys: " + std::to_string(rc);
                return false;
            }
        }
        return true;
    }

    // Seal every record of the pool; the open ops then point at the records.
    bool seal_all()
    {
        unsigned n = static_cast<unsigned>(nrec);
        if (zrec_seal_burst(seal_ops.data(), n) != n) {
            for (auto &o : seal_ops)
                if (o.status != 0) {
                    err = "seal status " + std::to_string(o.status);
                    break;
                }
            return false;
        }
        for (size_t r = 0; r < nrec; r++) {
            open_ops[r].data = seal_ops[r].rec;
            open_ops[r].len = seal_ops[r].rec_len;
        }
        return true;
    }

    std::string first_error(const struct zrec_op *ops, unsigned n) const
    {
        for (unsigned i = 0; i < n; i++)
            if (ops[i].status != 0)
                return "op " + std::to_string(i) + " status " + std::to_string(ops[i].status) +
                       " (" + std::strerror(-ops[i].status) + ")";
        return "burst short";
    }
};

void finish(benchmark::State &st, const Spec &sp)
{
    const int64_t recs = static_cast<int64_t>(st.iterations()) * sp.burst;
    st.SetItemsProcessed(recs);
    st.SetBytesProcessed(recs * static_cast<int64_t>(sp.size));
}

void bm_zrec_seal(benchmark::State &st, Spec sp)
{
    ThreadPin pin(st, sp.threads);
    Fixture f(sp, sp.burst);
    if (!f.ok()) {
        st.SkipWithError(f.err.c_str());
        return;
    }
    struct zrec_op *ops = f.seal_ops.data();
    const unsigned n = sp.burst;
    const uint64_t per_session = n / sp.nsess;
    uint64_t since_rekey = 0;
    for (auto _ : st) {
        if (__builtin_expect(zrec_seal_burst(ops, n) != n, 0)) {
            std::string e = "seal: " + f.first_error(ops, n);
            st.SkipWithError(e.c_str());
            break;
        }
        since_rekey += per_session;
        if (__builtin_expect(since_rekey >= kRekeyEvery, 0)) {
            st.PauseTiming();
            bool ok = f.rekey();
            since_rekey = 0;
            st.ResumeTiming();
            if (!ok) {
                st.SkipWithError(f.err.c_str());
                break;
            }
        }
    }
    finish(st, sp);
}

size_t open_pool_records(const Spec &sp, size_t stride_guess)
{
    size_t r = kOpenPoolBytes / stride_guess;
    if (r > kOpenPoolMaxRecords)
        r = kOpenPoolMaxRecords;
    if (r < sp.burst)
        r = sp.burst;
    return round_up(r, sp.burst);
}

void bm_zrec_open(benchmark::State &st, Spec sp)
{
    ThreadPin pin(st, sp.threads);
    const size_t stride_guess = round_up(kAlign + sp.size + 17, kAlign);
    Fixture f(sp, open_pool_records(sp, stride_guess));
    if (!f.ok() || !f.seal_all()) {
        st.SkipWithError(f.err.c_str());
        return;
    }
    const unsigned n = sp.burst;
    const size_t nbursts = f.nrec / n;
    const uint64_t pool_per_session = f.nrec / sp.nsess;
    uint64_t since_rekey = pool_per_session;
    size_t b = 0;
    struct zrec_op *ops = f.open_ops.data();
    for (auto _ : st) {
        if (__builtin_expect(b == nbursts, 0)) {
            // Pool used up: re-seal it, untimed (see the file comment).
            st.PauseTiming();
            bool ok = true;
            if (since_rekey + pool_per_session > kRekeyEvery) {
                ok = f.rekey();
                since_rekey = 0;
            }
            ok = ok && f.seal_all();
            since_rekey += pool_per_session;
            b = 0;
            st.ResumeTiming();
            if (!ok) {
                st.SkipWithError(f.err.c_str());
                break;
            }
        }
        struct zrec_op *burst = ops + b * n;
        if (__builtin_expect(zrec_open_burst(burst, n) != n, 0)) {
            std::string e = "open: " + f.first_error(burst, n);
            st.SkipWithError(e.c_str());
            break;
        }
        b++;
    }
    finish(st, sp);
}

// ---------------------------------------------------------------------------
// One million sessions, chosen by Zipf (s = 1)
// ---------------------------------------------------------------------------

constexpr size_t kZipfSessions = 1000000;
constexpr size_t kZipfDraws = 1u << 20;
// The key cache's size for the zipf points (--zipf-cache, a power of two).
// The default, 2^13 entries of ~1 KB (ipsec-mb AES-128-GCM) = 8 MiB of
// contexts, is the size that measured fastest on an L3 of 32 MiB (a sweep
// from 2^11 to 2^18, DESIGN-NOTES §16): it holds the ranks that draw
// H(8192)/H(10^6) = 67 % of the records and stays in the L3; a larger cache
// hits more often, but its contexts come from DRAM, which costs more than
// the key expansions it saves.
unsigned g_zipf_cache_entries = 1u << 13;

// A random permutation of 0 .. n-1.
std::vector<uint32_t> shuffled(size_t n)
{
    std::vector<uint32_t> v(n);
    for (size_t i = 0; i < n; i++)
        v[i] = static_cast<uint32_t>(i);
    for (size_t i = n - 1; i > 0; i--)
        std::swap(v[i], v[rnd() % (i + 1)]);
    return v;
}

// kZipfDraws ranks in [0, kZipfSessions), P(rank k) ~ 1/(k + 1): Zipf(1) by
// its inverse CDF.
std::vector<uint32_t> zipf_ranks()
{
    std::vector<double> cdf(kZipfSessions);
    double h = 0;
    for (size_t k = 0; k < kZipfSessions; k++)
        cdf[k] = h += 1.0 / static_cast<double>(k + 1);
    std::vector<uint32_t> ranks(kZipfDraws);
    for (auto &r : ranks) {
        double u = static_cast<double>(rnd() >> 11) / 9007199254740992.0 * h;
        size_t k = static_cast<size_t>(std::lower_bound(cdf.begin(), cdf.end(), u) - cdf.begin());
        r = static_cast<uint32_t>(k < kZipfSessions ? k : kZipfSessions - 1);
    }
    return ranks;
}

// An application-data seal op for `len` payload bytes at `data`.
void seal_op(struct zrec_op &o, struct zrec_session *s, uint8_t *data, size_t len,
             const struct zrec_overhead &oh)
{
    std::memset(&o, 0, sizeof o);
    o.sess = s;
    o.data = data;
    o.len = static_cast<uint32_t>(len);
    o.headroom = oh.headroom;
    o.tailroom = oh.tailroom;
    o.content_type = ZREC_CT_APPLICATION_DATA;
}

// Turn a sealed op into the op that opens its record in place.
void open_op_of_sealed(struct zrec_op &o)
{
    struct zrec_session *s = o.sess;
    uint8_t *rec = o.rec;
    const uint32_t len = o.rec_len;
    std::memset(&o, 0, sizeof o);
    o.sess = s;
    o.data = rec;
    o.len = len;
}

// A million established TLS 1.3 AES-128-GCM sessions (random keys, both
// directions) on one key cache (zrec_key_cache_new): each keeps its key
// bytes, the expanded contexts live in the cache.  Built once per process
// per kind, with the resident memory they took; the draws are session
// indices with P(rank k) ~ 1/k, ranks scattered over the sessions by a
// random permutation (popular sessions are not neighbours in memory).
// The open pool's sessions read with their own write key (a record a
// session seals, it can open: no second million sessions needed).
struct ZipfPool {
    std::vector<struct zrec_session *> sess;
    std::vector<uint32_t> draws;
    // The session of each draw, read in order: the timed loops find the
    // next session with a sequential read, as a gateway finds it in the
    // connection its data arrived on, not with a random read of sess[].
    std::vector<struct zrec_session *> draw_sess;
    struct zrec_key_cache *cache = nullptr;
    double bytes_per_session = 0;
    std::string err;

    static long rss_bytes()
    {
        long pages = 0, resident = 0;
        FILE *f = std::fopen("/proc/self/statm", "r");
        if (f != nullptr) {
            if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2)
                resident = 0;
            std::fclose(f);
        }
        return resident * sysconf(_SC_PAGESIZE);
    }

    explicit ZipfPool(bool loopback)
    {
        const long before = rss_bytes();
        cache = zrec_key_cache_new(g_zipf_cache_entries);
        if (cache == nullptr) {
            err = std::string("key cache: ") + std::strerror(errno);
            return;
        }
        sess.reserve(kZipfSessions);
        uint8_t secret[32];
        for (size_t i = 0; i < kZipfSessions; i++) {
            struct zrec_session_params p;
            std::memset(&p, 0, sizeof p);
            p.proto = ZREC_TLS13;
            p.aead = ZREC_AES_128_GCM;
            p.hash = ZREC_SHA256;
            p.key_cache = cache;
            struct zrec_session *s = zrec_session_new(&p);
            struct zrec_traffic_keys k{};
            k.secret = secret;
            k.secret_len = sizeof secret;
            // Established: keys in both directions.
            bool ok = s != nullptr;
            fill(secret, sizeof secret);
            for (enum zrec_dir dir : {ZREC_DIR_WRITE, ZREC_DIR_READ}) {
                if (!loopback)
                    fill(secret, sizeof secret);
                ok = ok && zrec_session_set_keys(s, dir, &k) == 0;
            }
            if (!ok) {
                err = "session " + std::to_string(i) + ": " + std::strerror(errno);
                zrec_session_free(s);
                return;
            }
            sess.push_back(s);
        }
        // The vector of pointers is bookkeeping, not engine state; the
        // cache's table is, its contexts come later (counted by the cache).
        bytes_per_session = static_cast<double>(rss_bytes() - before) / kZipfSessions -
                            static_cast<double>(sizeof(void *));
        // Zipf(1) ranks, then ranks -> sessions.
        const std::vector<uint32_t> perm = shuffled(kZipfSessions);
        draws = zipf_ranks();
        for (auto &d : draws)
            d = perm[d];
        draw_sess.resize(kZipfDraws);
        for (size_t d = 0; d < kZipfDraws; d++)
            draw_sess[d] = sess[draws[d]];
        warm(loopback);
    }

    // Fill the key cache before any timing (a gateway's runs warm): every
    // draw once, sealed (and opened, for the loopback pool), untimed.
    void warm(bool loopback)
    {
        struct zrec_overhead oh {};
        zrec_session_overhead(sess[0], &oh);
        const size_t stride = round_up(oh.headroom + 64 + oh.tailroom, kAlign);
        Mem slab(stride * 32);
        struct zrec_op ops[32];
        for (size_t d = 0; d < kZipfDraws; d += 32) {
            for (unsigned i = 0; i < 32; i++)
                seal_op(ops[i], draw_sess[d + i], slab.p + i * stride + oh.headroom, 64, oh);
            if (zrec_seal_burst(ops, 32) != 32) {
                err = "warm-up seal failed";
                return;
            }
            if (!loopback)
                continue;
            for (unsigned i = 0; i < 32; i++)
                open_op_of_sealed(ops[i]);
            if (zrec_open_burst(ops, 32) != 32) {
                err = "warm-up open failed";
                return;
            }
        }
    }
    ~ZipfPool()
    {
        for (auto *s : sess)
            zrec_session_free(s);
        zrec_key_cache_free(cache);
    }
};

ZipfPool &zipf_pool(bool loopback)
{
    static ZipfPool seal_pool(false);
    if (!loopback)
        return seal_pool;
    static ZipfPool open_pool(true);
    return open_pool;
}

// Counters every zipf point reports: memory per session, the cache, its hit
// rate over the timed part.
void zipf_counters(benchmark::State &st, const ZipfPool &zp,
                   const struct zrec_key_cache_stats &before)
{
    struct zrec_key_cache_stats after;
    zrec_key_cache_stats(zp.cache, &after);
    const double hits = static_cast<double>(after.hits - before.hits);
    const double misses = static_cast<double>(after.misses - before.misses);
    st.counters["session_bytes"] = zp.bytes_per_session;
    st.counters["cache_entries"] = after.entries;
    st.counters["cache_MiB"] = static_cast<double>(after.bytes) / 1048576.0;
    st.counters["hit_rate"] = hits + misses > 0 ? hits / (hits + misses) : 0;
}

// zrec:tls13:aes128gcm:seal:<size>:zipf1M: bursts of 32 records, each of
// the session the next Zipf draw names (sessions rekeyed never: a million
// sessions stay far below the usage limit in any run).
void bm_zipf_seal(benchmark::State &st, size_t size)
{
    ZipfPool &zp = zipf_pool(false);
    if (!zp.err.empty()) {
        st.SkipWithError(zp.err.c_str());
        return;
    }
    struct zrec_overhead oh {};
    zrec_session_overhead(zp.sess[0], &oh);
    const size_t payload_off = round_up(oh.headroom, kAlign);
    const size_t stride = round_up(payload_off + size + oh.tailroom, kAlign);
    Mem slab(stride * 32);
    struct zrec_op ops[32];
    for (unsigned i = 0; i < 32; i++)
        fill(slab.p + i * stride + payload_off, size);
    size_t d = 0;
    struct zrec_key_cache_stats before;
    zrec_key_cache_stats(zp.cache, &before);
    for (auto _ : st) {
        for (unsigned i = 0; i < 32; i++)
            seal_op(ops[i], zp.draw_sess[d++ & (kZipfDraws - 1)], slab.p + i * stride + payload_off,
                    size, oh);
        if (__builtin_expect(zrec_seal_burst(ops, 32) != 32, 0)) {
            st.SkipWithError("seal failed");
            break;
        }
    }
    const int64_t recs = static_cast<int64_t>(st.iterations()) * 32;
    st.SetItemsProcessed(recs);
    st.SetBytesProcessed(recs * static_cast<int64_t>(size));
    zipf_counters(st, zp, before);
}

// zrec:tls13:aes128gcm:open:<size>:zipf1M: a pool of 2^15 records sealed
// (untimed) in draw order, opened in bursts of 32 in the same order, the
// next 2^15 draws sealed (untimed) when it is used up.  The untimed seal
// touches each record's session just before, so the opens find its state
// in the CPU caches more often than a gateway would: read it as a bound.
void bm_zipf_open(benchmark::State &st, size_t size)
{
    ZipfPool &zp = zipf_pool(true);
    if (!zp.err.empty()) {
        st.SkipWithError(zp.err.c_str());
        return;
    }
    constexpr size_t kPool = 1u << 15;
    struct zrec_overhead oh {};
    zrec_session_overhead(zp.sess[0], &oh);
    const size_t payload_off = round_up(oh.headroom, kAlign);
    const size_t stride = round_up(payload_off + size + oh.tailroom, kAlign);
    Mem slab(stride * kPool);
    std::vector<struct zrec_op> ops(kPool);
    fill(slab.p, stride * kPool);
    size_t d = 0, at = kPool;
    bool ok = true;
    auto seal_pool = [&] {
        for (size_t i = 0; i < kPool; i++)
            seal_op(ops[i], zp.draw_sess[d++ & (kZipfDraws - 1)], slab.p + i * stride + payload_off,
                    size, oh);
        ok = zrec_seal_burst(ops.data(), kPool) == kPool;
        for (size_t i = 0; i < kPool; i++)
            open_op_of_sealed(ops[i]);
        at = 0;
    };
    struct zrec_key_cache_stats before;
    zrec_key_cache_stats(zp.cache, &before);
    uint64_t sealed_hits = 0, sealed_misses = 0;
    for (auto _ : st) {
        if (at == kPool) {
            st.PauseTiming();
            struct zrec_key_cache_stats a, b;
            zrec_key_cache_stats(zp.cache, &a);
            seal_pool();
            zrec_key_cache_stats(zp.cache, &b);
            sealed_hits += b.hits - a.hits;
            sealed_misses += b.misses - a.misses;
            st.ResumeTiming();
            if (!ok)
                break;
        }
        if (__builtin_expect(zrec_open_burst(&ops[at], 32) != 32, 0)) {
            ok = false;
            break;
        }
        at += 32;
    }
    // Open what this run sealed and did not open (untimed): each session's
    // read sequence number must meet its write one again for the next run
    // (Google Benchmark calls the function more than once).
    if (ok && at < kPool)
        ok = zrec_open_burst(&ops[at], static_cast<unsigned>(kPool - at)) == kPool - at;
    if (!ok) {
        st.SkipWithError("seal or open failed");
        return;
    }
    const int64_t recs = static_cast<int64_t>(st.iterations()) * 32;
    st.SetItemsProcessed(recs);
    st.SetBytesProcessed(recs * static_cast<int64_t>(size));
    // The hit rate of the opens alone.
    before.hits += sealed_hits;
    before.misses += sealed_misses;
    zipf_counters(st, zp, before);
}

#ifdef ZREC_HAVE_IPSECMB
// ---------------------------------------------------------------------------
// floor:tls13|dtls13:aes128gcm:*: the least any record layer does per record
// ---------------------------------------------------------------------------
// The physical reference between raw and the engine.  Per record exactly
// what RFC 8446 §5.2 and §5.3 (and RFC 9147 §4 for DTLS 1.3) require, in place, in bursts of 32 as the
// engine's burst32 points, written the fastest way we know and with no
// checks beyond the sequence limit: the 5-byte header (the AAD), the inner
// content type after the payload (so the AEAD covers size + 1 bytes), the
// nonce from the sequence number, the sequence bump; open also parses the
// header and strips the inner type.  Headers and nonces are written in one
// pass, the AEAD runs in the next (no store-forwarding stall, DESIGN-NOTES
// §14).  No session object, no op array, no status: what the engine adds
// beyond this is its bookkeeping.

constexpr size_t kFloorHeader = 5;

// RFC 8446 §5.4: the inner content type is the last non-zero byte.
inline bool inner_type_is_data(const uint8_t *p, size_t ct)
{
    size_t t = ct;
    while (t > 0 && p[t - 1] == 0)
        t--;
    return t > 0 && p[t - 1] == ZREC_CT_APPLICATION_DATA;
}

// The AES-128-GCM key and IV of the floor points.
struct FloorKeys {
    IMB_MGR *m = raw_mgr();
    Mem keys{sizeof(struct gcm_key_data)};
    alignas(16) uint8_t iv16[16] = {0};
    struct gcm_key_data *gcm() { return reinterpret_cast<struct gcm_key_data *>(keys.p); }
    FloorKeys()
    {
        uint8_t key[16];
        fill(key, sizeof key);
        fill(iv16, 12);
        if (m != nullptr)
            IMB_AES128_GCM_PRE(m, key, gcm());
    }
    // Record i of a burst: its payload at base + i * stride + kAlign, its
    // header just before.
    static uint8_t *payload(uint8_t *base, size_t stride, unsigned i)
    {
        return base + i * stride + kAlign;
    }
    // Seal pass 2 / open pass 2: the AEAD over a burst whose headers and
    // nonces pass 1 wrote (the AAD is the header).
    void seal_pass(uint8_t *base, size_t stride, size_t size, const uint8_t (*nonce)[16])
    {
        struct gcm_context_data gctx;
        for (unsigned i = 0; i < 32; i++) {
            uint8_t *p = payload(base, stride, i);
            IMB_AES128_GCM_ENC(m, gcm(), &gctx, p, p, size + 1, nonce[i], p - kFloorHeader,
                               kFloorHeader, p + size + 1, 16);
        }
    }
    // Decrypts record i (ct bytes of ciphertext, then its tag): whether
    // the tag matched and the inner type is application data.
    bool open_one(uint8_t *p, size_t ct, const uint8_t nonce[16])
    {
        struct gcm_context_data gctx;
        alignas(16) uint8_t calc[16];
        IMB_AES128_GCM_DEC(m, gcm(), &gctx, p, p, ct, nonce, p - kFloorHeader, kFloorHeader,
                           calc, 16);
        return std::memcmp(calc, p + ct, 16) == 0 && inner_type_is_data(p, ct);
    }
};

// TLS 1.3 (RFC 8446 §5.1-5.4): the header 17 03 03 <length>, the inner
// type after the payload, the nonce from the implicit sequence number.
struct FloorTls13 : FloorKeys {
    uint64_t rseq = 0;
    void start_open() { rseq = 0; }
    static void frame(uint8_t *payload, size_t size, const uint8_t iv[16], uint64_t seq,
                      uint8_t nonce[16])
    {
        uint8_t *h = payload - kFloorHeader;
        const uint16_t len = htobe16(static_cast<uint16_t>(size + 1 + 16));
        h[0] = ZREC_CT_APPLICATION_DATA;
        h[1] = 3;
        h[2] = 3;
        std::memcpy(h + 3, &len, 2);
        payload[size] = ZREC_CT_APPLICATION_DATA;
        fresh_nonce(iv, seq, nonce);
    }
    void seal_burst(uint8_t *base, size_t stride, size_t size, uint64_t &seq)
    {
        alignas(16) uint8_t nonce[32][16];
        for (unsigned i = 0; i < 32; i++)
            frame(payload(base, stride, i), size, iv16, seq++, nonce[i]);
        seal_pass(base, stride, size, nonce);
    }
    bool open_burst(uint8_t *base, size_t stride)
    {
        alignas(16) uint8_t nonce[32][16];
        size_t body[32];
        bool ok = true;
        for (unsigned i = 0; i < 32; i++) {
            const uint8_t *h = payload(base, stride, i) - kFloorHeader;
            uint16_t len;
            std::memcpy(&len, h + 3, 2);
            body[i] = be16toh(len);
            ok &= h[0] == ZREC_CT_APPLICATION_DATA && h[1] == 3 && h[2] == 3 && body[i] >= 17 &&
                  body[i] <= 16384 + 256;
            fresh_nonce(iv16, rseq++, nonce[i]);
        }
        for (unsigned i = 0; i < 32; i++)
            ok &= open_one(payload(base, stride, i), body[i] - 16, nonce[i]);
        return ok;
    }
};

// DTLS 1.3 (RFC 9147 §4): the 5-byte unified header (16-bit sequence
// number and length, no CID), inner type, nonce, AEAD, then the record
// number mask (§4.2.3: AES of the first 16 ciphertext bytes under the sn
// key) over the header's sequence bytes.  Open unmasks the number, widens
// it to 64 bits next to the expected one (§4.2.2), checks and updates a
// 64-record replay window (§4.5.1) around the AEAD.  Records of 64 bytes
// and more need no padding for the sample.
struct FloorDtls13 : FloorKeys {
    alignas(16) uint32_t sn_enc[4 * 15];
    alignas(16) uint32_t sn_dec[4 * 15];
    uint64_t top = 0, window = 0;  // one above the highest accepted; bit i: top - 1 - i
    FloorDtls13()
    {
        uint8_t key[16];
        fill(key, sizeof key);
        if (m != nullptr)
            IMB_AES_KEYEXP_128(m, key, sn_enc, sn_dec);
    }
    void start_open() { top = window = 0; }
    void mask(const uint8_t *sample, uint8_t out[16])
    {
        static const uint8_t zeros[16] = {0};
        IMB_AES128_CFB_ONE(m, out, zeros, sample, sn_enc, 16);
    }
    void frame(uint8_t *payload, size_t size, uint64_t seq, uint8_t nonce[16])
    {
        uint8_t *h = payload - kFloorHeader;
        const uint16_t sn = htobe16(static_cast<uint16_t>(seq));
        const uint16_t len = htobe16(static_cast<uint16_t>(size + 1 + 16));
        h[0] = 0x2c | 3;  // 001 C=0 S=1 L=1, epoch 3 (application data)
        std::memcpy(h + 1, &sn, 2);
        std::memcpy(h + 3, &len, 2);
        payload[size] = ZREC_CT_APPLICATION_DATA;
        fresh_nonce(iv16, seq, nonce);
    }
    void seal_burst(uint8_t *base, size_t stride, size_t size, uint64_t &seq)
    {
        alignas(16) uint8_t nonce[32][16];
        for (unsigned i = 0; i < 32; i++)
            frame(payload(base, stride, i), size, seq++, nonce[i]);
        seal_pass(base, stride, size, nonce);
        for (unsigned i = 0; i < 32; i++) {
            uint8_t *p = payload(base, stride, i);
            alignas(16) uint8_t mk[16];
            mask(p, mk);
            p[-4] ^= mk[0];
            p[-3] ^= mk[1];
        }
    }
    bool open_burst(uint8_t *base, size_t stride)
    {
        alignas(16) uint8_t nonce[32][16];
        size_t body[32];
        uint64_t seq[32];
        bool ok = true;
        // Pass 1: header, record number, replay check, nonce; the AAD is
        // the header with the number unmasked, restored in place.
        for (unsigned i = 0; i < 32; i++) {
            uint8_t *p = payload(base, stride, i);
            uint8_t *h = p - kFloorHeader;
            uint16_t len;
            std::memcpy(&len, h + 3, 2);
            body[i] = be16toh(len);
            ok &= (h[0] & 0xe0) == 0x20 && (h[0] & 0x1c) == 0x0c && body[i] >= 17 &&
                  body[i] <= 16384 + 256;
            alignas(16) uint8_t mk[16];
            mask(p, mk);
            h[1] ^= mk[0];
            h[2] ^= mk[1];
            const uint64_t lo = static_cast<uint64_t>(h[1]) << 8 | h[2];
            // §4.2.2: the value closest to one above the highest accepted.
            uint64_t s = (top & ~uint64_t{0xffff}) | lo;
            if (s + 0x8000 < top)
                s += 0x10000;
            else if (s > top + 0x8000 && s >= 0x10000)
                s -= 0x10000;
            ok &= s >= top || (top - 1 - s < 64 && !(window >> (top - 1 - s) & 1));
            seq[i] = s;
            fresh_nonce(iv16, s, nonce[i]);
        }
        for (unsigned i = 0; i < 32; i++) {
            const bool good = open_one(payload(base, stride, i), body[i] - 16, nonce[i]);
            ok &= good;
            if (!good)
                continue;
            const uint64_t s = seq[i];
            if (s >= top) {
                const uint64_t shift = s + 1 - top;
                window = shift >= 64 ? 1 : (window << shift) | 1;
                top = s + 1;
            } else {
                window |= uint64_t{1} << (top - 1 - s);
            }
        }
        return ok;
    }
};

// A runtime value the compiler cannot fold: the sequence limit compare
// stays in the loop as in any record layer.
volatile uint64_t g_floor_seq_limit = UINT64_MAX - 1;

template <class Floor>
void bm_floor_seal(benchmark::State &st, size_t size)
{
    static Floor f;
    if (f.m == nullptr) {
        st.SkipWithError("intel-ipsec-mb manager allocation failed");
        return;
    }
    const size_t stride = round_up(kAlign + size + 1 + 16, kAlign);
    Mem slab(stride * 32);
    fill(slab.p, stride * 32);
    const uint64_t limit = g_floor_seq_limit;
    uint64_t seq = 0;
    for (auto _ : st) {
        if (__builtin_expect(seq + 32 > limit, 0)) {
            st.SkipWithError("sequence limit");
            break;
        }
        f.seal_burst(slab.p, stride, size, seq);
        benchmark::ClobberMemory();
    }
    st.SetItemsProcessed(static_cast<int64_t>(st.iterations()) * 32);
    st.SetBytesProcessed(static_cast<int64_t>(st.iterations() * 32 * size));
}

// Open: a pool of records sealed untimed (as raw:…:open and the engine's
// open points; fresh sequence numbers when it is re-sealed), opened in
// bursts of 32.
template <class Floor>
void bm_floor_open(benchmark::State &st, size_t size)
{
    static Floor f;
    if (f.m == nullptr) {
        st.SkipWithError("intel-ipsec-mb manager allocation failed");
        return;
    }
    const size_t stride = round_up(kAlign + size + 1 + 16, kAlign);
    size_t n = kOpenPoolBytes / stride;
    n = n < 32 ? 32 : n > kOpenPoolMaxRecords ? kOpenPoolMaxRecords : n;
    n &= ~size_t{31};
    Mem pool(n * stride);
    uint64_t wseq = 0;
    auto seal_pool = [&] {
        for (size_t b = 0; b < n; b += 32) {
            for (unsigned i = 0; i < 32; i++)
                fill(Floor::payload(pool.p + b * stride, stride, i), size);
            f.seal_burst(pool.p + b * stride, stride, size, wseq);
        }
    };
    f.start_open();
    seal_pool();
    size_t at = 0;
    bool ok = true;
    for (auto _ : st) {
        if (at == n) {
            st.PauseTiming();
            seal_pool();
            st.ResumeTiming();
            at = 0;
        }
        ok &= f.open_burst(pool.p + at * stride, stride);
        at += 32;
        benchmark::ClobberMemory();
    }
    if (!ok) {
        st.SkipWithError("a record failed to open");
        return;
    }
    st.SetItemsProcessed(static_cast<int64_t>(st.iterations()) * 32);
    st.SetBytesProcessed(static_cast<int64_t>(st.iterations() * 32 * size));
}

// floor:tls13:aes128gcm:seal:<size>:zipf1M: the floor above over the
// zrec zipf points' work — a million sessions, a Zipf(1) choice per record,
// key contexts in a cache of g_zipf_cache_entries — with an oracle for a cache
// (the most popular ranks always hit: the best any replacement can do for
// independent draws) and the least session state (one 64-byte line read and
// written per record: sequence number and key reference; 192 bytes per
// session, enough for two directions' keys, IVs, sequence numbers and
// KeyUpdate secrets).  A miss expands the key (IMB_AES128_GCM_PRE) into the
// entry a hand points at.  It is the physical limit of what a key cache of
// this size gives on this machine: its memory and key expansions, no
// bookkeeping.
struct FloorZipf {
    static constexpr size_t kState = 192;
    std::vector<uint32_t> rank;     // per draw
    std::vector<uint32_t> sess_of;  // rank -> session (scattered)
    std::vector<uint32_t> slot_of;  // rank < entries -> cache entry (scattered)
    Mem state{kZipfSessions * kState};
    Mem ctx{size_t{g_zipf_cache_entries} * sizeof(struct gcm_key_data)};  // set before first use

    FloorZipf()
    {
        sess_of = shuffled(kZipfSessions);
        slot_of = shuffled(g_zipf_cache_entries);
        rank = zipf_ranks();
        IMB_MGR *m = raw_mgr();
        uint8_t key[16];
        for (size_t i = 0; m != nullptr && i < g_zipf_cache_entries; i++) {
            fill(key, sizeof key);
            IMB_AES128_GCM_PRE(m, key, ctx_at(static_cast<uint32_t>(i)));
        }
        fill(state.p, kZipfSessions * kState);
    }
    struct gcm_key_data *ctx_at(uint32_t slot)
    {
        return reinterpret_cast<struct gcm_key_data *>(ctx.p + size_t{slot} *
                                                       sizeof(struct gcm_key_data));
    }
};

void bm_floor_zipf_seal(benchmark::State &st, size_t size)
{
    IMB_MGR *m = raw_mgr();
    if (m == nullptr) {
        st.SkipWithError("intel-ipsec-mb manager allocation failed");
        return;
    }
    static FloorZipf fz;
    const size_t stride = round_up(kAlign + size + 1 + 16, kAlign);
    Mem slab(stride * 32);
    fill(slab.p, stride * 32);
    alignas(16) uint8_t nonce[32][16];
    struct gcm_key_data *kd[32];
    struct gcm_context_data gctx;
    uint8_t key[16];
    fill(key, sizeof key);
    uint32_t hand = 0;
    size_t d = 0;
    uint64_t hits = 0, misses = 0;
    for (auto _ : st) {
        // Pass 1: each record's session line (independent loads overlap).
        uint64_t *line[32];
        for (unsigned i = 0; i < 32; i++) {
            const uint32_t r = fz.rank[(d + i) & (kZipfDraws - 1)];
            line[i] = reinterpret_cast<uint64_t *>(fz.state.p +
                                                   size_t{fz.sess_of[r]} * FloorZipf::kState);
            __builtin_prefetch(line[i], 1);
        }
        // Pass 2: the key context (oracle hit or expansion), header, nonce.
        for (unsigned i = 0; i < 32; i++) {
            const uint32_t r = fz.rank[d++ & (kZipfDraws - 1)];
            if (r < g_zipf_cache_entries) {
                kd[i] = fz.ctx_at(fz.slot_of[r]);
                hits++;
            } else {
                key[0] = static_cast<uint8_t>(r);
                kd[i] = fz.ctx_at(hand);
                hand = (hand + 1) & (g_zipf_cache_entries - 1);
                IMB_AES128_GCM_PRE(m, key, kd[i]);
                misses++;
            }
            alignas(16) uint8_t iv16[16];
            std::memcpy(iv16, line[i] + 1, 16);
            iv16[12] = iv16[13] = iv16[14] = iv16[15] = 0;
            const uint64_t seq = line[i][0]++;
            FloorTls13::frame(slab.p + i * stride + kAlign, size, iv16, seq, nonce[i]);
        }
        for (unsigned i = 0; i < 32; i++) {
            uint8_t *p = slab.p + i * stride + kAlign;
            IMB_AES128_GCM_ENC(m, kd[i], &gctx, p, p, size + 1, nonce[i], p - kFloorHeader,
                               kFloorHeader, p + size + 1, 16);
        }
        benchmark::ClobberMemory();
    }
    st.SetItemsProcessed(static_cast<int64_t>(st.iterations()) * 32);
    st.SetBytesProcessed(static_cast<int64_t>(st.iterations() * 32 * size));
    st.counters["session_bytes"] = FloorZipf::kState;
    st.counters["cache_entries"] = g_zipf_cache_entries;
    st.counters["cache_MiB"] =
        static_cast<double>(g_zipf_cache_entries * sizeof(struct gcm_key_data)) / 1048576.0;
    st.counters["hit_rate"] =
        hits + misses > 0 ? static_cast<double>(hits) / static_cast<double>(hits + misses) : 0;
}

#endif  // ZREC_HAVE_IPSECMB

// raw:aes128gcm:keyexp: one AES-128-GCM key expansion (round keys and
// GHASH table), what a key cache miss costs on top of the record.
void bm_raw_keyexp(benchmark::State &st)
{
#ifdef ZREC_HAVE_IPSECMB
    IMB_MGR *m = raw_mgr();
    if (m == nullptr) {
        st.SkipWithError("intel-ipsec-mb manager allocation failed");
        return;
    }
    Mem keys(sizeof(struct gcm_key_data));
    auto *gcm = reinterpret_cast<struct gcm_key_data *>(keys.p);
    uint8_t key[16];
    fill(key, sizeof key);
    for (auto _ : st) {
        key[0]++;
        IMB_AES128_GCM_PRE(m, key, gcm);
        benchmark::ClobberMemory();
    }
    st.SetItemsProcessed(static_cast<int64_t>(st.iterations()));
#else
    st.SkipWithError("no intel-ipsec-mb");
#endif
}

void reg(const std::string &name, void (*fn)(benchmark::State &, Spec), const Spec &sp)
{
    auto *b = benchmark::RegisterBenchmark(name.c_str(), fn, sp);
    if (sp.threads > 1)
        b->Threads(static_cast<int>(sp.threads))->UseRealTime();
    note_registered(name);
}

}  // namespace

void register_raw(const Plan &plan)
{
    g_zipf_cache_entries = plan.zipf_cache;
#ifdef ZREC_HAVE_IPSECMB
    for (const auto &a : aeads()) {
        enum zrec_aead_id aead;
        if (!aead_by_name(a, &aead))
            continue;
        // --quick: aes128gcm at every size (the engine's quick points need
        // their raw reference for the ratio column).
        if (plan.quick && aead != ZREC_AES_128_GCM)
            continue;
        for (size_t size : sizes()) {
            std::string name = "raw:" + a + ":seal:" + std::to_string(size);
            benchmark::RegisterBenchmark(name.c_str(), bm_raw_seal, aead, size);
            note_registered(name);
            if (aead == ZREC_AES_128_GCM || aead == ZREC_AES_256_GCM) {
                name = "raw:" + a + ":open:" + std::to_string(size);
                benchmark::RegisterBenchmark(name.c_str(), bm_raw_open, aead, size);
                note_registered(name);
            }
        }
    }
    benchmark::RegisterBenchmark("raw:aes128gcm:keyexp", bm_raw_keyexp);
    note_registered("raw:aes128gcm:keyexp");
    // The floor: TLS 1.3 and DTLS 1.3 AES-128-GCM at every size, and over a million
    // sessions at the zipf points' sizes.
    for (size_t size : sizes()) {
        // --quick: the sizes of the targets.
        if (plan.quick && size != 64 && size != 1400 && size != 16384)
            continue;
        const std::string sz = std::to_string(size);
        benchmark::RegisterBenchmark(("floor:tls13:aes128gcm:seal:" + sz).c_str(),
                                     bm_floor_seal<FloorTls13>, size);
        note_registered("floor:tls13:aes128gcm:seal:" + sz);
        benchmark::RegisterBenchmark(("floor:tls13:aes128gcm:open:" + sz).c_str(),
                                     bm_floor_open<FloorTls13>, size);
        note_registered("floor:tls13:aes128gcm:open:" + sz);
        benchmark::RegisterBenchmark(("floor:dtls13:aes128gcm:seal:" + sz).c_str(),
                                     bm_floor_seal<FloorDtls13>, size);
        note_registered("floor:dtls13:aes128gcm:seal:" + sz);
        benchmark::RegisterBenchmark(("floor:dtls13:aes128gcm:open:" + sz).c_str(),
                                     bm_floor_open<FloorDtls13>, size);
        note_registered("floor:dtls13:aes128gcm:open:" + sz);
        if (!plan.quick || size == 64 || size == 1400) {
            const std::string name = "floor:tls13:aes128gcm:seal:" + sz + ":zipf1M";
            benchmark::RegisterBenchmark(name.c_str(), bm_floor_zipf_seal, size);
            note_registered(name);
        }
    }
#else
    (void)plan;
#endif
}

std::string g_provider_name;

void register_zrec(const Plan &plan)
{
    const struct zrec_aead_provider *wolfcrypt = zrec_provider_wolfcrypt();
    for (const auto &p : protos()) {
        for (const auto &a : aeads()) {
            enum zrec_proto proto;
            enum zrec_aead_id aead;
            if (!proto_by_name(p, &proto) || !aead_by_name(a, &aead))
                continue;
            if (plan.quick && !(aead == ZREC_AES_128_GCM &&
                                (proto == ZREC_TLS13 || proto == ZREC_DTLS13)))
                continue;
            for (size_t size : sizes()) {
                const std::string mid = p + ":" + a + ":";
                const std::string sz = ":" + std::to_string(size);
                for (unsigned n : bursts()) {
                    const std::string bn = ":burst" + std::to_string(n);
                    Spec sp{proto, aead, size, n, 1, nullptr};
                    if (!g_provider_name.empty())
                        sp.lazy = bench_provider;
                    reg("zrec:" + mid + "seal" + sz + bn, bm_zrec_seal, sp);
                    reg("zrec:" + mid + "open" + sz + bn, bm_zrec_open, sp);
                }
                Spec mixed{proto, aead, size, 32, 32, nullptr};
                if (!g_provider_name.empty())
                    mixed.lazy = bench_provider;
                reg("zrec:" + mid + "seal" + sz + ":burst32:mixed32", bm_zrec_seal, mixed);
                reg("zrec:" + mid + "open" + sz + ":burst32:mixed32", bm_zrec_open, mixed);
                for (unsigned n : bursts()) {
                    Spec sp{proto, aead, size, n, 1, wolfcrypt};
                    reg("zrec-wolfcrypt:" + mid + "seal" + sz + ":burst" + std::to_string(n),
                        bm_zrec_seal, sp);
                }
                // One million sessions by Zipf (the key cache's yardstick).
                if (proto == ZREC_TLS13 && aead == ZREC_AES_128_GCM &&
                    (!plan.quick || size == 64 || size == 1400)) {
                    std::string name = "zrec:" + mid + "seal" + sz + ":zipf1M";
                    benchmark::RegisterBenchmark(name.c_str(), bm_zipf_seal, size);
                    note_registered(name);
                    name = "zrec:" + mid + "open" + sz + ":zipf1M";
                    benchmark::RegisterBenchmark(name.c_str(), bm_zipf_open, size);
                    note_registered(name);
                }
                // Scaling: N engines on N CPUs (TLS 1.3 AES-128-GCM, 64 and
                // 1400 B; every size without --quick).
                if (plan.threads > 1 && proto == ZREC_TLS13 && aead == ZREC_AES_128_GCM &&
                    (!plan.quick || size == 64 || size == 1400)) {
                    Spec sp{proto, aead, size, 32, 1, nullptr, plan.threads};
                    const std::string tn = ":threads" + std::to_string(plan.threads);
                    reg("zrec:" + mid + "seal" + sz + ":burst32" + tn, bm_zrec_seal, sp);
                    reg("zrec:" + mid + "open" + sz + ":burst32" + tn, bm_zrec_open, sp);
                }
            }
        }
    }
}

void register_provider_points(const std::string &impl,
                              const struct zrec_aead_provider *(*get)(std::string *why))
{
    for (size_t size : {64, 1400, 16384}) {
        Spec sp{ZREC_TLS13, ZREC_AES_128_GCM, size, 32, 1, nullptr};
        sp.lazy = get;
        const std::string sz = ":" + std::to_string(size) + ":burst32";
        reg(impl + ":tls13:aes128gcm:seal" + sz, bm_zrec_seal, sp);
        reg(impl + ":tls13:aes128gcm:open" + sz, bm_zrec_open, sp);
    }
}

std::string ipsecmb_description()
{
#ifdef ZREC_HAVE_IPSECMB
    if (raw_mgr() == nullptr)
        return std::string("intel-ipsec-mb ") + imb_get_version_str() +
               " (manager allocation failed)";
    return std::string("intel-ipsec-mb ") + imb_get_version_str() + ", arch " +
           arch_name(g_arch) + " (init_mb_mgr_auto)";
#else
    return "intel-ipsec-mb not built (raw points left out)";
#endif
}

std::string zrec_default_provider()
{
    return g_provider_name.empty() ? zrec_provider_name(zrec_provider_default()) : g_provider_name;
}

bool set_bench_provider(const std::string &name)
{
    g_provider_name = name;
    return name.empty() || name.rfind("cryptodev:", 0) == 0 ||
           zrec_provider_by_name(name.c_str()) != nullptr;
}

const struct zrec_aead_provider *bench_provider(std::string *why)
{
    if (g_provider_name.rfind("cryptodev:", 0) == 0) {
#ifdef ZB_OFFLOAD
        return offload_provider_named(g_provider_name.substr(10), why);
#else
        *why = "--provider " + g_provider_name + ": zrec-bench built without DPDK";
        return nullptr;
#endif
    }
    const struct zrec_aead_provider *p = zrec_provider_by_name(g_provider_name.c_str());
    if (p == nullptr)
        *why = "--provider " + g_provider_name + ": expected ipsecmb, wolfcrypt or cryptodev:DEVICE";
    return p;
}

}  // namespace zb
