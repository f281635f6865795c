/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Headers bindgen reads for kernel::net_ext. Included from
 * rust/bindings/bindings_helper.h (patches/0002). Sorted alphabetically.
 */

#include <linux/dma-buf.h>
#include <linux/dma-map-ops.h>
#include <linux/ethtool.h>
#include <linux/ethtool_netlink.h>
#include <linux/netdevice.h>
#include <linux/platform_device.h>
#include <linux/scatterlist.h>
#include <linux/skbuff.h>
#include <linux/socket.h>
#include <linux/xarray.h>
#include <net/genetlink.h>
#include <net/netdev_queues.h>
#include <net/netdev_rx_queue.h>
#include <net/netlink.h>
#include <net/netmem.h>
#include <net/page_pool/memory_provider.h>
#include <net/page_pool/types.h>
#include <net/sock.h>
#include <uapi/linux/uio.h>

/* The devmem family's uapi header, generated from its YAML spec. */
#include "../../include/uapi/linux/devmem_rs.h"

/* kernel::dma and kernel::net::page_pool. */
#include <linux/dma-mapping.h>
#include <net/page_pool/helpers.h>

const unsigned int RUST_CONST_HELPER_PP_FLAG_DMA_MAP = PP_FLAG_DMA_MAP;
const unsigned int RUST_CONST_HELPER_PP_FLAG_DMA_SYNC_DEV = PP_FLAG_DMA_SYNC_DEV;
const unsigned int RUST_CONST_HELPER_PP_FLAG_ALLOW_UNREADABLE_NETMEM =
	PP_FLAG_ALLOW_UNREADABLE_NETMEM;

/* kernel::net::ethtool: the coalescing parameters it carries. */
const u32 RUST_CONST_HELPER_ETHTOOL_COALESCE_RX_USECS = ETHTOOL_COALESCE_RX_USECS;
const u32 RUST_CONST_HELPER_ETHTOOL_COALESCE_TX_USECS = ETHTOOL_COALESCE_TX_USECS;

/* kernel::net::genl: the size of a reply. */
const size_t RUST_CONST_HELPER_NLMSG_GOODSIZE = NLMSG_GOODSIZE;

/*
 * kernel::net::napi: where skb->protocol is (in a struct_group() that
 * bindgen lays out as an emulated union, which the layout guard cannot
 * check).
 */
const size_t RUST_CONST_HELPER_SKB_PROTOCOL_OFFSET = offsetof(struct sk_buff, protocol);

/* The devmem core's abstractions (dma_buf, scatterlist, netmem, mp, ...). */
#include "net_ext_devmem.h"
