#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Linear bytes on a devmem socket: SCM_DEVMEM_LINEAR.

With the emulated device's gve_rs_emu.rx_inline at 100, a stream of small
and large writes (one segment each) to a dma-buf-bound queue: payloads
over 100 bytes come as 100 linear bytes (SCM_DEVMEM_LINEAR, length in
frag_size) and dma-buf frags, payloads up to 100 bytes whole in the header
buffer (readable); every byte checked. Also the parameter's range (EINVAL
outside 0-4096). See devmem_rx.py.
"""

from devmem_rx import linear_rx, main, rx_inline_param

if __name__ == "__main__":
    main([rx_inline_param, linear_rx])
