// SPDX-License-Identifier: GPL-2.0

//! Socket buffers (`struct sk_buff`): packets.
//!
//! C header: [`include/linux/skbuff.h`](srctree/include/linux/skbuff.h)
//!
//! A driver owns an skb in one of two ways, and each has its own type:
//!
//! - [`RxSkb`]: an skb the driver allocated for a received packet
//!   ([`NapiRef::alloc_skb`](crate::net::napi::NapiRef::alloc_skb),
//!   [`RxSkb::new`]). Nobody else has seen it, so the driver fills it
//!   (linear bytes, page-pool frags, checksum state, hash), then hands it
//!   to the stack.
//! - [`TxSkb`]: an skb the stack handed to `ndo_start_xmit`. The driver
//!   owns this reference, but the data may be shared: TCP keeps a clone of
//!   every segment it sends (for retransmission), and clones share the
//!   linear data and `skb_shared_info` (the frags). The driver only reads
//!   it, maps it for its device ([`MappedSkb`]) and frees it.
//!
//! Both dereference to [`Skb`], which has what is safe to read on either.
//! Writing is only possible on an [`RxSkb`]: a transmitted skb cannot be
//! changed by mistake, as it would be if the two shared a type.
//!
//! ```ignore
//! fn start_xmit(dev: &Device<Self>, mut skb: TxSkb) -> TxResult {
//!     let _ = skb.put_data(b"trailer");
//!     // error[E0599]: no method named `put_data` found for struct `TxSkb` in the current scope
//!     //     let _ = skb.put_data(b"trailer");
//!     //                 ^^^^^^^^ method not found in `TxSkb`
//!     ...
//! }
//! ```

use crate::alloc::{flags::GFP_ATOMIC, Flags, KVec};
use crate::bindings;
use crate::dma::Direction;
use crate::error::{code::*, Result};
use crate::net::netmem::NetIov;
use crate::net::page_pool::Netmem;
use crate::types::{ARef, Opaque};
use core::marker::PhantomData;
use core::ops::Deref;
use core::ptr::NonNull;

/// A socket buffer, borrowed: what can be read of any skb the driver owns.
///
/// # Invariants
///
/// The wrapped `sk_buff` is valid while `&self` is, and its linear data
/// and frags are not written while `&self` is (the owner of an [`RxSkb`]
/// writes through `&mut`; a [`TxSkb`]'s data is only read).
#[repr(transparent)]
pub struct Skb(Opaque<bindings::sk_buff>);

impl Skb {
    fn as_ptr(&self) -> *mut bindings::sk_buff {
        self.0.get()
    }

    /// Total length of the packet (linear part and frags).
    pub fn len(&self) -> u32 {
        // SAFETY: By the type invariants the skb is valid.
        unsafe { (*self.as_ptr()).len }
    }

    /// Whether the packet is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Length of the linear part.
    pub fn headlen(&self) -> u32 {
        // SAFETY: By the type invariants the skb is valid.
        unsafe { bindings::skb_headlen(self.as_ptr()) }
    }

    /// The linear part's bytes.
    pub fn linear(&self) -> &[u8] {
        // SAFETY: By the type invariants the skb is valid and its linear
        // part, `headlen` readable bytes at `data`, is not written while
        // `self` is borrowed.
        unsafe { core::slice::from_raw_parts((*self.as_ptr()).data, self.headlen() as usize) }
    }

    /// Number of paged frags.
    pub fn nr_frags(&self) -> usize {
        // SAFETY: By the type invariants the skb is valid.
        unsafe { (*bindings::skb_shinfo(self.as_ptr())).nr_frags.into() }
    }

    /// Index of the tx queue the stack picked for this packet.
    pub fn queue_mapping(&self) -> u16 {
        // SAFETY: By the type invariants the skb is valid.
        unsafe { (*self.as_ptr()).queue_mapping }
    }

    /// The checksum the device must fill in (the packet is
    /// `CHECKSUM_PARTIAL`, which the stack only hands to devices with
    /// [`Features::HW_CSUM`](crate::net::netdev::Features::HW_CSUM) on),
    /// or `None` if the packet is complete as it is.
    pub fn csum_partial(&self) -> Option<CsumPartial> {
        let (mut start, mut offset) = (0u32, 0u32);
        // SAFETY: By the type invariants the skb is valid; the helper only
        // reads it and writes the two locals.
        let partial =
            unsafe { bindings::net_ext_skb_csum_partial(self.as_ptr(), &mut start, &mut offset) };
        partial.then_some(CsumPartial { start, offset })
    }

    /// The segmentation the packet asks of the device, if it is a GSO
    /// super-frame (which the stack only hands to devices with
    /// [`Features::TSO`](crate::net::netdev::Features::TSO) or
    /// [`Features::TSO6`](crate::net::netdev::Features::TSO6) on, and no
    /// larger than their [`TsoMax`](crate::net::netdev::TsoMax)).
    pub fn gso(&self) -> Option<Gso> {
        let (mut size, mut segs, mut hdr_len, mut ipv) = (0u32, 0u32, 0u32, 0u8);
        // SAFETY: By the type invariants the skb is valid; the helper only
        // reads it and writes the four locals.
        let gso = unsafe {
            bindings::net_ext_skb_gso(self.as_ptr(), &mut size, &mut segs, &mut hdr_len, &mut ipv)
        };
        gso.then_some(Gso {
            size,
            segs,
            hdr_len,
            kind: match ipv {
                4 => GsoKind::Tcp4,
                6 => GsoKind::Tcp6,
                _ => GsoKind::Other,
            },
        })
    }

    /// Whether the CPU may read the frags' bytes: `false` for an skb whose
    /// payload is in a dma-buf (devmem `net_iov`s), which only user space
    /// with `MSG_SOCK_DEVMEM` may be told about.
    pub fn frags_readable(&self) -> bool {
        // SAFETY: By the type invariants the skb is valid.
        unsafe { bindings::skb_frags_readable(self.as_ptr()) }
    }

    /// The paged frags, in order.
    pub fn frags(&self) -> impl Iterator<Item = Frag<'_>> + '_ {
        // INVARIANT: every index is below the frag count.
        (0..self.nr_frags()).map(move |i| Frag {
            frag: self.frag(i),
            _skb: PhantomData,
        })
    }

    /// The skbs chained on this one's `frag_list` (GRO's way of merging
    /// packets it cannot coalesce into frags), in order; their bytes
    /// follow this skb's linear part and frags.
    pub fn frag_list(&self) -> FragList<'_> {
        // SAFETY: By the type invariants the skb is valid.
        let first = unsafe { (*bindings::skb_shinfo(self.as_ptr())).frag_list };
        // INVARIANT: the frag list of a valid skb, not changed while the
        // skb is borrowed.
        FragList {
            next: first,
            _skb: PhantomData,
        }
    }

    /// Frag `i`, which must be below [`Skb::nr_frags`].
    fn frag(&self, i: usize) -> *const bindings::skb_frag {
        // SAFETY: By the type invariants the skb is valid; the caller
        // keeps `i` below the frag count, within the frag array.
        unsafe { core::ptr::addr_of!((*bindings::skb_shinfo(self.as_ptr())).frags[i]) }
    }
}

/// A checksum to fill in on transmit (`CHECKSUM_PARTIAL`): the 16-bit ones'
/// complement of the ones' complement sum of the packet's bytes from
/// `start` to its end, stored big-endian at `start + offset`. The stack
/// has already put the sum of the pseudo-header there, so the sum covers
/// it; a result of 0 is sent as `0xffff` (which means the same, and which
/// UDP needs: 0 there means "no checksum").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CsumPartial {
    /// Where the summed bytes start, from the start of the packet.
    pub start: u32,
    /// Where the checksum goes, from `start`.
    pub offset: u32,
}

/// The segmentation a GSO super-frame asks for ([`Skb::gso`]): the device
/// sends its headers (the first `hdr_len` bytes) with each `size` bytes of
/// its payload, fixing lengths, sequence numbers, flags and checksums.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Gso {
    /// Payload bytes per segment (`gso_size`, the MSS).
    pub size: u32,
    /// Segments the stack counts on (`gso_segs`).
    pub segs: u32,
    /// Bytes of the headers, up to the end of the TCP header (0 unless
    /// `kind` is TCP).
    pub hdr_len: u32,
    /// What is segmented.
    pub kind: GsoKind,
}

/// The protocol of a GSO super-frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GsoKind {
    /// TCP over IPv4 (`SKB_GSO_TCPV4`).
    Tcp4,
    /// TCP over IPv6 (`SKB_GSO_TCPV6`).
    Tcp6,
    /// Anything else (UDP, tunnels): not for a device offering only TSO.
    Other,
}

/// One paged frag of a borrowed [`Skb`].
///
/// # Invariants
///
/// `frag` is one of the frags of a valid skb borrowed for `'a`.
pub struct Frag<'a> {
    frag: *const bindings::skb_frag,
    _skb: PhantomData<&'a Skb>,
}

impl<'a> Frag<'a> {
    /// Bytes in the frag.
    pub fn size(&self) -> u32 {
        // SAFETY: `frag` is valid (type invariants).
        unsafe { bindings::skb_frag_size(self.frag) }
    }

    /// Offset of the frag's first byte in its page or `net_iov`.
    pub fn offset(&self) -> u32 {
        // SAFETY: `frag` is valid (type invariants).
        unsafe { bindings::skb_frag_off(self.frag) }
    }

    /// The dma-buf chunk holding the frag's bytes, if the frag is a
    /// devmem `net_iov` (`None` for a page).
    pub fn net_iov(&self) -> Option<&'a NetIov> {
        // SAFETY: `frag` is valid (type invariants).
        let niov = unsafe { bindings::skb_frag_net_iov(self.frag) };
        // SAFETY: A `net_iov` in an skb frag comes from a page pool
        // serving a devmem binding; the frag's reference keeps it in use
        // while the skb is borrowed.
        (!niov.is_null()).then(|| unsafe { NetIov::from_raw(niov) })
    }
}

/// Iterator over the skbs of a `frag_list`.
///
/// # Invariants
///
/// `next` is null or the next skb of the frag list of an skb borrowed for
/// `'a`, whose members are valid and unchanged while it is.
pub struct FragList<'a> {
    next: *mut bindings::sk_buff,
    _skb: PhantomData<&'a Skb>,
}

impl<'a> Iterator for FragList<'a> {
    type Item = &'a Skb;

    fn next(&mut self) -> Option<&'a Skb> {
        let skb = NonNull::new(self.next)?;
        // SAFETY: A member of the frag list (type invariants); the list
        // ends with a null `next`.
        self.next = unsafe { bindings::net_ext_skb_next(skb.as_ptr()) };
        // CAST: `Skb` is `repr(transparent)` over the `sk_buff`.
        // SAFETY: Valid and not written for `'a` (type invariants).
        Some(unsafe { &*skb.as_ptr().cast::<Skb>() })
    }
}

/// An owned reference to an skb (not a [`Skb`] borrow): freed as dropped
/// (`dev_kfree_skb_any`) unless consumed.
///
/// # Invariants
///
/// `self.0` is a valid `sk_buff` on which this object owns a reference.
struct Owned(NonNull<bindings::sk_buff>);

impl Owned {
    fn into_raw(self) -> *mut bindings::sk_buff {
        let p = self.0.as_ptr();
        core::mem::forget(self);
        p
    }

    fn skb(&self) -> &Skb {
        // CAST: `Skb` is `repr(transparent)` over the `sk_buff`.
        // SAFETY: By the type invariants the skb is valid while we own it.
        unsafe { &*self.0.as_ptr().cast() }
    }

    fn consume(self) {
        // SAFETY: We own the reference; `dev_consume_skb_any` takes it in
        // any context.
        unsafe { bindings::dev_consume_skb_any(self.into_raw()) }
    }
}

impl Drop for Owned {
    fn drop(&mut self) {
        // SAFETY: We own the reference: freed as dropped, from any context.
        unsafe { bindings::dev_kfree_skb_any(self.0.as_ptr()) }
    }
}

// SAFETY: An owned skb may be handed to and freed from any context.
unsafe impl Send for Owned {}
// SAFETY: `&Owned` only reads (through `Skb`).
unsafe impl Sync for Owned {}

/// An skb the driver built for a received packet and owns exclusively.
///
/// # Invariants
///
/// Nobody but this object uses the skb: it was allocated by the driver and
/// not handed to anybody, so it is not cloned and its `skb_shared_info` is
/// its own.
///
/// # Examples
///
/// ```
/// use kernel::c_str;
/// use kernel::dma::{self, PlatformDevice};
/// use kernel::net::page_pool::{PagePool, Params};
/// use kernel::net::skb::RxSkb;
///
/// let mut skb = RxSkb::new(64, GFP_KERNEL)?;
/// skb.put_data(b"headers")?;
/// assert_eq!((skb.len(), skb.headlen()), (7, 7));
/// assert_eq!(skb.linear(), b"headers");
/// assert_eq!(skb.put_data(&[0; 1024]), Err(ENOSPC));
///
/// // The payload in a page-pool buffer, as a frag.
/// let pdev = PlatformDevice::new(c_str!("rs-skb-doc"), PlatformDevice::ID_AUTO)?;
/// dma::set_mask_64(pdev.device())?;
/// let mut pool = PagePool::new(&Params::new(pdev.device(), 16))?;
/// let nm = pool.alloc_netmem(GFP_KERNEL).ok_or(ENOMEM)?;
/// skb.add_rx_frag(nm, 0, 1000, 4096)?;
/// assert_eq!((skb.len(), skb.headlen(), skb.nr_frags()), (1007, 7, 1));
/// // A page frag: readable, no dma-buf chunk behind it; no frag list.
/// assert!(skb.frags_readable());
/// let f = skb.frags().next().ok_or(EINVAL)?;
/// assert_eq!((f.offset(), f.size()), (0, 1000));
/// assert!(f.net_iov().is_none());
/// assert_eq!(skb.frags().count(), 1);
/// assert!(skb.frag_list().next().is_none());
/// let nm = pool.alloc_netmem(GFP_KERNEL).ok_or(ENOMEM)?;
/// assert_eq!(skb.add_rx_frag(nm, 4000, 200, 4096), Err(EINVAL));
/// // Not a GSO super-frame, until marked as coalesced segments.
/// assert!(skb.gso().is_none());
/// skb.set_gso_tcp(500, 2, false);
/// let gso = skb.gso().ok_or(EINVAL)?;
/// assert_eq!((gso.size, gso.segs), (500, 2));
/// skb.set_csum_unnecessary();
/// skb.set_rx_queue(1);
/// skb.set_hash(0x1234, true);
/// drop(skb);
/// drop(pool);
/// # Ok::<(), Error>(())
/// ```
pub struct RxSkb(Owned);

impl RxSkb {
    /// Allocates an skb with `len` bytes of linear room (`alloc_skb`).
    pub fn new(len: u32, flags: Flags) -> Result<Self> {
        // SAFETY: FFI call.
        let skb = unsafe { bindings::__alloc_skb(len, flags.as_raw(), 0, bindings::NUMA_NO_NODE) };
        // INVARIANT: a fresh skb, ours alone.
        Ok(Self(Owned(NonNull::new(skb).ok_or(ENOMEM)?)))
    }

    /// Takes ownership of a fresh skb.
    ///
    /// # Safety
    ///
    /// `ptr` must be a valid skb that nobody else uses, whose reference
    /// passes to the new object.
    pub(crate) unsafe fn from_raw(ptr: NonNull<bindings::sk_buff>) -> Self {
        // INVARIANT: guaranteed by the caller.
        Self(Owned(ptr))
    }

    /// Gives up ownership (to the stack).
    pub(crate) fn into_raw(self) -> *mut bindings::sk_buff {
        self.0.into_raw()
    }

    fn as_ptr(&self) -> *mut bindings::sk_buff {
        self.0 .0.as_ptr()
    }

    /// Copies `data` to the end of the linear part; `ENOSPC` if it does not
    /// fit the tailroom.
    pub fn put_data(&mut self, data: &[u8]) -> Result {
        // SAFETY: By the type invariants the skb is valid and ours.
        let room = unsafe { bindings::skb_tailroom(self.as_ptr()) };
        if data.len() > room as usize {
            return Err(ENOSPC);
        }
        // SAFETY: There is room for `data.len()` bytes, checked above; the
        // skb is ours alone (type invariants).
        unsafe { bindings::skb_put_data(self.as_ptr(), data.as_ptr().cast(), data.len() as u32) };
        Ok(())
    }

    /// Appends page-pool buffer `nm` as the next frag: `size` bytes at
    /// `off` (the skb owns the buffer from here, and gives it back to its
    /// pool when freed); `truesize` is the memory it accounts for.
    ///
    /// Fails with `EINVAL`, returning the buffer to its pool, if the range
    /// leaves the page or the skb has no frag slot left.
    pub fn add_rx_frag(&mut self, nm: Netmem, off: u32, size: u32, truesize: u32) -> Result {
        let in_page = off
            .checked_add(size)
            .is_some_and(|end| end as usize <= crate::page::PAGE_SIZE);
        let i = self.nr_frags();
        if !in_page || i >= bindings::MAX_SKB_FRAGS as usize {
            return Err(EINVAL);
        }
        // SAFETY: The skb is ours alone (type invariants), so its frag
        // array is too; `i` is the next frag, below `MAX_SKB_FRAGS`; the
        // range is within the (order-0) buffer and fits an `i32`; the
        // buffer's reference passes to the skb, which is marked for
        // recycling so that it goes back to its page pool.
        unsafe {
            bindings::skb_add_rx_frag_netmem(
                self.as_ptr(),
                i as i32,
                nm.into_raw(),
                off as i32,
                size as i32,
                truesize,
            );
            bindings::skb_mark_for_recycle(self.as_ptr());
        }
        Ok(())
    }

    /// Marks the L4 checksum as verified by the device.
    pub fn set_csum_unnecessary(&mut self) {
        // SAFETY: By the type invariants the skb is valid and ours; a
        // received skb's checksum state is `CHECKSUM_NONE`, which this
        // turns into `CHECKSUM_UNNECESSARY` (level 0).
        unsafe { bindings::__skb_incr_checksum_unnecessary(self.as_ptr()) };
    }

    /// Marks the packet as `segs` TCP segments (over IPv6 if `ipv6`, else
    /// IPv4) of `size` payload bytes each, the last maybe shorter, that the
    /// device coalesced (`NETIF_F_GRO_HW`): the stack then counts and
    /// acknowledges them as segments (`gso_size`, `gso_segs`, `gso_type`).
    /// The device must have validated every segment's checksum (mark the
    /// packet [`RxSkb::set_csum_unnecessary`]).
    pub fn set_gso_tcp(&mut self, size: u16, segs: u16, ipv6: bool) {
        // SAFETY: By the type invariants the skb is valid and ours, so is
        // its `skb_shared_info`.
        unsafe { bindings::net_ext_skb_set_gso_tcp(self.as_ptr(), size, segs, ipv6) };
    }

    /// Records the rx queue the packet arrived on.
    pub fn set_rx_queue(&mut self, queue: u16) {
        // SAFETY: By the type invariants the skb is valid and ours.
        unsafe { bindings::skb_record_rx_queue(self.as_ptr(), queue) };
    }

    /// Records the device's flow hash (over L4 ports if `l4`, else over
    /// addresses).
    pub fn set_hash(&mut self, hash: u32, l4: bool) {
        let kind = if l4 {
            bindings::pkt_hash_types_PKT_HASH_TYPE_L4
        } else {
            bindings::pkt_hash_types_PKT_HASH_TYPE_L3
        };
        // SAFETY: By the type invariants the skb is valid and ours.
        unsafe { bindings::skb_set_hash(self.as_ptr(), hash, kind) };
    }
}

impl Deref for RxSkb {
    type Target = Skb;

    fn deref(&self) -> &Skb {
        self.0.skb()
    }
}

/// An skb handed to the driver for transmission (`ndo_start_xmit`).
///
/// The driver owns this reference (it must free it: dropping it counts a
/// drop, [`TxSkb::consume`] does not), but the data may be shared with
/// clones, so it is read-only.
///
/// # Invariants
///
/// The skb's data (linear part and frags) is not written while this object
/// lives: not by us (no method writes), nor by the holders of its clones.
///
/// # Examples
///
/// The adapter's `ndo_start_xmit`, called as the stack calls it, with a
/// clone (as TCP transmits):
///
/// ```
/// use core::sync::atomic::{AtomicU32, Ordering};
/// use kernel::bindings;
/// use kernel::c_str;
/// use kernel::net::netdev::{self, Device, Features, Params, Registration, TxResult};
/// use kernel::net::skb::TxSkb;
/// use kernel::prelude::*;
///
/// struct Seen;
/// #[vtable]
/// impl netdev::Driver for Seen {
///     type Data = AtomicU32;
///     fn start_xmit(dev: &Device<Self>, skb: TxSkb) -> TxResult {
///         if skb.linear() == b"frame" {
///             dev.data().store(skb.len(), Ordering::Relaxed);
///         }
///         skb.consume();
///         TxResult::Ok
///     }
/// }
///
/// let params = Params {
///     name: c_str!("rstx%d"),
///     txqs: 1,
///     rxqs: 1,
///     mac: [0x02, 0, 0, 0, 0, 5],
///     parent: None,
///     max_mtu: 0,
///     real_queues: 0,
///     queue_mgmt: None,
///     hw_features: Features::EMPTY,
///     features: Features::EMPTY,
///     ethtool: None,
///     stat_ops: None,
///     tso_max: None,
/// };
/// let reg = Registration::<Seen>::new(&params, AtomicU32::new(0))?;
/// // SAFETY: The skb is allocated and filled as a protocol would; the
/// // clone shares its data; the device is registered, and looked up under
/// // RTNL; `ndo_start_xmit` takes the clone, which we give up (the driver
/// // only reads and consumes it, which is fine outside BH context); then
/// // we free the original.
/// let r = unsafe {
///     let skb = bindings::__alloc_skb(64, bindings::GFP_KERNEL, 0, bindings::NUMA_NO_NODE);
///     assert!(!skb.is_null());
///     bindings::skb_put_data(skb, b"frame".as_ptr().cast(), 5);
///     let clone = bindings::skb_clone(skb, bindings::GFP_KERNEL);
///     assert!(!clone.is_null());
///     bindings::rtnl_lock();
///     let net = core::ptr::addr_of_mut!(bindings::init_net);
///     let raw = bindings::__dev_get_by_index(net, reg.device().ifindex());
///     let r = ((*(*raw).netdev_ops).ndo_start_xmit.unwrap())(clone, raw);
///     bindings::rtnl_unlock();
///     bindings::dev_kfree_skb_any(skb);
///     r
/// };
/// assert_eq!(r, bindings::netdev_tx_NETDEV_TX_OK);
/// assert_eq!(reg.device().data().load(Ordering::Relaxed), 5);
/// # Ok::<(), Error>(())
/// ```
pub struct TxSkb(Owned);

impl TxSkb {
    /// Takes over the skb the stack handed to `ndo_start_xmit`.
    ///
    /// # Safety
    ///
    /// `ptr` must be a valid skb whose reference passes to the new object;
    /// its data must not be written while the object lives (it may be
    /// shared with clones, which do not write it either).
    pub(crate) unsafe fn from_raw(ptr: NonNull<bindings::sk_buff>) -> Self {
        // INVARIANT: guaranteed by the caller.
        Self(Owned(ptr))
    }

    /// Frees the skb as successfully sent (no drop is recorded).
    pub fn consume(self) {
        self.0.consume()
    }
}

impl Deref for TxSkb {
    type Target = Skb;

    fn deref(&self) -> &Skb {
        self.0.skb()
    }
}

/// A packet to transmit with its linear part and frags DMA-mapped for a
/// device to read; unmapped, then freed as consumed, when dropped.
///
/// # Invariants
///
/// `skb` is `Some` until `drop`; `segs` maps parts of it.
pub struct MappedSkb {
    segs: Segments,
    skb: Option<TxSkb>,
}

/// Streaming mappings (`DMA_TO_DEVICE`) of parts of an skb; unmapped when
/// dropped.
///
/// # Invariants
///
/// Each entry of `segs` is a live mapping on `dev` of the linear part
/// (`page == false`) or a frag (`page == true`) of an skb that stays valid
/// while the entry does.
struct Segments {
    dev: ARef<crate::device::Device>,
    segs: KVec<Seg>,
}

#[derive(Clone, Copy)]
struct Seg {
    addr: u64,
    len: u32,
    page: bool,
}

impl Segments {
    /// Maps the linear part of `skb`.
    fn map_linear(&mut self, skb: &Skb) -> Result {
        let len = skb.headlen();
        // SAFETY: `skb` is valid; its linear part is `len` bytes at `data`
        // in the linear map, only read by the device.
        let addr = unsafe {
            bindings::dma_map_single_attrs(
                self.dev.as_raw(),
                (*skb.as_ptr()).data.cast(),
                len as usize,
                Direction::ToDevice.as_raw(),
                0,
            )
        };
        self.push(Seg {
            addr,
            len,
            page: false,
        })
    }

    /// Maps frag `i` (below the frag count) of `skb`; `EFAULT` for
    /// unreadable memory (a dma-buf's), which is not this device's.
    fn map_frag(&mut self, skb: &Skb, i: usize) -> Result {
        let frag = skb.frag(i);
        // SAFETY: `frag` is a frag of `skb`, which is valid.
        if unsafe { bindings::netmem_is_net_iov(bindings::skb_frag_netmem(frag)) } {
            return Err(EFAULT);
        }
        // SAFETY: As above.
        let len = unsafe { bindings::skb_frag_size(frag) };
        // SAFETY: `frag` is a readable frag, mapped whole for the device to
        // read.
        let addr = unsafe {
            bindings::skb_frag_dma_map(
                self.dev.as_raw(),
                frag,
                0,
                len as usize,
                Direction::ToDevice.as_raw(),
            )
        };
        self.push(Seg {
            addr,
            len,
            page: true,
        })
    }

    /// Records a mapping just made, or fails with `ENOMEM` if it failed.
    fn push(&mut self, seg: Seg) -> Result {
        // SAFETY: `dev` is valid.
        if unsafe { bindings::dma_mapping_error(self.dev.as_raw(), seg.addr) } != 0 {
            return Err(ENOMEM);
        }
        // INVARIANT: a live mapping of part of the caller's skb. Room was
        // reserved for every part of the skb, so this does not allocate.
        self.segs.push(seg, GFP_ATOMIC).map_err(|_| ENOMEM)
    }
}

impl Segments {
    /// Unmaps every segment.
    fn unmap_all(&mut self) {
        let dir = Direction::ToDevice.as_raw();
        let dev = self.dev.as_raw();
        let segs = core::mem::take(&mut self.segs);
        for s in segs.iter() {
            // SAFETY: By the type invariants each segment is a live mapping
            // on `dev`, taken out of `segs` and unmapped once here; frags
            // were mapped as pages, the linear part as single.
            unsafe {
                if s.page {
                    bindings::dma_unmap_page_attrs(dev, s.addr, s.len as usize, dir, 0)
                } else {
                    bindings::dma_unmap_single_attrs(dev, s.addr, s.len as usize, dir, 0)
                }
            }
        }
    }
}

impl Drop for Segments {
    fn drop(&mut self) {
        self.unmap_all();
    }
}

impl MappedSkb {
    /// Maps every byte of `skb` for `dev` to read. On failure nothing stays
    /// mapped and the skb is freed as dropped.
    pub fn map(skb: TxSkb, dev: &crate::device::Device) -> Result<Self> {
        let mut segs = Segments {
            dev: dev.into(),
            segs: KVec::with_capacity(skb.nr_frags() + 1, GFP_ATOMIC)?,
        };
        if skb.headlen() > 0 {
            segs.map_linear(&skb)?;
        }
        for i in 0..skb.nr_frags() {
            segs.map_frag(&skb, i)?;
        }
        // INVARIANT: `skb` is set; `segs` maps it.
        Ok(Self {
            segs,
            skb: Some(skb),
        })
    }

    /// The mapped segments as (DMA address, length), in packet order.
    pub fn segments(&self) -> impl Iterator<Item = (u64, u32)> + '_ {
        self.segs.segs.iter().map(|s| (s.addr, s.len))
    }

    /// Number of mapped segments.
    pub fn nr_segments(&self) -> usize {
        self.segs.segs.len()
    }

    /// Packet length.
    pub fn len(&self) -> u32 {
        self.skb.as_ref().map_or(0, |s| s.len())
    }

    /// Whether the packet is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Drop for MappedSkb {
    fn drop(&mut self) {
        // The device is done with the skb: unmap it before it goes.
        self.segs.unmap_all();
        if let Some(skb) = self.skb.take() {
            skb.consume();
        }
    }
}
