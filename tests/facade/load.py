#!/usr/bin/env python3
"""zrec-server under load and attack (loopback only, bounded in count and time).

  load.py CASE TOOLDIR CERTDIR [sanitized]

  slowloris   200 TCP connections that say nothing and 20 that send a cut
              ClientHello (a record header promising 1024 bytes, then 100)
              while a real TLS 1.3 client is served within its timeout; every
              hostile connection is closed by the server once its handshake
              timeout (1.5 s) has passed.
  partial     an established TLS 1.3 connection that sends a record header
              promising 1024 bytes and delivers 100: another client is served
              meanwhile, and the partial one is closed after the idle timeout
              (2 s), never before.
  concurrent  1000 TLS 1.3 clients at once, each a 1 KB echo: every echo
              intact; the server's RSS afterwards within 64 MiB of before
              (reported, not asserted, with `sanitized`: ASan keeps freed
              memory in its quarantine).
  leaks-tls1.3, leaks-dtls1.2, leaks-dtls1.3
              a mixed run, then SIGTERM: real clients (Python ssl for TLS,
              zrec-client for DTLS), random bytes, tampered records, a
              ClientHello flood (DTLS), handshakes and sessions still open at
              the stop.  The server stops cleanly (status 0) and its leak
              checker finds nothing: LeakSanitizer in a sanitized build,
              else valgrind memcheck (definite and indirect leaks, and any
              memory error, fail).
  flood-dtls1.2, flood-dtls1.3
              a ClientHello flood at a DTLS server socket: 20000 real
              ClientHellos (a zrec-client's, caught once) from 64 source
              ports at 5000 per second, while a real zrec-client completes
              its handshake and an echo within its timeout.  Every answer to
              the flood is a cookie request (HelloVerifyRequest /
              HelloRetryRequest), never a server flight; most ClientHellos
              are answered; the server's RSS afterwards within 16 MiB of
              before (reported, not asserted, with `sanitized`).  The
              server's CPU time per ClientHello is reported.

The real clients are Python's ssl module (OpenSSL), an independent peer.
"""
import asyncio
import os
import select
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Server:
    def __init__(self, tools, certs, *extra, proto="tls1.3", wrapper=(), env=None):
        self.port = free_port()
        cmd = list(wrapper) + [os.path.join(tools, "zrec-server"), "--proto", proto, "--port",
               str(self.port), "--bind", "127.0.0.1",
               "--cert", os.path.join(certs, "server-ecc.pem"),
               "--key", os.path.join(certs, "ecc-key.pem"), "--echo"] + list(extra)
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     env=env)
        if proto.startswith("dtls"):
            # UDP: nothing to connect to; the server says when it is bound.
            ready, _, _ = select.select([self.proc.stderr], [], [], 60 if wrapper else 10)
            line = self.proc.stderr.readline() if ready else b""
            if b"serving on UDP port" not in line:
                self.stop()
                sys.exit("FAIL: zrec-server did not come up: %r" % line)
            return
        deadline = time.monotonic() + (60 if wrapper else 10)
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        sys.exit("FAIL: zrec-server did not come up")

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def client_ctx(certs):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_verify_locations(os.path.join(certs, "ca-ecc-cert.pem"))
    ctx.check_hostname = False
    return ctx


def echo_once(port, ctx, payload, timeout):
    """One TLS client: connect, send payload, read it back; the time it took."""
    t0 = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            s.sendall(payload)
            got = b""
            while len(got) < len(payload):
                chunk = s.recv(len(payload) - len(got))
                if not chunk:
                    break
                got += chunk
    if got != payload:
        sys.exit("FAIL: echo of %d bytes came back as %d bytes" % (len(payload), len(got)))
    return time.monotonic() - t0


def handshake_raw(port, ctx, timeout):
    """A TLS handshake through memory BIOs over a plain socket, which is
    returned: raw bytes can follow the handshake."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname="localhost")
    while True:
        try:
            obj.do_handshake()
            break
        except ssl.SSLWantReadError:
            raw.sendall(out.read())
            data = raw.recv(16384)
            if not data:
                sys.exit("FAIL: server closed during the handshake")
            inc.write(data)
    raw.sendall(out.read())
    return raw


def closed_by_peer(sock, wait):
    """Whether the server closes sock within `wait` seconds (what it sends
    meanwhile, e.g. TLS 1.3 tickets, is read and dropped)."""
    end = time.monotonic() + wait
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return False
        sock.settimeout(left)
        try:
            if sock.recv(4096) == b"":
                return True
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False


def case_slowloris(tools, certs):
    srv = Server(tools, certs, "--handshake-timeout", "1500", "--idle-timeout", "30000")
    try:
        hostile = []
        for _ in range(200):
            hostile.append(socket.create_connection(("127.0.0.1", srv.port), timeout=5))
        for _ in range(20):
            s = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
            # TLS record header: handshake, legacy version, length 1024; then 100 bytes.
            s.sendall(bytes([22, 3, 1, 4, 0]) + bytes([1]) + os.urandom(99))
            hostile.append(s)
        opened = time.monotonic()
        took = echo_once(srv.port, client_ctx(certs), os.urandom(1024), timeout=5)
        if took > 5:
            sys.exit("FAIL: the real client took %.2f s behind 220 hostile connections" % took)
        # All closed once the handshake timeout has passed (1.5 s; 3 s margin).
        left = [s for s in hostile
                if not closed_by_peer(s, max(0.1, opened + 4.5 - time.monotonic()))]
        if left:
            sys.exit("FAIL: %d of %d hostile connections still open after the handshake "
                     "timeout" % (len(left), len(hostile)))
        for s in hostile:
            s.close()
        print("ok slowloris: real client served in %.3f s behind 220 hostile connections, "
              "all of them closed" % took)
    finally:
        srv.stop()


def case_partial(tools, certs):
    srv = Server(tools, certs, "--idle-timeout", "2000")
    try:
        ctx = client_ctx(certs)
        raw = handshake_raw(srv.port, ctx, 5)
        # An application-data record header promising 1024 bytes, then 100.
        raw.sendall(bytes([23, 3, 3, 4, 0]) + os.urandom(100))
        started = time.monotonic()
        took = echo_once(srv.port, ctx, os.urandom(4096), timeout=5)
        if took > 2:
            sys.exit("FAIL: the other client took %.2f s beside a partial record" % took)
        if closed_by_peer(raw, max(0.1, started + 1.5 - time.monotonic())):
            sys.exit("FAIL: the partial connection was closed before its idle timeout")
        if not closed_by_peer(raw, 4):
            sys.exit("FAIL: the partial connection is still open 4 s after its idle timeout")
        raw.close()
        print("ok partial: another client served in %.3f s; the partial record's connection "
              "closed after the idle timeout, not before" % took)
    finally:
        srv.stop()


def case_concurrent(tools, certs, sanitized=False):
    srv = Server(tools, certs)
    try:
        ctx = client_ctx(certs)
        # One warm-up client, so that RSS before counts the server's set-up.
        echo_once(srv.port, ctx, b"x" * 1024, timeout=10)
        before = rss_kib(srv.proc.pid)

        async def one(i):
            r, w = await asyncio.open_connection("127.0.0.1", srv.port, ssl=ctx,
                                                  server_hostname="localhost")
            payload = (b"%04d" % i) * 256
            w.write(payload)
            await w.drain()
            got = await r.readexactly(len(payload))
            w.close()
            await w.wait_closed()
            return got == payload

        async def all_of_them():
            return await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(1000)),
                                                         return_exceptions=True), 120)

        t0 = time.monotonic()
        results = asyncio.run(all_of_them())
        took = time.monotonic() - t0
        bad = [r for r in results if r is not True]
        if bad:
            sys.exit("FAIL: %d of 1000 echoes failed, e.g. %r" % (len(bad), bad[0]))
        time.sleep(0.5)  # the server's threads close their sockets
        after = rss_kib(srv.proc.pid)
        if after - before > 64 * 1024 and not sanitized:
            sys.exit("FAIL: RSS grew from %d to %d KiB over 1000 clients" % (before, after))
        print("ok concurrent: 1000 TLS 1.3 echoes intact in %.2f s; RSS %d -> %d KiB"
              % (took, before, after))
    finally:
        srv.stop()


HRR_RANDOM = bytes.fromhex("cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c")


def is_cookie_request(b):
    """HelloVerifyRequest, or a ServerHello with the HelloRetryRequest's Random."""
    if len(b) < 25 + 34 or b[0] != 22:
        return False
    return b[13] == 3 or (b[13] == 2 and b[27:59] == HRR_RANDOM)


def catch_hello(tools, proto):
    """A real ClientHello: zrec-client's first datagram, caught on a UDP socket."""
    catcher = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    catcher.bind(("127.0.0.1", 0))
    catcher.settimeout(10)
    cli = subprocess.Popen([os.path.join(tools, "zrec-client"), "--proto", proto, "--host",
                            "127.0.0.1", "--port", str(catcher.getsockname()[1]), "--insecure"],
                           stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    try:
        hello = catcher.recv(4096)
    finally:
        cli.kill()
        cli.wait()
        catcher.close()
    if len(hello) < 25 or hello[0] != 22 or hello[13] != 1:
        sys.exit("FAIL: zrec-client's first datagram is no ClientHello")
    return hello


def dtls_echo(tools, certs, proto, port, payload, timeout):
    """A real DTLS client (zrec-client): handshake, one datagram echoed; the
    time it took, or exits with FAIL."""
    t0 = time.monotonic()
    try:
        p = subprocess.run([os.path.join(tools, "zrec-client"), "--proto", proto, "--host",
                            "127.0.0.1", "--port", str(port), "--ca",
                            os.path.join(certs, "ca-ecc-cert.pem"), "--sni", "localhost",
                            "--idle-timeout", "2000"],
                           input=payload, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        sys.exit("FAIL: the real DTLS client did not finish within %d s" % timeout)
    if p.returncode != 0 or p.stdout != payload:
        sys.exit("FAIL: the real DTLS client: status %d, %r back for %r; %s"
                 % (p.returncode, p.stdout[:80], payload, p.stderr.decode(errors="replace")))
    return time.monotonic() - t0


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def drain_answers(socks):
    """What the server sent the attackers so far: (cookie requests, others)."""
    answers = others = 0
    for a in socks:
        while True:
            try:
                b = a.recv(4096)
            except BlockingIOError:
                break
            if is_cookie_request(b):
                answers += 1
            else:
                others += 1
    return answers, others


def case_flood(tools, certs, proto, sanitized=False):
    hello = catch_hello(tools, proto)
    srv = Server(tools, certs, proto=proto)
    try:
        # Warm-up: the server's set-up and one session are in RSS before.
        dtls_echo(tools, certs, proto, srv.port, b"warm-up\n", 20)
        before, cpu0 = rss_kib(srv.proc.pid), cpu_seconds(srv.proc.pid)
        attackers = []
        for _ in range(64):
            a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            a.bind(("127.0.0.1", 0))
            a.setblocking(False)
            attackers.append(a)
        total, rate, batch = 20000, 5000, 50
        result = {}
        real = threading.Thread(target=lambda: result.update(
            took=dtls_echo(tools, certs, proto, srv.port, b"served during the flood\n", 20)))
        sent = answered = flights = 0
        t0 = time.monotonic()
        while sent < total:
            for i in range(batch):
                attackers[(sent + i) % 64].sendto(hello, ("127.0.0.1", srv.port))
            sent += batch
            if sent == 2500:
                real.start()  # half a second into the flood
            a, f = drain_answers(attackers)
            answered, flights = answered + a, flights + f
            # Pace to `rate` per second (bounded: the loop ends after `total`).
            ahead = t0 + sent / rate - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)
        flood_s = time.monotonic() - t0
        time.sleep(0.3)
        a, f = drain_answers(attackers)
        answered, flights = answered + a, flights + f
        for a in attackers:
            a.close()
        real.join(30)
        if "took" not in result:
            sys.exit("FAIL: the real client did not complete during the flood")
        cpu = cpu_seconds(srv.proc.pid) - cpu0
        after = rss_kib(srv.proc.pid)
        if flights:
            sys.exit("FAIL: %d answers to the flood were not cookie requests" % flights)
        if answered < total // 2:
            sys.exit("FAIL: only %d of %d ClientHellos answered" % (answered, total))
        if after - before > 16 * 1024 and not sanitized:
            sys.exit("FAIL: RSS grew from %d to %d KiB over the flood" % (before, after))
        print("ok %s flood: %d ClientHellos in %.1f s (%.0f/s), %d answered, all with a "
              "cookie request; real client done in %.3f s (its 2 s idle wait included); server CPU %.1f us per "
              "ClientHello (the real client's handshake included); RSS %d -> %d KiB"
              % (proto, sent, flood_s, sent / flood_s, answered, result["took"],
                 cpu / sent * 1e6, before, after))
    finally:
        srv.stop()


def tampered_session(port, ctx):
    """A TLS 1.3 session that, after its handshake, sends an application-data
    record of random bytes (fails authentication): the server alerts and
    closes.  Returns the raw socket (closed by the server)."""
    raw = handshake_raw(port, ctx, 30)
    raw.sendall(bytes([23, 3, 3, 0, 64]) + os.urandom(64))
    return raw


def case_leaks(tools, certs, proto, sanitized):
    """A mixed run under a leak checker, then a clean stop."""
    if sanitized:
        wrapper = ()
        env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:abort_on_error=0",
                   LSAN_OPTIONS="exitcode=23")
    else:
        wrapper = ("valgrind", "-q", "--leak-check=full",
                   "--show-leak-kinds=definite,indirect",
                   "--errors-for-leak-kinds=definite,indirect", "--error-exitcode=99")
        env = None
    srv = Server(tools, certs, proto=proto, wrapper=wrapper, env=env)
    held = []
    try:
        if proto.startswith("tls"):
            ctx = client_ctx(certs)
            for i in range(20):
                echo_once(srv.port, ctx, os.urandom(100 + 700 * i), timeout=60)
            for _ in range(10):  # random bytes instead of a ClientHello
                s = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
                s.sendall(os.urandom(300))
                closed_by_peer(s, 30)
                s.close()
            for _ in range(5):
                t = tampered_session(srv.port, ctx)
                closed_by_peer(t, 30)
                t.close()
            # Open at the stop: silent connections (handshakes waiting) and
            # established sessions.
            for _ in range(5):
                held.append(socket.create_connection(("127.0.0.1", srv.port), timeout=30))
            for _ in range(3):
                raw = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
                held.append(ctx.wrap_socket(raw, server_hostname="localhost"))
            what = "20 echoes, 10 random-byte connections, 5 tampered records, 8 connections open"
        else:
            for i in range(10):
                dtls_echo(tools, certs, proto, srv.port, b"leak check %d\n" % i, 120)
            hello = catch_hello(tools, proto)
            flood = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            for i in range(2000):
                flood.sendto(hello, ("127.0.0.1", srv.port))
                if i % 100 == 0:
                    time.sleep(0.01)
            for _ in range(200):
                flood.sendto(os.urandom(100), ("127.0.0.1", srv.port))
            flood.close()
            # A session open at the stop (its stdin stays open).
            cli = subprocess.Popen([os.path.join(tools, "zrec-client"), "--proto", proto,
                                    "--host", "127.0.0.1", "--port", str(srv.port),
                                    "--ca", os.path.join(certs, "ca-ecc-cert.pem"),
                                    "--sni", "localhost"],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   stderr=subprocess.DEVNULL)
            cli.stdin.write(b"still here\n")
            cli.stdin.flush()
            if cli.stdout.readline() != b"still here\n":
                sys.exit("FAIL: the held DTLS session did not echo")
            held.append(cli)
            what = ("10 echoes, 2000 ClientHellos, 200 garbage datagrams, "
                    "1 session open")
        time.sleep(0.5)
        srv.proc.send_signal(signal.SIGTERM)
        try:
            rc = srv.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            srv.proc.kill()
            sys.exit("FAIL: zrec-server did not stop within 60 s of SIGTERM")
        err = srv.proc.stderr.read().decode(errors="replace")
        checker = "LeakSanitizer" if sanitized else "valgrind"
        if rc != 0 or "LeakSanitizer" in err or "ERROR: AddressSanitizer" in err or \
                "definitely lost" in err or "Invalid " in err:
            sys.exit("FAIL: zrec-server under %s: status %d\n%s" % (checker, rc, err[-6000:]))
        print("ok %s leaks: %s; stopped by SIGTERM with status 0, %s clean"
              % (proto, what, checker))
    finally:
        for h in held:
            if isinstance(h, subprocess.Popen):
                h.kill()
                h.wait()
            else:
                h.close()
        if srv.proc.poll() is None:
            srv.stop()


def main():
    if len(sys.argv) not in (4, 5) or (len(sys.argv) == 5 and sys.argv[4] != "sanitized"):
        sys.exit(__doc__)
    case, tools, certs = sys.argv[1:4]
    if case == "concurrent":
        case_concurrent(tools, certs, sanitized=len(sys.argv) == 5)
    elif case.startswith("leaks-"):
        case_leaks(tools, certs, case[len("leaks-"):], sanitized=len(sys.argv) == 5)
    elif case in ("flood-dtls1.2", "flood-dtls1.3"):
        case_flood(tools, certs, case[len("flood-"):], sanitized=len(sys.argv) == 5)
    else:
        {"slowloris": case_slowloris, "partial": case_partial}[case](tools, certs)


if __name__ == "__main__":
    main()
