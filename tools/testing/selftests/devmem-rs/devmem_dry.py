#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""A bound rx queue whose dma-buf runs dry resumes by itself.

A 512 KiB udmabuf bound to queue 1 (128 buffers, fewer than the ring's
512), a 2 MiB stream: the receiver holds every frag until no data came for
a second (the device drops for want of buffers; the driver must keep
retrying its refill from a timer, backing off, not spinning), then hands
them all back with SO_DEVMEM_DONTNEED; the flow must resume within 10 s,
with no queue restart, every time, and every byte must be right. Prints
the measured resume latencies. See devmem_rx.py.
"""

from devmem_rx import dry_refill, main

if __name__ == "__main__":
    main([dry_refill])
