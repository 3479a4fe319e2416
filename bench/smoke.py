#!/usr/bin/env python3
"""bench-smoke: run zrec-bench on a handful of points with very short
measurement times into a temporary results folder, then check the output:
every expected point is in Google Benchmark's JSON under its exact name, did
not fail, and has bytes_per_second > 0 and items_per_second > 0; the table
has its rows, including the facade vs plain TCP / plain UDP ratio of the
loopback socket points (TLS over TCP, DTLS over UDP); --provider runs an
engine point on a DPDK crypto device and refuses a name that is no
provider.  Timings are not checked (the machine is shared and noisy).

usage: smoke.py PATH/TO/zrec-bench
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

EXPECTED = [
    "raw:aes128gcm:seal:64",
    "raw:chacha20poly1305:seal:256",
    "raw:aes128gcm:open:64",
    # The floor: the least a TLS 1.3 record layer does (the limit of vs raw).
    "floor:tls13:aes128gcm:seal:64",
    "floor:tls13:aes128gcm:open:64",
    "floor:dtls13:aes128gcm:seal:64",
    "floor:dtls13:aes128gcm:open:1400",
    "zrec:tls13:aes128gcm:seal:64:burst1",
    "zrec:tls13:aes128gcm:open:64:burst32",
    "zrec:dtls13:aes128gcm:open:1400:burst32",     # replay window on every record
    "zrec:dtls12:aes128ccm:open:256:burst32:mixed32",
    "zrec:tls12:chacha20poly1305:seal:256:burst32:mixed32",
    "zrec-wolfcrypt:tls13:aes128gcm:seal:64:burst1",
    "openssl:tls13:aes128gcm:writeread:64",
    "openssl:dtls12:aes128gcm:writeread:1400",
    "wolfssl:tls12:aes256gcm:writeread:64",
    "wolfssl:dtls13:aes128gcm:writeread:1400",
    # Loopback sockets: zsock TLS sockets of libzrec-zsock beside plain TCP.
    "plain:tcp:send_recv:64",
    "plain:tcp:send_recv:1400",
    "facade:tls13:send_recv:64",
    "facade:tls12:send_recv:1400",
    # DTLS sockets (one record per datagram) beside plain UDP; 16384: the
    # largest record, one 16 KB datagram.
    "plain:udp:send_recv:64",
    "plain:udp:send_recv:1400",
    "plain:udp:send_recv:16384",
    "facade:dtls13:send_recv:64",
    "facade:dtls12:send_recv:1400",
    "facade:dtls13:send_recv:16384",
    # The DTLS data plane's loop between two net_ring ports (real handshakes
    # first), beside the same loop without crypto.
    "dtls-gw:plain:aes128gcm:64:sessions256",
    "dtls-gw:dtls13:aes128gcm:64:sessions256",
]

# Socket rows whose table line must carry a positive "vs plain" ratio
# (plain TCP for tls*, plain UDP for dtls*).
RATIO_ROWS = [
    "facade:tls13:send_recv:64",
    "facade:tls12:send_recv:1400",
    "facade:dtls13:send_recv:64",
    "facade:dtls12:send_recv:1400",
    "facade:dtls13:send_recv:16384",
    "dtls-gw:dtls13:aes128gcm:64:sessions256",  # vs the plain loop
]


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    exe = sys.argv[1]
    tmp = tempfile.mkdtemp(prefix="zrec-bench-smoke-")
    try:
        # The names hold only [a-z0-9:_-]: no regex metacharacters to escape
        # (and Google Benchmark's regex rejects Python's "\\-").
        assert all(re.fullmatch(r"[a-z0-9:_-]+", n) for n in EXPECTED)
        # Points timed by hand carry Google Benchmark's "/manual_time".
        flt = "^(" + "|".join(EXPECTED) + ")(/manual_time)?$"
        cmd = [exe, "--results", tmp, "--benchmark_filter=" + flt,
               "--benchmark_min_time=0.01"]
        print("running:", " ".join(cmd), flush=True)
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, timeout=240)
        print(proc.stdout)
        fails = []
        expected = EXPECTED
        if "intel-ipsec-mb not built" in proc.stdout:
            expected = [n for n in EXPECTED if not n.startswith(("raw:", "floor:"))]
        if proc.returncode != 0:
            fails.append("zrec-bench exited with %d" % proc.returncode)
        path = os.path.join(tmp, "zrec-bench.json")
        try:
            with open(path) as f:
                doc = json.load(f)
        except (OSError, ValueError) as e:
            print("FAIL: cannot read %s: %s" % (path, e))
            return 1
        by_name = {b.get("name", "").split("/")[0]: b for b in doc.get("benchmarks", [])}
        for name in expected:
            b = by_name.get(name)
            if b is None:
                fails.append("%s: missing from the JSON" % name)
                continue
            if b.get("error_occurred"):
                fails.append("%s: error: %s" % (name, b.get("error_message")))
                continue
            for counter in ("bytes_per_second", "items_per_second"):
                v = b.get(counter)
                if not isinstance(v, (int, float)) or not v > 0:
                    fails.append("%s: %s = %r (want > 0)" % (name, counter, v))
        extra = sorted(set(by_name) - set(expected))
        if extra:
            fails.append("unexpected points: %s" % ", ".join(extra))
        table = os.path.join(tmp, "table.txt")
        if not os.path.isfile(table) or os.path.getsize(table) == 0:
            fails.append("table.txt missing or empty")
        else:
            text = open(table).read()
            if "zrec:tls13:aes128gcm:64:burst1" not in text:
                fails.append("table.txt lacks the zrec:tls13:aes128gcm:64:burst1 row")
            # The target line of 64-byte opens carries the floor's ratio.
            if expected is EXPECTED:
                line = [l for l in text.splitlines() if "tls13 64 B open burst32 vs raw" in l]
                m = re.search(r"floor (\d+\.\d+)", line[0]) if line else None
                if not m or not float(m.group(1)) > 0:
                    fails.append("table.txt: no floor ratio on the tls13 64 B open target: %r"
                                 % (line[:1],))
            # The socket rows carry the facade vs plain ratio (the column
            # after MB/s): a positive number wherever both ran.
            for name in RATIO_ROWS:
                row = [l.split() for l in text.splitlines() if l.split()[:1] == [name]]
                if not row:
                    fails.append("table.txt lacks the %s row" % name)
                    continue
                try:
                    ok = float(row[0][3]) > 0
                except (IndexError, ValueError):
                    ok = False
                if not ok:
                    fails.append("table.txt: no facade vs plain ratio in %r" % " ".join(row[0]))
        if shutil.which("gnuplot") and not os.path.isfile(os.path.join(tmp, "throughput.png")):
            fails.append("gnuplot is installed but throughput.png is missing")
        # --provider: an engine point on a DPDK crypto device, named in the
        # table's header; a name that is no provider is a usage error.
        prov = os.path.join(tmp, "provider")
        cmd = [exe, "--provider", "cryptodev:crypto_aesni_mb0", "--results", prov,
               "--benchmark_filter=^zrec:tls13:aes128gcm:seal:1400:burst32$",
               "--benchmark_min_time=0.01"]
        print("running:", " ".join(cmd), flush=True)
        p2 = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            timeout=120)
        try:
            b = json.load(open(os.path.join(prov, "zrec-bench.json")))["benchmarks"][0]
            if b.get("error_occurred") or not b.get("items_per_second", 0) > 0:
                fails.append("--provider cryptodev: %s" % b.get("error_message"))
            if "zrec provider = cryptodev:crypto_aesni_mb0" not in open(
                    os.path.join(prov, "table.txt")).read():
                fails.append("--provider: the table does not name the provider")
        except (OSError, ValueError, IndexError, KeyError) as e:
            fails.append("--provider cryptodev: no result (%s): %s" % (e, p2.stdout[-300:]))
        p3 = subprocess.run([exe, "--provider", "nonsense", "--results", prov],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            timeout=60)
        if p3.returncode != 2 or "expected ipsecmb, wolfcrypt or cryptodev:DEVICE" not in p3.stdout:
            fails.append("--provider nonsense: exit %d, %r" % (p3.returncode, p3.stdout[-200:]))
        for f in fails:
            print("FAIL:", f)
        if not fails:
            print("OK: %d points, names and counters as expected" % len(expected))
        return 1 if fails else 0
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
