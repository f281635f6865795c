// SPDX-License-Identifier: GPL-2.0

//! Network namespaces (`struct net`), as callbacks see them.
//!
//! C header: [`include/net/net_namespace.h`](srctree/include/net/net_namespace.h)

use crate::bindings;
use crate::types::Opaque;

/// A network namespace, borrowed for the duration of a callback (a
/// generic netlink request, a netlink socket's release).
///
/// # Invariants
///
/// The wrapped `net` is alive while `&self` is.
#[repr(transparent)]
pub struct Net(Opaque<bindings::net>);

impl Net {
    /// Wraps `ptr`.
    ///
    /// # Safety
    ///
    /// `ptr` is a `net` alive for `'a`.
    pub unsafe fn from_raw<'a>(ptr: *mut bindings::net) -> &'a Self {
        // CAST: `repr(transparent)` over the `net`.
        // SAFETY: Alive for `'a` (the caller's guarantee).
        unsafe { &*ptr.cast() }
    }

    /// The `struct net` pointer.
    pub fn as_ptr(&self) -> *mut bindings::net {
        self.0.get()
    }

    /// This namespace's identity, to key state by.
    pub fn id(&self) -> NetId {
        NetId(self.as_ptr() as usize)
    }
}

/// The identity of a network namespace (its address): compared, never
/// dereferenced. Two namespaces alive at the same time have different
/// ids; state keyed by a `NetId` must be dropped before its namespace
/// goes (a netlink socket holds its namespace until it is released, so
/// state keyed by a socket's namespace and port id and dropped on its
/// release is safe).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct NetId(usize);
