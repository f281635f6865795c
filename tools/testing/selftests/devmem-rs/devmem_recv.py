#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""A Device Memory TCP receiver driven line by line, for teardown tests.

Runs in the receiving port's network namespace:

  devmem_recv.py IFNAME QUEUE ADDR PORT DMABUF_BYTES

and reads commands on stdin, answering each with one line on stdout
("ok ..." or "err ..."):

  bind              udmabuf + bind-rx to QUEUE        -> ok ID
  listen            listen on ADDR:PORT               -> ok
  accept            accept one connection             -> ok
  recv N hold|give [noverify]
                    receive N bytes (MSG_SOCK_DEVMEM), verify them (not
                    with noverify: the dma-buf may be unmapped from user
                    space), keep each frag's token or give it back; bytes
                    of readable skbs (queue not bound) are taken too
                                                      -> ok BYTES FRAGS HELD
  give              SO_DEVMEM_DONTNEED every held token -> ok FREED
  pinned            net_iovs the held tokens point into (two tokens
                    share one when a read split a frag) -> ok COUNT
  close-nl          close the netlink socket (unbind) -> ok
  close-dmabuf      close the dma-buf fd and its mmap -> ok
  close-conn        close the TCP connection          -> ok
  stats             -> ok BYTES FRAGS LINEAR HELD READABLE
  dumps ID          queues and page pools of this namespace that report
                    binding ID (netdev queue-get, page-pool-get)
                                                      -> ok COUNT [JSON]
  exit              leave (whatever is still open is closed by exit)

The stream is tcp_pattern.py's (byte i = i % 251). An error in a command
answers "err MESSAGE" and the receiver goes on reading commands.
"""

import fcntl
import json
import mmap
import os
import socket
import struct
import sys

from devmem_rs import YnlFamily, spec, udmabuf

# Bytes of the dma-buf each net_iov of a binding covers (PAGE_SIZE).
NIOV_SIZE = os.sysconf("SC_PAGE_SIZE")

MSG_SOCK_DEVMEM = 0x2000000
SCM_DEVMEM_LINEAR = 78
SCM_DEVMEM_DMABUF = 79
SO_DEVMEM_DONTNEED = 80
DMA_BUF_IOCTL_SYNC = 0x40086200
SYNC_START = struct.pack("Q", 1 | 0)  # DMA_BUF_SYNC_READ | START
SYNC_END = struct.pack("Q", 1 | 4)  # DMA_BUF_SYNC_READ | END
PERIOD = 251
# Any window of the stream up to 64 KiB (a recvmsg's worth) is a slice of
# this: checking a chunk is one comparison, not a loop over its bytes.
PATTERN = bytes(i % PERIOD for i in range(PERIOD + (1 << 16)))


def expected(offset, n):
    """The pattern stream's N bytes from OFFSET."""
    start = offset % PERIOD
    if n <= len(PATTERN) - PERIOD:
        return PATTERN[start:start + n]
    return bytes((offset + i) % PERIOD for i in range(n))


class Receiver:
    def __init__(self, ifname, queue, addr, port, size):
        self.ifindex = int(open(f"/sys/class/net/{ifname}/ifindex").read())
        self.queue, self.addr, self.port, self.size = queue, addr, port, size
        self.nl = self.fd = self.buf = self.srv = self.conn = self.probe = None
        self.id = None
        self.got = self.frags = self.linear = self.readable = 0
        self.held = []
        # The net_iovs (dma-buf offset / NIOV_SIZE) of the held tokens.
        self.pinned = set()

    def bind(self):
        self.fd = udmabuf(self.size)
        self.buf = mmap.mmap(self.fd, self.size, mmap.MAP_SHARED, mmap.PROT_READ)
        self.nl = YnlFamily(spec("netdev"))
        rsp = self.nl.bind_rx({"ifindex": self.ifindex, "fd": self.fd,
                               "queues": [{"id": self.queue, "type": "rx"}]})
        self.id = rsp["id"]
        return str(self.id)

    def listen(self):
        self.srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.srv.bind((self.addr, self.port))
        self.srv.listen(1)
        self.srv.settimeout(60)

    def accept(self):
        self.conn, _ = self.srv.accept()
        self.conn.settimeout(60)

    def check(self, chunk, verify=True):
        if not verify:
            self.got += len(chunk)
            return
        if chunk != expected(self.got, len(chunk)):
            raise ValueError(f"mismatch in {len(chunk)} bytes at {self.got}")
        self.got += len(chunk)

    def recv(self, want, hold, verify):
        end = self.got + want
        while self.got < end:
            data, anc, _, _ = self.conn.recvmsg(min(1 << 16, end - self.got), 1 << 14,
                                                MSG_SOCK_DEVMEM)
            if not data and not anc:
                raise ValueError(f"end of stream at {self.got}")
            devmem = False
            pos = 0
            gives = []
            # One dma-buf sync around all frags of this recvmsg (udmabuf
            # syncs its whole buffer on each call: per frag, that would
            # take longer than the receive).
            synced = verify and any(level == socket.SOL_SOCKET and ctype == SCM_DEVMEM_DMABUF
                                    for level, ctype, _ in anc)
            if synced:
                fcntl.ioctl(self.fd, DMA_BUF_IOCTL_SYNC, SYNC_START)
            for level, ctype, cdata in anc:
                if level != socket.SOL_SOCKET:
                    continue
                if ctype == SCM_DEVMEM_LINEAR:
                    devmem = True
                    # struct dmabuf_cmsg: u64 frag_offset, u32 frag_size, ...
                    n = struct.unpack("QI", cdata[:12])[1]
                    self.check(data[pos:pos + n], verify)
                    pos += n
                    self.linear += n
                elif ctype == SCM_DEVMEM_DMABUF:
                    devmem = True
                    off, size, token, did, _ = struct.unpack("QIIII", cdata[:24])
                    if did != self.id:
                        raise ValueError(f"frag of dma-buf {did}, bound {self.id}")
                    if verify:
                        self.check(self.buf[off:off + size])
                    else:
                        self.check(bytes(size), False)
                    self.frags += 1
                    if hold:
                        self.held.append(token)
                        self.pinned.add(off // NIOV_SIZE)
                    else:
                        gives.append(token)
            if synced:
                fcntl.ioctl(self.fd, DMA_BUF_IOCTL_SYNC, SYNC_END)
            if gives:
                self.dontneed(gives)
            if data and not devmem:
                # A readable skb: copied like any recv.
                self.check(data, verify)
                self.readable += len(data)
        return f"{self.got} {self.frags} {len(self.held)}"

    def dontneed(self, tokens):
        freed = 0
        for i in range(0, len(tokens), 128):
            arg = b"".join(struct.pack("II", t, 1) for t in tokens[i:i + 128])
            freed += self.conn.setsockopt(socket.SOL_SOCKET, SO_DEVMEM_DONTNEED, arg) or 0
        return freed

    def give(self):
        n = len(self.held)
        self.dontneed(self.held)
        self.held = []
        self.pinned = set()
        return str(n)

    def close_nl(self):
        self.nl.sock.close()
        self.nl = None

    def close_dmabuf(self):
        if self.buf:
            self.buf.close()
        os.close(self.fd)
        self.buf = None

    def close_conn(self):
        self.conn.close()
        self.conn = None

    def stats(self):
        return f"{self.got} {self.frags} {self.linear} {len(self.held)} {self.readable}"

    def dumps(self, ident):
        if self.probe is None:
            self.probe = YnlFamily(spec("netdev"))
        nl = self.probe
        queues = [q for d in nl.dev_get({}, dump=True)
                  for q in nl.queue_get({"ifindex": d["ifindex"]}, dump=True)]
        found = [x for x in queues + nl.page_pool_get({}, dump=True) if x.get("dmabuf") == ident]
        return f"{len(found)} {json.dumps(found, separators=(',', ':'))}" if found else "0"


def main():
    ifname, queue, addr, port, size = sys.argv[1:6]
    r = Receiver(ifname, int(queue), addr, int(port), int(size))
    cmds = {
        "bind": lambda a: r.bind(),
        "listen": lambda a: r.listen(),
        "accept": lambda a: r.accept(),
        "recv": lambda a: r.recv(int(a[0]), a[1] == "hold", "noverify" not in a),
        "dumps": lambda a: r.dumps(int(a[0])),
        "give": lambda a: r.give(),
        "pinned": lambda a: str(len(r.pinned)),
        "close-nl": lambda a: r.close_nl(),
        "close-dmabuf": lambda a: r.close_dmabuf(),
        "close-conn": lambda a: r.close_conn(),
        "stats": lambda a: r.stats(),
    }
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        if words[0] == "exit":
            break
        try:
            out = cmds[words[0]](words[1:])
            print("ok" + (f" {out}" if out else ""), flush=True)
        except Exception as e:  # pylint: disable=broad-except
            print(f"err {type(e).__name__}: {e}".replace("\n", " "), flush=True)


if __name__ == "__main__":
    main()
