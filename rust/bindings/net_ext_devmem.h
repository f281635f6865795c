/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Headers bindgen reads for the devmem core's abstractions
 * (kernel::net_ext::{dma_buf, scatterlist, netmem, mp, xarray, bench}).
 * Included from net_ext_helper.h.
 *
 * net/core/devmem.h is private to net/core, but its structs are the ABI
 * between the devmem core and the C code that reads bindings and net_iov
 * owners (netdev-genl.c, page_pool_user.c, tcp.c's inlines): a core in
 * Rust must lay them out the same (rust/layout/ checks it).
 */

#include <linux/dma-buf.h>
#include <linux/fcntl.h>
#include <linux/genalloc.h>
#include <linux/scatterlist.h>
#include <linux/skbuff_ref.h>
#include <linux/sockptr.h>
#include <linux/uio.h>
#include <linux/xarray.h>
#include <net/netmem.h>
#include <net/page_pool/memory_provider.h>
#include <../net/core/devmem.h>

const xa_mark_t RUST_CONST_HELPER_XA_PRESENT = XA_PRESENT;
