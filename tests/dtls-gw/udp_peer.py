"""UDP peers for tests/dtls-gw/dtls_gw.sh, run inside its network namespace.

  udp_peer.py backend IP PORT            echo each datagram back, prefixed b"echo:"
  udp_peer.py clients IP PORT N COUNT    N client sockets, COUNT datagrams each
                                         (1..1400 random bytes); every answer must
                                         be b"echo:" + what was sent
"""
import os
import random
import socket
import sys
import time


def backend(ip, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((ip, port))
    s.settimeout(60)
    while True:
        data, peer = s.recvfrom(65535)
        s.sendto(b"echo:" + data, peer)


def clients(ip, port, n, count):
    rng = random.Random(int.from_bytes(os.urandom(8), "little"))
    socks = []
    for _ in range(n):
        c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        c.settimeout(1.0)
        socks.append(c)
    # The gateway learns the backend's address by ARP first: the first
    # datagram may be dropped; retried for at most 10 s.
    deadline = time.time() + 10
    first = socks[0]
    while True:
        first.sendto(b"hello", (ip, port))
        try:
            if first.recv(65535) == b"echo:hello":
                break
        except socket.timeout:
            pass
        if time.time() > deadline:
            sys.exit("no answer through the gateway in 10 s")
    sent = ok = 0
    for r in range(count):
        for i, c in enumerate(socks):
            msg = os.urandom(rng.randint(1, 1400))
            for attempt in range(3):
                c.sendto(msg, (ip, port))
                sent += 1
                try:
                    got = c.recv(65535)
                except socket.timeout:
                    continue
                if got != b"echo:" + msg:
                    sys.exit(f"client {i}, datagram {r}: {len(got)} bytes back, not the echo")
                ok += 1
                break
            else:
                sys.exit(f"client {i}, datagram {r}: no answer in 3 tries")
    print(f"{ok} datagrams echoed intact ({sent} sent) by {n} clients")


if __name__ == "__main__":
    if sys.argv[1] == "backend":
        backend(sys.argv[2], int(sys.argv[3]))
    else:
        clients(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
