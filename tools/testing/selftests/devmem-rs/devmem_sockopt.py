#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The socket side of Device Memory TCP: recvmsg(MSG_SOCK_DEVMEM) cmsgs and
SO_DEVMEM_DONTNEED, error paths above all.

Over an emulated port pair (A sends from its namespace, B receives in its
own with header split, RSS on queue 0 and ntuple rules steering port 5401
to queue 1 and port 5403 to queue 2), this process binds a 24 MiB udmabuf
to queue 1 and reads tcp_pattern.py streams from its own sockets (made in
B's namespace through setns); SO_DEVMEM_DONTNEED goes through libc's
setsockopt, whose return value (the frags freed) Python's setsockopt drops.

- cmsg_layout: every SCM_DEVMEM_DMABUF cmsg is CMSG_LEN(24) long, at
  SOL_SOCKET, frag_size > 0, dmabuf_id the binding's, within the dma-buf,
  flags 0, its bytes the stream's; tokens distinct while held; no
  SCM_DEVMEM_LINEAR and nothing written to the iov (rx_inline 0); the
  frag sizes add up to recvmsg's return value.
- recvmsg_small_control: a control buffer too small for one devmem cmsg
  (none, and CMSG_LEN(24) - 1 bytes) fails with the socket side's errno
  (too_small_errno(): upstream's C leaks ETOOSMALL, 525); with room for one
  cmsg exactly, one frag comes; no byte is lost or skipped.
- recv_without_flag: recv() without MSG_SOCK_DEVMEM fails with EFAULT; the
  stream goes on with the flag, nothing lost.
- dontneed_*: SO_DEVMEM_DONTNEED on a socket holding tokens: optlen 0 and 3
  (EINVAL: smaller than an int), 4, 7, 9 (EINVAL: no multiple of 8), 1032
  (EINVAL: over 128 tokens), 1024 with 128 held tokens (128 freed); an
  unreadable optval (address 8, an unmapped page, a buffer running into
  one: EFAULT); unknown tokens (0); the same tokens twice (count, then 0);
  token_count 0 (0); token numbers another devmem socket holds and this
  one does not (0, the other one frees them after; tokens are numbered per
  socket, so two sockets hold the same numbers); token_count 0xffffffff
  from the lowest held token (at most 1024 frags looked at: exactly the
  held tokens in [start, start + 1024) freed); a UDP socket (EBADF); TCP
  sockets without devmem, listening, unconnected, connected (0); finally
  every token still held comes back exactly once. After each refused
  call, a token of its buffer must still be held. The test assumes
  nothing about how tokens are numbered (6.12's C numbers them from 1,
  but a DONTNEED of token 0 erases the xarray's reservation of index 0,
  and later frags may get token 0).
- close_with_tokens: the TCP socket closed while holding 2000 tokens (the
  process goes on): the page pool's inflight count falls back to what the
  queue itself holds; a new connection on the same binding streams 1 MiB.
- cmsg_layout_linear: with the device's rx_inline at 100, SCM_DEVMEM_LINEAR
  reports exactly the bytes copied to the iov (the stream's, in cmsg order,
  nothing written after them); linear + frag bytes = recvmsg's value.
- binding_released: the netlink socket and every devmem socket closed:
  no queue or page pool reports the binding, the core forgets it.
- killed_holder: a devmem_recv.py process with a 48 MiB udmabuf on queue 2
  holding 10000 tokens is killed (SIGKILL): no queue or page pool keeps the
  binding, and a new bind on queue 2 works and receives 1 MiB.

The errno expected for a too small control buffer depends on the socket
side's implementation, which is the core's (caps-get's implementation):
6.12's C leaks ETOOSMALL (525), the Rust core says EMSGSIZE.

Needs KSRC, and DEVMEM_CACHE for ethtool >= 6.7 (tcp-data-split).
"""

import contextlib
import ctypes
import errno
import fcntl
import mmap
import os
import socket
import struct
import sys
import time

from devmem_rs import (KsftSkipEx, LazyEnv, YnlFamily, ethtool, ksft_eq, ksft_exit, ksft_ge,
                       ksft_run, ksft_true, sh, skip_without_ports, spec, split_pair,
                       udmabuf, unsplit_pair)
from devmem_teardown import (Recv, binding_info, binding_known, configure_b, ifindex, nsexec,
                             sender)

NSA, NSB = "dmso-a", "dmso-b"
IPA, IPB = "198.18.9.1", "198.18.9.2"
QUEUE, PORT = 1, 5401            # the in-process binding and its streams
KILL_QUEUE, KILL_PORT = 2, 5403  # killed_holder's receiver process
LO_PORT = 5409                   # a TCP connection over lo, without devmem
DMABUF = 24 << 20
KILL_DMABUF = 48 << 20           # 12288 net_iovs: 10000 held + the queue's
KILL_HOLD = 10000
REBIND_DMABUF = 8 << 20
CLOSE_HOLD = 2000
RX_INLINE = 100
RX_INLINE_PARAM = "/sys/module/gve_rs_emu/parameters/rx_inline"
CORE = os.environ.get("CORE", "rust")

MSG_SOCK_DEVMEM = 0x2000000
SCM_DEVMEM_LINEAR = 78
SCM_DEVMEM_DMABUF = 79
SO_DEVMEM_DONTNEED = 80
DMABUF_CMSG = 24                 # struct dmabuf_cmsg
MAX_TOKENS = 128                 # struct dmabuf_token entries a call may carry
MAX_FRAGS = 1024                 # frags one call looks at
DMA_BUF_IOCTL_SYNC = 0x40086200
SYNC_START = struct.pack("Q", 1 | 0)  # DMA_BUF_SYNC_READ | START
SYNC_END = struct.pack("Q", 1 | 4)    # DMA_BUF_SYNC_READ | END
ETOOSMALL = 525                  # kernel-internal (include/linux/errno.h)
# What the queue's page pool may hold with no socket holding anything:
# posted buffers (the driver's RX_BUFS), its ptr_ring (pool_size, the
# same) and its alloc cache (PP_ALLOC_CACHE_SIZE), a little slack.
POOL_IDLE_MAX = 512 + 512 + 128 + 32
PERIOD = 251
PATTERN = bytes(i % PERIOD for i in range(PERIOD + (1 << 16)))
SENTINEL = 0xff                  # never a pattern byte


# The errno of recvmsg(MSG_SOCK_DEVMEM) whose control buffer has no room
# for the first devmem cmsg, per implementation of the socket side. 6.12's
# C (put_cmsg_notrunc() in tcp_recvmsg_dmabuf()) returns the kernel-internal
# ETOOSMALL to user space; the Rust socket side returns EMSGSIZE.
TOO_SMALL_ERRNO = {"c": ETOOSMALL, "rust": errno.EMSGSIZE}


def socket_side():
    """Which implementation serves the socket side: the core's (caps-get's
    implementation), as patches/0005 routes it."""
    return YnlFamily(spec("devmem")).caps_get({})["implementation"], "caps-get implementation"


def too_small_errno():
    side, how = socket_side()
    if side not in TOO_SMALL_ERRNO:
        raise ValueError(f"socket side {side!r} ({how}): not one of {sorted(TOO_SMALL_ERRNO)}")
    print(f"# socket side: {side} ({how}): errno {TOO_SMALL_ERRNO[side]} expected")
    return TOO_SMALL_ERRNO[side]


LIBC = ctypes.CDLL(None, use_errno=True)
LIBC.setsockopt.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_void_p,
                            ctypes.c_uint]
LIBC.setns.argtypes = [ctypes.c_int, ctypes.c_int]
LIBC.mmap.restype = ctypes.c_void_p
LIBC.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                      ctypes.c_int, ctypes.c_long]
LIBC.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
CLONE_NEWNET = 0x40000000
PAGE = os.sysconf("SC_PAGE_SIZE")


@contextlib.contextmanager
def netns(name):
    """Sockets made in the block (netlink ones too) belong to namespace
    NAME; a socket stays in the namespace it was made in."""
    home = os.open("/proc/self/ns/net", os.O_RDONLY)
    there = os.open(f"/run/netns/{name}", os.O_RDONLY)
    try:
        if LIBC.setns(there, CLONE_NEWNET):
            raise OSError(ctypes.get_errno(), f"setns {name}")
        try:
            yield
        finally:
            if LIBC.setns(home, CLONE_NEWNET):
                raise OSError(ctypes.get_errno(), "setns back")
    finally:
        os.close(there)
        os.close(home)


def entries(*pairs):
    """struct dmabuf_token {u32 token_start; u32 token_count;} array."""
    return b"".join(struct.pack("II", s, c) for s, c in pairs)


def dontneed(sock, optval, optlen=None):
    """SO_DEVMEM_DONTNEED through libc: (return value, errno). OPTVAL is
    bytes (OPTLEN defaults to their length) or an address."""
    if isinstance(optval, int):
        ptr, keep = optval, None
    else:
        keep = ctypes.create_string_buffer(bytes(optval), max(len(optval), 1))
        ptr = ctypes.addressof(keep)
        optlen = len(optval) if optlen is None else optlen
    ctypes.set_errno(0)
    ret = LIBC.setsockopt(sock.fileno(), socket.SOL_SOCKET, SO_DEVMEM_DONTNEED, ptr, optlen)
    del keep
    return ret, ctypes.get_errno() if ret < 0 else 0


def expected(offset, n):
    start = offset % PERIOD
    if n <= len(PATTERN) - PERIOD:
        return PATTERN[start:start + n]
    return bytes((offset + i) % PERIOD for i in range(n))


def check(chunk, offset, what):
    if bytes(chunk) != expected(offset, len(chunk)):
        raise AssertionError(f"{what}: {len(chunk)} bytes at stream offset {offset} "
                             "are not the stream's")


class Pair(LazyEnv):
    """Pair 0 split into NSA/NSB and configured, set up by the first case
    that needs it (a failure fails that case and every later one), undone
    by close()."""

    def __init__(self):
        super().__init__()
        self.nl = None
        self.main = None
        self.a = self.b = None

    def setup(self):
        self.a, self.b = split_pair(NSA, NSB, IPA, IPB)
        sh(f"ip -n {NSB} link set lo up")
        configure_b(NSB, self.b, ports={QUEUE: PORT, KILL_QUEUE: KILL_PORT}, addr=IPB)
        self.ifindex = ifindex(NSB, self.b)
        with netns(NSB):
            self.nl = YnlFamily(spec("netdev"))

    def reporting(self, ident):
        """Queues and page pools of NSB that report binding IDENT."""
        queues = self.nl.queue_get({"ifindex": self.ifindex}, dump=True)
        pools = self.nl.page_pool_get({}, dump=True)
        return [x for x in queues + pools if x.get("dmabuf") == ident]

    def inflight(self, ident):
        """Buffers the page pools of binding IDENT have out (taken from
        the binding, not given back)."""
        return sum(p.get("inflight", 0) for p in self.nl.page_pool_get({}, dump=True)
                   if p.get("dmabuf") == ident)

    def wait_gone(self, ident, timeout=60):
        """Waits until nothing reports binding IDENT; returns what is left."""
        end = time.monotonic() + timeout
        while True:
            left = self.reporting(ident)
            known = binding_known(ident)
            if not left and not known:
                return None
            if time.monotonic() > end:
                return str(left) if left else f"binding {ident} still known to the core"
            time.sleep(0.5)

    def close(self):
        if self.main:
            self.main.close()
        if self.nl:
            self.nl.sock.close()
        with contextlib.suppress(Exception), open(RX_INLINE_PARAM, "w") as f:
            f.write("0")
        return unsplit_pair(NSA, NSB, self.b)


PAIR = Pair()


class Main:
    """A udmabuf bound to QUEUE by this process, a listener on PORT."""

    def __init__(self, pair):
        self.pair = pair
        self.fd = udmabuf(DMABUF)
        self.mm = mmap.mmap(self.fd, DMABUF, mmap.MAP_SHARED, mmap.PROT_READ)
        with netns(NSB):
            self.nl = YnlFamily(spec("netdev"))
            self.srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.srv.bind((IPB, PORT))
        self.srv.listen(4)
        self.srv.settimeout(60)
        t0 = time.monotonic()
        self.id = self.nl.bind_rx({"ifindex": pair.ifindex, "fd": self.fd,
                                   "queues": [{"id": QUEUE, "type": "rx"}]})["id"]
        print(f"# bound {DMABUF >> 20} MiB to queue {QUEUE}: binding {self.id} "
              f"({time.monotonic() - t0:.1f} s)")
        self.streams = []
        self.a = None

    def stream(self, nbytes):
        s = Stream(self, nbytes)
        self.streams.append(s)
        return s

    def main_stream(self):
        """The long stream most cases read (its sender never ends)."""
        if self.a is None:
            self.a = self.stream(1 << 34)
        if self.a.sock is None:
            raise AssertionError("the main stream was closed")
        return self.a

    def close(self):
        for s in self.streams:
            s.close()
        if self.srv:
            self.srv.close()
            self.srv = None
        if self.nl:
            self.nl.sock.close()
            self.nl = None
        if self.mm:
            self.mm.close()
            os.close(self.fd)
            self.mm = None


def main_binding():
    pair = PAIR.get()
    if pair.main is None:
        pair.main = Main(pair)
    if pair.main.nl is None:
        raise AssertionError("the main binding was released")
    return pair.main


class Stream:
    """A tcp_pattern.py stream from NSA into an accepted socket of Main's
    listener, read with MSG_SOCK_DEVMEM and checked byte by byte."""

    def __init__(self, main, nbytes):
        self.main = main
        self.proc = sender(QUEUE, nbytes, ns=NSA, addr=IPB, port=PORT)
        self.sock, _ = main.srv.accept()
        self.sock.settimeout(60)
        self.got = self.frags = self.linear = self.readable = 0
        self.held = []
        self.problems = []  # cmsg layout violations

    def problem(self, what):
        if len(self.problems) < 20:
            print(f"# cmsg layout: {what}")
        self.problems.append(what)

    def account(self, buf, n, anc, mflags):
        """Checks and counts one recvmsg's result (iov BUF, return value
        N, cmsgs ANC); returns the tokens of its frags."""
        if n == 0 and not anc:
            raise AssertionError(f"end of stream at {self.got}")
        devmem = []
        for level, ctype, data in anc:
            if level == socket.SOL_SOCKET and ctype in (SCM_DEVMEM_LINEAR, SCM_DEVMEM_DMABUF):
                devmem.append((ctype, data))
            else:
                self.problem(f"cmsg level {level} type {ctype}")
        if not devmem:
            # A readable skb: copied like any recv.
            check(buf[:n], self.got, "readable bytes")
            self.got += n
            self.readable += n
            return []
        if mflags & socket.MSG_CTRUNC:
            self.problem("MSG_CTRUNC")
        pos = 0
        at = self.got
        tokens = []
        synced = any(c == SCM_DEVMEM_DMABUF for c, _ in devmem)
        if synced:
            fcntl.ioctl(self.main.fd, DMA_BUF_IOCTL_SYNC, SYNC_START)
        try:
            for ctype, data in devmem:
                if len(data) != DMABUF_CMSG:
                    self.problem(f"cmsg {ctype} of {len(data)} bytes, not CMSG_LEN(24)")
                    if len(data) < DMABUF_CMSG:
                        continue
                off, size, token, did, flags = struct.unpack("QIIII", data[:DMABUF_CMSG])
                if size == 0:
                    self.problem(f"cmsg {ctype} with frag_size 0")
                if ctype == SCM_DEVMEM_LINEAR:
                    if off or token or did or flags:
                        self.problem(f"SCM_DEVMEM_LINEAR {off} {size} {token} {did} {flags}")
                    if pos + size > len(buf):
                        self.problem(f"SCM_DEVMEM_LINEAR of {size} bytes at iov {pos}")
                    check(buf[pos:pos + size], at, "linear bytes")
                    pos += size
                    self.linear += size
                else:
                    if did != self.main.id:
                        self.problem(f"frag of dma-buf {did}, bound {self.main.id}")
                    if flags:
                        self.problem(f"frag flags {flags:#x}")
                    if off + size > DMABUF:
                        self.problem(f"frag {off}+{size} beyond the dma-buf ({DMABUF})")
                    else:
                        check(self.main.mm[off:off + size], at, f"frag {token} at {off}")
                    tokens.append(token)
                    self.frags += 1
                at += size
        finally:
            if synced:
                fcntl.ioctl(self.main.fd, DMA_BUF_IOCTL_SYNC, SYNC_END)
        if at - self.got != n:
            self.problem(f"cmsgs cover {at - self.got} bytes, recvmsg returned {n}")
        if buf[pos:] != bytes([SENTINEL]) * (len(buf) - pos):
            self.problem(f"iov written beyond the {pos} linear bytes")
        self.got += n
        return tokens

    def recvmsg(self, bufsize=1 << 16, ancsize=1 << 14, flags=MSG_SOCK_DEVMEM):
        buf = bytearray([SENTINEL]) * bufsize
        n, anc, mflags, _ = self.sock.recvmsg_into([buf], ancsize, flags)
        return buf, n, anc, mflags

    def read(self, nbytes=0, frags=0, hold=False):
        """Reads until NBYTES more bytes and FRAGS more frags came; holds
        the tokens or gives them back."""
        end, fend = self.got + nbytes, self.frags + frags
        while self.got < end or self.frags < fend:
            size = min(1 << 16, end - self.got) if self.got < end else 1 << 16
            tokens = self.account(*self.recvmsg(size))
            if hold:
                self.held += tokens
            elif tokens:
                self.give(tokens)

    def give(self, tokens):
        """Returns TOKENS; each must free exactly one frag."""
        freed = 0
        for i in range(0, len(tokens), MAX_TOKENS):
            ret, err = dontneed(self.sock, entries(*((t, 1) for t in tokens[i:i + MAX_TOKENS])))
            if ret < 0:
                raise OSError(err, f"SO_DEVMEM_DONTNEED: {os.strerror(err)}")
            freed += ret
        if freed != len(tokens):
            raise AssertionError(f"{len(tokens)} tokens given back, {freed} frags freed")
        return freed

    def ensure_held(self, n):
        if len(self.held) < n:
            self.read(frags=n - len(self.held), hold=True)

    def top(self, k):
        """The K highest tokens held."""
        return sorted(self.held)[-k:]

    def forget(self, tokens):
        gone = set(tokens)
        self.held = [t for t in self.held if t not in gone]

    def still_held(self, token, why):
        """Token is still held: giving it back frees one frag."""
        ksft_eq(dontneed(self.sock, entries((token, 1))), (1, 0),
                comment=f"token {token} still held after {why}")
        self.forget([token])

    def close(self):
        if self.sock:
            self.sock.close()
            self.sock = None
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def cmsg_layout():
    """Layout of the devmem cmsgs of a good read (rx_inline 0)."""
    a = main_binding().main_stream()
    p0, n0, got0 = len(a.problems), len(a.held), a.got
    a.read(256 << 10, hold=True)
    new = a.held[n0:]
    print(f"# {a.got - got0} bytes in {len(new)} frags, {a.linear} linear bytes")
    ksft_eq(a.problems[p0:], [])
    ksft_true(len(new) > 0, comment="frags")
    ksft_eq(len(set(a.held)), len(a.held), comment="tokens distinct while held")
    ksft_eq(a.linear + a.readable, 0, comment="no linear or readable bytes with rx_inline 0")
    ksft_eq(a.give(a.held), len(a.held))
    a.held = []


def recvmsg_small_control():
    """A control buffer too small for one devmem cmsg: the socket side's
    errno, nothing lost; room for one cmsg exactly: one frag."""
    a = main_binding().main_stream()
    a.read(16 << 10)
    want = too_small_errno()
    for anc in (0, socket.CMSG_LEN(DMABUF_CMSG) - 1):
        buf = bytearray([SENTINEL]) * (1 << 16)
        try:
            n, cmsgs, mflags, _ = a.sock.recvmsg_into([buf], anc, MSG_SOCK_DEVMEM)
            a.give(a.account(buf, n, cmsgs, mflags))
            res = f"returned {n} with {len(cmsgs)} cmsgs"
        except OSError as e:
            res = e.errno
        ksft_eq(res, want, comment=f"controllen {anc}")
    buf, n, cmsgs, mflags = a.recvmsg(1 << 16, socket.CMSG_LEN(DMABUF_CMSG))
    tokens = a.account(buf, n, cmsgs, mflags)
    ksft_eq(len(cmsgs), 1, comment="room for one cmsg: one cmsg")
    if len(cmsgs) == 1:
        ksft_eq(n, struct.unpack("QI", cmsgs[0][2][:12])[1],
                comment="room for one cmsg: the bytes of that frag")
    a.give(tokens)
    got = a.got
    a.read(64 << 10)  # the pattern goes on where it stopped: nothing lost
    ksft_eq(a.got - got, 64 << 10)


def recv_without_flag():
    """recv() of a devmem stream without MSG_SOCK_DEVMEM: EFAULT; then with
    the flag, the stream goes on, nothing lost."""
    a = main_binding().main_stream()
    a.read(16 << 10)
    buf = bytearray([SENTINEL]) * (1 << 16)
    try:
        n = a.sock.recv_into(buf, len(buf))
        check(buf[:n], a.got, "bytes read without MSG_SOCK_DEVMEM")
        a.got += n
        res = f"returned {n}"
    except OSError as e:
        res = e.errno
    ksft_eq(res, errno.EFAULT)
    frags = a.frags
    a.read(64 << 10)
    ksft_true(a.frags > frags, comment="frags again with the flag")


# SO_DEVMEM_DONTNEED on the main stream's socket, holding tokens.

def table_stream(n=MAX_TOKENS + 2):
    a = main_binding().main_stream()
    a.ensure_held(n)
    return a


def bad_optlen(optlen, why):
    def case():
        a = table_stream(MAX_TOKENS + 2)
        toks = a.top(MAX_TOKENS + 1)
        ret = dontneed(a.sock, entries(*((t, 1) for t in toks)), optlen)
        ksft_eq(ret, (-1, errno.EINVAL), comment=f"optlen {optlen}: {why}")
        a.still_held(toks[0], f"optlen {optlen}")
    case.__name__ = f"dontneed_optlen_{optlen}"
    case.__doc__ = f"optlen {optlen}: EINVAL ({why}), nothing freed."
    return case


def dontneed_128_entries():
    """optlen 1024: 128 held tokens, 128 frags freed."""
    a = table_stream(MAX_TOKENS)
    toks = a.top(MAX_TOKENS)
    ksft_eq(dontneed(a.sock, entries(*((t, 1) for t in toks))), (MAX_TOKENS, 0))
    a.forget(toks)


def dontneed_bad_pointer():
    """An unreadable optval: address 8, an unmapped page, a buffer running
    into one (its readable first token stays held): EFAULT."""
    a = table_stream(2)
    ksft_eq(dontneed(a.sock, 8, 8), (-1, errno.EFAULT), comment="address 8")
    base = LIBC.mmap(None, 2 * PAGE, mmap.PROT_READ | mmap.PROT_WRITE,
                     mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS, -1, 0)
    if base in (None, ctypes.c_void_p(-1).value):
        raise OSError(ctypes.get_errno(), "mmap")
    try:
        LIBC.munmap(base + PAGE, PAGE)
        ksft_eq(dontneed(a.sock, base + PAGE, 8), (-1, errno.EFAULT), comment="unmapped page")
        tok = a.top(1)[0]
        ent = entries((tok, 1))
        ctypes.memmove(base + PAGE - len(ent), ent, len(ent))
        ksft_eq(dontneed(a.sock, base + PAGE - len(ent), 2 * len(ent)), (-1, errno.EFAULT),
                comment="a held token, then an unmapped page")
        a.still_held(tok, "EFAULT")
    finally:
        LIBC.munmap(base, PAGE)


def dontneed_unknown_tokens():
    """Tokens never handed out: 0, nothing freed."""
    a = table_stream(2)
    hi = max(a.held)
    ksft_eq(dontneed(a.sock, entries((0, 1), (hi + 1000, 8), (0xfffffff0, 16))), (0, 0))
    a.still_held(hi, "unknown tokens")


def dontneed_twice():
    """The same tokens twice: their count, then 0."""
    a = table_stream(8)
    toks = a.top(8)
    arg = entries(*((t, 1) for t in toks))
    ksft_eq(dontneed(a.sock, arg), (8, 0), comment="first")
    a.forget(toks)
    ksft_eq(dontneed(a.sock, arg), (0, 0), comment="second")


def dontneed_count_0():
    """token_count 0: 0, the token stays held."""
    a = table_stream(2)
    tok = a.top(1)[0]
    ksft_eq(dontneed(a.sock, entries((tok, 0))), (0, 0))
    a.still_held(tok, "token_count 0")


def dontneed_count_max():
    """token_count 0xffffffff from the lowest held token: the frags in
    [start, start + 1024) are looked at, the held ones freed, no more."""
    a = table_stream(MAX_FRAGS + 200)
    start = min(a.held)
    inside = [t for t in a.held if start <= t < start + MAX_FRAGS]
    beyond = sorted(t for t in a.held if t >= start + MAX_FRAGS)
    print(f"# {len(a.held)} tokens held, {min(a.held)}..{max(a.held)}: {len(inside)} in "
          f"[{start}, {start + MAX_FRAGS}), {len(beyond)} beyond")
    ksft_true(beyond, comment="held tokens beyond the cap")
    ret = dontneed(a.sock, entries((start, 0xffffffff)))
    ksft_eq(ret, (len(inside), 0))
    ksft_true(ret[0] <= MAX_FRAGS)
    a.forget(inside)
    if beyond:
        a.still_held(beyond[0], "the capped call")


def dontneed_other_socket():
    """Token numbers another devmem socket holds and this one does not: 0;
    the other socket frees them afterwards, and this one its own."""
    m = main_binding()
    a = table_stream(MAX_TOKENS + 60)
    b = m.stream(256 << 10)
    try:
        b.read(32 << 10, hold=True)
        mine = set(b.held)
        theirs = [t for t in sorted(a.held) if t not in mine][-MAX_TOKENS:]
        print(f"# socket B holds {len(mine)} tokens ({min(mine, default=0)}.."
              f"{max(mine, default=0)}), {len(mine & set(a.held))} of the same numbers as "
              "socket A (tokens are per socket)")
        ksft_true(theirs, comment="tokens A holds and B does not")
        ksft_eq(dontneed(b.sock, entries(*((t, 1) for t in theirs))), (0, 0),
                comment="A's tokens on B")
        ksft_eq(dontneed(a.sock, entries(*((t, 1) for t in theirs))), (len(theirs), 0),
                comment="A's tokens on A")
        a.forget(theirs)
        ksft_eq(dontneed(b.sock, entries(*((t, 1) for t in b.held))), (len(b.held), 0),
                comment="B's own tokens on B")
        b.held = []
    finally:
        b.close()


def dontneed_udp():
    """A UDP socket: EBADF."""
    a = table_stream(1)
    with netns(NSB):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    with u:
        ksft_eq(dontneed(u, entries((a.top(1)[0], 1))), (-1, errno.EBADF))


def dontneed_tcp_no_devmem():
    """TCP sockets without devmem (unconnected, listening, connected over
    lo with data read): 0."""
    m = main_binding()
    a = table_stream(1)
    arg = entries((1, 8), (a.top(1)[0], 1))
    with netns(NSB):
        fresh = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        lsn = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        cli = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    with fresh, lsn, cli:
        ksft_eq(dontneed(fresh, arg), (0, 0), comment="unconnected")
        ksft_eq(dontneed(m.srv, arg), (0, 0), comment="listening (the devmem one's)")
        lsn.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        lsn.bind(("127.0.0.1", LO_PORT))
        lsn.listen(1)
        lsn.settimeout(30)
        cli.settimeout(30)
        cli.connect(("127.0.0.1", LO_PORT))
        srv, _ = lsn.accept()
        with srv:
            cli.sendall(b"x" * 5000)
            got = 0
            while got < 5000:
                got += len(srv.recv(5000 - got))
            ksft_eq(dontneed(srv, arg), (0, 0), comment="connected, data read")
            ksft_eq(dontneed(cli, arg), (0, 0), comment="connected, the other end")


def dontneed_all_back():
    """Every token still held comes back exactly once."""
    a = table_stream(1)
    toks = list(a.held)
    freed = again = 0
    for i in range(0, len(toks), MAX_TOKENS):
        arg = entries(*((t, 1) for t in toks[i:i + MAX_TOKENS]))
        ret, err = dontneed(a.sock, arg)
        ksft_eq(err, 0)
        freed += max(ret, 0)
        ret, err = dontneed(a.sock, arg)
        again += max(ret, 0) if not err else 1
    ksft_eq(freed, len(toks), comment=f"{len(toks)} held")
    ksft_eq(again, 0, comment="given back twice")
    a.held = []


def close_with_tokens():
    """The devmem socket closed holding tokens (the process lives on):
    the page pool gets them back; a new connection streams on the same
    binding."""
    m = main_binding()
    a = m.main_stream()
    a.ensure_held(CLOSE_HOLD)
    held = len(a.held)
    before = m.pair.inflight(m.id)
    print(f"# {held} tokens held, page pool inflight {before}")
    ksft_ge(before, held, comment="the held frags are out of the page pool")
    a.close()
    a.held = []
    end = time.monotonic() + 30
    after = m.pair.inflight(m.id)
    while after > POOL_IDLE_MAX and time.monotonic() < end:
        time.sleep(0.5)
        after = m.pair.inflight(m.id)
    info = f", binding {binding_info(m.id)}" if CORE == "rust" else ""
    print(f"# after close: page pool inflight {after}{info}")
    ksft_true(after <= POOL_IDLE_MAX, comment=f"inflight {after} > {POOL_IDLE_MAX}")
    c = m.stream(1 << 20)
    try:
        c.read(1 << 20)
        ksft_eq(c.proc.wait(timeout=60), 0, comment="sender")
        ksft_true(c.frags > 0 and c.readable == 0,
                  comment=f"{c.frags} frags, {c.readable} readable bytes")
    finally:
        c.close()


def cmsg_layout_linear():
    """rx_inline 100: SCM_DEVMEM_LINEAR reports exactly the bytes copied to
    the iov; linear and frag bytes add up to recvmsg's value."""
    m = main_binding()
    with open(RX_INLINE_PARAM, "w") as f:
        f.write(str(RX_INLINE))
    d = None
    try:
        d = m.stream(256 << 10)
        d.read(256 << 10)
        print(f"# {d.got} bytes: {d.linear} linear, {d.frags} frags, {d.readable} readable")
        ksft_eq(d.problems, [])
        ksft_true(d.linear > 0, comment="SCM_DEVMEM_LINEAR seen")
        ksft_eq(d.proc.wait(timeout=60), 0, comment="sender")
    finally:
        with open(RX_INLINE_PARAM, "w") as f:
            f.write("0")
        if d:
            d.close()


def binding_released():
    """Every socket and the netlink socket closed: nothing reports the
    binding, the core forgets it."""
    m = main_binding()
    ident = m.id
    m.close()
    ksft_eq(m.pair.wait_gone(ident), None)


def killed_holder():
    """SIGKILL of a receiver holding 10000 tokens of a 48 MiB udmabuf on
    queue 2: the binding goes; a new bind on queue 2 receives.

    Skipped on the C core unless DEVMEM_SOCKOPT_C_LOCKUP=1: there the
    killed socket's destruction (tcp_v4_destroy_sock(), softirqs off)
    gives each of the 10000 frags back through net_devmem_free_dmabuf(),
    whose gen_pool_has_addr() walks every chunk of the udmabuf (one per
    page segment: up to 12288), and the guest panics with "soft lockup -
    CPU#0 stuck for 23s" (make test boots with softlockup_panic)."""
    if CORE == "c" and os.environ.get("DEVMEM_SOCKOPT_C_LOCKUP") != "1":
        raise KsftSkipEx("6.12's C core soft-locks releasing 10000 frags of a 48 MiB "
                         "udmabuf at socket destruction (gen_pool_has_addr per frag); "
                         "DEVMEM_SOCKOPT_C_LOCKUP=1 runs it")
    pair = PAIR.get()
    r = Recv(NSB, pair.b, KILL_QUEUE, size=KILL_DMABUF, addr=IPB, port=KILL_PORT)
    s = None
    try:
        t0 = time.monotonic()
        ident = int(r.cmd("bind", timeout=600)[0])
        print(f"# bound {KILL_DMABUF >> 20} MiB to queue {KILL_QUEUE}: binding {ident} "
              f"({time.monotonic() - t0:.1f} s)")
        r.cmd("listen")
        s = sender(KILL_QUEUE, 1 << 34, ns=NSA, addr=IPB, port=KILL_PORT)
        r.cmd("accept")
        t0 = time.monotonic()
        got = held = 0
        while held < KILL_HOLD:
            want = min(2 << 20, max(32 << 10, (KILL_HOLD - held) * 1448))
            got, _, held = map(int, r.cmd(f"recv {want} hold"))
        inflight = pair.inflight(ident)
        # A read that ends inside a frag gives a token for its first part
        # and the next read one for the rest: tokens may share a net_iov.
        pinned = int(r.cmd("pinned")[0])
        info = f"; binding {binding_info(ident)}" if CORE == "rust" else ""
        print(f"# holding {held} tokens in {pinned} net_iovs: {got} bytes in "
              f"{time.monotonic() - t0:.1f} s, {got / held:.0f} bytes a frag, "
              f"page pool inflight {inflight}{info}")
        ksft_ge(inflight, pinned, comment="each net_iov a held token points into stays out")
    finally:
        r.kill()
        if s:
            s.kill()
            s.wait()
    t0 = time.monotonic()
    ksft_eq(pair.wait_gone(ident, timeout=120), None)
    print(f"# binding {ident} gone {time.monotonic() - t0:.1f} s after the kill")
    r = Recv(NSB, pair.b, KILL_QUEUE, size=REBIND_DMABUF, addr=IPB, port=KILL_PORT)
    s = None
    try:
        ident2 = int(r.cmd("bind", timeout=300)[0])
        r.cmd("listen")
        s = sender(KILL_QUEUE, 1 << 20, ns=NSA, addr=IPB, port=KILL_PORT)
        r.cmd("accept")
        r.cmd(f"recv {1 << 20} give")
        got, frags, linear, held, readable = map(int, r.cmd("stats"))
        ksft_true(got == 1 << 20 and frags > 0 and readable == 0,
                  comment=f"rebound {ident2}: {got} bytes, {frags} frags, {readable} readable")
        r.cmd("close-conn")
        ksft_eq(s.wait(timeout=60), 0, comment="sender")
    finally:
        r.exit()
        if s and s.poll() is None:
            s.kill()
            s.wait()
    ksft_eq(pair.wait_gone(ident2), None)


CASES = [
    cmsg_layout,
    recvmsg_small_control,
    recv_without_flag,
    bad_optlen(0, "smaller than an int"),
    bad_optlen(3, "smaller than an int"),
    bad_optlen(4, "not a multiple of 8"),
    bad_optlen(7, "not a multiple of 8"),
    bad_optlen(9, "not a multiple of 8"),
    bad_optlen(8 * (MAX_TOKENS + 1), "over 128 tokens"),
    dontneed_128_entries,
    dontneed_bad_pointer,
    dontneed_unknown_tokens,
    dontneed_twice,
    dontneed_count_0,
    dontneed_other_socket,
    dontneed_count_max,
    dontneed_udp,
    dontneed_tcp_no_devmem,
    dontneed_all_back,
    close_with_tokens,
    cmsg_layout_linear,
    binding_released,
    killed_holder,
]


def main():
    skip_without_ports()
    if not ethtool() or not os.path.exists("/dev/udmabuf"):
        print("1..0 # SKIP no ethtool >= 6.7 (tcp-data-split) or no /dev/udmabuf")
        sys.exit(4)
    t0 = time.monotonic()
    try:
        ksft_run(CASES)
    finally:
        clean = PAIR.close()
        print(f"# {time.monotonic() - t0:.0f} s")
    if not clean:
        sys.exit(1)
    ksft_exit()


if __name__ == "__main__":
    main()
