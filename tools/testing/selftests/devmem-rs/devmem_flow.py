#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""bind-rx of the devmem family with `flow`: the core steers the flow to
the bound queue and takes the queue out of RSS, and undoes both.

Over an emulated port pair (A sends from namespace dmfl-a, B receives in
dmfl-b, 4 channels, IPv4 and IPv6), the only configuration the test does
is header split on B (tcp-data-split, which every devmem receive needs)
and, if a test before left them off, ntuple filters on (the driver's
default); it never runs an ethtool command that steers (-N, -X) but in
user_changed_table, which is about such a command. It reads B's RSS table
(`ethtool -x`) and rules (`ethtool -n`) to check what the core did.

- steer_ipv4: bind 16 MiB to queue 2 with flow {4, tcp, B's address, port
  5601}: binding-get reports the flow and its rule location; `ethtool -n`
  lists that rule (to queue 2), `ethtool -x` no longer names queue 2, the
  rest of the table is unchanged; a stream to the flow lands in the
  dma-buf (every SCM_DEVMEM_DMABUF of this binding, bytes checked, no
  readable skb); 16 plain connections to another port are received intact
  on a plain socket and queue 2's packet count (qstats) does not move.
  Unbind: no rule, the original table.
- steer_ipv6_src: the same for an IPv6 flow with a source address and
  port: the rule matches them (`ethtool -n`), a stream from that source
  port lands in the dma-buf. Socket closed: no rule, the original table.
- killed_owner: a process binding with a flow is killed (SIGKILL): its
  rule goes and the table comes back.
- user_changed_table: while bound, the user sets the table (`ethtool -X
  equal 2`): unbind deletes the rule and leaves the user's table.
- bad_flows: each bad flow gets its errno and an extack message, leaving
  no binding, no rule and the table as it was: two queues, family 5 and
  7, proto udp, addresses of the wrong length (policy and family), no
  dst-port, dst-port 0, queue out of range, ntuple off (the driver's
  EOPNOTSUPP), a single channel (the queue is all of RSS: EINVAL).

Needs the Rust core (with the C core bind-rx answers EOPNOTSUPP: skipped),
KSRC, and ethtool >= 6.7 (DEVMEM_CACHE) for tcp-data-split.
"""

import mmap
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import time

from devmem_rs import (HERE, KsftSkipEx, LazyEnv, ethtool, ksft_eq, ksft_exit, ksft_in, ksft_run,
                       ksft_true, skip_without_ports, split_pair, timed, udmabuf, unsplit_pair)
from devmem_family import family, nl_errno
from devmem_sockopt import SCM_DEVMEM_DMABUF, Stream, netns
from devmem_teardown import ifindex, nsexec

NSA, NSB = "dmfl-a", "dmfl-b"
IPA, IPB = "198.18.20.1", "198.18.20.2"
IP6A, IP6B = "2001:db8:20::1", "2001:db8:20::2"
QUEUE, PORT, PORT6, PLAIN = 2, 5601, 5602, 5699
SPORT6 = 41234
DMABUF = 16 << 20
STREAM = 1 << 20
GONE_WAIT = 30
EPERM, ENOENT, EINVAL, ERANGE, EOPNOTSUPP = 1, 2, 22, 34, 95


def et(*args, check=True):
    """ethtool in B; its stdout."""
    return nsexec(NSB, ethtool(), *args, check=check, capture_output=True, text=True).stdout


def rss_table(dev):
    """B's RSS indirection table, as `ethtool -x` prints it."""
    table = []
    for line in et("-x", dev).splitlines():
        m = re.match(r"\s*\d+:\s+([\d\s]+)$", line)
        if m:
            table += [int(x) for x in m.group(1).split()]
    return table


def rules(dev):
    """B's ntuple rules: {location: text of the rule}."""
    out, found, cur = et("-n", dev), {}, None
    for line in out.splitlines():
        m = re.match(r"\s*Filter:\s+(\d+)", line)
        if m:
            cur = int(m.group(1))
            found[cur] = ""
        elif cur is not None:
            found[cur] += " ".join(line.split()) + "; "
    return found


class Env(LazyEnv):
    """Pair 0 split into NSA/NSB; made by the first case, undone by close()."""

    def __init__(self):
        super().__init__()
        self.a = self.b = None
        self.keep = []

    def setup(self):
        self.a, self.b = split_pair(NSA, NSB, IPA, IPB, IP6A, IP6B)
        et("-L", self.b, "combined", "4")
        et("-G", self.b, "tcp-data-split", "on")
        # ntuple filters are on by default; a test before may have left
        # them off (which the core reports: see bad_flows).
        if "ntuple-filters: on" not in et("-k", self.b):
            print("# ntuple filters were off (left so by another test): turned on")
            et("-K", self.b, "ntuple", "on")
        self.ifindex = ifindex(NSB, self.b)
        with netns(NSB):
            self.nl = family("netdev")
            self.obs = family("devmem")
        self.keep += [self.nl, self.obs]
        self.table = rss_table(self.b)
        print(f"# B {self.b} (ifindex {self.ifindex}): RSS table {self.table}, "
              f"rules {rules(self.b)}")
        if QUEUE not in self.table:
            raise AssertionError(f"queue {QUEUE} not in the default RSS table")

    def devmem(self):
        with netns(NSB):
            fam = family("devmem")
        fam.sock.bind((0, 0))
        self.keep.append(fam)
        return fam

    def bind(self, fam, flow, queues=(QUEUE,), fd=None, size=DMABUF):
        own = fd is None
        if own:
            fd = udmabuf(size)
        try:
            return fam.bind_rx({"ifindex": self.ifindex, "fd": fd,
                                "queues": [{"id": q} for q in queues], "flow": flow})["id"]
        finally:
            if own:
                os.close(fd)

    def queue_packets(self, q):
        for s in self.nl.qstats_get({"ifindex": self.ifindex, "scope": "queue"}, dump=True):
            if s.get("queue-type") == "rx" and s.get("queue-id") == q:
                return s.get("rx-packets", 0)
        return 0

    def known(self, ident):
        err, _ = nl_errno(self.obs.binding_get, {"id": ident})
        return err == 0

    def wait_undone(self, ident, what):
        """Waits until binding IDENT is gone, B has no rule and its
        original table; checks it."""
        end = time.monotonic() + GONE_WAIT
        while time.monotonic() < end:
            if not self.known(ident) and not rules(self.b) and rss_table(self.b) == self.table:
                break
            time.sleep(0.5)
        ksft_eq(self.known(ident), False, comment=f"{what}: binding {ident} gone")
        ksft_eq(rules(self.b), {}, comment=f"{what}: no ntuple rule left")
        ksft_eq(rss_table(self.b), self.table, comment=f"{what}: the original RSS table")

    def close(self):
        for obj in self.keep:
            try:
                obj.sock.close()
            except Exception:  # pylint: disable=broad-except
                pass
        return unsplit_pair(NSA, NSB, self.b)


ENV = Env()


def rust_core():
    env = ENV.get()
    impl = env.obs.caps_get({}).get("implementation")
    if impl != "rust":
        raise KsftSkipEx(f"the {impl} core serves bindings (flow steering is the Rust core's)")
    return env


def flow4(port=PORT, **kw):
    f = {"family": 4, "proto": 6, "dst-addr": socket.inet_aton(IPB).hex(), "dst-port": port}
    f.update(kw)
    return f


class Bound:
    def __init__(self, fd, mm, ident, srv):
        self.fd, self.mm, self.id, self.srv = fd, mm, ident, srv


class FlowStream(Stream):
    """devmem_sockopt.py's Stream from a tcp_pattern.py sender in NSA to
    ADDR:PORT (from source port SPORT if given)."""

    def __init__(self, bound, nbytes, addr, port, sport=None):  # pylint: disable=super-init-not-called
        self.main = bound
        cmd = ["ip", "netns", "exec", NSA, sys.executable, f"{HERE}/tcp_pattern.py",
               "client", addr, str(port), str(nbytes)]
        env = dict(os.environ)
        if sport:
            env["TCP_PATTERN_SPORT"] = str(sport)
        self.proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        self.sock, self.peer = bound.srv.accept()
        self.sock.settimeout(60)
        self.got = self.frags = self.linear = self.readable = 0
        self.held = []
        self.problems = []
        self.ids = set()

    def account(self, buf, n, anc, mflags):
        for level, ctype, data in anc:
            if level == socket.SOL_SOCKET and ctype == SCM_DEVMEM_DMABUF and len(data) >= 20:
                self.ids.add(struct.unpack_from("I", data, 16)[0])
        return super().account(buf, n, anc, mflags)


def listener(addr, port):
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    with netns(NSB):
        srv = socket.socket(fam, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((addr, port))
    srv.listen(8)
    srv.settimeout(60)
    return srv


def stream_into(env, ident, fd, mm, addr, port, sport=None):
    """A devmem stream to ADDR:PORT lands in binding IDENT; binding-get
    counts its tokens while they are held and the bytes received."""
    srv = listener(addr, port)
    s = FlowStream(Bound(fd, mm, ident, srv), STREAM, addr, port, sport)
    try:
        t0 = time.monotonic()
        before = env.obs.binding_get({"id": ident})
        s.read(STREAM // 2, hold=True)
        # What `ynl --dump binding-get` shows in the middle of the stream.
        print(f"# binding-get dump mid-stream: {env.obs.binding_get({}, dump=True)}")
        s.read(STREAM - s.got, hold=True)
        info = env.obs.binding_get({"id": ident})
        print(f"# holding {len(s.held)} tokens of {s.got - s.linear} dma-buf bytes: binding-get "
              f"tokens-held {info.get('tokens-held')}, bytes-received "
              f"{info.get('bytes-received')} (was {before.get('bytes-received')})")
        ksft_eq((info.get("tokens-held"), info.get("bytes-received")),
                (len(s.held), before.get("bytes-received") + s.got - s.linear),
                comment="binding-get tokens-held and bytes-received, tokens held")
        s.give(s.held)
        s.held = []
        ksft_eq(env.obs.binding_get({"id": ident}).get("tokens-held"), 0,
                comment="tokens-held 0 once given back")
        print(f"# {s.got} bytes from {s.peer} in {time.monotonic() - t0:.1f} s: {s.frags} "
              f"frags, {s.linear} linear, {s.readable} readable; dmabuf ids {sorted(s.ids)}")
        ksft_eq(s.problems, [], comment="cmsg layout and bytes")
        ksft_true(s.frags > 0, comment="payload in the dma-buf")
        ksft_eq(s.ids, {ident}, comment="every SCM_DEVMEM_DMABUF is of this binding")
        ksft_eq(s.readable, 0, comment="no readable skb: the flow went to the bound queue")
        if sport:
            ksft_eq(s.peer[1], sport, comment="the sender's source port")
        ksft_eq(s.proc.wait(timeout=60), 0, comment="sender")
    finally:
        s.close()
        srv.close()


def plain_streams(env, n=16, nbytes=32 << 10):
    """N plain connections to PLAIN, read on plain sockets: all intact, and
    the bound queue receives none of their packets."""
    srv = listener(IPB, PLAIN)
    before = env.queue_packets(QUEUE)
    bad = []
    try:
        for _ in range(n):
            p = subprocess.Popen(["ip", "netns", "exec", NSA, sys.executable,
                                  f"{HERE}/tcp_pattern.py", "client", IPB, str(PLAIN),
                                  str(nbytes)], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
            c, _ = srv.accept()
            c.settimeout(30)
            got = bytearray()
            try:
                while len(got) < nbytes:
                    chunk = c.recv(1 << 16)
                    if not chunk:
                        break
                    got += chunk
            except OSError as e:
                bad.append(f"recv: {e}")
            c.close()
            if p.wait(timeout=60) != 0 or len(got) != nbytes:
                bad.append(f"{len(got)} of {nbytes} bytes, sender {p.returncode}")
    finally:
        srv.close()
    after = env.queue_packets(QUEUE)
    print(f"# {n} plain connections; queue {QUEUE} rx packets {before} -> {after}")
    ksft_eq(bad, [], comment="plain connections intact")
    ksft_eq(after, before, comment=f"no packet of RSS traffic on queue {QUEUE}")


def steer_ipv4():
    env = rust_core()
    fam = env.devmem()
    fd = udmabuf(DMABUF)
    mm = mmap.mmap(fd, DMABUF, mmap.MAP_SHARED, mmap.PROT_READ)
    try:
        ident = env.bind(fam, flow4(), fd=fd)
        info = fam.binding_get({"id": ident})
        print(f"# binding-get: {info}")
        flow = info.get("flow", {})
        ksft_eq((flow.get("family"), flow.get("proto"), flow.get("dst-addr"),
                 flow.get("dst-port")), (4, 6, IPB, PORT), comment="binding-get flow")
        ksft_true("src-addr" not in flow and "src-port" not in flow,
                  comment="no source in the flow")
        found = rules(env.b)
        print(f"# rules: {found}")
        loc = flow.get("location")
        ksft_eq(list(found), [loc], comment="one ntuple rule, at the location reported")
        text = found.get(loc, "")
        for want in ("TCP over IPv4", f"Dest IP addr: {IPB}", f"Dest port: {PORT}",
                     f"Action: Direct to queue {QUEUE}"):
            ksft_in(want, text, comment=f"rule has '{want}'")
        table = rss_table(env.b)
        ksft_true(QUEUE not in table, comment=f"queue {QUEUE} out of the RSS table")
        ksft_eq([t for t, o in zip(table, env.table) if o != QUEUE],
                [o for o in env.table if o != QUEUE], comment="the other entries unchanged")
        stream_into(env, ident, fd, mm, IPB, PORT)
        plain_streams(env)
        fam.unbind({"id": ident})
        env.wait_undone(ident, "unbind")
    finally:
        mm.close()
        os.close(fd)


def steer_ipv6_src():
    env = rust_core()
    fam = env.devmem()
    fd = udmabuf(DMABUF)
    mm = mmap.mmap(fd, DMABUF, mmap.MAP_SHARED, mmap.PROT_READ)
    try:
        flow = {"family": 6, "proto": 6, "dst-addr": socket.inet_pton(socket.AF_INET6, IP6B).hex(),
                "dst-port": PORT6, "src-addr": socket.inet_pton(socket.AF_INET6, IP6A).hex(),
                "src-port": SPORT6}
        ident = env.bind(fam, flow, fd=fd)
        got = fam.binding_get({"id": ident}).get("flow", {})
        print(f"# binding-get flow: {got}")
        ksft_eq((got.get("family"), got.get("dst-addr"), got.get("dst-port"),
                 got.get("src-addr"), got.get("src-port")),
                (6, IP6B, PORT6, IP6A, SPORT6), comment="binding-get flow")
        found = rules(env.b)
        print(f"# rules: {found}")
        text = found.get(got.get("location"), "")
        for want in ("TCP over IPv6", f"Src port: {SPORT6}", f"Dest port: {PORT6}",
                     f"Action: Direct to queue {QUEUE}"):
            ksft_in(want, text, comment=f"rule has '{want}'")
        stream_into(env, ident, fd, mm, IP6B, PORT6, sport=SPORT6)
        fam.sock.close()
        env.wait_undone(ident, "socket closed")
    finally:
        mm.close()
        os.close(fd)


BINDER = r"""
import os, sys, time
sys.path.insert(0, {here!r})
from devmem_family import family
from devmem_rs import udmabuf
fam = family("devmem")
fd = udmabuf({size})
ident = fam.bind_rx({{"ifindex": {ifindex}, "fd": fd, "queues": [{{"id": {queue}}}],
                     "flow": {flow!r}}})["id"]
print(ident, flush=True)
time.sleep(600)
"""


def killed_owner():
    env = rust_core()
    code = BINDER.format(here=HERE, size=4 << 20, ifindex=env.ifindex, queue=QUEUE,
                         flow=flow4())
    p = subprocess.Popen(["ip", "netns", "exec", NSB, sys.executable, "-c", code],
                         stdout=subprocess.PIPE, text=True)
    try:
        ident = int(p.stdout.readline())
        ksft_eq(len(rules(env.b)), 1, comment="the binder's rule is in")
        ksft_true(QUEUE not in rss_table(env.b), comment="the queue is out of RSS")
        p.send_signal(signal.SIGKILL)
        p.wait()
        env.wait_undone(ident, "kill -9")
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def user_changed_table():
    env = rust_core()
    fam = env.devmem()
    ident = env.bind(fam, flow4(), size=4 << 20)
    et("-X", env.b, "equal", "2")
    mine = rss_table(env.b)
    fam.unbind({"id": ident})
    time.sleep(0.5)
    ksft_eq(rules(env.b), {}, comment="the rule deleted")
    ksft_eq(rss_table(env.b), mine, comment="the user's table left alone")
    et("-X", env.b, "default")
    ksft_eq(rss_table(env.b), env.table, comment="default table back")


def bad_flows():
    env = rust_core()
    fam = env.devmem()
    v6 = socket.inet_pton(socket.AF_INET6, IP6B).hex()
    cases = [
        ("two queues", flow4(), (QUEUE, 1), EINVAL),
        ("family 5", flow4(family=5), None, EINVAL),
        ("family 7", flow4(family=7), None, ERANGE),
        ("proto udp", flow4(proto=17), None, EOPNOTSUPP),
        ("dst-addr of 3 bytes", flow4(**{"dst-addr": "c0a801"}), None, ERANGE),
        ("dst-addr of 17 bytes", flow4(**{"dst-addr": "00" * 17}), None, ERANGE),
        ("IPv6 dst-addr, family 4", flow4(**{"dst-addr": v6}), None, EINVAL),
        ("IPv4 src-addr, family 6", {"family": 6, "proto": 6, "dst-addr": v6, "dst-port": PORT,
                                     "src-addr": socket.inet_aton(IPA).hex()}, None, EINVAL),
        ("no dst-port", {"family": 4, "proto": 6, "dst-addr": socket.inet_aton(IPB).hex()},
         None, EINVAL),
        ("no family", {"proto": 6, "dst-addr": socket.inet_aton(IPB).hex(), "dst-port": PORT},
         None, EINVAL),
        ("dst-port 0", flow4(port=0), None, ERANGE),
        ("queue out of range", flow4(), (9,), ERANGE),
    ]
    for what, flow, queues, want in cases:
        err, ext = nl_errno(env.bind, fam, flow, queues or (QUEUE,), size=1 << 20)
        print(f"# {what}: errno {err}, extack {ext}")
        ksft_eq(err, want, comment=f"{what}: errno")
        ksft_true(bool(ext) and bool(ext.get("msg") or ext.get("bad-attr")),
                  comment=f"{what}: extack message")
    et("-K", env.b, "ntuple", "off")
    err, ext = nl_errno(env.bind, fam, flow4(), size=1 << 20)
    print(f"# ntuple off: errno {err}, extack {ext}")
    ksft_eq(err, EOPNOTSUPP, comment="ntuple off: the driver's EOPNOTSUPP")
    ksft_true(bool(ext and ext.get("msg")), comment="ntuple off: extack message")
    et("-K", env.b, "ntuple", "on")
    et("-L", env.b, "combined", "1")
    err, ext = nl_errno(env.bind, fam, flow4(), (0,), size=1 << 20)
    print(f"# single channel: errno {err}, extack {ext}")
    ksft_eq(err, EINVAL, comment="the queue is all of RSS: EINVAL")
    ksft_true(bool(ext and ext.get("msg")), comment="single channel: extack message")
    et("-L", env.b, "combined", "4")
    et("-X", env.b, "default")
    ksft_eq(env.obs.binding_get({}, dump=True), [], comment="nothing bound")
    ksft_eq(rules(env.b), {}, comment="no rule")
    ksft_eq(rss_table(env.b), env.table, comment="the table as it was")


CASES = [steer_ipv4, steer_ipv6_src, killed_owner, user_changed_table, bad_flows]


def main():
    skip_without_ports()
    if not ethtool() or not os.path.exists("/dev/udmabuf"):
        print("1..0 # SKIP no ethtool >= 6.7 (tcp-data-split) or no /dev/udmabuf")
        sys.exit(4)
    clean = True
    try:
        ksft_run([timed(c) for c in CASES])
    finally:
        clean = ENV.close()
    if not clean:
        print("# the ports did not come back from the namespaces")
    ksft_exit()


if __name__ == "__main__":
    main()
