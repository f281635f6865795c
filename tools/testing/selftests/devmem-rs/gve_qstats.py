#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Per-queue statistics of the GVE-style driver through the netdev family's
qstats-get (netdev_stat_ops): each rx queue in use reports packets, bytes
and alloc-fail, each tx queue packets and bytes; the device totals (base
plus queues in use) equal the netdev's own counters (sysfs, from
get_stats64), also after the channels shrink (the base then holds the
queues no longer in use) and while the device is down (no queues then).

Port A goes into a namespace, port B stays here (so that ynl sees it).
Needs KSRC (the kernel tree, for ynl and the netdev spec).
"""

import re
import subprocess
import sys

from devmem_rs import (HERE, YnlFamily, ksft_eq, ksft_exit, ksft_run, ksft_true, port_netdev, sh,
                       skip_without_ports, spec, wait_ports)

NSA = "qs-a"
IPA, IPB = "198.51.100.1", "198.51.100.2"
PORT = 5207
STREAM = 1 << 20
FIELDS = {"rx": ("rx-packets", "rx-bytes", "rx-alloc-fail"), "tx": ("tx-packets", "tx-bytes")}
SYSFS = {"rx-packets": "rx_packets", "rx-bytes": "rx_bytes",
         "tx-packets": "tx_packets", "tx-bytes": "tx_bytes"}

skip_without_ports()
PA, PB = port_netdev(0), port_netdev(1)
IFINDEX = int(open(f"/sys/class/net/{PB}/ifindex").read())
NL = YnlFamily(spec("netdev"))


def by_queue():
    """{(type, id): stats} of port B's queues."""
    rsp = NL.qstats_get({"ifindex": IFINDEX, "scope": "queue"}, dump=True)
    return {(q["queue-type"], q["queue-id"]): q for q in rsp}


def device():
    """Port B's device totals (qstats-get without scope)."""
    rsp = NL.qstats_get({"ifindex": IFINDEX}, dump=True)
    ksft_eq(len(rsp), 1)
    return rsp[0]


def sysfs():
    d = f"/sys/class/net/{PB}/statistics"
    return {k: int(open(f"{d}/{v}").read()) for k, v in SYSFS.items()}


def totals_match():
    """Device totals equal the netdev's counters (retried: a stray packet,
    IPv6 neighbour discovery say, may land between the two reads)."""
    for _ in range(5):
        dev, ref = device(), sysfs()
        if all(dev[k] == v for k, v in ref.items()):
            return dev
    ksft_eq({k: dev[k] for k in ref}, ref)
    return dev


def stream():
    srv = subprocess.Popen([sys.executable, f"{HERE}/tcp_pattern.py", "server", IPB, str(PORT),
                            str(STREAM)])
    subprocess.run(f"sleep 1; ip netns exec {NSA} {sys.executable} {HERE}/tcp_pattern.py "
                   f"client {IPB} {PORT} {STREAM}", shell=True, check=True)
    ksft_eq(srv.wait(timeout=120), 0)


def queues_reported():
    """4 rx and 4 tx queues, each with its counters."""
    q = by_queue()
    ksft_eq(sorted(q), sorted([("rx", i) for i in range(4)] + [("tx", i) for i in range(4)]))
    for (kind, _), s in q.items():
        for f in FIELDS[kind]:
            ksft_true(f in s, f"{f} missing in {s}")


def traffic_counted():
    """A 1 MiB stream: rx bytes of the queues grow by at least 1 MiB, tx
    packets (the ACKs) too, and the totals still match."""
    before = by_queue()
    stream()
    after = by_queue()
    rx = sum(after[("rx", i)]["rx-bytes"] - before[("rx", i)]["rx-bytes"] for i in range(4))
    tx = sum(after[("tx", i)]["tx-packets"] - before[("tx", i)]["tx-packets"] for i in range(4))
    print(f"# rx-bytes +{rx}, tx-packets +{tx}")
    ksft_true(rx >= STREAM and tx > 0)
    totals_match()


def ethtool_sum(name):
    """Port B's ethtool -S counter rx<q>_NAME summed over its queues."""
    out = subprocess.run(["ethtool", "-S", PB], check=True, capture_output=True,
                         text=True).stdout
    return sum(int(line.split(":")[1]) for line in out.splitlines()
               if re.fullmatch(rf"rx\d+_{name}", line.split(":")[0].strip()))


def wire_packets():
    """rx-packets counts wire packets (the family's definition): a 1 MiB
    stream arrives coalesced by the device (rx-gro-hw is on), reported as
    rx-hw-gro-packets of rx-hw-gro-wire-packets; rx-packets is what the
    driver handed the stack with each coalesced packet counted as its
    segments (ethtool -S counts the former: rx<q>_packets)."""
    d0 = device()
    e0 = [ethtool_sum(n) for n in ("packets", "gro_hw_packets", "gro_hw_segments")]
    stream()
    d1 = device()
    e1 = [ethtool_sum(n) for n in ("packets", "gro_hw_packets", "gro_hw_segments")]
    gro = d1["rx-hw-gro-packets"] - d0["rx-hw-gro-packets"]
    wire = d1["rx-hw-gro-wire-packets"] - d0["rx-hw-gro-wire-packets"]
    pkts = d1["rx-packets"] - d0["rx-packets"]
    print(f"# rx-packets +{pkts}, rx-hw-gro-packets +{gro} of +{wire} wire packets")
    ksft_true(gro > 0 and wire >= 2 * gro, "coalesced packets counted")
    ksft_true(pkts >= wire, "rx-packets counts the coalesced packets' segments")
    # The ethtool counters of the same queues tell the same story (the
    # ACKs of B are tx; nothing else arrives on B's port meanwhile but
    # neighbour discovery, which the tolerance of 5 covers).
    skb = e1[0] - e0[0] - (e1[1] - e0[1]) + (e1[2] - e0[2])
    ksft_true(abs(skb - pkts) <= 5, f"ethtool: {skb} wire packets, qstats: {pkts}")
    totals_match()


def fewer_channels():
    """ethtool -L combined 2: queues 0-1 reported, totals kept (the base
    holds queues 2-3) and still matching; back to 4."""
    dev0 = totals_match()
    sh(f"ethtool -L {PB} combined 2")
    try:
        ksft_eq(sorted(by_queue()), [("rx", 0), ("rx", 1), ("tx", 0), ("tx", 1)])
        dev1 = totals_match()
        ksft_true(all(dev1[k] >= dev0[k] for k in SYSFS))
        stream()
        totals_match()
    finally:
        sh(f"ethtool -L {PB} combined 4")
    ksft_eq(len(by_queue()), 8)


def down():
    """Down: no queue reported, the totals still there and matching."""
    sh(f"ip link set {PB} down")
    try:
        ksft_eq(by_queue(), {})
        totals_match()
    finally:
        sh(f"ip link set {PB} up")


def main():
    sh(f"ip netns add {NSA}")
    try:
        sh(f"ip link set {PA} netns {NSA} && ip -n {NSA} addr add {IPA}/24 dev {PA}"
           f" && ip -n {NSA} link set {PA} up")
        sh(f"ip addr add {IPB}/24 dev {PB} && ip link set {PB} up")
        # The driver's default, whatever a test before left behind.
        sh(f"ethtool -L {PB} combined 4")
        ksft_run([queues_reported, traffic_counted, wire_packets, fewer_channels, down])
    finally:
        subprocess.run(f"ip addr flush dev {PB}; ip link set {PB} down; ip netns del {NSA}",
                       shell=True)
        wait_ports()
    ksft_exit()


if __name__ == "__main__":
    main()
