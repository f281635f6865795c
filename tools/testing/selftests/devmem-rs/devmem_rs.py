# SPDX-License-Identifier: GPL-2.0
"""Shared set-up of the devmem-rs Python selftests.

Finds the kernel tree (KSRC: the 6.12 tree devmem-rs is built in, with our
netlink specs linked into it) and makes its ksft library and ynl
importable; skips the test (KTAP, exit 4) without it.
"""

import ctypes
import fcntl
import os
import struct
import subprocess
import sys

KSRC = os.environ.get("KSRC")
if not KSRC:
    print("1..0 # SKIP KSRC (kernel tree) not set")
    sys.exit(4)
sys.path.insert(0, os.path.join(KSRC, "tools/testing/selftests"))
sys.path.insert(0, os.path.join(KSRC, "tools/net"))

# pylint: disable=wrong-import-position,unused-import
from net.lib.py import (ksft_run, ksft_exit, ksft_eq, ksft_ge, ksft_in,  # noqa: E402,F401
                        ksft_true, KsftSkipEx)
from ynl.lib import YnlFamily, NlError  # noqa: E402,F401

SPECS = os.path.join(KSRC, "Documentation/netlink/specs")
HERE = os.path.dirname(os.path.abspath(__file__))


def ethtool():
    """The ethtool >= 6.7 (tcp-data-split) that make setup unpacks into
    $DEVMEM_CACHE, or None without it."""
    path = os.path.join(os.environ.get("DEVMEM_CACHE", ""),
                        "tools/ethtool-trixie/usr/sbin/ethtool")
    return path if os.access(path, os.X_OK) else None


def sh(cmd):
    """Runs shell command CMD; raises if it fails (output captured)."""
    subprocess.run(cmd, shell=True, check=True, capture_output=True)


def flush_deferred_frees():
    """Frees the skbs other CPUs left on each CPU's deferred-free list.

    An skb freed on a CPU other than the one that allocated it (received
    by NAPI on one vCPU, consumed by recvmsg or a close on another) goes
    to the allocating CPU's list (skb_attempt_defer_free) and is freed
    when that CPU next runs NET_RX, or once 32 wait; an idle CPU keeps
    them, and with them the page-pool buffers (net_iovs) they hold, so a
    binding whose queue was restarted lingers. A loopback packet sent
    from each CPU runs NET_RX there (loopback delivers to the sending
    CPU's backlog), which frees the list: what any traffic on that CPU
    would do."""
    for cpu in sorted(os.sched_getaffinity(0)):
        subprocess.run(["taskset", "-c", str(cpu), "ping", "-q", "-c", "1", "-W", "1",
                        "127.0.0.1"], capture_output=True, check=False)


def spec(name):
    """Path of netlink spec NAME.yaml in the kernel tree."""
    return os.path.join(SPECS, f"{name}.yaml")


def errno_of(fn, *args):
    """Runs a ynl request; returns 0, or the errno of its failure."""
    try:
        fn(*args)
        return 0
    except NlError as e:
        return -e.nl_msg.error


def port_netdev(port):
    """The netdev of emulated port PORT (platform device gve-rs-emu.PORT)."""
    path = f"/sys/bus/platform/devices/gve-rs-emu.{port}/net"
    # Empty while the netdev is in another network namespace.
    names = os.listdir(path) if os.path.isdir(path) else []
    return names[0] if names else None


def wait_ports(ports=(0, 1), timeout=20.0):
    """Waits until PORTS are back in this namespace (a deleted namespace
    hands its devices back asynchronously)."""
    import time  # pylint: disable=import-outside-toplevel
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if all(port_netdev(p) for p in ports):
            return True
        time.sleep(0.1)
    return False


def timed(case):
    """CASE, printing how long it took."""
    import functools  # pylint: disable=import-outside-toplevel
    import time  # pylint: disable=import-outside-toplevel

    @functools.wraps(case)
    def run():
        t0 = time.monotonic()
        try:
            case()
        finally:
            print(f"# {case.__name__}: {time.monotonic() - t0:.1f} s")
    return run


def split_pair(nsa, nsb, ipa, ipb, ip6a=None, ip6b=None):
    """Moves port 0 into namespace NSA and port 1 into NSB (both made
    here), with addresses IPA/24 and IPB/24 (and IP6A/64, IP6B/64 without
    DAD if given), up; returns their netdev names."""
    a, b = port_netdev(0), port_netdev(1)
    sh(f"ip netns add {nsa} && ip netns add {nsb}")
    sh(f"ip link set {a} netns {nsa} && ip link set {b} netns {nsb}")
    for ns, dev, ip4, ip6 in ((nsa, a, ipa, ip6a), (nsb, b, ipb, ip6b)):
        sh(f"ip -n {ns} addr add {ip4}/24 dev {dev}")
        if ip6:
            sh(f"ip -n {ns} addr add {ip6}/64 dev {dev} nodad")
        sh(f"ip -n {ns} link set {dev} up")
    return a, b


def unsplit_pair(nsa, nsb, b):
    """Undoes split_pair(): port B's rules deleted (ntuple off, then back
    on, the driver's default), RSS and header split back to their
    defaults, both namespaces deleted; whether the ports came back."""
    if b:
        for args in (["-K", b, "ntuple", "off"], ["-K", b, "ntuple", "on"],
                     ["-X", b, "default"], ["-G", b, "tcp-data-split", "off"]):
            subprocess.run(["ip", "netns", "exec", nsb, ethtool(), *args], capture_output=True,
                           check=False)
    sh(f"ip netns del {nsa} 2>/dev/null; ip netns del {nsb} 2>/dev/null; true")
    if not wait_ports():
        print("# the ports did not come back from the namespaces")
        return False
    return True


class LazyEnv:
    """What a selftest's cases share, set up (setup()) by the first case
    that needs it: a failure fails that case and every later one."""

    def __init__(self):
        self.err = None
        self.done = False

    def setup(self):
        raise NotImplementedError

    def get(self):
        if self.err:
            raise AssertionError(f"set-up failed earlier: {self.err}")
        if not self.done:
            try:
                self.setup()
            except Exception as e:
                self.err = f"{type(e).__name__}: {e}"
                raise
            self.done = True
        return self


def skip_without_ports():
    """Skips the test (KTAP, exit 4) when there is no emulated port pair."""
    if port_netdev(0) is None:
        print("1..0 # SKIP no emulated port pair (CONFIG_GVE_RS_EMU)")
        sys.exit(4)


def udmabuf(size):
    """A dma-buf of SIZE bytes of host memory (memfd + udmabuf); its fd."""
    libc = ctypes.CDLL(None, use_errno=True)
    memfd = libc.memfd_create(b"devmem-rs-test", 2)  # MFD_ALLOW_SEALING
    if memfd < 0:
        raise OSError(ctypes.get_errno(), "memfd_create")
    try:
        os.ftruncate(memfd, size)
        fcntl.fcntl(memfd, 1033, 2)  # F_ADD_SEALS, F_SEAL_SHRINK
        dev = os.open("/dev/udmabuf", os.O_RDWR)
        try:
            # struct udmabuf_create; with a mutable buffer ioctl() returns
            # the call's value: the new fd.
            arg = bytearray(struct.pack("IIQQ", memfd, 0, 0, size))
            return fcntl.ioctl(dev, 0x40187542, arg, True)  # UDMABUF_CREATE
        finally:
            os.close(dev)
    finally:
        os.close(memfd)

