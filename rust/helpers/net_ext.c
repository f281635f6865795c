// SPDX-License-Identifier: GPL-2.0
/*
 * Wrappers of inline C functions and macros used by kernel::net_ext.
 * Included from rust/helpers/helpers.c (patches/0002).
 */

#include <linux/dma-mapping.h>
#include <linux/etherdevice.h>
#include <linux/netdevice.h>
#include <linux/platform_device.h>
#include <net/netdev_rx_queue.h>
#include <net/genetlink.h>
#include <net/netlink.h>

/* genl: NL_SET_ERR_MSG() needs a string literal; Rust passes a 'static one. */
void rust_helper_net_ext_genl_set_err_msg(struct genl_info *info, const char *msg)
{
	if (info->extack)
		info->extack->_msg = msg;
}

void rust_helper_net_ext_genl_set_err_missing(struct genl_info *info, int attr,
					      const char *msg)
{
	if (info->extack) {
		NL_SET_ERR_ATTR_MISS(info->extack, NULL, attr);
		info->extack->_msg = msg;
	}
}

/* A reply to @info's request with its command, its header put. */
struct sk_buff *rust_helper_net_ext_genlmsg_new_reply(struct genl_info *info)
{
	struct sk_buff *skb;

	skb = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!skb)
		return NULL;
	if (!genlmsg_put_reply(skb, info, info->family, 0, info->genlhdr->cmd)) {
		nlmsg_free(skb);
		return NULL;
	}
	return skb;
}

/* Ends the reply made by rust_helper_net_ext_genlmsg_new_reply, sends it. */
int rust_helper_net_ext_genlmsg_finish_reply(struct sk_buff *skb, struct genl_info *info)
{
	nlmsg_end(skb, (struct nlmsghdr *)skb->data);
	return genlmsg_reply(skb, info);
}

void rust_helper_net_ext_nlmsg_free(struct sk_buff *skb)
{
	nlmsg_free(skb);
}

int rust_helper_net_ext_nla_put_u32(struct sk_buff *skb, int attr, u32 value)
{
	return nla_put_u32(skb, attr, value);
}

int rust_helper_net_ext_nla_put_u64(struct sk_buff *skb, int attr, u64 value, int pad)
{
	return nla_put_u64_64bit(skb, attr, value, pad);
}

u32 rust_helper_net_ext_nla_get_u32(const struct nlattr *nla)
{
	return nla_get_u32(nla);
}

/* netdev */
void *rust_helper_net_ext_netdev_priv(const struct net_device *dev)
{
	return netdev_priv(dev);
}

bool rust_helper_net_ext_netif_carrier_ok(const struct net_device *dev)
{
	return netif_carrier_ok(dev);
}

bool rust_helper_net_ext_netif_running(const struct net_device *dev)
{
	return netif_running(dev);
}

bool rust_helper_net_ext_netif_is_rxfh_configured(const struct net_device *dev)
{
	return netif_is_rxfh_configured(dev);
}

void rust_helper_net_ext_netif_tx_start_all_queues(struct net_device *dev)
{
	netif_tx_start_all_queues(dev);
}

void rust_helper_net_ext_netif_tx_disable(struct net_device *dev)
{
	netif_tx_disable(dev);
}

void rust_helper_net_ext_eth_hw_addr_set(struct net_device *dev, const u8 *addr)
{
	eth_hw_addr_set(dev, addr);
}

void rust_helper_net_ext_dev_consume_skb_any(struct sk_buff *skb)
{
	dev_consume_skb_any(skb);
}

void rust_helper_net_ext_dev_kfree_skb_any(struct sk_buff *skb)
{
	dev_kfree_skb_any(skb);
}

/* skb */
unsigned int rust_helper_net_ext_skb_headlen(const struct sk_buff *skb)
{
	return skb_headlen(skb);
}

unsigned int rust_helper_net_ext_skb_nr_frags(const struct sk_buff *skb)
{
	return skb_shinfo(skb)->nr_frags;
}

/* Page of readable frag @i (NULL for a net_iov), with its offset and length. */
struct page *rust_helper_net_ext_skb_frag_page(const struct sk_buff *skb, unsigned int i,
					       u32 *off, u32 *len)
{
	const skb_frag_t *frag = &skb_shinfo(skb)->frags[i];

	if (netmem_is_net_iov(skb_frag_netmem(frag)))
		return NULL;
	*off = skb_frag_off(frag);
	*len = skb_frag_size(frag);
	return skb_frag_page(frag);
}

unsigned int rust_helper_net_ext_skb_tailroom(const struct sk_buff *skb)
{
	return skb_tailroom(skb);
}

void rust_helper_net_ext_skb_put_data(struct sk_buff *skb, const void *data, unsigned int len)
{
	skb_put_data(skb, data, len);
}

void rust_helper_net_ext_skb_add_rx_frag_netmem(struct sk_buff *skb, netmem_ref netmem,
						u32 off, u32 size, u32 truesize)
{
	skb_add_rx_frag_netmem(skb, skb_shinfo(skb)->nr_frags, netmem, off, size, truesize);
	skb_mark_for_recycle(skb);
}

void rust_helper_net_ext_skb_csum_unnecessary(struct sk_buff *skb)
{
	skb->ip_summed = CHECKSUM_UNNECESSARY;
}

void rust_helper_net_ext_skb_set_rx_meta(struct sk_buff *skb, u16 queue, u32 hash, bool l4)
{
	skb_record_rx_queue(skb, queue);
	skb_set_hash(skb, hash, l4 ? PKT_HASH_TYPE_L4 : PKT_HASH_TYPE_L3);
}

void rust_helper_net_ext_skb_eth_type_trans(struct sk_buff *skb, struct net_device *dev)
{
	skb->protocol = eth_type_trans(skb, dev);
}

/* napi */
void rust_helper_net_ext_netif_napi_add(struct net_device *dev, struct napi_struct *napi,
					int (*poll)(struct napi_struct *, int))
{
	netif_napi_add(dev, napi, poll);
}

void rust_helper_net_ext_netif_napi_del(struct napi_struct *napi)
{
	netif_napi_del(napi);
}

bool rust_helper_net_ext_napi_schedule(struct napi_struct *napi)
{
	return napi_schedule(napi);
}

/* emu_nic: the emulated NIC's platform devices */
void rust_helper_net_ext_emu_set_drvdata(struct platform_device *pdev, void *data)
{
	platform_set_drvdata(pdev, data);
}

void *rust_helper_net_ext_emu_get_drvdata(struct platform_device *pdev)
{
	return platform_get_drvdata(pdev);
}

/* bh */
void rust_helper_net_ext_local_bh_disable(void)
{
	local_bh_disable();
}

void rust_helper_net_ext_local_bh_enable(void)
{
	local_bh_enable();
}

/* skb DMA mapping for transmit (kernel::net_ext::netdev::MappedSkb) */
int rust_helper_net_ext_skb_map_linear(struct device *dev, struct sk_buff *skb, dma_addr_t *addr)
{
	*addr = dma_map_single(dev, skb->data, skb_headlen(skb), DMA_TO_DEVICE);
	return dma_mapping_error(dev, *addr) ? -ENOMEM : 0;
}

int rust_helper_net_ext_skb_map_frag(struct device *dev, struct sk_buff *skb, unsigned int i,
				     dma_addr_t *addr, u32 *len)
{
	const skb_frag_t *frag = &skb_shinfo(skb)->frags[i];

	if (netmem_is_net_iov(skb_frag_netmem(frag)))
		return -EFAULT;
	*len = skb_frag_size(frag);
	*addr = skb_frag_dma_map(dev, frag, 0, *len, DMA_TO_DEVICE);
	return dma_mapping_error(dev, *addr) ? -ENOMEM : 0;
}

void rust_helper_net_ext_skb_unmap(struct device *dev, dma_addr_t addr, u32 len, bool page)
{
	if (page)
		dma_unmap_page(dev, addr, len, DMA_TO_DEVICE);
	else
		dma_unmap_single(dev, addr, len, DMA_TO_DEVICE);
}

#include "net_ext_mem.c"
#include "net_ext_devmem.c"

unsigned int rust_helper_net_ext_skb_max_frags(void)
{
	return MAX_SKB_FRAGS;
}

/* Whether rx queue @idx of @dev has a memory provider (RTNL held). */
bool rust_helper_net_ext_rx_queue_has_mp(struct net_device *dev, u32 idx)
{
	if (idx >= dev->real_num_rx_queues)
		return false;
	return !!__netif_get_rx_queue(dev, idx)->mp_params.mp_ops;
}

/* MTU: ndo_change_mtu stores the new value itself (RTNL held). */
void rust_helper_net_ext_set_mtu(struct net_device *dev, u32 mtu)
{
	WRITE_ONCE(dev->mtu, mtu);
}

u32 rust_helper_net_ext_get_mtu(const struct net_device *dev)
{
	return READ_ONCE(dev->mtu);
}
