#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Port pairs of the emulated NIC created and deleted at run time through
the gve-emu netlink family (ynl), including deletion under traffic: the
ports and their netdevs go, nothing leaks or WARNs (make test checks the
guest log).

Needs KSRC (the kernel tree, for ynl and the spec).
"""

import gc
import os
import subprocess
import sys
import time

from devmem_rs import (HERE, KsftSkipEx, YnlFamily, errno_of, ksft_eq, ksft_exit, ksft_run,
                       ksft_true, port_netdev, skip_without_ports, spec, udmabuf)

SPEC = spec("gve_emu")


netdev = port_netdev


def sh(cmd):
    subprocess.run(cmd, shell=True, check=True)


def new_and_del():
    """pair-new makes two ports with netdevs; pair-del removes them."""
    fam = YnlFamily(SPEC)
    rsp = fam.pair_new({"id": 3})
    ksft_eq(rsp["id"], 3)
    ksft_true(netdev(6) and netdev(7), comment="ports 6 and 7 have netdevs")
    fam.pair_del({"id": 3})
    ksft_true(not os.path.exists("/sys/bus/platform/devices/gve-rs-emu.6"))
    ksft_true(not os.path.exists("/sys/bus/platform/devices/gve-rs-emu.7"))


def lowest_free_id():
    """Without an id, pair-new takes the lowest free number."""
    fam = YnlFamily(SPEC)
    rsp = fam.pair_new({})
    ksft_eq(rsp["id"], 1)  # pair 0 exists from boot
    fam.pair_del({"id": 1})


def bad_requests():
    """Taken id: EEXIST; no id to delete: EINVAL; absent pair: ENOENT;
    id out of range: EINVAL from the policy."""
    fam = YnlFamily(SPEC)
    ksft_eq(errno_of(fam.pair_new, {"id": 0}), 17)  # EEXIST
    ksft_eq(errno_of(fam.pair_del, {}), 22)  # EINVAL
    ksft_eq(errno_of(fam.pair_del, {"id": 5}), 2)  # ENOENT
    ksft_eq(errno_of(fam.pair_new, {"id": 8}), 34)  # ERANGE (policy max)


def delete_under_traffic():
    """Deleting a pair while a TCP stream runs over it."""
    fam = YnlFamily(SPEC)
    fam.pair_new({"id": 2})
    a, b = netdev(4), netdev(5)
    sh("ip netns add del-a && ip netns add del-b")
    try:
        sh(f"ip link set {a} netns del-a && ip link set {b} netns del-b")
        sh(f"ip -n del-a addr add 198.51.100.1/24 dev {a} && ip -n del-a link set {a} up")
        sh(f"ip -n del-b addr add 198.51.100.2/24 dev {b} && ip -n del-b link set {b} up")
        time.sleep(1)
        srv = subprocess.Popen(["ip", "netns", "exec", "del-b", sys.executable,
                                f"{HERE}/tcp_pattern.py", "server", "198.51.100.2",
                                "5202", str(1 << 34)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(2)
        cli = subprocess.Popen(["ip", "netns", "exec", "del-a", sys.executable,
                                f"{HERE}/tcp_pattern.py", "client", "198.51.100.2",
                                "5202", str(1 << 34)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(3)
        ksft_eq(cli.poll(), None, comment="stream still running before delete")
        fam.pair_del({"id": 2})
        ksft_true(not os.path.exists("/sys/bus/platform/devices/gve-rs-emu.4"))
        for p in (cli, srv):
            p.kill()
            p.wait()
    finally:
        sh("ip netns del del-a; ip netns del del-b")


def delete_while_bound():
    """Deleting a pair while a dma-buf is bound to one of its rx queues:
    the binding loses its queue with the device; closing its netlink
    socket afterwards unbinds without the device."""
    et = os.path.join(os.environ.get("DEVMEM_CACHE", ""),
                      "tools/ethtool-trixie/usr/sbin/ethtool")
    if not os.access(et, os.X_OK) or not os.path.exists("/dev/udmabuf"):
        raise KsftSkipEx("no ethtool >= 6.7 or no /dev/udmabuf")
    fam = YnlFamily(SPEC)
    fam.pair_new({"id": 2})
    dev = netdev(4)
    sh(f"ip link set {dev} up && {et} -G {dev} tcp-data-split on")
    ifindex = int(open(f"/sys/class/net/{dev}/ifindex").read())
    fd = udmabuf(4 << 20)
    nl = YnlFamily(spec("netdev"))
    nl.bind_rx({"ifindex": ifindex, "fd": fd, "queues": [{"id": 1, "type": "rx"}]})
    os.close(fd)
    fam.pair_del({"id": 2})
    ksft_true(not os.path.exists("/sys/bus/platform/devices/gve-rs-emu.4"))
    del nl
    gc.collect()
    time.sleep(1)


def boot_param():
    """The boot-time pair count is the gve_rs_emu.pairs parameter, and the
    pairs it asked for exist."""
    with open("/sys/module/gve_rs_emu/parameters/pairs") as f:
        n = int(f.read())
    ksft_true(1 <= n <= 8, comment=f"pairs={n}")
    ksft_true(all(netdev(p) for p in range(2 * n)), comment="boot pairs have netdevs")


def main():
    skip_without_ports()
    ksft_run([boot_param, new_and_del, lowest_free_id, bad_requests, delete_under_traffic,
              delete_while_bound])
    ksft_exit()


if __name__ == "__main__":
    main()
