// zrec-bench: TLS terminators side by side, as separate processes.
//
//   gw:<impl>:<mode>:<dir>:<size>      impl: zrec (zrec-gw), haproxy, nginx
//                                      mode: tls13 (TLS 1.3, AES-128-GCM,
//                                            ECDSA P-256) or plain (no TLS:
//                                            TCP forwarding by the same program)
//                                      dir:  up (client -> backend) or down
//                                      size: bytes per client write / record
//   gw:<impl>:tls13:handshakes:<full|resumed>
//
// Layout on a 2-CPU machine: the terminator (one worker / one thread, the
// same for all three) pinned to CPU A; the load generator and the backend
// (bench/gwload.c, one thread each) pinned to CPU B.  The load generator
// seals and opens with the zrec engine so that it is not the bottleneck;
// it reports its own CPU time.  Each point: start backend, terminator,
// client; the client warms up 0.5 s, then counts bytes (or handshakes) for
// the measuring interval and reads the terminator's CPU time from
// /proc/PID/stat at both ends of the interval.
//
// Figures: bytes_per_second = payload bytes moved per wall second (manual
// time = the counted interval); gw_cpu_s_per_GB = the terminator's CPU
// seconds per 10^9 payload bytes (fair even when the load generator cannot
// saturate it); client_cpu_s_per_GB likewise for the load generator (both
// threads on CPU B: when it is near 1 s per second of interval, CPU B was
// the limit).  Handshake points: items_per_second = handshakes per second.
#include "bench.h"

#include <benchmark/benchmark.h>

#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace zb {
namespace {

struct Paths {
    std::string gw, load, certs, haproxy, nginx, nginx_stream;
};

const Paths &paths()
{
    static Paths p = [] {
        Paths q;
        auto env = [](const char *name, const char *dflt) {
            const char *v = std::getenv(name);
            return std::string(v && *v ? v : dflt);
        };
        q.gw = env("ZREC_GW", ZREC_GW_BIN);
        q.load = env("ZREC_GWLOAD", ZREC_GWLOAD_BIN);
        q.certs = env("ZREC_CERTS", ZREC_CERT_DIR);
        q.haproxy = env("ZREC_HAPROXY", "/usr/sbin/haproxy");
        q.nginx = env("ZREC_NGINX", "/usr/sbin/nginx");
        q.nginx_stream = "/usr/lib/nginx/modules/ngx_stream_module.so";
        return q;
    }();
    return p;
}

int online_cpus()
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? static_cast<int>(n) : 1;
}

// CPU A for the terminator, CPU B for load + backend.
int cpu_gw() { return 0; }
int cpu_load() { return online_cpus() > 1 ? 1 : 0; }

struct Child {
    pid_t pid = -1;
    std::string out_path;
};

// fork + pin + exec, stdout (and stderr) to a file.
Child spawn(const std::vector<std::string> &argv, int cpu, const std::string &out)
{
    Child c;
    c.out_path = out;
    pid_t pid = fork();
    if (pid == 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(cpu, &set);
        sched_setaffinity(0, sizeof set, &set);
        int fd = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        std::vector<char *> a;
        for (auto &s : argv)
            a.push_back(const_cast<char *>(s.c_str()));
        a.push_back(nullptr);
        execv(a[0], a.data());
        _exit(127);
    }
    c.pid = pid;
    return c;
}

// SIGTERM, then SIGKILL after 3 s.
void stop(Child &c)
{
    if (c.pid <= 0)
        return;
    kill(c.pid, SIGTERM);
    for (int i = 0; i < 300; i++) {
        int st;
        if (waitpid(c.pid, &st, WNOHANG) == c.pid) {
            c.pid = -1;
            return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    kill(c.pid, SIGKILL);
    waitpid(c.pid, nullptr, 0);
    c.pid = -1;
}

// Wait (bounded) until 127.0.0.1:port accepts a connection.
bool wait_port(int port, const Child &c)
{
    for (int i = 0; i < 500; i++) {
        int st;
        if (c.pid > 0 && waitpid(c.pid, &st, WNOHANG) == c.pid)
            return false;  // died
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_port = htons(static_cast<uint16_t>(port));
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        bool ok = connect(fd, reinterpret_cast<sockaddr *>(&sa), sizeof sa) == 0;
        close(fd);
        if (ok)
            return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
}

std::string slurp(const std::string &path)
{
    std::ifstream f(path);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

// A number field of a one-line JSON object ("key":value).
double json_num(const std::string &s, const std::string &key)
{
    auto p = s.find("\"" + key + "\":");
    if (p == std::string::npos)
        return -1;
    return std::strtod(s.c_str() + p + key.size() + 3, nullptr);
}

std::string last_line_with(const std::string &text, const std::string &needle)
{
    std::string best;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        if (line.find(needle) != std::string::npos)
            best = line;
    return best;
}

struct Scratch {
    std::string dir;
    Scratch()
    {
        char tmpl[] = "/tmp/zrec-gwbench.XXXXXX";
        const char *d = mkdtemp(tmpl);
        dir = d ? d : "/tmp";
    }
    ~Scratch()
    {
        std::string cmd = "rm -rf '" + dir + "'";
        if (dir.rfind("/tmp/zrec-gwbench.", 0) == 0)
            (void)!std::system(cmd.c_str());
    }
};

int next_port()
{
    // Fresh ports per point: no TIME_WAIT interplay between points.
    static int port = 19000 + (getpid() % 500) * 20;
    port += 3;
    return port;
}

// Start the terminator `impl` listening on `port`, forwarding to `backend`.
Child start_terminator(const std::string &impl, bool tls, int port, int backend,
                       const Scratch &s)
{
    const Paths &p = paths();
    const std::string cert = p.certs + "/server-ecc.pem", key = p.certs + "/ecc-key.pem";
    const std::string listen = "127.0.0.1:" + std::to_string(port);
    const std::string back = "127.0.0.1:" + std::to_string(backend);
    if (impl == "zrec") {
        std::vector<std::string> a = {p.gw, "--listen", listen, "--backend", back,
                                      "--workers", "1", "--cpus", std::to_string(cpu_gw())};
        if (tls) {
            a.insert(a.end(), {"--cert", cert, "--key", key, "--proto", "tls1.3"});
        } else {
            a.push_back("--plain");
        }
        return spawn(a, cpu_gw(), s.dir + "/gw.out");
    }
    if (impl == "haproxy") {
        const std::string pem = s.dir + "/haproxy.pem";
        {
            std::ofstream f(pem);
            f << slurp(cert) << slurp(key);
        }
        std::ofstream cfg(s.dir + "/haproxy.cfg");
        cfg << "global\n  nbthread 1\n  maxconn 4096\n"
               "  ssl-default-bind-ciphersuites TLS_AES_128_GCM_SHA256\n"
               "  ssl-default-bind-options ssl-min-ver TLSv1.3\n"
               "defaults\n  mode tcp\n  timeout connect 5s\n  timeout client 60s\n"
               "  timeout server 60s\n"
               "frontend f\n  bind 127.0.0.1:"
            << port << (tls ? " ssl crt " + pem : std::string()) << "\n  default_backend b\n"
            << "backend b\n  server s1 " << back << "\n";
        cfg.close();
        return spawn({p.haproxy, "-db", "-f", s.dir + "/haproxy.cfg"}, cpu_gw(),
                     s.dir + "/gw.out");
    }
    // nginx, stream module, one process (no master), in the foreground.
    std::ofstream cfg(s.dir + "/nginx.conf");
    cfg << "load_module " << p.nginx_stream << ";\n"
        << "daemon off;\nmaster_process off;\nworker_processes 1;\n"
        << "error_log " << s.dir << "/nginx-error.log warn;\npid " << s.dir << "/nginx.pid;\n"
        << "events { worker_connections 65536; }\n"
        << "stream {\n  server {\n    listen 127.0.0.1:" << port << (tls ? " ssl" : "") << ";\n";
    if (tls)
        cfg << "    ssl_certificate " << cert << ";\n    ssl_certificate_key " << key << ";\n"
            << "    ssl_protocols TLSv1.3;\n"
            << "    ssl_conf_command Ciphersuites TLS_AES_128_GCM_SHA256;\n"
            << "    ssl_session_tickets on;\n";
    cfg << "    proxy_pass " << back << ";\n  }\n}\n";
    cfg.close();
    return spawn({p.nginx, "-p", s.dir, "-c", s.dir + "/nginx.conf"}, cpu_gw(),
                 s.dir + "/gw.out");
}

bool binary_ok(const std::string &path, std::string *why)
{
    if (access(path.c_str(), X_OK) != 0) {
        *why = path + ": " + std::strerror(errno) + " (tools/bootstrap installs it)";
        return false;
    }
    return true;
}

constexpr double kSeconds = 2.0;

// One point's processes: the backend, the terminator in front of it, and
// the load client, which prints one JSON line (role `role`).
struct Run {
    Scratch s;
    int port = next_port(), bport = port + 1;
    Child backend, gw;
    std::string err, json;

    // Start the backend and the terminator; err says what failed.
    Run(const std::string &impl, bool tls, const std::string &dir, size_t size)
    {
        const Paths &p = paths();
        std::string why;
        const std::string &bin = impl == "zrec" ? p.gw : impl == "haproxy" ? p.haproxy : p.nginx;
        if (!binary_ok(bin, &why) || !binary_ok(p.load, &why)) {
            err = why;
            return;
        }
        backend = spawn({p.load, "backend", "--listen", "127.0.0.1:" + std::to_string(bport),
                         "--dir", dir, "--size", std::to_string(size), "--cpu",
                         std::to_string(cpu_load())},
                        cpu_load(), s.dir + "/backend.out");
        if (!wait_port(bport, backend)) {
            err = "backend did not start: " + slurp(s.dir + "/backend.out");
            return;
        }
        gw = start_terminator(impl, tls, port, bport, s);
        if (!wait_port(port, gw))
            err = impl + " did not start: " + slurp(s.dir + "/gw.out");
    }
    ~Run()
    {
        stop(gw);
        stop(backend);
    }

    // Run the load client (role + its own arguments) to its end.
    void client(const std::string &role, std::vector<std::string> args)
    {
        if (!err.empty())
            return;
        const Paths &p = paths();
        std::vector<std::string> a = {p.load, role, "--connect",
                                      "127.0.0.1:" + std::to_string(port), "--seconds",
                                      std::to_string(kSeconds), "--cpu", std::to_string(cpu_load()),
                                      "--stat-pid", std::to_string(gw.pid)};
        a.insert(a.end(), args.begin(), args.end());
        Child cl = spawn(a, cpu_load(), s.dir + "/client.out");
        int wst = 0;
        waitpid(cl.pid, &wst, 0);
        const std::string out = slurp(s.dir + "/client.out");
        json = last_line_with(out, "\"role\":\"" + role + "\"");
        if (!WIFEXITED(wst) || WEXITSTATUS(wst) != 0 || json.empty())
            err = "load " + role + " failed: " + out.substr(0, 300);
    }
};

void bm_throughput(benchmark::State &st, std::string impl, bool tls, std::string dir,
                   size_t size)
{
    for (auto _ : st) {
        Run r(impl, tls, dir, size);
        std::vector<std::string> args = {"--dir", dir, "--conns", "8", "--size",
                                         std::to_string(size)};
        if (!tls)
            args.push_back("--plain");
        r.client("client", args);
        if (!r.err.empty()) {
            st.SkipWithError(r.err.c_str());
            break;
        }
        const double secs = json_num(r.json, "seconds"), bytes = json_num(r.json, "bytes");
        const double gw_cpu = json_num(r.json, "peer_cpu");
        const double cl_cpu = json_num(r.json, "cpu_user") + json_num(r.json, "cpu_sys");
        st.SetIterationTime(secs);
        st.SetBytesProcessed(static_cast<int64_t>(bytes));
        st.SetItemsProcessed(static_cast<int64_t>(bytes / static_cast<double>(size)));
        const double gb = bytes / 1e9;
        st.counters["gw_cpu_s_per_GB"] = gb > 0 ? gw_cpu / gb : 0;
        st.counters["client_cpu_s_per_GB"] = gb > 0 ? cl_cpu / gb : 0;
        st.counters["gw_cpu_share"] = secs > 0 ? gw_cpu / secs : 0;
    }
}

void bm_handshakes(benchmark::State &st, std::string impl, bool resumed)
{
    for (auto _ : st) {
        Run r(impl, true, "up", 16384);
        r.client("handshakes", resumed ? std::vector<std::string>{"--resume"}
                                        : std::vector<std::string>{});
        if (r.err.empty() && resumed &&
            json_num(r.json, "resumed") < json_num(r.json, "handshakes") * 0.9)
            r.err = "resumption did not happen: " + r.json;
        if (!r.err.empty()) {
            st.SkipWithError(r.err.c_str());
            break;
        }
        const double secs = json_num(r.json, "seconds"), n = json_num(r.json, "handshakes");
        st.SetIterationTime(secs);
        st.SetItemsProcessed(static_cast<int64_t>(n));
        const double gw_cpu = json_num(r.json, "peer_cpu");
        st.counters["gw_cpu_ms_per_handshake"] = n > 0 ? gw_cpu * 1e3 / n : 0;
        st.counters["gw_cpu_share"] = secs > 0 ? gw_cpu / secs : 0;
    }
}

void reg(const std::string &name, benchmark::internal::Benchmark *b)
{
    b->Iterations(1)->UseManualTime()->Unit(benchmark::kMillisecond);
    note_registered(name);
}

}  // namespace

void register_gateway(const Plan &plan)
{
    static const char *const impls[] = {"zrec", "haproxy", "nginx"};
    for (size_t size : {size_t{1400}, size_t{16384}}) {
        for (const char *dir : {"up", "down"}) {
            for (const char *impl : impls) {
                for (bool tls : {true, false}) {
                    // Plain forwarding: zrec-gw's own always (the TLS cost
                    // is read against it); the others' only in --full.
                    if (!tls && plan.quick && std::strcmp(impl, "zrec") != 0)
                        continue;
                    std::string name = std::string("gw:") + impl + ":" + (tls ? "tls13" : "plain") +
                                       ":" + dir + ":" + std::to_string(size);
                    reg(name, benchmark::RegisterBenchmark(name.c_str(), bm_throughput,
                                                           std::string(impl), tls,
                                                           std::string(dir), size));
                }
            }
        }
    }
    for (const char *impl : impls) {
        if (plan.quick && std::strcmp(impl, "nginx") == 0)
            continue;
        for (bool resumed : {false, true}) {
            std::string name = std::string("gw:") + impl + ":tls13:handshakes:" +
                               (resumed ? "resumed" : "full");
            reg(name, benchmark::RegisterBenchmark(name.c_str(), bm_handshakes, std::string(impl),
                                                   resumed));
        }
    }
}

}  // namespace zb
