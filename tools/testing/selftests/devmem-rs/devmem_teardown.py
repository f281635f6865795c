#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Teardown of Device Memory TCP bindings in every order.

Over an emulated port pair (A sends in its namespace, B receives in its
own with header split, RSS on queue 0 and ntuple rules steering the test
flows to queues 1 and 2), a receiver (devmem_recv.py) binds a udmabuf and
receives, holding tokens or not, while its resources go away in different
orders:

- the netlink socket closed first while tokens are held;
- the dma-buf fd (and mapping) closed first;
- kill -9 of a receiver holding tokens, then a new bind on the same queue;
- the port pair deleted under traffic while bound and tokens held: the
  Rust core unmaps the dma-buf while the device exists (binding-get says
  mapped 0 at once) and the tokens stay safe to return. make test boots
  the guest with slab poisoning (slub_debug=FZPU): 6.12's C core keeps the
  attachment to the deleted device and detaches it when the last page pool
  drains, which then oopses (general protection fault in dma_to_phys from
  page_pool_release_retry), so this case is skipped on the C core unless
  DEVMEM_TEARDOWN_C_UAF=1 asks to show it;
- hundreds of bind/unbind cycles (devmem_cycles.py);
- two sockets binding two queues of one netdev, one closed while the
  other streams.

After each case nothing may be left: no queue or page pool reports the
binding (queue-get, page-pool-get), binding-get (Rust core) no longer
knows it, and make test checks the guest log (kmemleak, lockdep, list
debugging, slab poisoning).

Needs KSRC, and DEVMEM_CACHE for ethtool >= 6.7 (tcp-data-split).
"""

import os
import select
import subprocess
import sys
import time

from devmem_rs import (HERE, KsftSkipEx, NlError, YnlFamily, ethtool, flush_deferred_frees,
                       ksft_eq, ksft_exit, ksft_run, ksft_true, port_netdev, sh,
                       skip_without_ports, spec, wait_ports)

NSA, NSB = "dmtd-a", "dmtd-b"
IPA, IPB = "198.18.0.1", "198.18.0.2"
PORTS = {1: 5301, 2: 5302}
DMABUF = 4 << 20
CORE = os.environ.get("CORE", "rust")


def nsexec(ns, *args, **kw):
    return subprocess.run(["ip", "netns", "exec", ns, *args], **kw)


class Recv:
    """A devmem_recv.py process in namespace NS."""

    def __init__(self, ns, ifname, queue, size=DMABUF, addr=IPB, port=None):
        port = PORTS[queue] if port is None else port
        self.p = subprocess.Popen(
            ["ip", "netns", "exec", ns, sys.executable, f"{HERE}/devmem_recv.py", ifname,
             str(queue), addr, str(port), str(size)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def cmd(self, line, timeout=120):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()
        if not select.select([self.p.stdout], [], [], timeout)[0]:
            raise AssertionError(f"receiver: {line}: no answer in {timeout} s")
        out = self.p.stdout.readline().strip()
        if not out.startswith("ok"):
            raise AssertionError(f"receiver: {line}: {out or 'no answer'}")
        return out.split()[1:]

    def exit(self):
        if self.p.poll() is None:
            self.p.stdin.write("exit\n")
            self.p.stdin.flush()
        self.p.wait(timeout=60)

    def kill(self):
        self.p.kill()
        self.p.wait(timeout=60)


def sender(queue, nbytes, ns=NSA, addr=IPB, port=None):
    port = PORTS[queue] if port is None else port
    return subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, f"{HERE}/tcp_pattern.py",
                             "client", addr, str(port), str(nbytes)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def configure_b(ns, ifb, ports=None, addr=IPB):
    """Four queues, header split, RSS on queue 0, and ntuple rules steering
    ADDR's ports to their queues (PORTS: {queue: port})."""
    et = ethtool()
    for args in (["-L", ifb, "combined", "4"], ["-K", ifb, "ntuple", "off"],
                 ["-G", ifb, "tcp-data-split", "on"], ["-K", ifb, "ntuple", "on"],
                 ["-X", ifb, "equal", "1"]):
        nsexec(ns, et, *args, check=True, capture_output=True)
    for q, port in (ports or PORTS).items():
        nsexec(ns, et, "-N", ifb, "flow-type", "tcp4", "dst-ip", addr, "dst-port", str(port),
               "action", str(q), check=True, capture_output=True)


def ifindex(ns, ifname):
    out = nsexec(ns, "cat", f"/sys/class/net/{ifname}/ifindex", check=True,
                 capture_output=True, text=True).stdout
    return int(out)


PROBES = {}


def probe(ns, ifname):
    """A devmem_recv.py of namespace NS kept for dumps (a new Python with
    ynl for each look would take seconds)."""
    if ns not in PROBES:
        PROBES[ns] = Recv(ns, ifname, 1)
    return PROBES[ns]


def drop_probe(ns):
    p = PROBES.pop(ns, None)
    if p:
        p.exit()


def binding_known(ident):
    """Whether the Rust core still has binding IDENT (binding-get)."""
    if CORE != "rust":
        return False
    try:
        YnlFamily(spec("devmem")).binding_get({"id": ident})
        return True
    except NlError as e:
        if -e.nl_msg.error != 2:  # ENOENT
            raise
        return False


def binding_info(ident):
    return YnlFamily(spec("devmem")).binding_get({"id": ident})


def wait_gone(ident, ns=NSB, timeout=30):
    """Waits until nothing reports binding IDENT; returns what is left."""
    end = time.monotonic() + timeout
    left = None
    while time.monotonic() < end:
        left = " ".join(PROBES[ns].cmd(f"dumps {ident}"))
        if left == "0" and not binding_known(ident):
            return None
        flush_deferred_frees()
        time.sleep(0.5)
    return left if left != "0" else f"binding {ident} still known to the core"


class Pair0:
    """Pair 0 split into NSA/NSB and configured; undone on exit."""

    def __enter__(self):
        self.a, self.b = port_netdev(0), port_netdev(1)
        sh(f"ip netns add {NSA} && ip netns add {NSB}")
        sh(f"ip link set {self.a} netns {NSA} && ip link set {self.b} netns {NSB}")
        sh(f"ip -n {NSA} addr add {IPA}/24 dev {self.a} && ip -n {NSA} link set {self.a} up")
        sh(f"ip -n {NSB} addr add {IPB}/24 dev {self.b} && ip -n {NSB} link set {self.b} up")
        configure_b(NSB, self.b)
        probe(NSB, self.b)
        return self

    def __exit__(self, *exc):
        drop_probe(NSB)
        et = ethtool()
        for args in (["-K", self.b, "ntuple", "off"], ["-X", self.b, "default"],
                     ["-G", self.b, "tcp-data-split", "off"]):
            nsexec(NSB, et, *args, capture_output=True)
        subprocess.run(f"ip netns del {NSA}; ip netns del {NSB}", shell=True)
        wait_ports()


def netlink_closed_first():
    """Unbind (netlink socket closed) while the receiver holds tokens: the
    queue is restarted on host memory at once, the stream goes on, the
    binding goes when the tokens come back."""
    with Pair0() as p:
        r = Recv(NSB, p.b, 1)
        try:
            ident = int(r.cmd("bind")[0])
            r.cmd("listen")
            s = sender(1, 2 << 20)
            r.cmd("accept")
            got, frags, held = map(int, r.cmd(f"recv {256 << 10} hold"))
            ksft_true(frags > 0 and held == frags, comment=f"{frags} frags held")
            r.cmd("close-nl")
            # Off the queue at once; still held by its page pool (tokens).
            if CORE == "rust":
                ksft_true(binding_known(ident), comment="binding alive while tokens are held")
            r.cmd(f"recv {(2 << 20) - got} give")
            ksft_eq(int(r.cmd("give")[0]), held)
            r.cmd("close-conn")
            ksft_eq(s.wait(timeout=60), 0)
        finally:
            r.exit()
        ksft_eq(wait_gone(ident), None)


def dmabuf_closed_first():
    """The dma-buf fd and mapping closed right after the bind: the binding
    keeps the dma-buf; data still lands in it."""
    with Pair0() as p:
        r = Recv(NSB, p.b, 1)
        try:
            ident = int(r.cmd("bind")[0])
            r.cmd("close-dmabuf")
            r.cmd("listen")
            s = sender(1, 1 << 20)
            r.cmd("accept")
            got, frags, _ = map(int, r.cmd(f"recv {1 << 20} give noverify"))
            ksft_true(got == 1 << 20 and frags > 0, comment=f"{got} bytes, {frags} frags")
            r.cmd("close-conn")
            ksft_eq(s.wait(timeout=60), 0)
            r.cmd("close-nl")
        finally:
            r.exit()
        ksft_eq(wait_gone(ident), None)


def kill9_then_rebind():
    """kill -9 of a receiver holding tokens, then a new bind on the same
    queue, which must work and receive."""
    with Pair0() as p:
        r = Recv(NSB, p.b, 1)
        ident = int(r.cmd("bind")[0])
        r.cmd("listen")
        s = sender(1, 2 << 20)
        r.cmd("accept")
        _, frags, held = map(int, r.cmd(f"recv {256 << 10} hold"))
        ksft_true(held > 0, comment=f"{held} tokens held")
        r.kill()
        s.kill()
        s.wait()
        ksft_eq(wait_gone(ident), None)
        r = Recv(NSB, p.b, 1)
        try:
            ident2 = int(r.cmd("bind")[0])
            ksft_true(ident2 > ident, comment=f"new id {ident2} after {ident}")
            r.cmd("listen")
            s = sender(1, 1 << 20)
            r.cmd("accept")
            got, frags, _ = map(int, r.cmd(f"recv {1 << 20} give"))
            ksft_true(got == 1 << 20 and frags > 0, comment=f"{got} bytes, {frags} frags")
            r.cmd("close-conn")
            ksft_eq(s.wait(timeout=60), 0)
        finally:
            r.exit()
        ksft_eq(wait_gone(ident2), None)


def pair_deleted_while_bound():
    """The port pair deleted under traffic while bound and tokens held."""
    if CORE != "rust" and os.environ.get("DEVMEM_TEARDOWN_C_UAF") != "1":
        raise KsftSkipEx("6.12's C core detaches the dma-buf from the freed device "
                         "(use-after-free; DEVMEM_TEARDOWN_C_UAF=1 runs it)")
    emu = YnlFamily(spec("gve_emu"))
    emu.pair_new({"id": 2})
    a, b = port_netdev(4), port_netdev(5)
    ns_a, ns_b = "dmtd-pa", "dmtd-pb"
    sh(f"ip netns add {ns_a} && ip netns add {ns_b}")
    try:
        sh(f"ip link set {a} netns {ns_a} && ip link set {b} netns {ns_b}")
        sh(f"ip -n {ns_a} addr add {IPA}/24 dev {a} && ip -n {ns_a} link set {a} up")
        sh(f"ip -n {ns_b} addr add {IPB}/24 dev {b} && ip -n {ns_b} link set {b} up")
        configure_b(ns_b, b)
        probe(ns_b, b)
        r = Recv(ns_b, b, 1)
        try:
            ident = int(r.cmd("bind")[0])
            r.cmd("listen")
            s = sender(1, 1 << 34, ns=ns_a)
            r.cmd("accept")
            _, _, held = map(int, r.cmd(f"recv {256 << 10} hold"))
            ksft_true(held > 0, comment=f"{held} tokens held")
            if CORE == "rust":
                info = binding_info(ident)
                ksft_true(info["mapped"] == 1 and info["niovs-in-use"] >= held,
                          comment=str(info))
            emu.pair_del({"id": 2})
            ksft_true(not os.path.exists("/sys/bus/platform/devices/gve-rs-emu.4"))
            if CORE == "rust":
                # Unmapped and detached while the device existed; the
                # net_iovs behind the tokens are still accounted for.
                info = binding_info(ident)
                ksft_true(info["mapped"] == 0 and info["niovs-in-use"] >= held,
                          comment=str(info))
            s.kill()
            s.wait()
            time.sleep(1)
            # The tokens go back after the device is gone.
            ksft_eq(int(r.cmd("give")[0]), held)
            r.cmd("close-conn")
            r.cmd("close-nl")
        finally:
            r.exit()
        ksft_eq(wait_gone(ident, ns=ns_b), None)
    finally:
        drop_probe(ns_b)
        subprocess.run(f"ip netns del {ns_a}; ip netns del {ns_b}", shell=True)
        if os.path.exists("/sys/bus/platform/devices/gve-rs-emu.4"):
            emu.pair_del({"id": 2})


def two_sockets_two_queues():
    """Two receivers bind queues 1 and 2 of one netdev; the first goes
    (process exit) while the second streams on, undisturbed."""
    with Pair0() as p:
        r1, r2 = Recv(NSB, p.b, 1), Recv(NSB, p.b, 2)
        try:
            id1, id2 = int(r1.cmd("bind")[0]), int(r2.cmd("bind")[0])
            ksft_true(id1 != id2)
            r1.cmd("listen")
            r2.cmd("listen")
            s1, s2 = sender(1, 1 << 30), sender(2, 8 << 20)
            r1.cmd("accept")
            r2.cmd("accept")
            r1.cmd(f"recv {512 << 10} give")
            r2.cmd(f"recv {2 << 20} give")
            r1.exit()
            s1.kill()
            s1.wait()
            got, frags, _ = map(int, r2.cmd(f"recv {6 << 20} give"))
            ksft_true(got == 8 << 20 and frags > 0, comment=f"{got} bytes, {frags} frags")
            _, _, linear, _, readable = map(int, r2.cmd("stats"))
            ksft_eq(readable, 0, comment="queue 2 stayed bound")
            r2.cmd("close-conn")
            ksft_eq(s2.wait(timeout=60), 0)
        finally:
            r1.exit()
            r2.exit()
        ksft_eq(wait_gone(id1), None)
        ksft_eq(wait_gone(id2), None)


def main():
    skip_without_ports()
    if not ethtool() or not os.path.exists("/dev/udmabuf"):
        print("1..0 # SKIP no ethtool >= 6.7 (tcp-data-split) or no /dev/udmabuf")
        sys.exit(4)
    ksft_run([netlink_closed_first, dmabuf_closed_first, kill9_then_rebind,
              pair_deleted_while_bound, two_sockets_two_queues])
    ksft_exit()


if __name__ == "__main__":
    main()
