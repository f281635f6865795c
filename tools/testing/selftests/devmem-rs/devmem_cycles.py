#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Hundreds of bind/unbind cycles on one rx queue (part of the teardown
tests, devmem_teardown.py): each binds a udmabuf to queue 1 of port 0 on
a new netlink socket and closes it (unbind: two queue restarts, the
dma-buf mapped and unmapped). The ids grow (cyclic allocation), and
nothing is left: no queue or page pool reports a binding, binding-get
(Rust core) knows none of them, and make test checks the guest log
(kmemleak, lockdep, slab poisoning).

Needs KSRC, and DEVMEM_CACHE for ethtool >= 6.7 (tcp-data-split).
"""

import os
import socket
import subprocess
import sys
import time

from devmem_rs import (NlError, YnlFamily, ethtool, ksft_eq, ksft_exit, ksft_run, ksft_true,
                       port_netdev, skip_without_ports, spec, udmabuf)

CORE = os.environ.get("CORE", "rust")
CYCLES = int(os.environ.get("DEVMEM_CYCLES", "200"))


def new_socket(nl):
    """A fresh netlink socket for NL (closing one unbinds its bindings)."""
    nl.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 16)  # NETLINK_GENERIC
    for opt in (10, 11, 12):  # NETLINK_CAP_ACK, _EXT_ACK, _GET_STRICT_CHK
        nl.sock.setsockopt(270, opt, 1)  # SOL_NETLINK


def bind_unbind_cycles():
    """CYCLES binds and unbinds of queue 1; ids grow, nothing left."""
    ifname = port_netdev(0)
    ifindex = int(open(f"/sys/class/net/{ifname}/ifindex").read())
    subprocess.run(["ip", "link", "set", ifname, "up"], check=True)
    subprocess.run([ethtool(), "-G", ifname, "tcp-data-split", "on"], check=True)
    fd = udmabuf(1 << 20)
    nl = YnlFamily(spec("netdev"))
    ids = []
    t0 = time.monotonic()
    try:
        for _ in range(CYCLES):
            rsp = nl.bind_rx({"ifindex": ifindex, "fd": fd,
                              "queues": [{"id": 1, "type": "rx"}]})
            ids.append(rsp["id"])
            nl.sock.close()
            new_socket(nl)
    finally:
        os.close(fd)
        took = time.monotonic() - t0
        print(f"# {len(ids)} cycles in {took:.0f} s ({took / max(len(ids), 1):.2f} s each)")
        subprocess.run([ethtool(), "-G", ifname, "tcp-data-split", "off"], check=True)
    ksft_eq(len(ids), CYCLES)
    ksft_true(all(b > a for a, b in zip(ids, ids[1:])), comment="ids grow")
    queues = nl.queue_get({"ifindex": ifindex}, dump=True)
    pools = nl.page_pool_get({}, dump=True)
    left = [x for x in queues + pools if x.get("dmabuf") in ids]
    end = time.monotonic() + 30
    while left and time.monotonic() < end:
        time.sleep(0.5)
        pools = nl.page_pool_get({}, dump=True)
        left = [x for x in pools if x.get("dmabuf") in ids]
    ksft_eq(left, [], comment="no queue or page pool reports a binding")
    if CORE == "rust":
        fam = YnlFamily(spec("devmem"))
        known = []
        for i in ids:
            try:
                fam.binding_get({"id": i})
                known.append(i)
            except NlError as e:
                ksft_eq(-e.nl_msg.error, 2)  # ENOENT
        ksft_eq(known, [], comment="every binding freed")


def main():
    skip_without_ports()
    if not ethtool() or not os.path.exists("/dev/udmabuf"):
        print("1..0 # SKIP no ethtool >= 6.7 (tcp-data-split) or no /dev/udmabuf")
        sys.exit(4)
    ksft_run([bind_unbind_cycles])
    ksft_exit()


if __name__ == "__main__":
    main()
