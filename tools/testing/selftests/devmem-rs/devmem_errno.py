#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Every bad bind-rx input gets 6.12's errno, and an extack message where
the C core sets one (the table in upstream-devmem.md: policy, handler,
devmem core, queue restart). Nothing is left bound after any of them.

Both devmem cores run it (make test / make test CORE=c); devmem_diff.py
compares the two tables. The case of a device without a parent (veth) is
skipped on the C core: its dma_buf_attach(NULL) WARNs, which panics the
test kernel (panic_on_warn); the Rust core refuses it with EINVAL first.

Needs KSRC, and DEVMEM_CACHE for ethtool >= 6.7 (tcp-data-split).
"""

import os
import subprocess
import sys
import tempfile

from devmem_rs import (KsftSkipEx, NlError, YnlFamily, ethtool, ksft_eq, ksft_exit, ksft_run,
                       ksft_true, port_netdev, skip_without_ports, spec, udmabuf)

CORE = os.environ.get("CORE", "rust")
SIZE = 1 << 20
EPERM, ENOENT, EBADF, EBUSY, EEXIST, ENODEV, EINVAL, ERANGE = 1, 2, 9, 16, 17, 19, 22, 34
ENODATA, ENETDOWN = 61, 100


def raw_bind(req):
    """bind-rx REQ on a fresh socket: (errno, extack message, socket)."""
    nl = YnlFamily(spec("netdev"))
    try:
        nl.bind_rx(req)
        return 0, None, nl
    except NlError as e:
        return -e.nl_msg.error, e.nl_msg.extack.get("msg") if e.nl_msg.extack else None, None


class Env:
    """Port 0's netdev, up, header split on, with a udmabuf."""

    def __init__(self):
        self.ifname = port_netdev(0)
        self.ifindex = int(open(f"/sys/class/net/{self.ifname}/ifindex").read())
        subprocess.run(["ip", "link", "set", self.ifname, "up"], check=True)
        subprocess.run([ethtool(), "-L", self.ifname, "combined", "4"], check=True,
                       capture_output=True)
        self.hsplit(True)
        self.fd = udmabuf(SIZE)

    def hsplit(self, on):
        subprocess.run([ethtool(), "-G", self.ifname, "tcp-data-split", "on" if on else "off"],
                       check=True, capture_output=True)

    def close(self):
        os.close(self.fd)
        self.hsplit(False)

    def req(self, **kw):
        r = {"ifindex": self.ifindex, "fd": self.fd, "queues": [{"id": 1, "type": "rx"}]}
        for k, v in kw.items():
            if v is None:
                r.pop(k, None)
            else:
                r[k] = v
        return r


def bound_queues(env):
    nl = YnlFamily(spec("netdev"))
    return [q for q in nl.queue_get({"ifindex": env.ifindex}, dump=True) if "dmabuf" in q]


def cases(env):
    """(name, errno, extack substring or None, function giving (errno, msg))."""
    def bind(**kw):
        e, msg, nl = raw_bind(env.req(**kw))
        if nl:
            nl.sock.close()
        return e, msg

    def no_cap():
        # Without CAP_NET_ADMIN: dropped from the bounding set, so the
        # child (root, able to read the kernel tree) never has it.
        code = ("import sys; sys.path.insert(0, %r)\n"
                "from devmem_rs import YnlFamily, NlError, spec\n"
                "try:\n"
                "    YnlFamily(spec('netdev')).bind_rx(%r)\n"
                "    print(0)\n"
                "except NlError as e:\n"
                "    print(-e.nl_msg.error)\n") % (os.path.dirname(os.path.abspath(__file__)),
                                                  env.req())
        out = subprocess.run(["setpriv", "--bounding-set=-net_admin", "--inh-caps=-net_admin",
                              sys.executable, "-c", code], capture_output=True, text=True,
                             pass_fds=(env.fd,), check=True)
        return int(out.stdout), None

    def not_dmabuf():
        with tempfile.TemporaryFile() as f:
            return bind(fd=f.fileno())

    def twice():
        return bind(queues=[{"id": 1, "type": "rx"}, {"id": 1, "type": "rx"}])

    def already_bound():
        e, msg, nl = raw_bind(env.req())
        if e:
            return -1000 - e, msg
        try:
            return bind(queues=[{"id": 2, "type": "rx"}, {"id": 1, "type": "rx"}])
        finally:
            nl.sock.close()

    def hsplit_off():
        env.hsplit(False)
        try:
            return bind()
        finally:
            env.hsplit(True)

    def down():
        subprocess.run(["ip", "link", "set", env.ifname, "down"], check=True)
        try:
            return bind()
        finally:
            subprocess.run(["ip", "link", "set", env.ifname, "up"], check=True)

    def no_parent():
        if CORE != "rust":
            raise KsftSkipEx("the C core WARNs in dma_buf_attach() for a device "
                             "without a parent (panic_on_warn)")
        subprocess.run("ip link add dmerr0 type veth peer name dmerr1", shell=True, check=True)
        try:
            idx = int(open("/sys/class/net/dmerr0/ifindex").read())
            return bind(ifindex=idx)
        finally:
            subprocess.run("ip link del dmerr0", shell=True)

    return [
        ("no CAP_NET_ADMIN", EPERM, None, no_cap),
        ("ifindex 0 (policy)", ERANGE, None, lambda: bind(ifindex=0)),
        ("queue type 2 (policy)", ERANGE, None, lambda: bind(queues=[{"id": 1, "type": 2}])),
        ("ifindex missing", EINVAL, None, lambda: bind(ifindex=None)),
        ("fd missing", EINVAL, None, lambda: bind(fd=None)),
        ("queues missing", EINVAL, None, lambda: bind(queues=None)),
        ("queue id missing", EINVAL, None, lambda: bind(queues=[{"type": "rx"}])),
        ("queue type missing", EINVAL, None, lambda: bind(queues=[{"id": 1}])),
        ("queue type tx", EINVAL, None, lambda: bind(queues=[{"id": 1, "type": "tx"}])),
        ("no such device", ENODEV, None, lambda: bind(ifindex=0x7ffffff0)),
        ("fd not open", EBADF, None, lambda: bind(fd=1 << 20)),
        ("fd above INT_MAX", EBADF, None, lambda: bind(fd=0x80000001)),
        ("fd not a dma-buf", EINVAL, None, not_dmabuf),
        ("queue out of range", ERANGE, "rx queue index out of range",
         lambda: bind(queues=[{"id": 7, "type": "rx"}])),
        ("queue listed twice", EEXIST, "designated queue already memory provider bound", twice),
        ("queue bound by another binding", EEXIST,
         "designated queue already memory provider bound", already_bound),
        ("header split off", ENODATA, None, hsplit_off),
        ("device down", ENETDOWN, None, down),
        ("device without parent", EINVAL, "Failed to bind dmabuf to device", no_parent),
    ]


def run_cases(env):
    """Runs every case; returns {name: errno} (a skipped case is absent)."""
    table = {}
    for name, want, msg_want, fn in cases(env):
        try:
            got, msg = fn()
        except KsftSkipEx as e:
            print(f"# {name}: skipped: {e}")
            continue
        print(f"# {name}: errno {got}{f' ({msg})' if msg else ''}")
        table[name] = got
        ksft_eq(got, want, comment=name)
        if msg_want:
            ksft_eq(msg, msg_want, comment=f"{name}: extack")
        ksft_eq(bound_queues(env), [], comment=f"{name}: nothing left bound")
    return table


def errno_table():
    """Each bad input: its errno and extack, nothing left bound."""
    env = Env()
    try:
        run_cases(env)
    finally:
        env.close()


def binding_get_errors():
    """The devmem family's binding-get: ENOENT for an unknown id, ERANGE
    for id 0 (policy), EINVAL without id; EOPNOTSUPP on the C core."""
    fam = YnlFamily(spec("devmem"))

    def err(req):
        try:
            fam.binding_get(req)
            return 0
        except NlError as e:
            return -e.nl_msg.error

    if CORE != "rust":
        ksft_eq(err({"id": 1}), 95)
        return
    ksft_eq(err({"id": 0x7fffffff}), ENOENT)
    ksft_eq(err({"id": 0}), ERANGE)
    ksft_eq(err({}), EINVAL)


def main():
    skip_without_ports()
    if not ethtool() or not os.path.exists("/dev/udmabuf"):
        print("1..0 # SKIP no ethtool >= 6.7 (tcp-data-split) or no /dev/udmabuf")
        sys.exit(4)
    ksft_run([errno_table, binding_get_errors])
    ksft_exit()


if __name__ == "__main__":
    main()
