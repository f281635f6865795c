// SPDX-License-Identifier: GPL-2.0

//! The devmem core: dma-buf bindings, their memory provider, and the
//! entry points Linux 6.12 calls (see `Documentation/networking/devmem-rs.rst`).
//!
//! # Objects
//!
//! - A [`Binding`] (`kernel::net::mp::Binding<DmabufBinding>`) per
//!   successful `bind-rx`: the C header other code reads (id, socket
//!   list), the `net_iov`s, and a [`DmabufBinding`]: the queues it is
//!   installed on and its [`Info`].
//! - An [`Info`] per binding, shared with the registry ([`State`], by
//!   id): the mapping of the dma-buf for the device's parent, the
//!   allocator and its counters, the device it was bound on.
//!
//! # Lifetimes
//!
//! The binding lives while the netlink socket, an rx queue or a page pool
//! holds it (see `kernel::net::mp`); its `Info` as long as the binding
//! and the registry entry, which the binding's final free removes. The
//! mapping goes at the first of: the binding's final free, or the
//! unregistration of its device (`dev_dmabuf_uninstall`, while the device
//! still exists); `net_iov`s still in flight then stay valid until they
//! come back, but none is handed out any more.
//!
//! # Locking
//!
//! RTNL serialises bind, unbind and uninstall (all process context). A
//! binding's `queues` mutex and an `Info`'s `mapping` mutex are taken under
//! RTNL or, for `mapping`, alone (final free, process context). The
//! registry's XArray spinlock is held only to clone an `Arc<Info>` out.
//! Allocation and release of `net_iov`s take no lock at all (NAPI softirq
//! or process context; see `alloc.rs`).

use crate::freestack::FreeStack;
use core::sync::atomic::{AtomicBool, Ordering};
use kernel::c_str;
use kernel::dma::Direction;
use kernel::dma_buf::{DmaBuf, Mapping};
use kernel::global::Global;
use kernel::net::mp::{self, ExtAck, Installed, NetDevice, PoolInit, Provider};
use kernel::net::netmem::UserStats;
use kernel::net::ns::NetId;
use kernel::net::rtnl::Rtnl;
use kernel::page::PAGE_SIZE;
use kernel::prelude::*;
use kernel::sync::{new_mutex, Arc, ArcBorrow, Mutex};
use kernel::xarray::XArray;

/// A binding of this core.
pub(crate) type Binding = mp::Binding<DmabufBinding>;

/// State of the core, set up by its init.
#[pin_data]
pub(crate) struct State {
    /// Every binding until its final free, by id (cyclic from 1).
    #[pin]
    bindings: XArray<Arc<Info>>,
}

impl State {
    pub(crate) fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            bindings <- XArray::new(),
        })
    }

    /// The binding info of `id`.
    pub(crate) fn get(&self, id: u32) -> Option<Arc<Info>> {
        self.bindings.get_with(id, |i| i.into())
    }

    /// The first binding info with an id of `start` or more, and its id.
    pub(crate) fn next(&self, start: u32) -> Option<(u32, Arc<Info>)> {
        self.bindings.find_with(start, |id, i| (id, i.into()))
    }
}

/// The core's state.
pub(crate) static STATE: Global<State> = Global::new();

/// What the registry knows of a binding.
#[pin_data]
pub(crate) struct Info {
    /// The net device it was bound on (identity only: while `mapped`, it
    /// is registered).
    dev: usize,
    ifindex: i32,
    /// The device's namespace when bound (dumps list a namespace's).
    net: NetId,
    size: usize,
    /// The rx queues it is installed on.
    #[pin]
    queue_ids: Mutex<KVec<u32>>,
    /// The allocator, with the counters.
    pub(crate) free: FreeStack,
    /// Tokens sockets hold and bytes they were handed.
    pub(crate) user: Arc<UserStats>,
    /// The dma-buf mapped for the device's parent, until unmapped.
    #[pin]
    mapping: Mutex<Option<Mapping>>,
    mapped: AtomicBool,
}

impl Info {
    /// Interface index of the device it was bound on.
    pub(crate) fn ifindex(&self) -> i32 {
        self.ifindex
    }

    /// The namespace of its device when bound.
    pub(crate) fn net(&self) -> NetId {
        self.net
    }

    /// The rx queues it is installed on, in the order they were bound.
    pub(crate) fn queues(&self) -> Result<KVec<u32>> {
        let q = self.queue_ids.lock();
        let mut v = KVec::with_capacity(q.len(), GFP_KERNEL)?;
        v.extend_from_slice(&q, GFP_KERNEL)?;
        Ok(v)
    }

    /// Size of the dma-buf.
    pub(crate) fn size(&self) -> usize {
        self.size
    }

    /// Whether the dma-buf is still mapped (false after the device went).
    pub(crate) fn mapped(&self) -> bool {
        self.mapped.load(Ordering::Relaxed)
    }

    /// Unmaps, detaches and puts the dma-buf; hands out nothing any more.
    fn unmap(&self) {
        self.free.close();
        self.mapped.store(false, Ordering::Relaxed);
        let m = self.mapping.lock().take();
        drop(m);
    }
}

/// The core's part of a binding.
#[pin_data(PinnedDrop)]
pub(crate) struct DmabufBinding {
    id: u32,
    info: Arc<Info>,
    /// The rx queues it is installed on (RTNL held to change them).
    #[pin]
    queues: Mutex<KVec<Option<Installed<DmabufBinding>>>>,
}

#[pinned_drop]
impl PinnedDrop for DmabufBinding {
    /// The final free: no socket, queue or page pool holds the binding.
    fn drop(self: Pin<&mut Self>) {
        if let Some(st) = STATE.get() {
            drop(st.bindings.remove(self.id));
        }
        self.info.unmap();
    }
}

kernel::net_devmem_core!(DmabufBinding);

impl Provider for DmabufBinding {
    fn init(_b: &Binding, pool: &PoolInit<'_>) -> Result {
        // dma-buf addresses are not synced through the DMA API.
        pool.disable_dma_sync();
        if pool.order() != 0 {
            return Err(E2BIG);
        }
        Ok(())
    }

    fn alloc(b: &Binding) -> Option<usize> {
        b.data().info.free.alloc()
    }

    fn release(b: &Binding, index: usize) {
        b.data().info.free.release(index)
    }
}

impl mp::Core for DmabufBinding {
    fn bind(dev: &NetDevice, _rtnl: &Rtnl, fd: u32, extack: &ExtAck<'_>) -> Result<Arc<Binding>> {
        let st = STATE.get().ok_or(EOPNOTSUPP)?;
        let dmabuf = DmaBuf::get(fd).inspect_err(|e| {
            extack.set_msg(if *e == EBADF {
                c_str!("dma-buf fd is not an open file")
            } else {
                c_str!("fd is not a dma-buf")
            })
        })?;
        let map = {
            let att = dev.parent().ok_or(EINVAL).and_then(|p| dmabuf.attach(p));
            let att =
                att.inspect_err(|_| extack.set_msg(c_str!("Failed to bind dmabuf to device")))?;
            att.map(Direction::FromDevice)
                .inspect_err(|_| extack.set_msg(c_str!("Failed to map dmabuf attachment")))?
        };
        let niovs: usize = map
            .table()
            .dma_segments()
            .map(|s| s.len as usize / PAGE_SIZE)
            .sum();
        // (Computed outside the initialiser, whose fields shadow names.)
        let (dev_id, ifindex, size) = (dev.as_ptr() as usize, dev.ifindex(), dmabuf.size());
        let net = dev.net_id();
        let user = Arc::new(UserStats::new(), GFP_KERNEL)?;
        let stats = user.clone();
        let info = Arc::pin_init(
            try_pin_init!(Info {
                dev: dev_id,
                ifindex,
                net,
                size,
                queue_ids <- new_mutex!(KVec::new()),
                free: FreeStack::new(niovs)?,
                user,
                mapping <- new_mutex!(None),
                mapped: AtomicBool::new(true),
            }? Error),
            GFP_KERNEL,
        )?;
        let id = st.bindings.alloc_cyclic(info.clone(), GFP_KERNEL)?;
        let ours = info.clone();
        let binding = mp::Binding::new(
            map.table(),
            id,
            stats,
            try_pin_init!(DmabufBinding {
                id,
                info: ours,
                queues <- new_mutex!(KVec::new()),
            }? Error),
        );
        // On failure the binding's data, if made, removed the id already.
        let binding = binding.inspect_err(|_| drop(st.bindings.remove(id)))?;
        *info.mapping.lock() = Some(map);
        Ok(binding)
    }

    fn bind_queue(
        dev: &NetDevice,
        rtnl: &Rtnl,
        idx: u32,
        b: ArcBorrow<'_, Binding>,
        extack: &ExtAck<'_>,
    ) -> Result {
        if idx >= dev.real_num_rx_queues(rtnl) {
            extack.set_msg(c_str!("rx queue index out of range"));
            return Err(ERANGE);
        }
        if dev.rx_queue_has_provider(rtnl, idx) {
            extack.set_msg(c_str!("designated queue already memory provider bound"));
            return Err(EEXIST);
        }
        if dev.rx_queue_has_xsk_pool(rtnl, idx) {
            extack.set_msg(c_str!("designated queue already in use by AF_XDP"));
            return Err(EBUSY);
        }
        // Room first, so that a queue installed is always recorded.
        b.data().queues.lock().reserve(1, GFP_KERNEL)?;
        b.data().info.queue_ids.lock().reserve(1, GFP_KERNEL)?;
        let inst = mp::Binding::install(b, dev, rtnl, idx)?;
        // Within the capacities reserved: no allocation, cannot fail.
        if let Err(e) = b.data().queues.lock().push(Some(inst), GFP_KERNEL) {
            pr_err!("devmem: queue record lost: {:?}\n", e);
        }
        let _ = b.data().info.queue_ids.lock().push(idx, GFP_KERNEL);
        Ok(())
    }

    fn unbind(b: Arc<Binding>, rtnl: &Rtnl) {
        drop(core::mem::take(&mut *b.data().info.queue_ids.lock()));
        let queues = core::mem::take(&mut *b.data().queues.lock());
        for inst in queues.into_iter().flatten() {
            let idx = inst.index();
            match inst.remove(rtnl) {
                Ok(()) => {}
                Err(e) if e == ENETDOWN => {}
                Err(e) => pr_warn!(
                    "devmem: rx queue {} not restarted on unbind: {:?}\n",
                    idx,
                    e
                ),
            }
        }
        drop(b);
    }

    fn uninstall(dev: &NetDevice, rtnl: &Rtnl) {
        // Off every queue of the device, without restarts: it is closed.
        for idx in 0..dev.num_rx_queues() {
            let Some(b) = dev.rx_queue_binding::<DmabufBinding>(rtnl, idx) else {
                continue;
            };
            let inst = b
                .data()
                .queues
                .lock()
                .iter_mut()
                .find(|i| i.as_ref().is_some_and(|i| i.is(dev, idx)))
                .and_then(Option::take);
            match inst {
                Some(inst) => inst.forget(rtnl),
                None => pr_err!("devmem: rx queue {} bound but not recorded\n", idx),
            }
            // A binding is on one device: off all its queues now.
            drop(core::mem::take(&mut *b.data().info.queue_ids.lock()));
        }
        crate::netlink::device_gone(dev, rtnl);
        // Every mapping for the device goes while it exists, also of
        // bindings no longer on any queue (page pools or tokens may still
        // hold them).
        let Some(st) = STATE.get() else { return };
        let mut start = 1;
        while let Some((id, info)) = st.next(start) {
            if info.dev == dev.as_ptr() as usize && info.mapped() {
                info.unmap();
            }
            match id.checked_add(1) {
                Some(n) => start = n,
                None => break,
            }
        }
    }
}
