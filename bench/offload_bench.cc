// The cryptodev provider (zrec/offload.h) beside DPDK's own measure of the
// same device.
//
//   cryptodev:aesni_gcm:tls13:aes128gcm:{seal,open}:<size>:burst32
//       zrec's TLS 1.3 records (burst 32) through libzrec-offload on a
//       crypto_aesni_gcm device, by its synchronous CPU path (the provider's
//       default where the device has one);
//   cryptodev-queue:aesni_gcm:...
//       the same through its queue pair: one op per record, enqueued and
//       dequeued (what a hardware device takes).
//   cpu-crypto:aesni_gcm:aes128gcm:encrypt:<size>
//       the device's synchronous CPU path alone: rte_cryptodev_sym_cpu_crypto_process
//       on 32 buffers at a time, AAD 5, no zrec around it.  What the
//       cryptodev:* points run on: zrec's hook is what they add to this.
//   dpdk-test-crypto-perf:aesni_gcm:aes128gcm:encrypt:<size>
//       DPDK's own throughput test of the same device, same AEAD, the same
//       AAD length as a TLS 1.3 record (5 bytes), burst 32, one worker
//       lcore on the CPU the bench is pinned to: the device's figure with
//       nothing of zrec's around it.  Run as a program; its MOps are the
//       point's rate.
//
// EAL starts when the first cryptodev point runs (no hugepages, no PCI, the
// bench's CPU as its lcore); the device is made there (rte_vdev_init).

#include "bench.h"

#include <rte_cryptodev.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <sched.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <sstream>
#include <string>

#include "zrec/offload.h"

namespace zb {

namespace {

constexpr const char *kDevice = "crypto_aesni_gcm";

int pinned_cpu()
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0)
        return 0;
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, &set))
            return c;
    return 0;
}

}  // namespace

// EAL, once for every DPDK point.
bool dpdk_eal_up(std::string *why)
{
    static bool tried = false, ok = false;
    static std::string failed;
    if (!tried) {
        tried = true;
        std::string lcore = std::to_string(pinned_cpu());
        std::string prefix = "--file-prefix=zrec-bench-" + std::to_string(getpid());
        const char *args[] = {"zrec-bench", "--no-huge", "--no-pci", "-m", "256", "--no-shconf",
                              prefix.c_str(), "--no-telemetry", "-l", lcore.c_str(),
                              "--log-level=*:error"};
        std::vector<char *> argv;
        for (const char *a : args)
            argv.push_back(const_cast<char *>(a));
        argv.push_back(nullptr);
        ok = rte_eal_init(static_cast<int>(argv.size() - 1), argv.data()) >= 0;
        if (!ok)
            failed = std::string("rte_eal_init: ") + rte_strerror(rte_errno);
        else
            // EAL leaves its runtime directory behind, empty: removed at exit.
            std::atexit([] {
                std::string dir = rte_eal_get_runtime_dir();
                rmdir(dir.c_str());
            });
    }
    if (!ok)
        *why = failed;
    return ok;
}

namespace {

// A device as a provider, made once per name (a failure too, with why);
// `queue`: synchronous bursts through its queue pair even where it has the
// CPU path.
const struct zrec_aead_provider *device(const std::string &name, bool queue, std::string *why)
{
    static std::map<std::string, std::pair<struct zrec_offload *, std::string>> made;
    auto it = made.find(name);
    if (it == made.end()) {
        if (!dpdk_eal_up(why))
            return nullptr;
        char err[256];
        struct zrec_offload_params prm {};
        prm.queue_pairs = 1;
        prm.no_cpu_crypto = queue;
        struct zrec_offload *o = zrec_offload_cryptodev_new(name.c_str(), &prm, err, sizeof err);
        it = made.emplace(name, std::make_pair(o, o ? "" : "cryptodev " + name + ": " + err))
                 .first;
    }
    if (it->second.first == nullptr)
        *why = it->second.second;
    return it->second.first ? zrec_offload_provider(it->second.first) : nullptr;
}

const struct zrec_aead_provider *aesni_gcm(std::string *why)
{
    return device(std::string(kDevice) + "0", false, why);
}

const struct zrec_aead_provider *aesni_gcm_queue(std::string *why)
{
    return device(std::string(kDevice) + "1", true, why);
}

// dpdk-test-crypto-perf's MOps for one buffer size, or a reason.
bool crypto_perf(size_t size, double *mops, std::string *why)
{
    const char *bin = getenv("ZREC_CRYPTO_PERF");
    std::string exe = bin ? bin : "dpdk-test-crypto-perf";
    // About half a second of work at the rates seen here.
    unsigned long ops = size <= 64 ? 10000000 : size <= 1400 ? 4000000 : 600000;
    int cpu = pinned_cpu();
    int main_lcore = cpu == 0 ? 1 : 0;
    std::ostringstream cmd;
    cmd << exe << " -l " << main_lcore << "," << cpu << " --main-lcore " << main_lcore
        << " --no-huge --no-pci -m 512 --no-shconf --file-prefix=zrec-perf-" << getpid()
        << " --no-telemetry --vdev " << kDevice << "_perf0 --log-level='*:error'"
        << " -- --ptest throughput --devtype " << kDevice
        << " --optype aead --aead-algo aes-gcm --aead-op encrypt --aead-key-sz 16"
        << " --aead-iv-sz 12 --aead-aad-sz 5 --digest-sz 16 --burst-sz 32 --buffer-sz " << size
        << " --total-ops " << ops << " --silent 2>&1";
    FILE *f = popen(cmd.str().c_str(), "r");
    if (f == nullptr) {
        *why = "popen " + exe;
        return false;
    }
    char line[512];
    bool found = false;
    std::string all;
    while (fgets(line, sizeof line, f) != nullptr) {
        all += line;
        // "  lcore  Buf Size  Burst Size  Enqueued  Dequeued  Failed Enq
        //  Failed Deq  MOps  Gbps  Cycles/Buf"
        unsigned lc;
        unsigned long buf, burst, enq, deq, fe, fd;
        double m, gbps, cyc;
        if (sscanf(line, " %u %lu %lu %lu %lu %lu %lu %lf %lf %lf", &lc, &buf, &burst, &enq, &deq,
                   &fe, &fd, &m, &gbps, &cyc) == 10 &&
            buf == size) {
            *mops = m;
            found = true;
        }
    }
    int rc = pclose(f);
    // The tool leaves its runtime directory behind, empty.
    rmdir(("/var/run/dpdk/zrec-perf-" + std::to_string(getpid())).c_str());
    if (!found) {
        *why = exe + " (exit " + std::to_string(rc) + "): " + all.substr(0, 300);
        return false;
    }
    return true;
}

// The device's CPU path with nothing of zrec's: AES-128-GCM encrypt of 32
// buffers per call (in place, AAD 5, a 12-byte IV each), on the same device
// the cryptodev:* points use.
void bm_cpu_crypto(benchmark::State &st, size_t size)
{
    std::string why;
    if (aesni_gcm(&why) == nullptr) { // makes and starts crypto_aesni_gcm0
        st.SkipWithError(why.c_str());
        return;
    }
    int dev = rte_cryptodev_get_dev_id((std::string(kDevice) + "0").c_str());
    static struct rte_mempool *pool = nullptr;
    if (pool == nullptr)
        pool = rte_cryptodev_sym_session_pool_create(
            "zb_cpu_sess", 64, rte_cryptodev_sym_get_private_session_size(static_cast<uint8_t>(dev)),
            0, 0, rte_socket_id());
    uint8_t key[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    struct rte_crypto_sym_xform x {};
    x.type = RTE_CRYPTO_SYM_XFORM_AEAD;
    x.aead.op = RTE_CRYPTO_AEAD_OP_ENCRYPT;
    x.aead.algo = RTE_CRYPTO_AEAD_AES_GCM;
    x.aead.key.data = key;
    x.aead.key.length = 16;
    x.aead.iv.offset = 0;
    x.aead.iv.length = 12;
    x.aead.digest_length = 16;
    x.aead.aad_length = 5;
    void *sess = pool && dev >= 0
                     ? rte_cryptodev_sym_session_create(static_cast<uint8_t>(dev), &x, pool)
                     : nullptr;
    if (sess == nullptr) {
        st.SkipWithError("cpu-crypto: no session on the device");
        return;
    }
    constexpr unsigned kB = 32;
    std::vector<uint8_t> data(kB * size), iv(kB * 16), aad(kB * 16), tag(kB * 16);
    struct rte_crypto_vec vec[kB];
    struct rte_crypto_sgl sgl[kB];
    struct rte_crypto_va_iova_ptr ivp[kB], dig[kB], ad[kB];
    int32_t status[kB];
    for (unsigned i = 0; i < kB; i++) {
        vec[i].base = &data[i * size];
        vec[i].iova = rte_mem_virt2iova(vec[i].base);
        vec[i].len = static_cast<uint32_t>(size);
        vec[i].tot_len = static_cast<uint32_t>(size);
        sgl[i].vec = &vec[i];
        sgl[i].num = 1;
        ivp[i].va = &iv[i * 16];
        dig[i].va = &tag[i * 16];
        ad[i].va = &aad[i * 16];
    }
    struct rte_crypto_sym_vec sv {};
    sv.num = kB;
    sv.src_sgl = sgl;
    sv.iv = ivp;
    sv.digest = dig;
    sv.aad = ad;
    sv.status = status;
    union rte_crypto_sym_ofs ofs;
    ofs.raw = 0;
    uint64_t n = 0;
    for (auto _ : st) {
        iv[0]++; // a fresh nonce per call, as records have
        uint32_t done = rte_cryptodev_sym_cpu_crypto_process(static_cast<uint8_t>(dev), sess, ofs,
                                                            &sv);
        if (done != kB) {
            st.SkipWithError("cpu-crypto: the device refused a burst");
            break;
        }
        n += kB;
    }
    rte_cryptodev_sym_session_free(static_cast<uint8_t>(dev), sess);
    st.SetItemsProcessed(static_cast<int64_t>(n));
    st.SetBytesProcessed(static_cast<int64_t>(n * size));
}

void bm_crypto_perf(benchmark::State &st, size_t size)
{
    for (auto _ : st) {
        double mops = 0;
        std::string why;
        if (!crypto_perf(size, &mops, &why)) {
            st.SkipWithError(why.c_str());
            return;
        }
        // One iteration stands for 10^6 ops at the tool's rate.
        st.SetIterationTime(1.0 / mops);
    }
    st.SetItemsProcessed(static_cast<int64_t>(st.iterations()) * 1000000);
    st.SetBytesProcessed(static_cast<int64_t>(st.iterations()) * 1000000 *
                         static_cast<int64_t>(size));
}

}  // namespace

// --provider cryptodev:DEVICE (bench_provider).
const struct zrec_aead_provider *offload_provider_named(const std::string &name,
                                                       std::string *why)
{
    return device(name, false, why);
}

void register_offload(const Plan &plan)
{
    (void)plan;
    register_provider_points("cryptodev:aesni_gcm", aesni_gcm);
    register_provider_points("cryptodev-queue:aesni_gcm", aesni_gcm_queue);
    for (size_t size : {64, 1400, 16384}) {
        std::string cpu = "cpu-crypto:aesni_gcm:aes128gcm:encrypt:" + std::to_string(size);
        benchmark::RegisterBenchmark(cpu.c_str(), bm_cpu_crypto, size);
        note_registered(cpu);
        std::string name = "dpdk-test-crypto-perf:aesni_gcm:aes128gcm:encrypt:" +
                           std::to_string(size);
        benchmark::RegisterBenchmark(name.c_str(), bm_crypto_perf, size)
            ->UseManualTime()
            ->Iterations(1);
        note_registered(name);
    }
}

}  // namespace zb
