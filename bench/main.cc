// zrec-bench: CLI, CPU pinning, progress reporter, summary table and plot.
//
//   zrec-bench [--quick] [--results DIR] [--cpu N] [--no-pin] [Google Benchmark flags...]
//
// Every point is a Google Benchmark benchmark whose name is the point's name
// (see bench.h and the other .cc files); Google Benchmark writes the JSON
// (--benchmark_out=DIR/zrec-bench.json --benchmark_out_format=json, set here
// unless given), this file adds the human table (stdout and DIR/table.txt)
// and DIR/throughput.png (gnuplot).
#include "bench.h"

#include <benchmark/benchmark.h>

#include <regex.h>
#include <sched.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

extern char **environ;

namespace zb {

namespace {
std::vector<std::string> &registered()
{
    static std::vector<std::string> v;
    return v;
}
}  // namespace

void note_registered(const std::string &name)
{
    registered().push_back(name);
}

namespace {

// ---------------------------------------------------------------------------
// Results
// ---------------------------------------------------------------------------

struct Result {
    double bps = 0;  // payload bytes per second
    double ips = 0;  // records per second
    bool error = false;
    std::string message;
    std::map<std::string, double> extra;  // the point's own counters (gw:*)
};

std::map<std::string, Result> g_results;

std::vector<std::string> split(const std::string &s, char sep)
{
    std::vector<std::string> out;
    std::string cur;
    for (char ch : s) {
        if (ch == sep) {
            out.push_back(cur);
            cur.clear();
        } else {
            cur += ch;
        }
    }
    out.push_back(cur);
    return out;
}

const Result *find(const std::string &name)
{
    auto it = g_results.find(name);
    if (it == g_results.end() || it->second.error || it->second.ips <= 0)
        return nullptr;
    return &it->second;
}

std::string fmt(const char *f, double v)
{
    char buf[64];
    std::snprintf(buf, sizeof buf, f, v);
    return buf;
}

// The raw reference of an engine op: raw:<aead>:open:<size> for an open
// where it exists (AES-GCM: decrypt is compared with decrypt), else
// raw:<aead>:seal:<size>.
const Result *find(const std::string &name);
const Result *raw_for(const std::string &aead, const std::string &op, const std::string &size)
{
    if (op == "open")
        if (const Result *r = find("raw:" + aead + ":open:" + size))
            return r;
    return find("raw:" + aead + ":seal:" + size);
}

// "...:burst32:threads2": a scaling point; its one-thread twin drops the suffix.
bool is_threads(const std::vector<std::string> &f)
{
    return f[0] == "zrec" && f.back().rfind("threads", 0) == 0;
}
std::string single_of(const std::string &name)
{
    return name.substr(0, name.rfind(':'));
}

// "zrec:tls13:aes128gcm:seal:1400:burst32[:mixed32]" -> its raw reference.
const Result *raw_of(const std::vector<std::string> &f)
{
    return raw_for(f[2], f[3], f[4]);
}

// The transport under a facade protocol: tls* over TCP, dtls* over UDP.
bool is_dtls(const std::string &proto)
{
    return proto.rfind("dtls", 0) == 0;
}

// "facade:tls13:send_recv:1400" -> "plain:tcp:send_recv:1400",
// "facade:dtls13:send_recv:1400" -> "plain:udp:send_recv:1400": the same
// traffic over plain kernel sockets of the same transport.
std::string plain_name_for(const std::vector<std::string> &f)
{
    return std::string("plain:") + (is_dtls(f[1]) ? "udp" : "tcp") + ":send_recv:" + f[3];
}

// ---------------------------------------------------------------------------
// Progress reporter: one line per finished point on stderr, results kept.
// ---------------------------------------------------------------------------

class Progress : public benchmark::BenchmarkReporter {
  public:
    explicit Progress(size_t total) : total_(total) {}

    bool ReportContext(const Context &) override { return true; }

    void ReportRuns(const std::vector<Run> &runs) override
    {
        for (const Run &r : runs) {
            // The registered name, without suffixes such as /iterations:1/manual_time.
            const std::string name = r.run_name.function_name;
            // Repetitions: keep the median aggregate when there is one,
            // else the last repetition.
            if (r.run_type == Run::RT_Aggregate && r.aggregate_name != "median")
                continue;
            std::string key = name;
            if (r.run_type == Run::RT_Aggregate) {
                auto pos = key.rfind("_median");
                if (pos != std::string::npos)
                    key.erase(pos);
            }
            Result res;
            res.error = r.error_occurred;
            res.message = r.error_message;
            auto b = r.counters.find("bytes_per_second");
            auto i = r.counters.find("items_per_second");
            if (b != r.counters.end())
                res.bps = b->second.value;
            if (i != r.counters.end())
                res.ips = i->second.value;
            for (const auto &kv : r.counters)
                if (kv.first != "bytes_per_second" && kv.first != "items_per_second")
                    res.extra[kv.first] = kv.second.value;
            g_results[key] = res;
            if (r.run_type == Run::RT_Iteration)
                done_++;
            print(key, res);
        }
    }

  private:
    void print(const std::string &name, const Result &res)
    {
        char head[32];
        std::snprintf(head, sizeof head, "[%3zu/%zu] ", done_, total_);
        std::ostringstream line;
        line << head << name;
        if (res.error) {
            line << "  ERROR: " << res.message;
        } else {
            auto f = split(name, ':');
            const bool msgs = f.size() == 4 && f[2] == "send_recv";
            if (f[0] == "gw" && f.size() == 5 && f[3] == "handshakes") {
                line << "  " << fmt("%.0f", res.ips) << " handshakes/s";
            } else if (f[0] == "gw") {
                auto cpu = res.extra.find("gw_cpu_s_per_GB");
                line << "  " << fmt("%.3f", res.bps / 1e9) << " GB/s  "
                     << fmt("%.2f", cpu != res.extra.end() ? cpu->second : 0.0)
                     << " gw CPU-s/GB";
            } else {
                line << "  " << fmt("%.1f", res.bps / 1e6) << " MB/s  "
                     << fmt("%.3f", res.ips / 1e6) << (msgs ? " Mmsg/s" : " Mrec/s");
            }
            if (f.size() == 6 && f[5] == "zipf1M") {
                if (const Result *one =
                        find(single_of(name) + (f[0] == "floor" ? "" : ":burst32")))
                    line << "  (" << fmt("%.2f", res.bps / one->bps) << "x one session)";
            } else if (is_threads(f)) {
                if (const Result *one = find(single_of(name)))
                    line << "  (" << fmt("%.2f", res.bps / one->bps) << "x one thread)";
            } else if ((f[0] == "zrec" || f[0] == "zrec-wolfcrypt") && f.size() >= 6) {
                if (const Result *raw = raw_of(f))
                    line << "  (" << fmt("%.2f", res.bps / raw->bps) << "x raw)";
            }
            if (f[0] == "facade" && f.size() == 4) {
                if (const Result *plain = find(plain_name_for(f)))
                    line << "  (" << fmt("%.2f", res.bps / plain->bps) << "x plain "
                         << (is_dtls(f[1]) ? "UDP" : "TCP") << ")";
            }
        }
        std::cerr << line.str() << std::endl;
    }

    size_t total_;
    size_t done_ = 0;
};

// ---------------------------------------------------------------------------
// Environment
// ---------------------------------------------------------------------------

struct Env {
    int cpu = -1;           // pinned CPU, -1 if not pinned
    std::string pin_note;   // why not, or how
    long online = 0;
    std::string model;
    std::string loadavg;
};

std::string read_first_line(const char *path)
{
    std::ifstream f(path);
    std::string line;
    std::getline(f, line);
    return line;
}

std::string cpu_model()
{
    std::ifstream f("/proc/cpuinfo");
    std::string line;
    while (std::getline(f, line)) {
        if (line.rfind("model name", 0) == 0) {
            auto pos = line.find(':');
            if (pos != std::string::npos)
                return line.substr(pos + 2);
        }
    }
    return "unknown";
}

// Pin this (the only measuring) thread to one CPU: `want`, or by default the
// highest-numbered CPU we may run on (CPU 0 tends to take more interrupts).
void pin(Env &env, int want, bool no_pin)
{
    env.online = sysconf(_SC_NPROCESSORS_ONLN);
    env.model = cpu_model();
    env.loadavg = read_first_line("/proc/loadavg");
    if (no_pin) {
        env.pin_note = "not pinned (--no-pin)";
        return;
    }
    cpu_set_t allowed;
    CPU_ZERO(&allowed);
    if (sched_getaffinity(0, sizeof allowed, &allowed) != 0) {
        env.pin_note = std::string("not pinned: sched_getaffinity: ") + std::strerror(errno);
        return;
    }
    int cpu = -1;
    if (want >= 0) {
        if (want < CPU_SETSIZE && CPU_ISSET(want, &allowed))
            cpu = want;
        else {
            env.pin_note = "not pinned: CPU " + std::to_string(want) + " is not available";
            return;
        }
    } else {
        for (int c = CPU_SETSIZE - 1; c >= 0; c--)
            if (CPU_ISSET(c, &allowed)) {
                cpu = c;
                break;
            }
    }
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    if (sched_setaffinity(0, sizeof one, &one) != 0) {
        env.pin_note = std::string("not pinned: sched_setaffinity: ") + std::strerror(errno);
        return;
    }
    env.cpu = cpu;
    env.pin_note = "pinned to CPU " + std::to_string(cpu) + " (sched_setaffinity)";
}

// ---------------------------------------------------------------------------
// Filter: count the points Google Benchmark will run (same rules as 1.7:
// empty or "all" = everything, a leading '-' negates, extended regex search).
// ---------------------------------------------------------------------------

size_t count_selected(std::string spec)
{
    if (spec.empty() || spec == "all")
        spec = ".";
    bool negative = false;
    if (spec[0] == '-') {
        negative = true;
        spec.erase(0, 1);
    }
    regex_t re;
    if (regcomp(&re, spec.c_str(), REG_EXTENDED | REG_NOSUB) != 0)
        return registered().size();
    size_t n = 0;
    for (const auto &name : registered())
        if ((regexec(&re, name.c_str(), 0, nullptr, 0) == 0) != negative)
            n++;
    regfree(&re);
    return n;
}

// ---------------------------------------------------------------------------
// Table
// ---------------------------------------------------------------------------

int index_of(const std::vector<std::string> &v, const std::string &s)
{
    auto it = std::find(v.begin(), v.end(), s);
    return it == v.end() ? 1000 : static_cast<int>(it - v.begin());
}

struct RowKey {
    std::string impl, proto, aead, variant;
    size_t size;
    bool operator<(const RowKey &o) const
    {
        auto t = [](const RowKey &k) {
            int impl = k.impl == "zrec" ? 0 : 1;
            int var = k.variant == "burst1" ? 0 : k.variant == "burst32" ? 1 : 2;
            return std::make_tuple(impl, index_of(protos(), k.proto), index_of(aeads(), k.aead),
                                   var, k.size);
        };
        return t(*this) < t(o);
    }
};

std::string ratio(const Result *a, const Result *b)
{
    if (a == nullptr || b == nullptr)
        return "-";
    return fmt("%.2f", a->bps / b->bps);
}

std::string rate(const Result *r, double div, const char *f)
{
    return r ? fmt(f, (div == 1e6 ? r->ips : r->bps) / 1e6) : "-";
}

// seal+open per record vs the reference's write+read per record.
double factor(const Result *seal, const Result *open, const Result *ref)
{
    if (seal == nullptr || open == nullptr || ref == nullptr)
        return 0;
    double engine = 1 / seal->ips + 1 / open->ips;
    return (1 / ref->ips) / engine;
}

std::string factor_str(const Result *seal, const Result *open, const Result *ref,
                       bool unavailable)
{
    if (unavailable)
        return "n/a";
    double f = factor(seal, open, ref);
    return f > 0 ? fmt("%.1fx", f) : "-";
}

std::string pad(const std::string &s, size_t w, bool right = true)
{
    if (s.size() >= w)
        return s;
    return right ? std::string(w - s.size(), ' ') + s : s + std::string(w - s.size(), ' ');
}

// Loopback socket rows: per size, plain TCP then the TLS facade protocols,
// plain UDP then the DTLS ones.
//   vs plain   facade bytes/s / plain bytes/s of the same transport (tls*:
//              plain TCP, dtls*: plain UDP): the share of plain throughput
//              the facade keeps (1.00 = TLS/DTLS for free).
//   +us/msg    facade time per message - plain time per message: what the
//              facade adds to a message, in microseconds.
//   engine s+o zrec:<proto>:aes128gcm:{seal,open}:<size>:burst1 time per
//              record added up: the part of +us/msg that the record work
//              itself explains (the rest is socket bookkeeping, copies,
//              record framing on the wire).
// The ideal for a facade point on one core: the plain socket's time per
// message plus the engine's seal + open of that message (burst 1, same
// protocol and size) — all the facade has to do.  0 when a part is missing.
double ideal_us(const std::vector<std::string> &f)
{
    const Result *plain = find(plain_name_for(f));
    const std::string pre = "zrec:" + f[1] + ":aes128gcm:";
    const Result *seal = find(pre + "seal:" + f[3] + ":burst1");
    const Result *open = find(pre + "open:" + f[3] + ":burst1");
    if (plain == nullptr || seal == nullptr || open == nullptr || plain->error || seal->error ||
        open->error)
        return 0;
    return (1 / plain->ips + 1 / seal->ips + 1 / open->ips) * 1e6;
}

// facade rate / ideal rate (0 when not measured).
double facade_vs_ideal(const std::string &proto, const std::string &size)
{
    const std::string name = "facade:" + proto + ":send_recv:" + size;
    const Result *r = find(name);
    const double ideal = ideal_us(split(name, ':'));
    return r != nullptr && !r->error && r->ips > 0 && ideal > 0 ? ideal / (1e6 / r->ips) : 0;
}

// facade rate / inline rate (the engine between the same kernel calls, no
// facade); 0 when not measured.
double facade_vs_inline(const std::string &proto, const std::string &size)
{
    const Result *r = find("facade:" + proto + ":send_recv:" + size);
    const Result *in = find("inline:" + proto + ":send_recv:" + size);
    return r && in && !r->error && !in->error && in->ips > 0 ? r->ips / in->ips : 0;
}

std::string socket_table()
{
    std::ostringstream t;
    std::vector<std::pair<std::string, const Result *>> rows;
    for (const auto &kv : g_results) {
        auto f = split(kv.first, ':');
        if ((f[0] == "facade" || f[0] == "plain" || f[0] == "inline") && f.size() == 4 &&
            f[2] == "send_recv")
            rows.push_back({kv.first, kv.second.error ? nullptr : &kv.second});
    }
    if (rows.empty())
        return "";
    std::sort(rows.begin(), rows.end(), [](const auto &a, const auto &b) {
        auto key = [](const std::string &n) {
            auto f = split(n, ':');
            // Transport (TCP before UDP), then the baseline before the
            // facade protocols.
            const bool udp = f[0] == "plain" ? f[1] == "udp" : is_dtls(f[1]);
            int kind = f[0] == "plain" ? -2 : f[0] == "inline" ? -1 : index_of(protos(), f[1]);
            return std::make_tuple(std::strtoul(f[3].c_str(), nullptr, 10), udp, kind);
        };
        return key(a.first) < key(b.first);
    });
    const size_t w0 = 52;
    t << "\n" << pad("socket point (127.0.0.1 TCP/UDP, send + recv)", w0, false) << pad("Mmsg/s", 8)
      << pad("MB/s", 9) << pad("vs", 7) << pad("+us/", 8) << pad("engine", 8) << pad("ideal", 7)
      << pad("vs", 7) << pad("vs", 7) << "\n";
    t << pad("facade:<proto>:send_recv:<size> (AES-128-GCM)", w0, false) << pad("", 8)
      << pad("", 9) << pad("plain", 7) << pad("msg", 8) << pad("s+o us", 8) << pad("/plain", 7)
      << pad("ideal", 7) << pad("inline", 7) << "\n";
    t << std::string(w0 + 8 + 9 + 7 + 8 + 8 + 7 + 7 + 7, '-') << "\n";
    std::string last_size;
    for (const auto &r : rows) {
        auto f = split(r.first, ':');
        if (!last_size.empty() && f[3] != last_size)
            t << "\n";
        last_size = f[3];
        std::string vs = "-", added = "-", engine = "-", ideal = "-", vs_ideal = "-",
                    vs_inline = "-";
        if (f[0] == "facade" || f[0] == "inline") {
            const Result *p = find(plain_name_for(f));
            const double us = ideal_us(f);
            if (us > 0 && p != nullptr) {
                ideal = fmt("%.2f", (1e6 / p->ips) / us);
                const double v = f[0] == "facade" ? facade_vs_ideal(f[1], f[3]) : 0;
                if (v > 0)
                    vs_ideal = fmt("%.2f", v);
            }
            const Result *plain = find(plain_name_for(f));
            vs = ratio(r.second, plain);
            if (r.second != nullptr && plain != nullptr)
                added = fmt("%.2f", (1 / r.second->ips - 1 / plain->ips) * 1e6);
            const std::string pre = "zrec:" + f[1] + ":aes128gcm:";
            const Result *seal = find(pre + "seal:" + f[3] + ":burst1");
            const Result *open = find(pre + "open:" + f[3] + ":burst1");
            if (seal != nullptr && open != nullptr)
                engine = fmt("%.2f", (1 / seal->ips + 1 / open->ips) * 1e6);
            if (f[0] == "inline" && r.second != nullptr && us > 0)
                vs_ideal = fmt("%.2f", us / (1e6 / r.second->ips));
            const double vi = f[0] == "facade" ? facade_vs_inline(f[1], f[3]) : 0;
            if (vi > 0)
                vs_inline = fmt("%.2f", vi);
        }
        t << pad(r.first, w0, false) << pad(rate(r.second, 1e6, "%.3f"), 8)
          << pad(rate(r.second, 0, "%.1f"), 9) << pad(vs, 7) << pad(added, 8) << pad(engine, 8)
          << pad(ideal, 7) << pad(vs_ideal, 7) << pad(vs_inline, 7) << "\n";
    }
    return t.str();
}

// ClientHello floods: the facade's stateless cookie exchange beside the
// kernel answering the same datagrams (facade_bench.cc, bm_cookie).
std::string cookie_table()
{
    std::ostringstream t;
    const size_t w0 = 52;
    bool any = false;
    for (const std::string p : {"dtls12", "dtls13"}) {
        const Result *plain = find("plain:udp:cookie:" + p);
        const Result *fac = find("facade:" + p + ":cookie");
        if (plain == nullptr && fac == nullptr)
            continue;
        if (!any)
            t << "\n" << pad("ClientHello flood (127.0.0.1 UDP, hello in + answer out)", w0, false)
              << pad("kCH/s", 8) << pad("us/CH", 8) << pad("vs", 7) << "\n"
              << pad("facade: a cookie request per ClientHello", w0, false) << pad("", 8)
              << pad("", 8) << pad("plain", 7) << "\n"
              << std::string(w0 + 8 + 8 + 7, '-') << "\n";
        any = true;
        for (const Result *r : {plain, fac}) {
            const std::string name = r == plain ? "plain:udp:cookie:" + p : "facade:" + p + ":cookie";
            t << pad(name, w0, false) << pad(r ? fmt("%.1f", r->ips / 1e3) : "-", 8)
              << pad(r ? fmt("%.2f", 1e6 / r->ips) : "-", 8)
              << pad(r == fac && fac && plain ? fmt("%.2f", fac->ips / plain->ips) : "-", 7)
              << "\n";
        }
    }
    return t.str();
}

// Scaling rows: N engines on N CPUs beside one, same point.
std::string scaling_table()
{
    std::ostringstream t;
    bool any = false;
    const size_t w0 = 52;
    for (const auto &kv : g_results) {
        auto f = split(kv.first, ':');
        if (!is_threads(f))
            continue;
        if (!any)
            t << "\n" << pad("scaling point (N engines, N CPUs, wall-time rate)", w0, false)
              << pad("Mrec/s", 8) << pad("MB/s", 9) << pad("vs one", 8) << "\n"
              << std::string(w0 + 25, '-') << "\n";
        any = true;
        const Result *r = kv.second.error ? nullptr : &kv.second;
        t << pad(kv.first, w0, false) << pad(rate(r, 1e6, "%.3f"), 8) << pad(rate(r, 0, "%.1f"), 9)
          << pad(ratio(r, find(single_of(kv.first))), 8) << "\n";
    }
    // One million sessions, Zipf(1) choice per record, beside one session,
    // with the key cache that gives it and the cost of one key expansion.
    bool zipf = false;
    for (const auto &kv : g_results) {
        auto f = split(kv.first, ':');
        if ((f[0] != "zrec" && f[0] != "floor") || f.size() != 6 || f[5] != "zipf1M")
            continue;
        if (!zipf)
            t << "\n" << pad("1M sessions, Zipf(1) per record (burst 32, key cache)", w0, false)
              << pad("Mrec/s", 8) << pad("MB/s", 9) << pad("vs one", 8) << pad("B/sess", 8)
              << pad("cache", 8) << pad("MiB", 6) << pad("hits", 6) << "\n"
              << std::string(w0 + 53, '-') << "\n";
        zipf = true;
        const Result *r = kv.second.error ? nullptr : &kv.second;
        const Result *one = find(single_of(kv.first) + (f[0] == "floor" ? "" : ":burst32"));
        auto extra = [&](const char *key, const char *f2) -> std::string {
            if (r == nullptr)
                return "-";
            auto it = r->extra.find(key);
            return it == r->extra.end() ? "-" : fmt(f2, it->second);
        };
        t << pad(kv.first, w0, false) << pad(rate(r, 1e6, "%.3f"), 8) << pad(rate(r, 0, "%.1f"), 9)
          << pad(ratio(r, one), 8) << pad(extra("session_bytes", "%.0f"), 8)
          << pad(extra("cache_entries", "%.0f"), 8) << pad(extra("cache_MiB", "%.0f"), 6)
          << pad(extra("hit_rate", "%.2f"), 6) << "\n";
    }
    if (zipf) {
        t << "  floor:...:zipf1M: the least any record layer does over the same draws and cache "
             "size (oracle replacement, one line of session state, no bookkeeping) vs the floor "
             "on one session: the physical limit of 'vs one'.\n";
        for (const std::string sz : {"64", "1400"}) {
            const Result *z = find("zrec:tls13:aes128gcm:seal:" + sz + ":zipf1M");
            const Result *fl = find("floor:tls13:aes128gcm:seal:" + sz + ":zipf1M");
            if (z && fl && !z->error && !fl->error && fl->bps > 0)
                t << "  zrec zipf1M seal " << sz << " B / floor zipf1M seal: "
                  << fmt("%.2f", z->bps / fl->bps) << "\n";
        }
        if (const Result *k = find("raw:aes128gcm:keyexp"))
            t << "  one AES-128-GCM key expansion (raw:aes128gcm:keyexp, a cache miss's extra "
                 "cost): "
              << fmt("%.0f", 1e9 / k->ips) << " ns\n";
    }
    return t.str();
}

// io_uring operation rows (uring_bench.cc): per size, each way of sending
// and of receiving a message, with its rate relative to the first of its
// kind (write_fixed for sends, multishot for receives), the gateway's choice.
std::string uring_table()
{
    std::ostringstream t;
    std::vector<std::string> rows;
    for (const auto &kv : g_results) {
        auto f = split(kv.first, ':');
        if (f[0] == "uring" && f.size() == 4)
            rows.push_back(kv.first);
    }
    if (rows.empty())
        return "";
    static const std::vector<std::string> order = {"write_fixed", "send",      "sendmsg",
                                                   "send_zc_fixed", "multishot", "read_fixed",
                                                   "recv"};
    std::sort(rows.begin(), rows.end(), [](const std::string &a, const std::string &b) {
        auto key = [](const std::string &n) {
            auto f = split(n, ':');
            return std::make_tuple(std::strtoul(f[3].c_str(), nullptr, 10), f[1] == "recv",
                                   index_of(order, f[2]));
        };
        return key(a) < key(b);
    });
    const size_t w0 = 52;
    t << "\n" << pad("io_uring point (127.0.0.1 TCP, one message)", w0, false) << pad("Mmsg/s", 8)
      << pad("MB/s", 9) << pad("vs", 7) << pad("us/msg", 8) << "\n";
    t << pad("uring:{send,recv}:<op>:<size>", w0, false) << pad("", 8) << pad("", 9)
      << pad("first", 7) << pad("", 8) << "\n";
    t << std::string(w0 + 8 + 9 + 7 + 8, '-') << "\n";
    std::string last;
    for (const auto &name : rows) {
        auto f = split(name, ':');
        if (!last.empty() && f[3] != last)
            t << "\n";
        last = f[3];
        const Result *r = find(name);
        const Result *ref =
            find("uring:" + f[1] + ":" + (f[1] == "send" ? "write_fixed" : "multishot") + ":" + f[3]);
        t << pad(name, w0, false) << pad(rate(r, 1e6, "%.3f"), 8) << pad(rate(r, 0, "%.1f"), 9)
          << pad(ratio(r, ref), 7) << pad(r ? fmt("%.2f", 1e6 / r->ips) : "-", 8) << "\n";
    }
    return t.str();
}

// Gateway rows (gw_bench.cc): per size and direction, each terminator with
// its throughput, its CPU per GB, the load generator's CPU per GB, and
// ratios: vs nginx (throughput; CPU per GB as nginx's / this one's, so
// >1 = cheaper), and for zrec-gw TLS its throughput vs its own plain
// forwarding.  Then handshakes per second.
std::string gw_table()
{
    std::ostringstream t;
    std::vector<std::string> rows, hs;
    for (const auto &kv : g_results) {
        auto f = split(kv.first, ':');
        if (f[0] == "gw" && f.size() == 5)
            (f[3] == "handshakes" ? hs : rows).push_back(kv.first);
    }
    if (rows.empty() && hs.empty())
        return "";
    static const std::vector<std::string> impl_order = {"zrec", "haproxy", "nginx"};
    std::sort(rows.begin(), rows.end(), [](const std::string &a, const std::string &b) {
        auto key = [](const std::string &n) {
            auto f = split(n, ':');
            return std::make_tuple(std::strtoul(f[4].c_str(), nullptr, 10), f[3] == "down",
                                   f[2] == "plain", index_of(impl_order, f[1]));
        };
        return key(a) < key(b);
    });
    const size_t w0 = 34;
    t << "\n" << pad("gateway point (1 worker on CPU 0;", w0, false) << pad("GB/s", 7)
      << pad("gw CPU", 8) << pad("load CPU", 9) << pad("vs", 7) << pad("CPU/GB", 8)
      << pad("TLS vs", 8) << "\n";
    t << pad("load+backend on CPU 1; 8 conns)", w0, false) << pad("", 7) << pad("s/GB", 8)
      << pad("s/GB", 9) << pad("nginx", 7) << pad("nginx/x", 8) << pad("plain", 8) << "\n";
    t << pad("gw:<impl>:<mode>:<dir>:<size>", w0, false) << "\n";
    t << std::string(w0 + 7 + 8 + 9 + 7 + 8 + 8, '-') << "\n";
    std::string last;
    for (const auto &name : rows) {
        auto f = split(name, ':');
        const std::string group = f[3] + f[4];
        if (!last.empty() && group != last)
            t << "\n";
        last = group;
        auto it = g_results.find(name);
        const Result *r = it->second.error ? nullptr : &it->second;
        std::string vs = "-", cpu_vs = "-", tls_vs = "-";
        auto nit = g_results.find("gw:nginx:" + f[2] + ":" + f[3] + ":" + f[4]);
        const Result *ng = nit != g_results.end() && !nit->second.error ? &nit->second : nullptr;
        if (r && ng && f[1] != "nginx") {
            vs = fmt("%.2fx", r->bps / ng->bps);
            double a = r->extra.count("gw_cpu_s_per_GB") ? r->extra.at("gw_cpu_s_per_GB") : 0;
            double b = ng->extra.count("gw_cpu_s_per_GB") ? ng->extra.at("gw_cpu_s_per_GB") : 0;
            if (a > 0 && b > 0)
                cpu_vs = fmt("%.2fx", b / a);
        }
        if (r && f[2] == "tls13") {
            auto pit = g_results.find("gw:" + f[1] + ":plain:" + f[3] + ":" + f[4]);
            if (pit != g_results.end() && !pit->second.error && pit->second.bps > 0)
                tls_vs = fmt("%.2f", r->bps / pit->second.bps);
        }
        auto extra = [&](const char *k) {
            return r && r->extra.count(k) ? fmt("%.2f", r->extra.at(k)) : std::string("-");
        };
        t << pad(name, w0, false) << pad(r ? fmt("%.3f", r->bps / 1e9) : "ERR", 7)
          << pad(extra("gw_cpu_s_per_GB"), 8) << pad(extra("client_cpu_s_per_GB"), 9)
          << pad(vs, 7) << pad(cpu_vs, 8) << pad(tls_vs, 8) << "\n";
    }
    if (!hs.empty()) {
        t << "\n" << pad("handshakes (TLS 1.3, ECDSA P-256)", w0, false) << pad("per s", 9)
          << pad("gw ms", 8) << pad("vs", 9) << "\n";
        t << pad("gw:<impl>:tls13:handshakes:<kind>", w0, false) << pad("", 9) << pad("each", 8)
          << pad("haproxy", 9) << "\n";
        t << std::string(w0 + 9 + 8 + 9, '-') << "\n";
        std::sort(hs.begin(), hs.end(), [](const std::string &a, const std::string &b) {
            auto f = split(a, ':'), g = split(b, ':');
            return std::make_tuple(f[4], index_of(impl_order, f[1])) <
                   std::make_tuple(g[4], index_of(impl_order, g[1]));
        });
        for (const auto &name : hs) {
            auto f = split(name, ':');
            auto it = g_results.find(name);
            const Result *r = it->second.error ? nullptr : &it->second;
            auto hit = g_results.find("gw:haproxy:tls13:handshakes:" + f[4]);
            std::string vs = "-";
            if (r && f[1] != "haproxy" && hit != g_results.end() && !hit->second.error &&
                hit->second.ips > 0)
                vs = fmt("%.2fx", r->ips / hit->second.ips);
            std::string ms = r && r->extra.count("gw_cpu_ms_per_handshake")
                                 ? fmt("%.3f", r->extra.at("gw_cpu_ms_per_handshake"))
                                 : "-";
            t << pad(name, w0, false) << pad(r ? fmt("%.0f", r->ips) : "ERR", 9) << pad(ms, 8)
              << pad(vs, 9) << "\n";
        }
    }
    return t.str();
}

// The cryptodev provider beside DPDK's own measure of the same device
// (offload_bench.cc).  "record layer" = what zrec does around the AEAD
// (zrec seal time - raw seal time, both ipsec-mb): framing the tool does
// not do, so the most the provider can reach is tool / (tool + that).
double offload_floor(const std::string &sz)
{
    const Result *tool = find("dpdk-test-crypto-perf:aesni_gcm:aes128gcm:encrypt:" + sz);
    const Result *z = find("zrec:tls13:aes128gcm:seal:" + sz + ":burst32");
    const Result *raw = find("raw:aes128gcm:seal:" + sz);
    if (tool == nullptr || z == nullptr || raw == nullptr)
        return 0;
    double rl = 1e9 / z->ips - 1e9 / raw->ips;
    double t = 1e9 / tool->ips;
    return rl > 0 ? t / (t + rl) : 1.0;
}

std::string offload_table()
{
    std::ostringstream t;
    const size_t w0 = 56;
    bool any = false;
    for (const std::string sz : {"64", "1400", "16384"}) {
        const Result *tool = find("dpdk-test-crypto-perf:aesni_gcm:aes128gcm:encrypt:" + sz);
        const std::string cd = "cryptodev:aesni_gcm:tls13:aes128gcm:";
        const std::string cq = "cryptodev-queue:aesni_gcm:tls13:aes128gcm:";
        const Result *seal = find(cd + "seal:" + sz + ":burst32");
        const Result *open = find(cd + "open:" + sz + ":burst32");
        const Result *qseal = find(cq + "seal:" + sz + ":burst32");
        const Result *qopen = find(cq + "open:" + sz + ":burst32");
        const Result *z = find("zrec:tls13:aes128gcm:seal:" + sz + ":burst32");
        if (tool == nullptr && seal == nullptr && open == nullptr)
            continue;
        if (!any)
            t << "\n" << pad("offload (crypto_aesni_gcm, burst 32)", w0, false) << pad("Mrec/s", 8)
              << pad("MB/s", 9) << pad("vs", 7) << pad("floor", 7) << "\n"
              << pad("<impl>:...:<size>", w0, false) << pad("", 8) << pad("", 9)
              << pad("tool", 7) << pad("", 7) << "\n"
              << std::string(w0 + 8 + 9 + 7 + 7, '-') << "\n";
        any = true;
        const Result *cpu = find("cpu-crypto:aesni_gcm:aes128gcm:encrypt:" + sz);
        const std::pair<std::string, const Result *> rows[] = {
            {"dpdk-test-crypto-perf:aesni_gcm:aes128gcm:encrypt:" + sz, tool},
            {"cpu-crypto:aesni_gcm:aes128gcm:encrypt:" + sz, cpu},
            {cd + "seal:" + sz + ":burst32", seal},
            {cd + "open:" + sz + ":burst32", open},
            {cq + "seal:" + sz + ":burst32", qseal},
            {cq + "open:" + sz + ":burst32", qopen},
            {"zrec:tls13:aes128gcm:seal:" + sz + ":burst32 (ipsec-mb)", z}};
        for (const auto &row : rows) {
            const Result *r = row.second;
            bool vs = r && tool && r != tool;
            double fl = r && (r == seal || r == qseal) ? offload_floor(sz) : 0;
            t << pad(row.first, w0, false) << pad(rate(r, 1e6, "%.3f"), 8)
              << pad(rate(r, 0, "%.1f"), 9) << pad(vs ? fmt("%.2f", r->ips / tool->ips) : "-", 7)
              << pad(fl > 0 ? fmt("%.2f", fl) : "-", 7) << "\n";
        }
        t << "\n";
    }
    if (any)
        t << "  tool = DPDK's own throughput test of the device (AES-128-GCM encrypt, AAD 5 as in a "
             "TLS 1.3 record,\n  burst 32, one worker lcore on the bench's CPU); cryptodev = zrec "
             "TLS 1.3 records through libzrec-offload\n  on the same device (its synchronous CPU "
             "path; cryptodev-queue: its queue pair, one op per record);\n  floor = tool / (tool + "
             "zrec's record layer), the record layer being zrec seal - raw seal\n  (ipsec-mb): "
             "framing the tool does not do, the most any provider over this device can reach.\n"
             "  cpu-crypto = the device's synchronous CPU path alone (rte_cryptodev_sym_cpu_crypto_"
             "process,\n  32 buffers a call, AAD 5): what cryptodev:* runs on; cryptodev seal / "
             "cpu-crypto = what zrec's hook leaves.\n";
    return t.str();
}

// The DTLS data plane's loop (dgw_bench.cc): records per second per core
// through rx → open → forward → seal → tx, beside the same loop without
// crypto (the physical reference).
std::string dtls_gw_table()
{
    std::ostringstream t;
    const size_t w0 = 44;
    bool any = false;
    for (const std::string sz : {"64", "1400"}) {
        const std::string tail = ":aes128gcm:" + sz + ":sessions256";
        const Result *plain = find("dtls-gw:plain" + tail);
        for (const std::string mode : {"plain", "dtls12", "dtls13"}) {
            const Result *r = find("dtls-gw:" + mode + tail);
            if (r == nullptr)
                continue;
            if (!any)
                t << "\n" << pad("DTLS data plane (zrec-dtls-gw loop, 1 core)", w0, false)
                  << pad("Mrec/s", 8) << pad("MB/s", 9) << pad("vs", 7) << "\n"
                  << pad("dtls-gw:<mode>:aes128gcm:<size>:sessions256", w0, false) << pad("", 8)
                  << pad("", 9) << pad("plain", 7) << "\n"
                  << std::string(w0 + 8 + 9 + 7, '-') << "\n";
            any = true;
            t << pad("dtls-gw:" + mode + tail, w0, false) << pad(rate(r, 1e6, "%.3f"), 8)
              << pad(rate(r, 0, "%.1f"), 9)
              << pad(plain && r != plain ? fmt("%.2f", r->ips / plain->ips) : "-", 7) << "\n";
        }
    }
    if (any)
        t << "  One record = one datagram through the gateway: client records received, opened,\n"
             "  forwarded to the backend, and the backend's replies received, sealed, sent back\n"
             "  (bursts of 32, 256 sessions round robin, two net_ring ports, frames built and\n"
             "  checksummed in software); only the gateway's rounds are timed.  plain = the same\n"
             "  loop with the crypto removed: the physical reference.\n";
    return t.str();
}

struct Target {
    std::string what;
    double got;  // 0 = not measured
    double need;
    double floor = 0;  // the floor's ratio on the same terms (0 = none)
};

std::string build_table(const Env &env, bool quick)
{
    std::ostringstream t;
    char date[64];
    std::time_t now = std::time(nullptr);
    std::strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S UTC", std::gmtime(&now));
    t << "zrec-bench " << (quick ? "--quick (headline subset)" : "(all points)") << ", " << date
      << "\n";
    t << "Per-core figures: " << env.pin_note << "; " << env.online << " CPUs online, "
      << env.model << "\n";
    t << "AEAD: zrec provider = " << zrec_default_provider() << "; "
      << ipsecmb_description() << "\n";
    t << "References: " << openssl_version()
      << " (TLS: BIO pair; DTLS: socketpair AF_UNIX/SOCK_DGRAM + BIO_new_dgram); "
      << wolfssl_version() << " (memory I/O callbacks)\n";
    t << "Machine: SHARED and NOISY (other engineers build/test on it; loadavg at start: "
      << env.loadavg << "). Absolute numbers move; read the ratios, all from this one run.\n";
    t << "Rates: Google Benchmark CPU-time rates; MB/s = 10^6 payload bytes/s, Mrec/s = 10^6 "
         "records/s (burst points: per record), Mmsg/s = 10^6 messages/s.\n";
    t << "  vs raw = engine bytes/s / raw bytes/s, same AEAD and size: seal vs "
         "raw:<aead>:seal:<size>, open vs raw:<aead>:open:<size> (AES-GCM; else the seal); raw "
         "GCM takes a fresh nonce per call.\n";
    t << "  floor:tls13:aes128gcm:<op>:<size> = the least a TLS 1.3 record layer does (header, "
         "inner type, nonce, sequence; bursts of 32; no checks): the limit of 'vs raw'.\n";
    t << "  s+o vs X = X's (write+read) time per record / engine's (seal+open) time per record.\n";
    t << "  open: pool sealed untimed, re-sealed untimed when used up (fresh sequence numbers: "
         "DTLS replay window accepts every record).\n";
    t << "  send_recv: one message per iteration over 127.0.0.1 (TCP: one connection; UDP: one "
         "datagram, client socket to server socket), client send + server recv in the one "
         "pinned thread;\n"
         "    facade = libzrec-zsock TLS sockets over TCP, DTLS sockets over UDP (AES-128-GCM), "
         "plain = kernel TCP / UDP sockets;\n"
         "    vs plain = facade bytes/s / plain bytes/s (same size; tls*: plain TCP, dtls*: "
         "plain UDP);\n"
         "    +us/msg = facade - plain time per message; engine s+o us = zrec seal+open burst1 "
         "time per record (same proto, size);\n"
         "    ideal = plain time + engine s+o time per message (all the facade must do, one core); "
         "ideal/plain and facade vs ideal (target >= 0.95) are rates;\n"
         "    inline = the engine between the same kernel calls in one loop, no facade (seal from "
         "the caller's buffer, send, receive, open into the caller's buffer): vs inline = facade "
         "rate / inline rate, and an inline row's vs ideal is the floor of every socket layer.\n\n";

    // Engine rows.
    std::map<RowKey, int> rows;
    for (const auto &kv : g_results) {
        auto f = split(kv.first, ':');
        if ((f[0] != "zrec" && f[0] != "zrec-wolfcrypt") || f.size() < 6 || is_threads(f) ||
            f[5] == "zipf1M")
            continue;
        RowKey k{f[0], f[1], f[2], f[5] + (f.size() > 6 ? ":" + f[6] : ""),
                 static_cast<size_t>(std::strtoul(f[4].c_str(), nullptr, 10))};
        rows[k] = 1;
    }
    const size_t w0 = 52;
    t << pad("engine point", w0, false) << pad("seal", 8) << pad("seal", 9) << pad("vs", 6)
      << pad("open", 8) << pad("open", 9) << pad("vs", 6) << pad("s+o vs", 9) << pad("s+o vs", 9)
      << "\n";
    t << pad("<impl>:<proto>:<aead>:<size>:<burst>", w0, false) << pad("Mrec/s", 8)
      << pad("MB/s", 9) << pad("raw", 6) << pad("Mrec/s", 8) << pad("MB/s", 9) << pad("raw", 6)
      << pad("OpenSSL", 9) << pad("wolfSSL", 9) << "\n";
    t << std::string(w0 + 8 + 9 + 6 + 8 + 9 + 6 + 9 + 9, '-') << "\n";
    std::string last_group;
    for (const auto &kv : rows) {
        const RowKey &k = kv.first;
        std::string group = k.impl + k.proto + k.aead;
        if (!last_group.empty() && group != last_group)
            t << "\n";
        last_group = group;
        const std::string sz = std::to_string(k.size);
        const std::string pre = k.impl + ":" + k.proto + ":" + k.aead + ":";
        const std::string suf = ":" + sz + ":" + k.variant;
        const Result *seal = find(pre + "seal" + suf);
        const Result *open = find(pre + "open" + suf);
        const Result *raw = raw_for(k.aead, "seal", sz);
        const Result *raw_open = raw_for(k.aead, "open", sz);
        const Result *ossl = find("openssl:" + k.proto + ":" + k.aead + ":writeread:" + sz);
        const Result *wolf = find("wolfssl:" + k.proto + ":" + k.aead + ":writeread:" + sz);
        std::string label = k.impl + ":" + k.proto + ":" + k.aead + suf;
        t << pad(label, w0, false) << pad(rate(seal, 1e6, "%.3f"), 8)
          << pad(rate(seal, 0, "%.1f"), 9) << pad(ratio(seal, raw), 6)
          << pad(rate(open, 1e6, "%.3f"), 8) << pad(rate(open, 0, "%.1f"), 9)
          << pad(ratio(open, raw_open), 6)
          << pad(factor_str(seal, open, ossl, k.proto == "dtls13"), 9)
          << pad(factor_str(seal, open, wolf, false), 9) << "\n";
    }
    if (rows.empty())
        t << "(no engine points ran)\n";

    // Reference rows.
    t << "\n" << pad("reference point", w0, false) << pad("Mrec/s", 8) << pad("MB/s", 9) << "\n";
    t << std::string(w0 + 17, '-') << "\n";
    std::vector<std::pair<std::string, const Result *>> refs;
    for (const auto &kv : g_results) {
        auto f = split(kv.first, ':');
        if (f[0] == "raw" || f[0] == "openssl" || f[0] == "wolfssl" ||
            (f[0] == "floor" && f.size() == 5))
            refs.push_back({kv.first, kv.second.error ? nullptr : &kv.second});
    }
    std::sort(refs.begin(), refs.end(), [](const auto &a, const auto &b) {
        auto fa = split(a.first, ':'), fb = split(b.first, ':');
        auto key = [](const std::vector<std::string> &f) {
            int impl = f[0] == "raw" ? 0 : f[0] == "floor" ? 1 : f[0] == "openssl" ? 2 : 3;
            bool raw = f[0] == "raw";
            return std::make_tuple(impl, raw ? 0 : index_of(protos(), f[1]),
                                   index_of(aeads(), raw ? f[1] : f[2]),
                                   std::strtoul((raw ? f[3] : f[4]).c_str(), nullptr, 10));
        };
        return key(fa) < key(fb);
    });
    for (const auto &r : refs)
        t << pad(r.first, w0, false) << pad(rate(r.second, 1e6, "%.3f"), 8)
          << pad(rate(r.second, 0, "%.1f"), 9) << "\n";
    if (refs.empty())
        t << "(no reference points ran)\n";
    t << "openssl:dtls13:*: left out — OpenSSL 3.0 has no DTLS 1.3.\n";

    t << scaling_table();
    t << socket_table();
    t << cookie_table();
    t << uring_table();
    t << gw_table();
    t << offload_table();
    t << dtls_gw_table();

    // Errors.
    bool any_error = false;
    for (const auto &kv : g_results)
        if (kv.second.error) {
            if (!any_error)
                t << "\nPoints that failed:\n";
            any_error = true;
            t << "  " << kv.first << ": " << kv.second.message << "\n";
        }

    // Targets (reported, not asserted).
    t << "\nTargets (AES-128-GCM; reported, not asserted):\n";
    auto r = [](const std::string &n) { return find(n); };
    auto vs_raw = [&](const std::string &n, size_t size) -> double {
        const Result *a = r(n);
        const Result *b = raw_of(split(n, ':'));
        (void)size;
        return a && b ? a->bps / b->bps : 0;
    };
    auto vs_ossl = [&](size_t size, const std::string &burst) -> double {
        const std::string sz = std::to_string(size);
        return factor(r("zrec:tls13:aes128gcm:seal:" + sz + ":" + burst),
                      r("zrec:tls13:aes128gcm:open:" + sz + ":" + burst),
                      r("openssl:tls13:aes128gcm:writeread:" + sz));
    };
    // Engine vs raw (seal vs raw encrypt, open vs raw decrypt), burst 32:
    // >= 0.90 at 64 B, >= 0.95 at 1400 B and 16 KB, TLS 1.3 and DTLS 1.3.
    std::vector<Target> targets;
    for (const std::string p : {"tls13", "dtls13"})
        for (size_t size : {size_t{64}, size_t{1400}, size_t{16384}})
            for (const std::string op : {"seal", "open"}) {
                const std::string sz = std::to_string(size);
                const Result *fl = r("floor:" + p + ":aes128gcm:" + op + ":" + sz);
                const Result *raw = r("raw:aes128gcm:" + op + ":" + sz);
                targets.push_back({p + " " + sz + " B " + op + " burst32 vs raw",
                                   vs_raw("zrec:" + p + ":aes128gcm:" + op + ":" + sz + ":burst32",
                                          size),
                                   size == 64 ? 0.90 : 0.95,
                                   fl && raw && !fl->error && !raw->error ? fl->bps / raw->bps
                                                                          : 0});
            }
    // One million sessions, Zipf(1): >= 0.8 x one session at 1400 B.
    for (const std::string op : {"seal", "open"}) {
        const Result *z = r("zrec:tls13:aes128gcm:" + op + ":1400:zipf1M");
        const Result *one = r("zrec:tls13:aes128gcm:" + op + ":1400:burst32");
        const Result *fz = r("floor:tls13:aes128gcm:seal:1400:zipf1M");
        const Result *f1 = r("floor:tls13:aes128gcm:seal:1400");
        targets.push_back({"tls13 1400 B " + op + " zipf1M vs one session",
                           z && one && !z->error && !one->error ? z->bps / one->bps : 0, 0.80,
                           fz && f1 && !fz->error && !f1->error ? fz->bps / f1->bps : 0});
    }
    // The facade at the speed of its parts: >= 0.95 x plain + engine.  The
    // floor column: the engine inline between the same kernel calls (no
    // facade) against the same ideal - what no socket layer can beat.
    for (const std::string p : {"tls13", "dtls13"})
        for (const std::string sz : {"64", "1400", "16384"}) {
            const Result *in = r("inline:" + p + ":send_recv:" + sz);
            const double us = ideal_us(split("facade:" + p + ":send_recv:" + sz, ':'));
            targets.push_back({"facade " + p + " " + sz + " B vs ideal (plain + engine)",
                               facade_vs_ideal(p, sz), 0.95,
                               in && !in->error && us > 0 ? us / (1e6 / in->ips) : 0});
        }
    for (const std::string p : {"tls13", "dtls13"})
        for (const std::string sz : {"64", "1400", "16384"})
            targets.push_back({"facade " + p + " " + sz + " B vs inline engine",
                               facade_vs_inline(p, sz), 0.95});
    // A stateless cookie exchange per ClientHello: >= 50k per second per core.
    for (const std::string p : {"dtls12", "dtls13"}) {
        const Result *c = r("facade:" + p + ":cookie");
        targets.push_back({"facade " + p + " cookie exchange, kClientHellos/s",
                           c && !c->error ? c->ips / 1e3 : 0, 50.0});
    }
    // The cryptodev hook adds <= 10 % to the device: zrec's records through
    // the provider >= 0.9 x DPDK's own tool on the same device.
    for (const std::string sz : {"64", "1400", "16384"}) {
        const Result *tool = r("dpdk-test-crypto-perf:aesni_gcm:aes128gcm:encrypt:" + sz);
        const Result *cd = r("cryptodev:aesni_gcm:tls13:aes128gcm:seal:" + sz + ":burst32");
        const Result *cq = r("cryptodev-queue:aesni_gcm:tls13:aes128gcm:seal:" + sz + ":burst32");
        targets.push_back({"cryptodev seal " + sz + " B vs dpdk-test-crypto-perf",
                           tool && cd ? cd->ips / tool->ips : 0, 0.90, offload_floor(sz)});
        targets.push_back({"cryptodev-queue seal " + sz + " B vs the tool",
                           tool && cq ? cq->ips / tool->ips : 0, 0.90, offload_floor(sz)});
    }
    for (const std::string b : {"burst1", "burst32"}) {
        targets.push_back({"16384 B seal+open " + b + " vs OpenSSL writeread", vs_ossl(16384, b),
                           5.0});
        targets.push_back({"64 B seal+open " + b + " vs OpenSSL writeread", vs_ossl(64, b), 10.0});
    }
    for (const auto &tg : targets) {
        // A figure just short of the target (0.949 for 0.95) gets a third
        // decimal, so that it does not read as the target itself.
        auto shown = [&](double v) {
            return fmt(v < tg.need && v >= tg.need - 0.005 ? "%.3f" : "%.2f", v);
        };
        std::string got = tg.got > 0 ? shown(tg.got) : "not measured";
        std::string verdict = tg.got <= 0 ? "" : tg.got >= tg.need ? "met" : "SHORT";
        t << "  " << pad(tg.what, 46, false) << pad(got, 13) << "  (target >= "
          << fmt("%.2f", tg.need) << ")  " << pad(verdict, 5, false);
        if (tg.floor > 0)
            t << "  floor " << shown(tg.floor)
              << (tg.floor < tg.need ? " (below the target: out of reach)" : "");
        t << "\n";
    }
    return t.str();
}

// ---------------------------------------------------------------------------
// Plot (gnuplot): throughput vs record size, AES-128-GCM headline series,
// and the loopback socket points (facade, plain TCP/UDP) vs message size.
// ---------------------------------------------------------------------------

std::string gp_quote(const std::string &s)
{
    std::string out = "'";
    for (char ch : s) {
        if (ch == '\'')
            out += "''";
        else
            out += ch;
    }
    return out + "'";
}

bool plotted_series(const std::vector<std::string> &f)
{
    if (f[0] == "raw")
        return f[1] == "aes128gcm";
    if (f.size() < 5 || f[2] != "aes128gcm")
        return false;
    // burst1 and mixed32 lie on top of burst32 at this scale: left out.
    if (f[0] == "zrec")
        return (f[1] == "tls13" || f[1] == "dtls13") && f.size() == 6 && f[5] == "burst32";
    if (f[0] == "zrec-wolfcrypt")
        return f[1] == "tls13" && f[5] == "burst32";
    if (f[0] == "openssl")
        return f[1] == "tls13" || f[1] == "dtls12";
    if (f[0] == "wolfssl")
        return f[1] == "tls13" || f[1] == "dtls13";
    return false;
}

bool plotted_socket_series(const std::vector<std::string> &f)
{
    return (f[0] == "facade" || f[0] == "plain") && f.size() == 4;
}

// Where the size is in a point's name.
size_t size_index(const std::vector<std::string> &f)
{
    return f[0] == "raw" || f[0] == "facade" || f[0] == "plain" ? 3 : 4;
}

// Every series gets its own colour, and the kind of work its own point
// shape and dash pattern, set explicitly: gnuplot's default cycle has eight
// colours, so a ninth series silently reused the first one's (the OpenSSL
// and zrec seal series both came out purple).  Known series have fixed
// colours, stable from run to run; any other series takes the next colour
// of the spare list no other series uses.
struct Style {
    std::string colour;
    int pt;     // point type: seal circle, open triangle, writeread diamond, send_recv
                // square (filled: TCP, open: UDP)
    int dt;     // dash type: engine solid, raw dashed, references and plain TCP/UDP dotted/dashed
    double lw;  // line width
};

std::map<std::string, Style> plot_styles(const std::vector<std::string> &labels)
{
    static const std::map<std::string, std::string> fixed = {
        {"raw:aes128gcm:seal", "#000000"},
        {"zrec:tls13:aes128gcm:seal:burst32", "#1f77b4"},
        {"zrec:tls13:aes128gcm:open:burst32", "#17becf"},
        {"zrec:dtls13:aes128gcm:seal:burst32", "#2ca02c"},
        {"zrec:dtls13:aes128gcm:open:burst32", "#9acd32"},
        {"zrec-wolfcrypt:tls13:aes128gcm:seal:burst32", "#e377c2"},
        {"openssl:tls13:aes128gcm:writeread", "#d62728"},
        {"openssl:dtls12:aes128gcm:writeread", "#ff7f0e"},
        {"wolfssl:tls13:aes128gcm:writeread", "#8c564b"},
        {"wolfssl:dtls13:aes128gcm:writeread", "#b8860b"},
        {"facade:tls13:send_recv", "#9467bd"},
        {"facade:tls12:send_recv", "#393b79"},
        {"plain:tcp:send_recv", "#7f7f7f"},
        {"facade:dtls13:send_recv", "#c51b7d"},
        {"facade:dtls12:send_recv", "#b35806"},
        {"plain:udp:send_recv", "#b0b0b0"},
    };
    static const char *const spare[] = {"#8b0000", "#006400", "#00008b", "#ff1493",
                                        "#008b8b", "#bcbd22", "#4b0082", "#556b2f"};
    std::map<std::string, Style> out;
    std::vector<std::string> used;
    auto taken = [&](const std::string &c) {
        return std::find(used.begin(), used.end(), c) != used.end();
    };
    size_t next_spare = 0;
    for (const auto &label : labels) {
        auto f = split(label, ':');
        Style st;
        auto it = fixed.find(label);
        if (it != fixed.end() && !taken(it->second)) {
            st.colour = it->second;
        } else {
            while (next_spare < sizeof spare / sizeof spare[0] && taken(spare[next_spare]))
                next_spare++;
            // Past the spare list (more series than anyone plots), colours
            // repeat but the dash pattern below still tells series apart.
            st.colour = next_spare < sizeof spare / sizeof spare[0] ? spare[next_spare++]
                                                                    : "#444444";
        }
        used.push_back(st.colour);
        auto op = [&](const char *w) { return std::find(f.begin(), f.end(), w) != f.end(); };
        const bool udp = op("send_recv") && (op("udp") || is_dtls(f[1]));
        st.pt = op("open") ? 9 : op("writeread") ? 13 : udp ? 4 : op("send_recv") ? 5 : 7;
        st.dt = f[0] == "raw" ? 2 : f[0] == "openssl" ? 4 : f[0] == "wolfssl" ? 5
                : f[0] == "plain" ? 3 : 1;
        st.lw = f[0] == "raw" ? 3 : 2;
        if (st.colour == "#444444")
            st.dt = 6 + static_cast<int>(out.size() % 4);
        out[label] = st;
    }
    return out;
}

void plot(const std::string &dir)
{
    std::map<std::string, std::vector<std::pair<size_t, double>>> series;
    for (const auto &kv : g_results) {
        if (kv.second.error || kv.second.bps <= 0)
            continue;
        auto f = split(kv.first, ':');
        if (!plotted_series(f) && !plotted_socket_series(f))
            continue;
        size_t size_idx = size_index(f);
        size_t size = std::strtoul(f[size_idx].c_str(), nullptr, 10);
        std::string label;
        for (size_t i = 0; i < f.size(); i++)
            if (i != size_idx)
                label += (label.empty() ? "" : ":") + f[i];
        series[label].push_back({size, kv.second.bps / 1e6});
    }
    if (series.empty()) {
        std::cerr << "zrec-bench: nothing to plot\n";
        return;
    }
    const std::string script = dir + "/throughput.gp";
    {
        std::ofstream gp(script);
        gp << "set terminal pngcairo size 1400,850 font ',10'\n";
        gp << "set output " << gp_quote(dir + "/throughput.png") << "\n";
        gp << "set title 'zrec-bench: payload throughput vs record (send_recv: message) size, "
              "AES-128-GCM, one pinned core (noisy shared machine)' noenhanced\n";
        gp << "set logscale x 2\nset logscale y 10\nset grid\n";
        gp << "set xrange [48:22000]\nset xtics (64, 256, 1400, 4096, 16384)\n";
        gp << "set xlabel 'record (send_recv: message) payload (bytes)' noenhanced\n";
        gp << "set ylabel 'MB/s (10^6 payload bytes/s)'\n";
        gp << "set key outside right top noenhanced\n";
        int i = 0;
        for (auto &kv : series) {
            std::sort(kv.second.begin(), kv.second.end());
            gp << "$d" << i++ << " << EOD\n";
            for (const auto &pt : kv.second)
                gp << pt.first << " " << pt.second << "\n";
            gp << "EOD\n";
        }
        std::vector<std::string> labels;
        for (const auto &kv : series)
            labels.push_back(kv.first);
        const auto styles = plot_styles(labels);
        gp << "plot ";
        i = 0;
        for (const auto &kv : series) {
            const Style &st = styles.at(kv.first);
            gp << (i ? ", \\\n     " : "") << "$d" << i << " using 1:2 with linespoints"
               << " lc rgb " << gp_quote(st.colour) << " pt " << st.pt << " ps 1.3"
               << " dt " << st.dt << " lw " << st.lw << " title " << gp_quote(kv.first);
            i++;
        }
        gp << "\n";
    }
    char arg0[] = "gnuplot";
    std::string s = script;
    char *argv[] = {arg0, s.data(), nullptr};
    pid_t pid;
    int rc = posix_spawnp(&pid, "gnuplot", nullptr, nullptr, argv, environ);
    if (rc != 0) {
        std::cerr << "zrec-bench: gnuplot not available (" << std::strerror(rc)
                  << "): no plot; install gnuplot-nox. Plot script kept in " << script << "\n";
        return;
    }
    int status = 0;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        std::cerr << "zrec-bench: gnuplot failed; script in " << script << "\n";
    else
        std::cerr << "zrec-bench: plot written to " << dir << "/throughput.png\n";
}

// ---------------------------------------------------------------------------
// CLI
// ---------------------------------------------------------------------------

void usage(const char *argv0)
{
    std::printf(
        "usage: %s [--quick] [--results DIR] [--cpu N] [--no-pin] [--threads N] [--zipf-cache N]\n       [--provider NAME] [Google Benchmark flags]\n"
        "\n"
        "  --quick         headline subset: every zrec point for tls13 and dtls13 with\n"
        "                  aes128gcm, raw aes128gcm at every size, the floor (tls13,\n"
        "                  dtls13) at 64/1400/16384 and over 1M sessions, OpenSSL (tls13) and\n"
        "                  wolfSSL (tls13, dtls13) aes128gcm at 64/1400/16384, the facade\n"
        "                  (tls13, dtls13) and plain TCP/UDP over loopback at\n"
        "                  64/1400/16384; default --benchmark_min_time=%s.\n"
        "                  Without it: every point.\n"
        "  --results DIR   where to write zrec-bench.json, table.txt, throughput.png\n"
        "                  (default ./results)\n"
        "  --cpu N         pin to CPU N (default: the highest-numbered allowed CPU)\n"
        "  --threads N     the scaling points zrec:tls13:aes128gcm:{seal,open}:<size>:\n"
        "                  burst32:threadsN run N engines at once, thread i on the i-th\n"
        "                  CPU (default 2; 1 = none)\n"
        "  --zipf-cache N  key cache entries (a power of two, 64..2^24) of the\n"
        "                  zipf1M points, zrec's and the floor's (default 8192)\n"
        "  --no-pin        do not pin\n"
        "  --provider NAME the AEAD provider of the zrec:<proto>:... engine points:\n"
        "                  ipsecmb, wolfcrypt, or cryptodev:DEVICE (a DPDK crypto device,\n"
        "                  e.g. cryptodev:crypto_aesni_mb0, made on first use; EAL without\n"
        "                  hugepages).  Also ZREC_BENCH_PROVIDER.  Default: ipsecmb where\n"
        "                  built, else wolfcrypt\n"
        "  other flags go to Google Benchmark, e.g. --benchmark_filter=REGEX,\n"
        "  --benchmark_min_time=SECONDS, --benchmark_repetitions=N, --benchmark_list_tests,\n"
        "  --benchmark_out=FILE (replaces DIR/zrec-bench.json).  The console shows\n"
        "  zrec-bench's own progress lines (stderr) and table (stdout), so\n"
        "  --benchmark_format has no effect.\n",
        argv0, "0.2");
}

bool take_value(int argc, char **argv, int *i, const char *flag, std::string *out)
{
    const size_t n = std::strlen(flag);
    if (std::strcmp(argv[*i], flag) == 0) {
        if (*i + 1 >= argc) {
            std::fprintf(stderr, "zrec-bench: %s needs a value\n", flag);
            std::exit(2);
        }
        *out = argv[++*i];
        return true;
    }
    if (std::strncmp(argv[*i], flag, n) == 0 && argv[*i][n] == '=') {
        *out = argv[*i] + n + 1;
        return true;
    }
    return false;
}

int mkdir_p(const std::string &path)
{
    std::string cur;
    for (size_t i = 0; i <= path.size(); i++) {
        if (i == path.size() || path[i] == '/') {
            if (!cur.empty() && mkdir(cur.c_str(), 0777) != 0 && errno != EEXIST)
                return -1;
        }
        if (i < path.size())
            cur += path[i];
    }
    return 0;
}

}  // namespace
}  // namespace zb

int main(int argc, char **argv)
{
    using namespace zb;
    bool quick = false, no_pin = false;
    unsigned threads = 2;
    unsigned zipf_cache = 1u << 13;
    int cpu = -1;
    std::string results = "results";
    std::string provider; // --provider NAME
    std::vector<std::string> pass;
    bool user_out = false, user_min_time = false, list_only = false;
    for (int i = 1; i < argc; i++) {
        std::string v;
        if (std::strcmp(argv[i], "--quick") == 0) {
            quick = true;
        } else if (std::strcmp(argv[i], "--no-pin") == 0) {
            no_pin = true;
        } else if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
            usage(argv[0]);
            return 0;
        } else if (take_value(argc, argv, &i, "--provider", &v)) {
            provider = v;
        } else if (take_value(argc, argv, &i, "--results", &v)) {
            results = v;
        } else if (take_value(argc, argv, &i, "--threads", &v)) {
            char *end = nullptr;
            long n = std::strtol(v.c_str(), &end, 10);
            if (end == v.c_str() || *end != '\0' || n < 1 || n > 256) {
                std::fprintf(stderr, "zrec-bench: bad --threads value '%s'\n", v.c_str());
                return 2;
            }
            threads = static_cast<unsigned>(n);
        } else if (take_value(argc, argv, &i, "--zipf-cache", &v)) {
            char *end = nullptr;
            long n = std::strtol(v.c_str(), &end, 10);
            if (end == v.c_str() || *end != '\0' || n < 64 || n > (1L << 24) || (n & (n - 1))) {
                std::fprintf(stderr,
                             "zrec-bench: bad --zipf-cache value '%s' (a power of two, "
                             "64..16777216)\n",
                             v.c_str());
                return 2;
            }
            zipf_cache = static_cast<unsigned>(n);
        } else if (take_value(argc, argv, &i, "--cpu", &v)) {
            char *end = nullptr;
            long c = std::strtol(v.c_str(), &end, 10);
            if (end == v.c_str() || *end != '\0' || c < 0) {
                std::fprintf(stderr, "zrec-bench: bad --cpu value '%s'\n", v.c_str());
                return 2;
            }
            cpu = static_cast<int>(c);
        } else {
            std::string a = argv[i];
            user_out |= a.rfind("--benchmark_out=", 0) == 0;
            user_min_time |= a.rfind("--benchmark_min_time", 0) == 0;
            list_only |= a == "--benchmark_list_tests" || a == "--benchmark_list_tests=true";
            pass.push_back(a);
        }
    }
    while (results.size() > 1 && results.back() == '/')
        results.pop_back();
    if (mkdir_p(results) != 0) {
        std::fprintf(stderr, "zrec-bench: cannot create %s: %s\n", results.c_str(),
                     std::strerror(errno));
        return 1;
    }

    Env env;
    pin(env, cpu, no_pin);

    Plan plan;
    plan.quick = quick;
    plan.threads = threads;
    plan.zipf_cache = zipf_cache;
    if (provider.empty() && getenv("ZREC_BENCH_PROVIDER"))
        provider = getenv("ZREC_BENCH_PROVIDER");
    plan.provider = provider;
    if (!set_bench_provider(provider)) {
        std::cerr << "zrec-bench: --provider " << provider
                  << ": expected ipsecmb, wolfcrypt or cryptodev:DEVICE\n";
        return 2;
    }
    register_raw(plan);
    register_zrec(plan);
    register_openssl(plan);
    register_wolfssl(plan);
    register_facade(plan);
    register_uring(plan);
    register_gateway(plan);
#ifdef ZB_OFFLOAD
    register_offload(plan);
    register_dtls_gw(plan);
#endif

    // Google Benchmark's argv: our defaults first, so that the user's flags
    // (later on the line) win.
    std::vector<std::string> gargs = {argv[0]};
    // Listing runs nothing: no --benchmark_out then, which Google Benchmark
    // would open (truncating the JSON of the last real run) all the same.
    if (!user_out && !list_only) {
        gargs.push_back("--benchmark_out=" + results + "/zrec-bench.json");
        gargs.push_back("--benchmark_out_format=json");
    }
    if (quick && !user_min_time)
        gargs.push_back("--benchmark_min_time=0.2");
    gargs.insert(gargs.end(), pass.begin(), pass.end());
    std::vector<char *> gargv;
    for (auto &s : gargs)
        gargv.push_back(s.data());
    gargv.push_back(nullptr);
    int gargc = static_cast<int>(gargs.size());
    benchmark::Initialize(&gargc, gargv.data());
    if (benchmark::ReportUnrecognizedArguments(gargc, gargv.data()))
        return 2;

    if (list_only) {
        benchmark::RunSpecifiedBenchmarks();
        return 0;
    }

    const size_t total = count_selected(benchmark::GetBenchmarkFilter());
    std::cerr << "zrec-bench: " << total << " of " << registered().size() << " points selected"
              << (quick ? " (--quick)" : "") << "; " << env.pin_note << "; "
              << ipsecmb_description() << "\n"
              << "zrec-bench: openssl:dtls13:* left out: OpenSSL 3.0 has no DTLS 1.3\n"
              << "zrec-bench: machine is shared and noisy: read ratios, not absolute numbers\n";
    Progress progress(total);
    const size_t ran = benchmark::RunSpecifiedBenchmarks(&progress);
    benchmark::Shutdown();
    if (ran == 0) {
        std::cerr << "zrec-bench: no point ran (bad --benchmark_filter?)\n";
        return 1;
    }

    const std::string table = build_table(env, quick);
    std::cout << "\n" << table << std::flush;
    {
        std::ofstream f(results + "/table.txt");
        f << table;
        if (!f)
            std::cerr << "zrec-bench: cannot write " << results << "/table.txt\n";
    }
    plot(results);
    if (!user_out)
        std::cerr << "zrec-bench: JSON in " << results << "/zrec-bench.json, table in " << results
                  << "/table.txt\n";
    bool failed = false;
    for (const auto &kv : g_results)
        failed |= kv.second.error;
    return failed ? 1 : 0;
}
