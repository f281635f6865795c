// SPDX-License-Identifier: GPL-2.0
/*
 * Wrappers of inline C functions and macros used by kernel::net_ext, one
 * line each and named after what they wrap (rust_helper_foo wraps foo()),
 * as the kernel's own rust/helpers/ are. Included from
 * rust/helpers/helpers.c (patches/0002).
 */

#include <linux/dma-mapping.h>
#include <linux/etherdevice.h>
#include <linux/ethtool.h>
#include <linux/mm.h>
#include <linux/netdevice.h>
#include <linux/platform_device.h>
#include <linux/scatterlist.h>
#include <linux/sched/task_stack.h>
#include <linux/skbuff.h>
#include <linux/tcp.h>
#include <linux/timer.h>
#include <net/genetlink.h>
#include <net/netdev_rx_queue.h>
#include <net/netlink.h>
#include <net/netmem.h>
#include <net/page_pool/helpers.h>

/* genl */
struct sk_buff *rust_helper_genlmsg_new(size_t payload, gfp_t flags)
{
	return genlmsg_new(payload, flags);
}

void rust_helper_genlmsg_end(struct sk_buff *skb, void *hdr)
{
	genlmsg_end(skb, hdr);
}

int rust_helper_genlmsg_reply(struct sk_buff *skb, struct genl_info *info)
{
	return genlmsg_reply(skb, info);
}

void rust_helper_nlmsg_free(struct sk_buff *skb)
{
	nlmsg_free(skb);
}

int rust_helper_nla_put_u32(struct sk_buff *skb, int attrtype, u32 value)
{
	return nla_put_u32(skb, attrtype, value);
}

int rust_helper_nla_put_u64_64bit(struct sk_buff *skb, int attrtype, u64 value, int padattr)
{
	return nla_put_u64_64bit(skb, attrtype, value, padattr);
}

u32 rust_helper_nla_get_u32(const struct nlattr *nla)
{
	return nla_get_u32(nla);
}

u16 rust_helper_nla_get_u16(const struct nlattr *nla)
{
	return nla_get_u16(nla);
}

int rust_helper_nla_put_u16(struct sk_buff *skb, int attrtype, u16 value)
{
	return nla_put_u16(skb, attrtype, value);
}

void *rust_helper_nla_data(const struct nlattr *nla)
{
	return nla_data(nla);
}

int rust_helper_nla_len(const struct nlattr *nla)
{
	return nla_len(nla);
}

/* netdev */
void *rust_helper_netdev_priv(const struct net_device *dev)
{
	return netdev_priv(dev);
}

bool rust_helper_netif_carrier_ok(const struct net_device *dev)
{
	return netif_carrier_ok(dev);
}

bool rust_helper_netif_running(const struct net_device *dev)
{
	return netif_running(dev);
}

bool rust_helper_netif_is_rxfh_configured(const struct net_device *dev)
{
	return netif_is_rxfh_configured(dev);
}

/*
 * The ethtool core's bookkeeping around an indirection table set through
 * set_rxfh (ethtool_set_rxfh in net/ethtool/ioctl.c); priv_flags and
 * reg_state are bitfields, out of bindgen's reach.
 */
void rust_helper_net_ext_set_rxfh_configured(struct net_device *dev, bool on)
{
	if (on)
		dev->priv_flags |= IFF_RXFH_CONFIGURED;
	else
		dev->priv_flags &= ~IFF_RXFH_CONFIGURED;
}

bool rust_helper_net_ext_dev_registered(const struct net_device *dev)
{
	return dev->reg_state == NETREG_REGISTERED;
}

void rust_helper_netif_tx_start_all_queues(struct net_device *dev)
{
	netif_tx_start_all_queues(dev);
}

void rust_helper_netif_tx_disable(struct net_device *dev)
{
	netif_tx_disable(dev);
}

void rust_helper_eth_hw_addr_set(struct net_device *dev, const u8 *addr)
{
	eth_hw_addr_set(dev, addr);
}

void rust_helper_dev_hold(struct net_device *dev)
{
	dev_hold(dev);
}

void rust_helper_dev_put(struct net_device *dev)
{
	dev_put(dev);
}

struct netdev_rx_queue *
rust_helper___netif_get_rx_queue(struct net_device *dev, unsigned int rxq)
{
	return __netif_get_rx_queue(dev, rxq);
}

/* skb */
void rust_helper_dev_consume_skb_any(struct sk_buff *skb)
{
	dev_consume_skb_any(skb);
}

void rust_helper_dev_kfree_skb_any(struct sk_buff *skb)
{
	dev_kfree_skb_any(skb);
}

unsigned int rust_helper_skb_headlen(const struct sk_buff *skb)
{
	return skb_headlen(skb);
}

struct skb_shared_info *rust_helper_skb_shinfo(const struct sk_buff *skb)
{
	return skb_shinfo(skb);
}

netmem_ref rust_helper_skb_frag_netmem(const skb_frag_t *frag)
{
	return skb_frag_netmem(frag);
}

struct page *rust_helper_skb_frag_page(const skb_frag_t *frag)
{
	return skb_frag_page(frag);
}

unsigned int rust_helper_skb_frag_off(const skb_frag_t *frag)
{
	return skb_frag_off(frag);
}

unsigned int rust_helper_skb_frag_size(const skb_frag_t *frag)
{
	return skb_frag_size(frag);
}

dma_addr_t rust_helper_skb_frag_dma_map(struct device *dev, const skb_frag_t *frag,
					size_t offset, size_t size, enum dma_data_direction dir)
{
	return skb_frag_dma_map(dev, frag, offset, size, dir);
}

unsigned int rust_helper_skb_tailroom(const struct sk_buff *skb)
{
	return skb_tailroom(skb);
}

void *rust_helper_skb_put_data(struct sk_buff *skb, const void *data, unsigned int len)
{
	return skb_put_data(skb, data, len);
}

void rust_helper_skb_mark_for_recycle(struct sk_buff *skb)
{
	skb_mark_for_recycle(skb);
}

void rust_helper___skb_incr_checksum_unnecessary(struct sk_buff *skb)
{
	__skb_incr_checksum_unnecessary(skb);
}

void rust_helper_skb_record_rx_queue(struct sk_buff *skb, u16 rx_queue)
{
	skb_record_rx_queue(skb, rx_queue);
}

void rust_helper_skb_set_hash(struct sk_buff *skb, __u32 hash, enum pkt_hash_types type)
{
	skb_set_hash(skb, hash, type);
}

/* napi */
void rust_helper_netif_napi_add(struct net_device *dev, struct napi_struct *napi,
				int (*poll)(struct napi_struct *, int))
{
	netif_napi_add(dev, napi, poll);
}

void rust_helper_netif_napi_del(struct napi_struct *napi)
{
	netif_napi_del(napi);
}

bool rust_helper_napi_schedule(struct napi_struct *napi)
{
	return napi_schedule(napi);
}

/*
 * An rx skb with @len bytes of linear room in a kmalloc'd head, never a
 * page fragment (napi_alloc_skb() takes small heads from a page-fragment
 * cache). GRO (skb_gro_receive) and TCP coalescing (skb_try_coalesce) turn
 * a page-fragment head that carries payload into a page frag of another
 * skb; when that skb has unreadable (net_iov) frags, the devmem recvmsg
 * then fails with ENODEV on the page frag. A kmalloc'd head is chained
 * (frag_list) or left alone instead.
 */
struct sk_buff *rust_helper_net_ext_napi_alloc_skb_kmalloc(struct napi_struct *napi,
							   unsigned int len)
{
	struct sk_buff *skb;

	skb = __alloc_skb(len + NET_SKB_PAD + NET_IP_ALIGN, GFP_ATOMIC | __GFP_NOWARN,
			  SKB_ALLOC_RX | SKB_ALLOC_NAPI, NUMA_NO_NODE);
	if (skb) {
		skb_reserve(skb, NET_SKB_PAD + NET_IP_ALIGN);
		skb->dev = napi->dev;
	}
	return skb;
}

/* timer_setup() is a macro (with a lockdep key per call site). */
void rust_helper_net_ext_timer_setup(struct timer_list *timer,
				     void (*fn)(struct timer_list *))
{
	timer_setup(timer, fn, 0);
}

/* Arms @timer to fire @delay jiffies from now (or moves it there). */
int rust_helper_net_ext_mod_timer_in(struct timer_list *timer, unsigned long delay)
{
	return mod_timer(timer, jiffies + delay);
}

/*
 * Arms @timer to fire @delay jiffies from now, or earlier if it is armed
 * to (kernel::timer).
 */
int rust_helper_net_ext_timer_reduce_in(struct timer_list *timer, unsigned long delay)
{
	return timer_reduce(timer, jiffies + delay);
}

/*
 * Whether @skb asks for its checksum to be filled in (CHECKSUM_PARTIAL):
 * then the checksum covers @start (from skb->data) to the end and goes at
 * @start + @offset (kernel::net::skb). A bitfield and a union, which the
 * layout guard cannot check: read in C.
 */
bool rust_helper_net_ext_skb_csum_partial(const struct sk_buff *skb, u32 *start, u32 *offset)
{
	if (skb->ip_summed != CHECKSUM_PARTIAL)
		return false;
	*start = skb_checksum_start_offset(skb);
	*offset = skb->csum_offset;
	return true;
}

/*
 * The segmentation a GSO @skb asks of the device (kernel::net::skb): its
 * MSS (@size), its segment count, and for TCP over IPv4 (@ipv 4) or IPv6
 * (@ipv 6) the bytes of its headers up to the end of the TCP header; @ipv
 * 0 for any other GSO type. False for a packet that is not GSO. Bitfields
 * and inline helpers: read in C.
 */
bool rust_helper_net_ext_skb_gso(const struct sk_buff *skb, u32 *size, u32 *segs,
				 u32 *hdr_len, u8 *ipv)
{
	const struct skb_shared_info *sh = skb_shinfo(skb);

	if (!skb_is_gso(skb))
		return false;
	*size = sh->gso_size;
	*segs = sh->gso_segs;
	*hdr_len = 0;
	*ipv = 0;
	if (sh->gso_type & (SKB_GSO_TCPV4 | SKB_GSO_TCPV6) &&
	    skb_transport_header_was_set(skb)) {
		*ipv = sh->gso_type & SKB_GSO_TCPV6 ? 6 : 4;
		*hdr_len = skb_tcp_all_headers(skb);
	}
	return true;
}

/*
 * Marks a received @skb as @segs TCP segments of @size payload bytes each
 * (the last may be shorter) that the device coalesced (hardware GRO), as
 * GRO_HW drivers do (kernel::net::skb). Bitfields: written in C.
 */
void rust_helper_net_ext_skb_set_gso_tcp(struct sk_buff *skb, u16 size, u16 segs, bool ipv6)
{
	struct skb_shared_info *sh = skb_shinfo(skb);

	sh->gso_size = size;
	sh->gso_segs = segs;
	sh->gso_type = ipv6 ? SKB_GSO_TCPV6 : SKB_GSO_TCPV4;
}

/* sync */
void rust_helper_spin_lock_bh(spinlock_t *lock)
{
	spin_lock_bh(lock);
}

void rust_helper_spin_unlock_bh(spinlock_t *lock)
{
	spin_unlock_bh(lock);
}

/* spin_lock_irqsave() is a macro that stores the flags in its argument. */
unsigned long rust_helper_spin_lock_irqsave(spinlock_t *lock)
{
	unsigned long flags;

	spin_lock_irqsave(lock, flags);
	return flags;
}

void rust_helper_spin_unlock_irqrestore(spinlock_t *lock, unsigned long flags)
{
	spin_unlock_irqrestore(lock, flags);
}

/* platform devices */
struct platform_device *rust_helper_platform_device_register_simple(const char *name, int id,
								    const struct resource *res,
								    unsigned int num)
{
	return platform_device_register_simple(name, id, res, num);
}

void rust_helper_platform_set_drvdata(struct platform_device *pdev, void *data)
{
	platform_set_drvdata(pdev, data);
}

void *rust_helper_platform_get_drvdata(const struct platform_device *pdev)
{
	return platform_get_drvdata(pdev);
}

/* dma */
int rust_helper_dma_coerce_mask_and_coherent(struct device *dev, u64 mask)
{
	return dma_coerce_mask_and_coherent(dev, mask);
}

dma_addr_t rust_helper_dma_map_single_attrs(struct device *dev, void *ptr, size_t size,
					    enum dma_data_direction dir, unsigned long attrs)
{
	return dma_map_single_attrs(dev, ptr, size, dir, attrs);
}

void rust_helper_dma_unmap_single_attrs(struct device *dev, dma_addr_t addr, size_t size,
					enum dma_data_direction dir, unsigned long attrs)
{
	dma_unmap_single_attrs(dev, addr, size, dir, attrs);
}

int rust_helper_dma_mapping_error(struct device *dev, dma_addr_t dma_addr)
{
	return dma_mapping_error(dev, dma_addr);
}

int rust_helper_object_is_on_stack(const void *obj)
{
	return object_is_on_stack(obj);
}

phys_addr_t rust_helper_virt_to_phys(void *address)
{
	return virt_to_phys(address);
}

void *rust_helper_phys_to_virt(phys_addr_t address)
{
	return phys_to_virt(address);
}

phys_addr_t rust_helper_page_to_phys(struct page *page)
{
	return page_to_phys(page);
}

dma_addr_t rust_helper_sg_phys(struct scatterlist *sg)
{
	return sg_phys(sg);
}

unsigned int rust_helper_sg_dma_len(struct scatterlist *sg)
{
	return sg_dma_len(sg);
}

void *rust_helper_alloc_pages_exact(size_t size, gfp_t gfp_mask)
{
	return alloc_pages_exact(size, gfp_mask);
}

/* page pool */
bool rust_helper_netmem_is_net_iov(const netmem_ref netmem)
{
	return netmem_is_net_iov(netmem);
}

void *rust_helper_netmem_address(netmem_ref netmem)
{
	return netmem_address(netmem);
}

struct page_pool *rust_helper_netmem_get_pp(netmem_ref netmem)
{
	return netmem_get_pp(netmem);
}

dma_addr_t rust_helper_page_pool_get_dma_addr_netmem(netmem_ref netmem)
{
	return page_pool_get_dma_addr_netmem(netmem);
}

void rust_helper_page_pool_put_full_netmem(struct page_pool *pool, netmem_ref netmem,
					   bool allow_direct)
{
	page_pool_put_full_netmem(pool, netmem, allow_direct);
}

void rust_helper_page_pool_dma_sync_netmem_for_cpu(const struct page_pool *pool,
						   const netmem_ref netmem, u32 offset,
						   u32 dma_sync_size)
{
	page_pool_dma_sync_netmem_for_cpu(pool, netmem, offset, dma_sync_size);
}

#include "net_ext_devmem.c"

/* genl dumps, attribute streams, multicast (kernel::net::genl) */
struct net *rust_helper_genl_info_net(const struct genl_info *info)
{
	return genl_info_net(info);
}

const struct genl_info *rust_helper_net_ext_genl_dump_info(struct netlink_callback *cb)
{
	return genl_info_dump(cb);
}

struct net *rust_helper_net_ext_netlink_cb_net(struct netlink_callback *cb)
{
	return sock_net(cb->skb->sk);
}

u32 rust_helper_net_ext_netlink_cb_portid(struct netlink_callback *cb)
{
	return NETLINK_CB(cb->skb).portid;
}

u32 rust_helper_net_ext_netlink_cb_seq(struct netlink_callback *cb)
{
	return cb->nlh->nlmsg_seq;
}

void *rust_helper_net_ext_netlink_cb_ctx(struct netlink_callback *cb)
{
	return cb->ctx;
}

void *rust_helper_genlmsg_data(const struct genlmsghdr *gnlh)
{
	return genlmsg_data(gnlh);
}

int rust_helper_genlmsg_len(const struct genlmsghdr *gnlh)
{
	return genlmsg_len(gnlh);
}

void rust_helper_genlmsg_cancel(struct sk_buff *skb, void *hdr)
{
	genlmsg_cancel(skb, hdr);
}

int rust_helper_genlmsg_multicast_netns(const struct genl_family *family, struct net *net,
					struct sk_buff *skb, u32 portid, unsigned int group,
					gfp_t flags)
{
	return genlmsg_multicast_netns(family, net, skb, portid, group, flags);
}

int rust_helper_nla_ok(const struct nlattr *nla, int remaining)
{
	return nla_ok(nla, remaining);
}

struct nlattr *rust_helper_nla_next(const struct nlattr *nla, int *remaining)
{
	return nla_next(nla, remaining);
}

int rust_helper_nla_type(const struct nlattr *nla)
{
	return nla_type(nla);
}

int rust_helper_nla_parse_nested(struct nlattr *tb[], int maxtype, const struct nlattr *nla,
				 const struct nla_policy *policy, struct netlink_ext_ack *extack)
{
	return nla_parse_nested(tb, maxtype, nla, policy, extack);
}

/* net devices by index (kernel::net::mp::NetDevice) */
bool rust_helper_netif_device_present(const struct net_device *dev)
{
	return netif_device_present(dev);
}

struct net *rust_helper_dev_net(const struct net_device *dev)
{
	return dev_net(dev);
}

struct nlattr *rust_helper_nla_nest_start(struct sk_buff *skb, int attrtype)
{
	return nla_nest_start(skb, attrtype);
}

int rust_helper_nla_nest_end(struct sk_buff *skb, struct nlattr *start)
{
	return nla_nest_end(skb, start);
}

void rust_helper_nla_nest_cancel(struct sk_buff *skb, struct nlattr *start)
{
	nla_nest_cancel(skb, start);
}

/*
 * Additional RSS contexts (kernel::net::ethtool::RxfhContext): the data
 * area's accessors are inline, and the header's fields sit next to
 * bitfields, so Rust reaches all of it through these.
 */
u32 *rust_helper_ethtool_rxfh_context_indir(struct ethtool_rxfh_context *ctx)
{
	return ethtool_rxfh_context_indir(ctx);
}

u8 *rust_helper_ethtool_rxfh_context_key(struct ethtool_rxfh_context *ctx)
{
	return ethtool_rxfh_context_key(ctx);
}

u32 rust_helper_net_ext_rxfh_ctx_indir_size(const struct ethtool_rxfh_context *ctx)
{
	return ctx->indir_size;
}

u32 rust_helper_net_ext_rxfh_ctx_key_size(const struct ethtool_rxfh_context *ctx)
{
	return ctx->key_size;
}

void rust_helper_net_ext_rxfh_ctx_set_hfunc(struct ethtool_rxfh_context *ctx,
					    u8 hfunc, u8 input_xfrm)
{
	ctx->hfunc = hfunc;
	ctx->input_xfrm = input_xfrm;
}
