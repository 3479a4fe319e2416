// The DTLS data plane (tools/dtls-gw) through two net_ring ports, in this
// process: zrec-dtls-gw's own loop on one port, a load generator built on
// the engine on the other (tools/dtls-gw/dgw_ring.h).
//
//   dtls-gw:{plain,dtls12,dtls13}:aes128gcm:<size>:sessions256
//       records per second through the gateway's rounds: a burst of 32
//       client records received, opened, forwarded to the backend; the
//       backend's 32 replies received, sealed, sent to the clients (64
//       records per exchange).  Only the gateway's rounds are timed (rdtsc
//       around them, manual time); the generator's work is not.  plain is
//       the same loop with the crypto removed: the physical reference.
//
// The sessions are made by real handshakes before the first timed
// exchange (wolfSSL on both sides, the gateway's stateless cookies first).

#include "bench.h"

#include <rte_cycles.h>

#include <memory>
#include <string>

#include "dgw_ring.h"

namespace zb {

namespace {

constexpr unsigned kSessions = 256;

// One gateway at a time (each holds a mempool): the point's, made when it
// first runs, freed when another point needs one.
struct Live {
    std::string key;
    struct dgw_ring *r = nullptr;
    ~Live() { dgw_ring_free(r); }
};

struct dgw_ring *ring_for(int dtls, size_t size, std::string *why)
{
    static Live live;
    std::string key = std::to_string(dtls) + ":" + std::to_string(size);
    if (live.r && live.key == key)
        return live.r;
    dgw_ring_free(live.r);
    live.r = nullptr;
    if (!dpdk_eal_up(why))
        return nullptr;
    const char *certs = getenv("ZREC_CERTS");
    struct dgw_ring_opts o {};
    o.dtls = dtls;
    o.clients = kSessions;
    o.size = static_cast<unsigned>(size);
    o.cert_dir = certs ? certs : ZREC_CERT_DIR;
    char err[256];
    live.r = dgw_ring_new(&o, err, sizeof err);
    if (live.r == nullptr) {
        *why = std::string("dtls-gw: ") + err;
        return nullptr;
    }
    live.key = key;
    return live.r;
}

void bm_dtls_gw(benchmark::State &st, int dtls, size_t size)
{
    std::string why;
    struct dgw_ring *r = ring_for(dtls, size, &why);
    if (r == nullptr) {
        st.SkipWithError(why.c_str());
        return;
    }
    const double hz = static_cast<double>(rte_get_tsc_hz());
    int64_t records = 0;
    for (auto _ : st) {
        struct dgw_ring_result res;
        int rc = dgw_ring_exchange(r, &res);
        if (rc != 0 || res.answers != 32 || res.bad != 0) {
            why = "dtls-gw: an exchange failed (rc " + std::to_string(rc) + ", " +
                  std::to_string(res.answers) + " answers, " + std::to_string(res.bad) +
                  " wrong)";
            st.SkipWithError(why.c_str());
            return;
        }
        records += res.records;
        st.SetIterationTime(static_cast<double>(res.gw_cycles) / hz);
    }
    st.SetItemsProcessed(records);
    st.SetBytesProcessed(records * static_cast<int64_t>(size));
}

}  // namespace

void register_dtls_gw(const Plan &plan)
{
    (void)plan;
    for (size_t size : {64, 1400})
        for (int dtls : {0, 12, 13}) {
            std::string name = std::string("dtls-gw:") +
                               (dtls == 0 ? "plain" : dtls == 12 ? "dtls12" : "dtls13") +
                               ":aes128gcm:" + std::to_string(size) + ":sessions" +
                               std::to_string(kSessions);
            benchmark::RegisterBenchmark(name.c_str(), bm_dtls_gw, dtls, size)->UseManualTime();
            note_registered(name);
        }
}

}  // namespace zb
