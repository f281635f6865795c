#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Binding a udmabuf to the rx queues of the GVE-style driver, through the
netdev family's bind-rx (the C devmem core of 6.12) and the driver's
netdev_queue_mgmt_ops: every refusal comes with the right errno, and
nothing leaks or WARNs (make test checks the guest log).

Needs KSRC (the kernel tree, for ynl and the netdev spec).
"""

import os
import subprocess
import sys
import time

from devmem_rs import (KsftSkipEx, NlError, YnlFamily, ksft_eq, ksft_exit, ksft_run, ksft_true,
                       port_netdev, skip_without_ports, spec, udmabuf)

SPEC = spec("netdev")
SIZE = 4 << 20


skip_without_ports()
IFNAME = port_netdev(0)
IFINDEX = int(open(f"/sys/class/net/{IFNAME}/ifindex").read())


def bind(queues, fd=None, ifindex=IFINDEX):
    """bind-rx on a fresh netlink socket; returns (errno, socket)."""
    nl = YnlFamily(SPEC)
    own = fd is None
    if own:
        fd = udmabuf(SIZE)
    try:
        nl.bind_rx({"ifindex": ifindex, "fd": fd,
                    "queues": [{"id": q, "type": "rx"} for q in queues]})
        return 0, nl
    except NlError as e:
        return -e.nl_msg.error, None
    finally:
        if own:
            os.close(fd)


def ethtool(*args):
    subprocess.run(["ethtool", *args], check=True, capture_output=True)


def setup():
    subprocess.run(["ip", "link", "set", IFNAME, "up"], check=True)


def header_split_off_refused():
    """Header split off: the queue's pool takes no unreadable memory, the
    core finds no pool for the binding: ENODATA."""
    err, _ = bind([1])
    ksft_eq(err, 61)  # ENODATA


def queue_out_of_range():
    """A queue beyond the real rx queues: ERANGE."""
    err, _ = bind([7])
    ksft_eq(err, 34)  # ERANGE


def no_queues():
    """A queue nest without id and type: EINVAL."""
    nl = YnlFamily(SPEC)
    fd = udmabuf(SIZE)
    try:
        nl.bind_rx({"ifindex": IFINDEX, "fd": fd, "queues": [{}]})
        err = 0
    except NlError as e:
        err = -e.nl_msg.error
    os.close(fd)
    ksft_eq(err, 22)  # EINVAL


def bad_fd():
    """Not a dma-buf: EBADF."""
    err, _ = bind([1], fd=0)
    ksft_true(err in (9, 22), comment=f"errno {err}")  # EBADF (or EINVAL)


def device_down():
    """A device that is down has no queues to restart: ENETDOWN."""
    subprocess.run(["ip", "link", "set", IFNAME, "down"], check=True)
    try:
        err, _ = bind([1])
    finally:
        subprocess.run(["ip", "link", "set", IFNAME, "up"], check=True)
    ksft_eq(err, 100)  # ENETDOWN


def new_ethtool():
    """Debian 12's ethtool cannot set tcp-data-split: the one set-up
    fetched, if any."""
    path = os.path.join(os.environ.get("DEVMEM_CACHE", ""),
                        "tools/ethtool-trixie/usr/sbin/ethtool")
    return path if os.access(path, os.X_OK) else None


def hsplit(on):
    subprocess.run([new_ethtool(), "-G", IFNAME, "tcp-data-split",
                    "on" if on else "off"], check=True, capture_output=True)


def header_split_on_binds():
    """Header split on: the bind succeeds, the queue's new page pool
    reports the dma-buf, and closing the netlink socket unbinds."""
    if not new_ethtool():
        raise KsftSkipEx("no ethtool >= 6.7 for tcp-data-split")
    hsplit(True)
    try:
        err, nl = bind([1])
        ksft_eq(err, 0)
        pools = nl.page_pool_get({}, dump=True)
        bound = [p for p in pools if p.get("ifindex") == IFINDEX and "dmabuf" in p]
        ksft_eq(len(bound), 1, comment=str(pools))
        # Header split cannot go while the binding needs it.
        r = subprocess.run([new_ethtool(), "-G", IFNAME, "tcp-data-split", "off"],
                           capture_output=True, text=True)
        ksft_true(r.returncode != 0, comment="tcp-data-split off refused while bound")
        # Nor can the channels go below the bound queue (the 6.12 core's
        # check, fed by the driver's queue state).
        r = subprocess.run([new_ethtool(), "-L", IFNAME, "combined", "1"],
                           capture_output=True, text=True)
        ksft_true(r.returncode != 0, comment="channels below a bound queue refused")
        del nl  # closing the socket unbinds (and restarts the queue)
        import gc
        gc.collect()
        time.sleep(0.5)
        # Unbound: two bindings in a row work, header split may go.
        err, nl = bind([1, 2])
        ksft_eq(err, 0)
        del nl
        gc.collect()
        time.sleep(0.5)
    finally:
        hsplit(False)


def main():
    if not os.path.exists("/dev/udmabuf"):
        print("1..0 # SKIP no /dev/udmabuf")
        sys.exit(4)
    setup()
    ksft_run([header_split_off_refused, queue_out_of_range, no_queues, bad_fd,
              device_down, header_split_on_binds])
    ksft_exit()


if __name__ == "__main__":
    main()
