#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Device Memory TCP receive, end to end, over an emulated port pair.

Port B (in its own namespace) gets header split, RSS on queue 0 only, an
ntuple rule steering the test flow to queue 1, and a udmabuf bound to
queue 1 (netdev bind-rx, the 6.12 C devmem core). A pattern stream from
port A is received with recvmsg(MSG_SOCK_DEVMEM): every payload byte must
arrive as an SCM_DEVMEM_DMABUF frag in the udmabuf, be checked there, and
be handed back with SO_DEVMEM_DONTNEED.

Also, run by devmem_dry.py and devmem_linear.py: a receiver that holds
every frag until the dma-buf runs dry, then hands them all back (the
queue must resume by itself; the resume latency is measured), and linear
bytes (SCM_DEVMEM_LINEAR) with the emulated device's rx_inline.

Needs KSRC, and DEVMEM_CACHE for ethtool >= 6.7 (tcp-data-split).
"""

import ctypes
import errno
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

from devmem_rs import (HERE, YnlFamily, ethtool, ksft_eq, ksft_exit, ksft_run, port_netdev, sh,
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
# "dry": a 512 KiB dma-buf (128 buffers, fewer than the ring's 512) and a
# stream of 4 times that; the receiver holds its frags until no data came
# for DRY_WAIT s, then returns them all; data must come again within
# RESUME_MAX s (the sender's retransmission timer dominates).
DRY_DMABUF_SIZE = 512 << 10
DRY_BYTES = 4 * DRY_DMABUF_SIZE
DRY_WAIT = 1.0
RESUME_MAX = 10.0
# "linear": payload bytes the device puts into the header buffer after
# the headers (gve_rs_emu.rx_inline), and the stream of small and large
# writes (tcp_pattern.py chunks).
RX_INLINE = 100
RX_INLINE_PARAM = "/sys/module/gve_rs_emu/parameters/rx_inline"
LINEAR_BYTES = 128 << 10

MSG_SOCK_DEVMEM = 0x2000000
SCM_DEVMEM_LINEAR = 78
SCM_DEVMEM_DMABUF = 79
SO_DEVMEM_DONTNEED = 80
DMA_BUF_IOCTL_SYNC = 0x40086200
DMA_BUF_SYNC_READ, DMA_BUF_SYNC_START, DMA_BUF_SYNC_END = 1, 0, 4


def stat(ifname, name):
    """Statistic NAME of IFNAME (ethtool -S)."""
    out = subprocess.run([ethtool(), "-S", ifname], check=True, capture_output=True,
                         text=True).stdout
    for line in out.splitlines():
        k, _, v = line.strip().partition(": ")
        if k == name:
            return int(v)
    raise KeyError(name)


def expected(offset, n):
    """The pattern stream's n bytes from offset."""
    start = offset % PERIOD
    return PATTERN[start:start + n]


LIBC = ctypes.CDLL(None, use_errno=True)


def dontneed(conn, tokens):
    """Hands TOKENS back, at most 128 per SO_DEVMEM_DONTNEED call; returns
    the frags freed (the syscall's positive result, which Python's
    setsockopt drops)."""
    freed = 0
    for i in range(0, len(tokens), 128):
        arg = b"".join(struct.pack("II", t, 1) for t in tokens[i:i + 128])
        n = LIBC.setsockopt(conn.fileno(), socket.SOL_SOCKET, SO_DEVMEM_DONTNEED,
                            arg, len(arg))
        if n < 0:
            err = ctypes.get_errno()
            raise OSError(err, f"SO_DEVMEM_DONTNEED: {os.strerror(err)}")
        freed += n
    return freed


def receiver():
    """Runs in NSB: configure, bind, receive, verify. Exit code 0 = pass.

    Mode "devmem": bound before the stream starts; every payload byte must
    come as a dma-buf frag. Mode "restart": the stream starts readable, the
    queue carrying it is bound (a queue restart) after 1 MiB and unbound
    (another restart) after 5 MiB; every byte must still arrive, in order.
    Mode "dry": a small dma-buf, frags held until the queue ran dry, then
    all returned; each time the flow must resume within RESUME_MAX s with
    no restart. Mode "linear": small and large segments with the device's
    rx_inline at RX_INLINE: payloads up to RX_INLINE bytes arrive whole in
    the header buffer (readable skbs: copied, no devmem cmsg in 6.12),
    larger ones as RX_INLINE linear bytes (SCM_DEVMEM_LINEAR) plus frags.
    Mode "devmem" with the device's hardware GRO on (its default): the
    segments of the sender's TSO frames must arrive coalesced, as packets
    of one header and many dma-buf payload buffers (rx<Q>_gro_hw_packets
    rising); mode "nogro", the same with rx-gro-hw off: none coalesced.
    """
    mode, ifb = sys.argv[2], sys.argv[3]
    nbytes = {"dry": DRY_BYTES, "linear": LINEAR_BYTES, "nogro": BYTES // 2}.get(mode, BYTES)
    dmabuf_size = DRY_DMABUF_SIZE if mode == "dry" else DMABUF_SIZE
    et = ethtool()
    # Start from a known state whatever earlier tests left: four queues,
    # no flow rules (turning ntuple off deletes them).
    for args in (["-L", ifb, "combined", "4"], ["-K", ifb, "ntuple", "off"],
                 ["-G", ifb, "tcp-data-split", "on"], ["-K", ifb, "ntuple", "on"],
                 ["-X", ifb, "equal", "1"],
                 ["-N", ifb, "flow-type", "tcp4", "dst-ip", IPB, "dst-port", str(PORT),
                  "action", str(QUEUE)],
                 ["-K", ifb, "rx-gro-hw", "off" if mode == "nogro" else "on"]):
        subprocess.run([et, *args], check=True)
    ifindex = int(open(f"/sys/class/net/{ifb}/ifindex").read())
    fd = udmabuf(dmabuf_size)
    buf = mmap.mmap(fd, dmabuf_size, mmap.MAP_SHARED, mmap.PROT_READ)
    nl = None
    dmabuf_id = None

    def bind():
        sock = YnlFamily(spec("netdev"))
        rsp = sock.bind_rx({"ifindex": ifindex, "fd": fd,
                            "queues": [{"id": QUEUE, "type": "rx"}]})
        return sock, rsp["id"]

    if mode != "restart":
        nl, dmabuf_id = bind()
    restarts = 0

    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((IPB, PORT))
    srv.listen(1)
    client = subprocess.Popen(["ip", "netns", "exec", NSA, sys.executable,
                               f"{HERE}/tcp_pattern.py",
                               "chunks" if mode == "linear" else "client", IPB, str(PORT),
                               str(nbytes)])
    srv.settimeout(60)
    conn, _ = srv.accept()
    conn.settimeout(60)
    t0 = time.monotonic()
    got = frags = linear = bad = readable = freed = 0
    lin_sizes = []   # lengths of SCM_DEVMEM_LINEAR cmsgs
    held = []        # "dry": tokens not handed back yet
    dry = []         # "dry": (tokens held, rx_no_buffer rise, alloc-fail retries/s)
    resumed = []     # "dry": seconds from handing back to data
    since = None     # "dry": when the tokens went back
    nobuf0 = stat(ifb, "rx_no_buffer")
    gro0 = (stat(ifb, f"rx{QUEUE}_gro_hw_packets"), stat(ifb, f"rx{QUEUE}_gro_hw_segments"))
    while True:
        if mode == "restart" and restarts == 0 and got >= 1 << 20:
            nl, dmabuf_id = bind()
            restarts += 1
        elif mode == "restart" and restarts == 1 and got >= 5 << 20:
            del nl  # closing the socket unbinds: another restart
            nl = None
            gc.collect()
            restarts += 1
        try:
            data, anc, _, _ = conn.recvmsg(1 << 16, 1 << 14, MSG_SOCK_DEVMEM)
        except TimeoutError:
            if mode != "dry" or since is not None or not held:
                print(f"# no data for {conn.gettimeout()} s at stream offset {got}, "
                      f"{len(held)} frags held")
                return 1
            # Dry: the device drops what it cannot place. The driver must
            # keep retrying its refill (rx1_alloc_fail rising) without
            # spinning, then resume once the frags are back.
            nobuf = stat(ifb, "rx_no_buffer")
            rate = None
            if len(dry) < 2:  # (the first two: each costs a second)
                fail0 = stat(ifb, f"rx{QUEUE}_alloc_fail")
                time.sleep(1)
                rate = stat(ifb, f"rx{QUEUE}_alloc_fail") - fail0
            dry.append((len(held), nobuf - nobuf0, rate))
            nobuf0 = nobuf
            freed += dontneed(conn, held)
            held = []
            since = time.monotonic()
            conn.settimeout(RESUME_MAX)
            continue
        if since is not None:
            resumed.append(time.monotonic() - since)
            since = None
        if not data and not anc:
            break
        tokens = []
        pos = 0
        for level, ctype, cdata in anc:
            if level != socket.SOL_SOCKET:
                continue
            if ctype == SCM_DEVMEM_LINEAR:
                # struct dmabuf_cmsg: u64 frag_offset, u32 frag_size, ...
                n = struct.unpack("QI", cdata[:12])[1]
                chunk = data[pos:pos + n]
                if len(chunk) != n:
                    print(f"# SCM_DEVMEM_LINEAR of {n} bytes, {len(chunk)} left in the data")
                    bad += 1
                pos += n
                linear += n
                lin_sizes.append(n)
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
            if mode in ("devmem", "dry", "nogro"):
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
        if mode == "dry":
            held += tokens
            # Holding frags: a pause of DRY_WAIT s means the queue ran dry.
            conn.settimeout(DRY_WAIT if held else 60)
        else:
            freed += dontneed(conn, tokens)
    freed += dontneed(conn, held)
    secs = time.monotonic() - t0
    client.wait(timeout=60)
    print(f"# received {got} bytes in {secs:.1f} s: {frags} dma-buf frags "
          f"({freed} freed by DONTNEED), {linear} linear bytes "
          f"({len(lin_sizes)} SCM_DEVMEM_LINEAR), {readable} readable bytes, "
          f"{restarts} queue restarts")
    stats = os.environ.get("DEVMEM_RX_STATS")
    if stats:
        with open(f"{stats}.{mode}.json", "w") as f:
            json.dump({"mode": mode, "bytes": got, "seconds": secs, "frags": frags,
                       "frags_freed": freed, "linear": linear,
                       "readable": readable, "restarts": restarts,
                       "dmabuf_size": dmabuf_size, "mismatches": bad}, f)
    gro = (stat(ifb, f"rx{QUEUE}_gro_hw_packets") - gro0[0],
           stat(ifb, f"rx{QUEUE}_gro_hw_segments") - gro0[1])
    print(f"# hardware GRO: {gro[0]} packets of {gro[1]} coalesced segments on queue {QUEUE}")
    ok = (got == nbytes and bad == 0 and frags > 0 and freed == frags
          and client.returncode == 0)
    if mode == "devmem":
        ok = ok and gro[0] > 0 and gro[1] >= 2 * gro[0]
    if mode == "nogro":
        ok = ok and gro == (0, 0)
    if mode == "restart":
        ok = ok and restarts == 2 and readable > 0
    if mode == "dry":
        for i, ((n, nobuf, rate), t) in enumerate(zip(dry, resumed)):
            retries = "" if rate is None else f"{rate} refill retries in 1 s; "
            print(f"# dry {i + 1}: {n} frags held, rx_no_buffer +{nobuf}, "
                  f"{retries}resumed {t:.2f} s after DONTNEED")
        if resumed:
            print(f"# resume latency: min {min(resumed):.2f} s, max {max(resumed):.2f} s "
                  f"over {len(resumed)} dry spells (bound {RESUME_MAX} s)")
        # It must have run dry (frames dropped for want of a buffer), the
        # driver must have retried while starved (and not spun: at most one
        # retry per jiffy, backing off to one per 64 ms), and it must have
        # resumed each time.
        ok = (ok and len(dry) >= 2 and len(resumed) == len(dry) and linear == 0
              and dry[0][1] > 0
              and all(rate is None or 0 < rate <= 100 for _, _, rate in dry))
    if mode == "linear":
        print(f"# SCM_DEVMEM_LINEAR sizes: {sorted(set(lin_sizes))}")
        # Payloads over RX_INLINE: RX_INLINE linear bytes (fewer only where
        # a read ended inside them), the rest in frags; payloads up to it:
        # whole in the header buffer, readable.
        ok = (ok and lin_sizes and max(lin_sizes) == RX_INLINE
              and lin_sizes.count(RX_INLINE) * 2 > len(lin_sizes) and readable > 0)
    elif linear:
        print(f"# {linear} linear bytes with rx_inline 0")
        ok = False
    return 0 if ok else 1


def run_receiver(mode):
    pa, pb = port_netdev(0), port_netdev(1)
    if mode == "linear":
        with open(RX_INLINE_PARAM, "w") as f:
            f.write(str(RX_INLINE))
    sh(f"ip netns add {NSA} && ip netns add {NSB}")
    try:
        sh(f"ip link set {pa} netns {NSA} && ip link set {pb} netns {NSB}")
        sh(f"ip -n {NSA} addr add {IPA}/24 dev {pa} && ip -n {NSA} link set {pa} up")
        sh(f"ip -n {NSB} addr add {IPB}/24 dev {pb} && ip -n {NSB} link set {pb} up")
        r = subprocess.run(["ip", "netns", "exec", NSB, sys.executable,
                            os.path.abspath(__file__), "--receiver", mode, pb], timeout=300)
        ksft_eq(r.returncode, 0)
        # The receiver is gone, so is its binding: undo what it set.
        for args in (["-K", pb, "ntuple", "off"], ["-K", pb, "ntuple", "on"],
                         ["-X", pb, "default"], ["-K", pb, "rx-gro-hw", "on"],
                     ["-G", pb, "tcp-data-split", "off"]):
            subprocess.run(["ip", "netns", "exec", NSB, ethtool(), *args], check=True)
    finally:
        if mode == "linear":
            with open(RX_INLINE_PARAM, "w") as f:
                f.write("0")
        subprocess.run(f"ip netns del {NSA}; ip netns del {NSB}", shell=True)
        wait_ports()


def devmem_rx():
    """A pattern stream received into a udmabuf, every byte checked."""
    run_receiver("devmem")


def devmem_rx_no_gro():
    """The same with the device's hardware GRO off: verified, nothing
    coalesced."""
    run_receiver("nogro")


def restart_under_traffic():
    """The queue carrying a stream restarted twice (bind, unbind) under
    traffic: nothing lost, nothing corrupted, devmem in between."""
    run_receiver("restart")


def dry_refill():
    """A 512 KiB dma-buf, a 2 MiB stream, every frag held until the queue
    ran dry, then handed back: the flow resumes each time, by itself."""
    run_receiver("dry")


def rx_inline_param():
    """gve_rs_emu.rx_inline: 0 by default, 0-4096, else EINVAL."""
    with open(RX_INLINE_PARAM) as f:
        ksft_eq(f.read().strip(), "0")
    for bad in ("4097", "-1", "x"):
        try:
            with open(RX_INLINE_PARAM, "w") as f:
                f.write(bad)
            err = 0
        except OSError as e:
            err = e.errno
        ksft_eq(err, errno.EINVAL)
    with open(RX_INLINE_PARAM) as f:
        ksft_eq(f.read().strip(), "0")


def linear_rx():
    """Small and large segments with rx_inline 100: SCM_DEVMEM_LINEAR of
    100 bytes before the frags, small payloads readable, all verified."""
    run_receiver("linear")


def main(cases=(devmem_rx, devmem_rx_no_gro, restart_under_traffic)):
    """Runs CASES (devmem_dry.py and devmem_linear.py run the others, so
    that each program stays within the selftest timeout)."""
    skip_without_ports()
    if not ethtool() or not os.path.exists("/dev/udmabuf"):
        print("1..0 # SKIP no ethtool >= 6.7 (tcp-data-split) or no /dev/udmabuf")
        sys.exit(4)
    ksft_run(list(cases))
    ksft_exit()


if __name__ == "__main__":
    if len(sys.argv) > 3 and sys.argv[1] == "--receiver":
        sys.exit(receiver())
    main()
