// SPDX-License-Identifier: GPL-2.0
/*
 * Wrappers of inline C functions and macros used by kernel::net_ext::dma
 * and kernel::net_ext::page_pool. Included from rust/helpers/net_ext.c.
 */

#include <linux/dma-direct.h>
#include <linux/dma-map-ops.h>
#include <linux/dma-mapping.h>
#include <linux/err.h>
#include <linux/iommu-dma.h>
#include <linux/mm.h>
#include <linux/mmzone.h>
#include <linux/platform_device.h>
#include <linux/sched/task_stack.h>
#include <net/netmem.h>
#include <net/page_pool/helpers.h>
#include <net/page_pool/types.h>

/* dma */
int rust_helper_net_ext_dma_set_mask_64(struct device *dev)
{
	return dma_coerce_mask_and_coherent(dev, DMA_BIT_MASK(64));
}

/*
 * dma_map_single() of @len bytes at @ptr, refusing (-EINVAL) memory that is
 * not in the kernel's linear map (vmalloc, vmap'ed stacks, modules), which
 * dma_map_single() would WARN about. The stack is refused too.
 */
int rust_helper_net_ext_dma_map_single(struct device *dev, void *ptr, size_t len,
				       enum dma_data_direction dir, dma_addr_t *addr)
{
	if (!len || !virt_addr_valid(ptr) || !virt_addr_valid(ptr + len - 1) ||
	    object_is_on_stack(ptr))
		return -EINVAL;
	*addr = dma_map_single(dev, ptr, len, dir);
	if (dma_mapping_error(dev, *addr))
		return -ENOMEM;
	return 0;
}

void rust_helper_net_ext_dma_unmap_single(struct device *dev, dma_addr_t addr,
					  size_t len, enum dma_data_direction dir)
{
	dma_unmap_single(dev, addr, len, dir);
}

bool rust_helper_net_ext_dma_mapping_error(struct device *dev, dma_addr_t addr)
{
	return dma_mapping_error(dev, addr);
}

/* Whether @dev uses dma-direct (no dma_map_ops, no dma-iommu). */
bool rust_helper_net_ext_dma_is_direct(struct device *dev)
{
	return !get_dma_ops(dev) && !use_dma_iommu(dev);
}

phys_addr_t rust_helper_net_ext_dma_to_phys(struct device *dev, dma_addr_t addr)
{
	return dma_to_phys(dev, addr);
}

bool rust_helper_net_ext_pfn_valid(unsigned long pfn)
{
	return pfn_valid(pfn);
}

void *rust_helper_net_ext_phys_to_virt(phys_addr_t phys)
{
	return phys_to_virt(phys);
}

/* Returns a registered device or an ERR_PTR. */
struct platform_device *rust_helper_net_ext_platform_device_register_simple(const char *name,
									    int id)
{
	return platform_device_register_simple(name, id, NULL, 0);
}

/* page pool */
struct page_pool *rust_helper_net_ext_page_pool_create(struct device *dev,
						       unsigned int pool_size,
						       int nid, unsigned int max_len,
						       unsigned int offset,
						       struct net_device *netdev,
						       unsigned int queue_idx,
						       unsigned int flags)
{
	struct page_pool_params pp = {
		.order = 0,
		.pool_size = pool_size,
		.nid = nid,
		.dev = dev,
		.napi = NULL,
		.dma_dir = DMA_FROM_DEVICE,
		.max_len = max_len,
		.offset = offset,
		.netdev = netdev,
		.queue_idx = queue_idx,
		.flags = flags,
	};

	return page_pool_create(&pp);
}

bool rust_helper_net_ext_netmem_is_net_iov(netmem_ref netmem)
{
	return netmem_is_net_iov(netmem);
}

void *rust_helper_net_ext_netmem_address(netmem_ref netmem)
{
	return netmem_address(netmem);
}

struct page_pool *rust_helper_net_ext_netmem_get_pp(netmem_ref netmem)
{
	return netmem_get_pp(netmem);
}

dma_addr_t rust_helper_net_ext_page_pool_get_dma_addr_netmem(netmem_ref netmem)
{
	return page_pool_get_dma_addr_netmem(netmem);
}

void rust_helper_net_ext_page_pool_put_full_netmem(struct page_pool *pool,
						   netmem_ref netmem,
						   bool allow_direct)
{
	page_pool_put_full_netmem(pool, netmem, allow_direct);
}

void rust_helper_net_ext_page_pool_dma_sync_netmem_for_cpu(const struct page_pool *pool,
							   netmem_ref netmem,
							   u32 offset, u32 size)
{
	page_pool_dma_sync_netmem_for_cpu(pool, netmem, offset, size);
}
