// SPDX-License-Identifier: GPL-2.0

//! Bindings made through the `devmem` family, owned by the netlink socket
//! that made them, known by its (network namespace, port id).
//!
//! A binding of this family lives exactly as long as its owner wants it
//! and can have it: it goes when the socket unbinds it, when the socket is
//! released (`NETLINK_URELEASE`: closed, or its process killed), or when
//! its device is unregistered. Each way gives the owner's reference back
//! to the core (`unbind`), which takes the binding off its queues; the
//! binding is freed once its page pools and the sockets holding tokens of
//! it let go.
//!
//! # Locking
//!
//! Everything runs in process context. Bindings are added and taken out
//! with RTNL held (steering is undone under it); `binding-get` reads the
//! list under its mutex alone. The mutex is taken inside RTNL, never the
//! other way around.

use crate::binding::Binding;
use crate::steer::Steering;
use kernel::global::Global;
use kernel::net::ethtool::FlowRule;
use kernel::net::ns::NetId;
use kernel::prelude::*;
use kernel::sync::{new_mutex, Arc, Mutex};

/// A binding and its owner.
pub(crate) struct Owned {
    pub(crate) net: NetId,
    pub(crate) portid: u32,
    pub(crate) id: u32,
    pub(crate) ifindex: i32,
    /// The device (identity only: registered while the binding is owned).
    pub(crate) dev: usize,
    /// The owner's reference, given back with `unbind`.
    pub(crate) binding: Arc<Binding>,
    /// The flow steered to its queue, if any (undone after `unbind`).
    pub(crate) steering: Option<KBox<Steering>>,
}

/// What `binding-get` reports of an owner.
pub(crate) struct OwnerInfo {
    pub(crate) portid: u32,
    /// The steered flow and where its rule is.
    pub(crate) flow: Option<(FlowRule, u32)>,
}

/// Every binding of the family; a slot is `None` once its binding went
/// (reused by the next one), so taking one out never allocates.
#[pin_data]
pub(crate) struct Owners {
    #[pin]
    list: Mutex<KVec<Option<Owned>>>,
}

/// The family's bindings (Rust core only).
pub(crate) static OWNERS: Global<Owners> = Global::new();

impl Owners {
    pub(crate) fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            list <- new_mutex!(KVec::new(), "devmem_owners"),
        })
    }

    /// Records a new binding; on `ENOMEM` gives it back.
    pub(crate) fn add(&self, o: Owned) -> core::result::Result<(), Owned> {
        let mut l = self.list.lock();
        if let Some(slot) = l.iter_mut().find(|s| s.is_none()) {
            *slot = Some(o);
            return Ok(());
        }
        if l.reserve(1, GFP_KERNEL).is_err() {
            return Err(o);
        }
        // Within the capacity reserved: does not allocate, cannot fail.
        let _ = l.push(Some(o), GFP_KERNEL);
        Ok(())
    }

    /// Takes the first binding `f` picks out.
    pub(crate) fn take_first(&self, f: impl Fn(&Owned) -> bool) -> Option<Owned> {
        self.list
            .lock()
            .iter_mut()
            .find(|s| s.as_ref().is_some_and(&f))?
            .take()
    }

    /// Takes binding `id` of the caller (`net`, `portid`) out: `ENOENT` if
    /// the family has no binding `id` in `net`, `EPERM` if another socket
    /// owns it.
    pub(crate) fn take_id(&self, net: NetId, portid: u32, id: u32) -> Result<Owned> {
        let mut l = self.list.lock();
        let slot = l
            .iter_mut()
            .find(|s| s.as_ref().is_some_and(|o| o.id == id && o.net == net))
            .ok_or(ENOENT)?;
        if slot.as_ref().is_some_and(|o| o.portid != portid) {
            return Err(EPERM);
        }
        slot.take().ok_or(ENOENT)
    }

    /// The owner of binding `id`, if this family made it.
    pub(crate) fn owner_of(&self, id: u32) -> Option<OwnerInfo> {
        self.list
            .lock()
            .iter()
            .flatten()
            .find(|o| o.id == id)
            .map(|o| OwnerInfo {
                portid: o.portid,
                flow: o.steering.as_ref().map(|s| (*s.rule(), s.location())),
            })
    }
}
