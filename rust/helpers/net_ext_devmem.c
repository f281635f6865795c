// SPDX-License-Identifier: GPL-2.0
/*
 * Wrappers of inline C functions and macros, and of page-pool internals,
 * used by the devmem core's abstractions: kernel::net_ext::{dma_buf,
 * scatterlist, xarray, mp}. Included from rust/helpers/net_ext.c.
 *
 * The memory provider helpers call two functions private to the page pool
 * (page_pool_set_pp_info(), page_pool_clear_pp_info(), declared in
 * net/core/page_pool_priv.h) and a page-pool tracepoint, as the C devmem
 * core (net/core/devmem.c) does: Rust in 6.12 can call neither a tracepoint
 * nor a function whose prototype lives in a private header.
 */

#include <linux/dma-buf.h>
#include <linux/dma-mapping.h>
#include <linux/genalloc.h>
#include <linux/netdevice.h>
#include <linux/scatterlist.h>
#include <linux/skbuff_ref.h>
#include <linux/sockptr.h>
#include <linux/uio.h>
#include <linux/xarray.h>
#include <net/netdev_rx_queue.h>
#include <net/netlink.h>
#include <net/netmem.h>
#include <net/page_pool/memory_provider.h>
#include <net/page_pool/types.h>
#include <net/sock.h>
#include <trace/events/page_pool.h>
#include <../net/core/devmem.h>
#include <../net/core/page_pool_priv.h>

/* xarray (kernel::xarray) */
void rust_helper_net_ext_xa_init_alloc1(struct xarray *xa)
{
	xa_init_flags(xa, XA_FLAGS_ALLOC1);
}

void rust_helper_xa_lock(struct xarray *xa)
{
	xa_lock(xa);
}

void rust_helper_xa_unlock(struct xarray *xa)
{
	xa_unlock(xa);
}

/* An id in [1, U32_MAX] for @entry, searched from *@next on (xa_lock held). */
int rust_helper_net_ext_xa_alloc_cyclic_locked(struct xarray *xa, u32 *id, void *entry,
					       u32 *next, gfp_t gfp)
{
	return __xa_alloc_cyclic(xa, id, entry, XA_LIMIT(1, U32_MAX), next, gfp);
}

/* dma-buf (kernel::dma_buf) */
void rust_helper_get_dma_buf(struct dma_buf *dmabuf)
{
	get_dma_buf(dmabuf);
}

/* scatterlist (kernel::scatterlist) */
dma_addr_t rust_helper_sg_dma_address(struct scatterlist *sg)
{
	return sg_dma_address(sg);
}

void rust_helper_sg_set_page(struct scatterlist *sg, struct page *page, unsigned int len,
			     unsigned int offset)
{
	sg_set_page(sg, page, len, offset);
}

void rust_helper_dma_unmap_sgtable(struct device *dev, struct sg_table *sgt,
				   enum dma_data_direction dir, unsigned long attrs)
{
	dma_unmap_sgtable(dev, sgt, dir, attrs);
}

/* netdev, rx queues and extack (kernel::net::mp) */
int rust_helper_net_ext_dev_to_node(struct net_device *dev)
{
	return dev_to_node(&dev->dev);
}

struct device *rust_helper_net_ext_netdev_parent(struct net_device *dev)
{
	return dev->dev.parent;
}

void rust_helper_net_ext_extack_set_msg(struct netlink_ext_ack *extack, const char *msg)
{
	if (extack)
		extack->_msg = msg;
}

/* The memory provider of rx queue @idx (< num_rx_queues), RTNL held. */
const struct memory_provider_ops *rust_helper_net_ext_rxq_mp_ops(struct net_device *dev,
								 u32 idx, void **priv)
{
	struct netdev_rx_queue *rxq = __netif_get_rx_queue(dev, idx);

	*priv = rxq->mp_params.mp_priv;
	return rxq->mp_params.mp_ops;
}

void rust_helper_net_ext_rxq_set_mp(struct net_device *dev, u32 idx,
				    const struct memory_provider_ops *ops, void *priv)
{
	struct netdev_rx_queue *rxq = __netif_get_rx_queue(dev, idx);

	rxq->mp_params.mp_priv = priv;
	rxq->mp_params.mp_ops = ops;
}

bool rust_helper_net_ext_rxq_has_xsk_pool(struct net_device *dev, u32 idx)
{
#ifdef CONFIG_XDP_SOCKETS
	return !!__netif_get_rx_queue(dev, idx)->pool;
#else
	return false;
#endif
}

u32 rust_helper_net_ext_num_rx_queues(const struct net_device *dev)
{
	return dev->num_rx_queues;
}

u32 rust_helper_net_ext_real_num_rx_queues(const struct net_device *dev)
{
	return dev->real_num_rx_queues;
}

/* The binding's socket list entry, unlinked if netdev-genl linked it. */
void rust_helper_net_ext_list_del_if_linked(struct list_head *entry)
{
	if (entry->next)
		list_del(entry);
}

/* memory provider callbacks (kernel::net::mp) */
void *rust_helper_net_ext_pp_mp_priv(const struct page_pool *pool)
{
	return pool->mp_priv;
}

unsigned int rust_helper_net_ext_pp_order(const struct page_pool *pool)
{
	return pool->p.order;
}

/* net_iovs carry dma-buf addresses, never synced through the DMA API. */
void rust_helper_net_ext_pp_disable_dma_sync(struct page_pool *pool)
{
	pool->dma_sync = false;
	pool->dma_sync_for_cpu = false;
}

/* Sets up a net_iov of a new binding: its chunk owner and DMA address. */
bool rust_helper_net_ext_niov_init(struct net_iov *niov,
				   struct dmabuf_genpool_chunk_owner *owner,
				   dma_addr_t addr)
{
	niov->owner = owner;
	/* True if the address does not fit (32-bit with 64-bit DMA). */
	return page_pool_set_dma_addr_netmem(net_iov_to_netmem(niov), addr);
}

/*
 * Hands a free net_iov to @pool, as the page pool's own slow path does for
 * a page: pp fields reset, then owned by the pool with one reference, and
 * counted as held (page_pool_inflight()).
 */
netmem_ref rust_helper_net_ext_mp_niov_handout(struct page_pool *pool, struct net_iov *niov)
{
	netmem_ref netmem = net_iov_to_netmem(niov);

	niov->pp_magic = 0;
	niov->pp = NULL;
	atomic_long_set(&niov->pp_ref_count, 0);

	page_pool_set_pp_info(pool, netmem);

	pool->pages_state_hold_cnt++;
	trace_page_pool_state_hold(pool, netmem, pool->pages_state_hold_cnt);
	return netmem;
}

/*
 * Takes back a net_iov the page pool releases (its last reference), or
 * returns NULL (after a warning) if @netmem is not a net_iov or still has
 * other references: then it must not be reused.
 */
struct net_iov *rust_helper_net_ext_mp_niov_reclaim(netmem_ref netmem)
{
	long refcount = atomic_long_read(netmem_get_pp_ref_count_ref(netmem));

	if (WARN_ON_ONCE(!netmem_is_net_iov(netmem)))
		return NULL;
	if (WARN_ON_ONCE(refcount != 1))
		return NULL;

	page_pool_clear_pp_info(netmem);
	return netmem_to_net_iov(netmem);
}

void rust_helper_might_sleep(void)
{
	might_sleep();
}

/* gen_pool, for the allocator benchmark (kernel::net::bench) */
unsigned long rust_helper_gen_pool_alloc_owner(struct gen_pool *pool, size_t size,
					       void **owner)
{
	return gen_pool_alloc_owner(pool, size, owner);
}

void rust_helper_cond_resched(void)
{
	cond_resched();
}

/* The socket side (kernel::net::sock, kernel::net::netmem::NetIov) */
bool rust_helper_sk_is_tcp(const struct sock *sk)
{
	return sk_is_tcp(sk);
}

bool rust_helper_skb_frags_readable(const struct sk_buff *skb)
{
	return skb_frags_readable(skb);
}

/* The next skb of a frag_list (skb->next sits in an anonymous union). */
struct sk_buff *rust_helper_net_ext_skb_next(const struct sk_buff *skb)
{
	return skb->next;
}

struct net_iov *rust_helper_skb_frag_net_iov(const skb_frag_t *frag)
{
	return skb_frag_net_iov(frag);
}

unsigned long rust_helper_net_iov_virtual_addr(const struct net_iov *niov)
{
	return net_iov_virtual_addr(niov);
}

u32 rust_helper_net_iov_binding_id(const struct net_iov *niov)
{
	return net_iov_binding_id(niov);
}

netmem_ref rust_helper_net_iov_to_netmem(struct net_iov *niov)
{
	return net_iov_to_netmem(niov);
}

/* Takes a page-pool reference for user space, as tcp_recvmsg_dmabuf() does. */
void rust_helper_net_ext_net_iov_get_pp_ref(struct net_iov *niov)
{
	atomic_long_inc(&niov->pp_ref_count);
}

size_t rust_helper_copy_to_iter(const void *addr, size_t bytes, struct iov_iter *i)
{
	return copy_to_iter(addr, bytes, i);
}

int rust_helper_copy_from_sockptr(void *dst, sockptr_t src, size_t size)
{
	return copy_from_sockptr(dst, src, size);
}

sockptr_t rust_helper_KERNEL_SOCKPTR(void *p)
{
	return KERNEL_SOCKPTR(p);
}

/*
 * A kernel-space msghdr for recvmsg-like calls: @len bytes of data at
 * @data, @controllen bytes of control buffer at @control (may be NULL).
 */
void rust_helper_net_ext_msg_init_kernel(struct msghdr *msg, struct kvec *vec, void *data,
					 size_t len, void *control, size_t controllen)
{
	memset(msg, 0, sizeof(*msg));
	vec->iov_base = data;
	vec->iov_len = len;
	iov_iter_kvec(&msg->msg_iter, ITER_DEST, vec, 1, len);
	msg->msg_control = control;
	msg->msg_controllen = controllen;
	msg->msg_control_is_user = false;
}

size_t rust_helper_net_ext_msg_controllen(const struct msghdr *msg)
{
	return msg->msg_controllen;
}

#if IS_ENABLED(CONFIG_NET_DEVMEM_CORE_RUST)
/*
 * sk->sk_devmem_tokens: set once under the socket lock by the first devmem
 * read, read without it by SO_DEVMEM_DONTNEED.
 */
struct devmem_sock_tokens *rust_helper_net_ext_sk_devmem_tokens(const struct sock *sk)
{
	/* Pairs with the release below: the store is seen initialised. */
	return smp_load_acquire(&sk->sk_devmem_tokens);
}

void rust_helper_net_ext_sk_set_devmem_tokens(struct sock *sk, struct devmem_sock_tokens *t)
{
	/* Publishes the initialised store; pairs with the acquire above. */
	smp_store_release(&sk->sk_devmem_tokens, t);
}
#endif

/* xarray as tcp.c and sock.c use it, for the token benchmark (kernel::net::bench) */
void rust_helper_xa_lock_bh(struct xarray *xa)
{
	xa_lock_bh(xa);
}

void rust_helper_xa_unlock_bh(struct xarray *xa)
{
	xa_unlock_bh(xa);
}

int rust_helper_net_ext_xa_alloc_zero_31b(struct xarray *xa, u32 *id, gfp_t gfp)
{
	return __xa_alloc(xa, id, XA_ZERO_ENTRY, xa_limit_31b, gfp);
}

void *rust_helper_net_ext_xa_commit_zero(struct xarray *xa, unsigned long index, void *entry,
					 gfp_t gfp)
{
	return __xa_cmpxchg(xa, index, XA_ZERO_ENTRY, entry, gfp);
}
