#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Send or receive a TCP stream of a known pattern and check every byte.

  tcp_pattern.py server ADDR PORT BYTES   accept one connection, verify
  tcp_pattern.py client ADDR PORT BYTES   connect, send
  tcp_pattern.py chunks ADDR PORT BYTES   connect, send in writes of
                                          CHUNKS bytes (cycling), each its
                                          own segment (TCP_NODELAY, a pause
                                          after each)

The pattern is byte i = (i % 251): a prime period, so a lost, repeated or
reordered chunk of any power-of-two size shows.
"""
import os
import socket
import sys
import time

PERIOD = 251
BLOCK = bytes(i % PERIOD for i in range(PERIOD * 256))
# Write sizes of "chunks" mode: around 100 and 190 bytes (devmem_rx.py's
# rx_inline and the header buffer's payload room), and larger.
CHUNKS = (1, 40, 99, 100, 101, 150, 190, 191, 1000, 1448, 3000)


def server(addr, port, total):
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    with socket.socket(fam, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((addr, port))
        s.listen(1)
        s.settimeout(60)
        conn, _ = s.accept()
        conn.settimeout(60)
        got = 0
        with conn:
            while True:
                data = conn.recv(1 << 16)
                if not data:
                    break
                start = got % PERIOD
                exp = (BLOCK * (len(data) // len(BLOCK) + 2))[start:start + len(data)]
                if data != exp:
                    bad = next(i for i in range(len(data)) if data[i] != exp[i])
                    print(f"mismatch at byte {got + bad}: {data[bad]} != {exp[bad]}")
                    return 1
                got += len(data)
    if got != total:
        print(f"received {got} bytes, expected {total}")
        return 1
    print(f"received and verified {got} bytes")
    return 0


def client(addr, port, total):
    # TCP_PATTERN_SPORT: the source port to send from (any if unset).
    sport = int(os.environ.get("TCP_PATTERN_SPORT", "0"))
    src = ("", sport) if sport else None
    with socket.create_connection((addr, port), timeout=60, source_address=src) as s:
        sent = 0
        while sent < total:
            start = sent % PERIOD
            n = min(len(BLOCK) - PERIOD, total - sent)
            s.sendall(BLOCK[start:start + n])
            sent += n
    return 0


def chunks(addr, port, total):
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    with socket.create_connection((addr, port), timeout=60) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sent = i = 0
        while sent < total:
            start = sent % PERIOD
            n = min(CHUNKS[i % len(CHUNKS)], total - sent)
            s.sendall(BLOCK[start:start + n])
            sent += n
            i += 1
            time.sleep(0.002)
    return 0


if __name__ == "__main__":
    mode, addr, port, total = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    fn = {"server": server, "client": client, "chunks": chunks}[mode]
    sys.exit(fn(addr, port, total))
