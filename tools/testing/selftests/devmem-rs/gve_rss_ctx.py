#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Additional RSS contexts of the GVE-style driver (`ethtool -X dev context
new`, `ethtool -N ... context N`), on the emulated port pair.

Port B (receiver, 6 queues) keeps the main context on queues 0-1; context
1 spreads over queues 2-3 with a key of its own, context 2 over 4-5 with
the main key; an ntuple rule sends each of two destination ports to one
context. Each TCP connection (its own source port, 128 KiB, every byte
verified) must land entirely on the queue that the device's Toeplitz hash
with that context's key picks from that context's table (computed here),
and no other queue may see it. Then: bad requests refused with their
errno, queues in use by a context cannot be turned off, deleting a context
deletes the rules steering to it (traffic then follows the main context).
"""

import os
import random
import re
import subprocess
import sys

from devmem_rs import (HERE, ethtool, ksft_eq, ksft_exit, ksft_ge, ksft_run, ksft_true,
                       skip_without_ports, split_pair, timed, unsplit_pair)

NSA, NSB = "rc-a", "rc-b"
IPA, IPB = "198.51.100.81", "198.51.100.82"
PORTS = (5311, 5312)
BYTES = 128 << 10
RSS_INDIR_LEN = 128
MAIN_KEY = bytes.fromhex("6d5a56da255b0ec24167253d43a38fb0d0ca2bcbae7b30b477cb2da38030f20c"
                         "6a42b73bbeac01fa")

skip_without_ports()
ETH = ethtool()
if not ETH:
    print("1..0 # SKIP no ethtool >= 6.7 (make setup)")
    sys.exit(4)


class Env:
    a = b = None
    ctx = {}


ENV = Env()


def eth(*args, ns=NSB, check=True):
    """ethtool in namespace NS; CompletedProcess."""
    r = subprocess.run(["ip", "netns", "exec", ns, ETH, *args], capture_output=True, text=True,
                       check=False)
    if check and r.returncode != 0:
        raise AssertionError(f"ethtool {' '.join(args)}: {r.stderr.strip()}")
    return r


def rx_packets():
    """Port B's rx wire packets per queue (ethtool -S): the packets the
    driver handed the stack, each one the device coalesced (hardware GRO,
    on by default) counted as its segments."""
    out = eth("-S", ENV.b).stdout

    def per_queue(name):
        return {int(q): int(v) for q, v in re.findall(rf"rx(\d+)_{name}: (\d+)", out)}
    pkts, gro, segs = per_queue("packets"), per_queue("gro_hw_packets"), per_queue("gro_hw_segments")
    return {q: n - gro.get(q, 0) + segs.get(q, 0) for q, n in pkts.items()}


def rss(ctx=0):
    """(key bytes, table) of context CTX (ethtool -x, JSON)."""
    import json  # pylint: disable=import-outside-toplevel
    d = json.loads(eth("--json", "-x", ENV.b, "context", str(ctx)).stdout)[0]
    return bytes(d["rss-hash-key"]), d["rss-indirection-table"]


def toeplitz(key, data):
    """The Toeplitz hash of DATA with KEY (Microsoft's RSS definition)."""
    k, klen, h = int.from_bytes(key, "big"), len(key) * 8, 0
    for i, byte in enumerate(data):
        for bit in range(8):
            if byte & (0x80 >> bit):
                h ^= (k >> (klen - 32 - (i * 8 + bit))) & 0xffffffff
    return h


def queue_of(key, table, sport, dport):
    data = (bytes(map(int, IPA.split("."))) + bytes(map(int, IPB.split("."))) +
            sport.to_bytes(2, "big") + dport.to_bytes(2, "big"))
    return table[toeplitz(key, data) % RSS_INDIR_LEN]


CLIENT = r"""
import socket, sys, time
sys.path.insert(0, sys.argv[1])
from tcp_pattern import BLOCK
addr, port, sport, total = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
for _ in range(100):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", sport))
    try:
        s.connect((addr, port))
        break
    except ConnectionRefusedError:
        # The server is not listening yet (a loaded guest).
        s.close()
        time.sleep(0.2)
sent = 0
while sent < total:
    n = min(len(BLOCK) - sent % len(BLOCK), total - sent)
    s.sendall(BLOCK[sent % len(BLOCK):sent % len(BLOCK) + n])
    sent += n
s.close()
"""


def stream(dport, sport):
    """One verified 128 KiB connection from A:SPORT to B:DPORT; per-queue rx
    packet deltas on port B."""
    before = rx_packets()
    srv = subprocess.Popen(["ip", "netns", "exec", NSB, sys.executable,
                            f"{HERE}/tcp_pattern.py", "server", IPB, str(dport), str(BYTES)])
    try:
        subprocess.run(f"ip netns exec {NSA} {sys.executable} -c '{CLIENT}' {HERE} {IPB} "
                       f"{dport} {sport} {BYTES}", shell=True, check=True)
        ksft_eq(srv.wait(timeout=120), 0, "the server verified every byte")
    finally:
        if srv.poll() is None:
            srv.kill()
            srv.wait()
    after = rx_packets()
    return {q: after[q] - before.get(q, 0) for q in after}


def pick_sports(key, table, dport, queues, n=6):
    """N source ports whose flows the context's key and table spread over
    QUEUES (each queue at least twice), at least two of which the main
    key would send elsewhere when the context has a key of its own."""
    chosen, per_q, differ = [], {q: 0 for q in queues}, 0
    for sport in range(40000, 60000):
        q = queue_of(key, table, sport, dport)
        other = queue_of(MAIN_KEY, table, sport, dport) != q
        want = per_q[q] < n // len(queues) and (key == MAIN_KEY or other or differ >= 2)
        if want:
            chosen.append((sport, q))
            per_q[q] += 1
            differ += other
        if len(chosen) == n:
            return chosen
    raise AssertionError("no source ports found")


def set_up():
    ENV.a, ENV.b = split_pair(NSA, NSB, IPA, IPB)
    eth("-L", ENV.b, "combined", "6")
    eth("-K", ENV.b, "ntuple", "on")
    # The main context: queues 0-1, the default key (whatever a test
    # before left behind: gve_ethtool.sh sets a key of its own).
    eth("-X", ENV.b, "equal", "2", "hkey", ":".join(f"{b:02x}" for b in MAIN_KEY))


def ctx_new(*args):
    out = eth("-X", ENV.b, "context", "new", *args).stdout
    m = re.search(r"New RSS context is (\d+)", out)
    ksft_true(m is not None, f"context created: {out!r}")
    return int(m.group(1))


def steers_to(shown, ctx):
    """Whether ethtool -n output SHOWN has a rule to RSS context CTX."""
    return re.search(rf"Direct to RSS Context {ctx}$", shown, re.M) is not None


def rule(dport, ctx):
    out = eth("-N", ENV.b, "flow-type", "tcp4", "dst-port", str(dport), "context",
              str(ctx)).stdout
    return int(out.split()[-1])


@timed
def create():
    """Two contexts: their tables and keys as asked."""
    key1 = bytes(random.Random(7).randrange(256) for _ in range(40))
    c1 = ctx_new("start", "2", "equal", "2", "hkey", ":".join(f"{b:02x}" for b in key1))
    c2 = ctx_new("start", "4", "equal", "2")
    ENV.ctx = {c1: (key1, PORTS[0], (2, 3)), c2: (MAIN_KEY, PORTS[1], (4, 5))}
    for c, (key, _, queues) in ENV.ctx.items():
        k, t = rss(c)
        ksft_eq(k, key, f"context {c} key")
        ksft_eq(set(t), set(queues), f"context {c} table")
    # The main context is untouched.
    k, t = rss(0)
    ksft_eq((k, set(t)), (MAIN_KEY, {0, 1}))


@timed
def steer():
    """Each connection lands on the queue the context's key and table pick."""
    for c, (key, dport, queues) in ENV.ctx.items():
        loc = rule(dport, c)
        shown = eth("-n", ENV.b, "rule", str(loc)).stdout
        ksft_true(steers_to(shown, c), f"rule {loc} shows context {c}: {shown}")
        _, table = rss(c)
        for sport, q in pick_sports(key, table, dport, queues):
            d = stream(dport, sport)
            ksft_ge(d[q], BYTES // 1448, f"ctx {c} sport {sport}: packets on queue {q}: {d}")
            # Nothing else on the context's or other queues (queue 0 may
            # see a stray neighbour discovery frame).
            stray = {x: v for x, v in d.items() if x not in (q, 0) and v}
            ksft_eq(stray, {}, f"ctx {c} sport {sport}: packets on other queues: {d}")
            ksft_true(d.get(0, 0) <= 3, f"ctx {c} sport {sport}: queue 0: {d}")
        print(f"# context {c}: every connection on its predicted queue of {queues}")


@timed
def refused():
    """Bad requests fail with their errno; queues in use stay on."""
    r = eth("-N", ENV.b, "flow-type", "tcp4", "dst-port", "5399", "context", "14", check=False)
    ksft_true(r.returncode != 0 and "No such file" in r.stderr,
              f"rule to a missing context: ENOENT ({r.stderr.strip()})")
    r = eth("-X", ENV.b, "context", "14", "equal", "2", check=False)
    ksft_true(r.returncode != 0 and "No such file" in r.stderr,
              f"change of a missing context: ENOENT ({r.stderr.strip()})")
    r = eth("-X", ENV.b, "context", "new", "hfunc", "xor", check=False)
    ksft_true(r.returncode != 0 and "not supported" in r.stderr,
              f"XOR hash: EOPNOTSUPP ({r.stderr.strip()})")
    r = eth("-X", ENV.b, "context", "new", "start", "4", "equal", "4", check=False)
    ksft_true(r.returncode != 0 and "Invalid argument" in r.stderr,
              f"table naming queues not in use: EINVAL ({r.stderr.strip()})")
    # Queues 4-5 belong to context 2: -L 4 refused (the core asks the
    # contexts' tables), -L 8 fine and the tables stay.
    r = eth("-L", ENV.b, "combined", "4", check=False)
    ksft_true(r.returncode != 0, f"-L 4 with a context on queue 5: refused ({r.stderr.strip()})")
    eth("-L", ENV.b, "combined", "8")
    for c, (_, _, queues) in ENV.ctx.items():
        ksft_eq(set(rss(c)[1]), set(queues), f"context {c} kept its table")
    eth("-L", ENV.b, "combined", "6")
    # The device has 15 additional contexts: the 16th is refused.
    made = []
    while True:
        r = eth("-X", ENV.b, "context", "new", check=False)
        if r.returncode != 0:
            break
        made.append(int(r.stdout.split()[-1]))
        if len(made) > 20:
            break
    ksft_eq(len(made) + len(ENV.ctx), 15, f"contexts the device holds (new ones: {made})")
    for c in made:
        eth("-X", ENV.b, "context", str(c), "delete")


@timed
def delete():
    """Deleting a context deletes its rules; the flow then follows the main
    context (queues 0-1)."""
    c1 = next(iter(ENV.ctx))
    _, dport, _ = ENV.ctx[c1]
    before = eth("-n", ENV.b).stdout
    ksft_true(steers_to(before, c1), "rule present before")
    eth("-X", ENV.b, "context", str(c1), "delete")
    after = eth("-n", ENV.b).stdout
    ksft_true(not steers_to(after, c1), f"rule gone with the context: {after}")
    r = eth("-x", ENV.b, "context", str(c1), check=False)
    ksft_true(r.returncode != 0, "the context is gone")
    d = stream(dport, 61000)
    ksft_ge(d[0] + d[1], BYTES // 1448, f"main context's queues: {d}")
    ksft_eq(sum(v for q, v in d.items() if q >= 2), 0, f"no context queue: {d}")
    # The other context still steers.
    c2 = list(ENV.ctx)[1]
    ksft_true(steers_to(after, c2), "the other context's rule stays")
    eth("-X", ENV.b, "context", str(c2), "delete")
    ksft_true("RSS Context" not in eth("-n", ENV.b).stdout, "no context rule left")


def main():
    try:
        set_up()
        ksft_run([create, steer, refused, delete])
    finally:
        if ENV.b:
            for c in ENV.ctx:
                eth("-X", ENV.b, "context", str(c), "delete", check=False)
            eth("-L", ENV.b, "combined", "4", check=False)
        unsplit_pair(NSA, NSB, ENV.b)
    ksft_exit()


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
