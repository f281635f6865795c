// SPDX-License-Identifier: GPL-2.0
/*
 * Wrappers of inline C functions and macros used by kernel::net_ext.
 * Included from rust/helpers/helpers.c (patches/0002).
 */

#include <linux/etherdevice.h>
#include <linux/netdevice.h>
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
