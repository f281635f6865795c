#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Device Memory TCP receive, end to end, over an emulated port pair.

Port B (in its own namespace) gets header split, RSS on queue 0 only, an
ntuple rule steering the test flow to queue 1, and a udmabuf bound to
queue 1 (netdev bind-rx, the 6.12 C devmem core). A pattern stream from
port A is received with recvmsg(MSG_SOCK_DEVMEM): every payload byte must
arrive as an SCM_DEVMEM_DMABUF frag in the udmabuf, be checked there, and
be handed back with SO_DEVMEM_DONTNEED.

Needs KSRC, and DEVMEM_CACHE for ethtool >= 6.7 (tcp-data-split).
"""

import ctypes
import fcntl
import gc
import json
import mmap
import os
import socket
import struct
import subprocess
import sys
import time

from devmem_rs import (HERE, YnlFamily, ksft_eq, ksft_exit, ksft_run, port_netdev,
                       skip_without_ports, spec, udmabuf, wait_ports)

NSA, NSB = "dmrx-a", "dmrx-b"
IPA, IPB = "203.0.113.1", "203.0.113.2"
PORT = 5203
QUEUE = 1
BYTES = 8 << 20
DMABUF_SIZE = 4 << 20
PERIOD = 251
# The stream's bytes are (offset % PERIOD): any window of up to 1 MiB is a
# slice of this, so checking a chunk is one comparison, not a Python loop.
PATTERN = bytes(i % PERIOD for i in range(PERIOD + (1 << 20)))


def expected(offset, n):
    """The pattern stream's n bytes from offset."""
    start = offset % PERIOD
    return PATTERN[start:start + n]

MSG_SOCK_DEVMEM = 0x2000000
SCM_DEVMEM_LINEAR = 78
SCM_DEVMEM_DMABUF = 79
SO_DEVMEM_DONTNEED = 80
DMA_BUF_IOCTL_SYNC = 0x40086200
DMA_BUF_SYNC_READ, DMA_BUF_SYNC_START, DMA_BUF_SYNC_END = 1, 0, 4


def ethtool():
    path = os.path.join(os.environ.get("DEVMEM_CACHE", ""),
                        "tools/ethtool-trixie/usr/sbin/ethtool")
    return path if os.access(path, os.X_OK) else None


def sh(cmd):
    subprocess.run(cmd, shell=True, check=True, capture_output=True)


LIBC = ctypes.CDLL(None, use_errno=True)


def dontneed(conn, token):
    """SO_DEVMEM_DONTNEED of one token; returns the frags freed (the
    syscall's positive result, which Python's setsockopt drops)."""
    arg = struct.pack("II", token, 1)
    n = LIBC.setsockopt(conn.fileno(), socket.SOL_SOCKET, SO_DEVMEM_DONTNEED,
                        arg, len(arg))
    if n < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"SO_DEVMEM_DONTNEED: {os.strerror(err)}")
    return n


def receiver():
    """Runs in NSB: configure, bind, receive, verify. Exit code 0 = pass.

    Mode "devmem": bound before the stream starts; every payload byte must
    come as a dma-buf frag. Mode "restart": the stream starts readable, the
    queue carrying it is bound (a queue restart) after 1 MiB and unbound
    (another restart) after 5 MiB; every byte must still arrive, in order.
    """
    mode, ifb = sys.argv[2], sys.argv[3]
    et = ethtool()
    # Start from a known state whatever earlier tests left: four queues,
    # no flow rules (turning ntuple off deletes them).
    for args in (["-L", ifb, "combined", "4"], ["-K", ifb, "ntuple", "off"],
                 ["-G", ifb, "tcp-data-split", "on"], ["-K", ifb, "ntuple", "on"],
                 ["-X", ifb, "equal", "1"],
                 ["-N", ifb, "flow-type", "tcp4", "dst-ip", IPB, "dst-port", str(PORT),
                  "action", str(QUEUE)]):
        subprocess.run([et, *args], check=True)
    ifindex = int(open(f"/sys/class/net/{ifb}/ifindex").read())
    fd = udmabuf(DMABUF_SIZE)
    buf = mmap.mmap(fd, DMABUF_SIZE, mmap.MAP_SHARED, mmap.PROT_READ)
    nl = None
    dmabuf_id = None

    def bind():
        sock = YnlFamily(spec("netdev"))
        rsp = sock.bind_rx({"ifindex": ifindex, "fd": fd,
                            "queues": [{"id": QUEUE, "type": "rx"}]})
        return sock, rsp["id"]

    if mode == "devmem":
        nl, dmabuf_id = bind()
    restarts = 0

    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((IPB, PORT))
    srv.listen(1)
    client = subprocess.Popen(["ip", "netns", "exec", NSA, sys.executable,
                               f"{HERE}/tcp_pattern.py", "client", IPB, str(PORT),
                               str(BYTES)])
    srv.settimeout(60)
    conn, _ = srv.accept()
    conn.settimeout(60)
    t0 = time.monotonic()
    got = frags = linear = bad = readable = returned = 0
    while True:
        if mode == "restart" and restarts == 0 and got >= 1 << 20:
            nl, dmabuf_id = bind()
            restarts += 1
        elif mode == "restart" and restarts == 1 and got >= 5 << 20:
            del nl  # closing the socket unbinds: another restart
            nl = None
            gc.collect()
            restarts += 1
        data, anc, _, _ = conn.recvmsg(1 << 16, 1 << 14, MSG_SOCK_DEVMEM)
        if not data and not anc:
            break
        tokens = []
        pos = 0
        for level, ctype, cdata in anc:
            if level != socket.SOL_SOCKET:
                continue
            if ctype == SCM_DEVMEM_LINEAR:
                n = struct.unpack("I", cdata[:4])[0]
                chunk = data[pos:pos + n]
                pos += n
                linear += n
            elif ctype == SCM_DEVMEM_DMABUF:
                off, size, token, did, _ = struct.unpack("QIIII", cdata[:24])
                if did != dmabuf_id:
                    print(f"# frag from dma-buf {did}, bound {dmabuf_id}")
                    return 1
                fcntl.ioctl(fd, DMA_BUF_IOCTL_SYNC,
                            struct.pack("Q", DMA_BUF_SYNC_READ | DMA_BUF_SYNC_START))
                chunk = buf[off:off + size]
                fcntl.ioctl(fd, DMA_BUF_IOCTL_SYNC,
                            struct.pack("Q", DMA_BUF_SYNC_READ | DMA_BUF_SYNC_END))
                tokens.append(token)
                frags += 1
            else:
                continue
            exp = expected(got, len(chunk))
            if chunk != exp:
                bad += 1
                print(f"# mismatch in {len(chunk)} bytes at stream offset {got}")
            got += len(chunk)
        # recvmsg returns how many bytes it consumed, dma-buf frags
        # included, though only linear bytes are copied: a return without
        # any devmem cmsg is a readable skb (not from the bound queue).
        if data and not any(l == socket.SOL_SOCKET and t in (SCM_DEVMEM_LINEAR, SCM_DEVMEM_DMABUF)
                            for l, t, _ in anc):
            if mode == "devmem":
                print(f"# {len(data)} bytes without devmem cmsg: flow not on the bound queue")
                subprocess.run([et, "-S", ifb])
                return 1
            # A readable skb: the bytes were copied.
            exp = expected(got, len(data))
            if data != exp:
                bad += 1
                print(f"# mismatch in {len(data)} readable bytes at stream offset {got}")
            got += len(data)
            readable += len(data)
            continue
        for t in tokens:
            returned += dontneed(conn, t)
    secs = time.monotonic() - t0
    client.wait(timeout=60)
    print(f"# received {got} bytes in {secs:.1f} s: {frags} dma-buf frags, "
          f"{returned} frags freed by DONTNEED, {linear} linear bytes, {readable} readable "
          f"bytes, {restarts} queue restarts")
    stats = os.environ.get("DEVMEM_RX_STATS")
    if stats:
        with open(f"{stats}.{mode}.json", "w") as f:
            json.dump({"mode": mode, "bytes": got, "seconds": secs, "frags": frags,
                       "frags_freed": returned, "linear": linear,
                       "readable": readable, "restarts": restarts,
                       "dmabuf_size": DMABUF_SIZE, "mismatches": bad}, f)
    ok = (got == BYTES and bad == 0 and frags > 0 and returned == frags
          and client.returncode == 0)
    if mode == "restart":
        ok = ok and restarts == 2 and readable > 0
    return 0 if ok else 1


def run_receiver(mode):
    pa, pb = port_netdev(0), port_netdev(1)
    sh(f"ip netns add {NSA} && ip netns add {NSB}")
    try:
        sh(f"ip link set {pa} netns {NSA} && ip link set {pb} netns {NSB}")
        sh(f"ip -n {NSA} addr add {IPA}/24 dev {pa} && ip -n {NSA} link set {pa} up")
        sh(f"ip -n {NSB} addr add {IPB}/24 dev {pb} && ip -n {NSB} link set {pb} up")
        r = subprocess.run(["ip", "netns", "exec", NSB, sys.executable,
                            os.path.abspath(__file__), "--receiver", mode, pb], timeout=300)
        ksft_eq(r.returncode, 0)
        # The receiver is gone, so is its binding: undo what it set.
        for args in (["-K", pb, "ntuple", "off"], ["-X", pb, "default"],
                     ["-G", pb, "tcp-data-split", "off"]):
            subprocess.run(["ip", "netns", "exec", NSB, ethtool(), *args], check=True)
    finally:
        subprocess.run(f"ip netns del {NSA}; ip netns del {NSB}", shell=True)
        wait_ports()


def devmem_rx():
    """A pattern stream received into a udmabuf, every byte checked."""
    run_receiver("devmem")


def restart_under_traffic():
    """The queue carrying a stream restarted twice (bind, unbind) under
    traffic: nothing lost, nothing corrupted, devmem in between."""
    run_receiver("restart")


def main():
    skip_without_ports()
    if not ethtool() or not os.path.exists("/dev/udmabuf"):
        print("1..0 # SKIP no ethtool >= 6.7 (tcp-data-split) or no /dev/udmabuf")
        sys.exit(4)
    ksft_run([devmem_rx, restart_under_traffic])
    ksft_exit()


if __name__ == "__main__":
    if len(sys.argv) > 3 and sys.argv[1] == "--receiver":
        sys.exit(receiver())
    main()
