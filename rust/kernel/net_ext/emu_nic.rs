// SPDX-License-Identifier: GPL-2.0

//! The interface between the emulated GVE-style NIC and its driver.
//!
//! C header: [`include/linux/platform_device.h`](srctree/include/linux/platform_device.h)
//!
//! In 6.12 Rust crates share code only through the kernel crate, so the
//! "hardware interface" of the emulated NIC (`drivers/gve/emu`) and its
//! driver (`drivers/gve`) lives here:
//!
//! - [`Port`] is the device's register interface (what MMIO and doorbells
//!   are on real hardware): the driver configures queues, posts rx buffers
//!   and tx segments by DMA address, and reads completions. The device
//!   moves packet bytes only through the DMA addresses it was given.
//! - [`IrqHandler`] is the driver's interrupt handler, which the device
//!   raises per queue.
//! - Each port is a platform device (`gve-rs-emu.N`) whose DMA mask is
//!   64 bits (dma-direct); the driver binds to it as a platform driver
//!   ([`DriverRegistration`]) and receives the port in `probe`.

use crate::alloc::{flags::GFP_KERNEL, KBox};
use crate::bindings;
use crate::error::{code::*, from_result, to_result, Result};
use crate::prelude::*;
use crate::sync::Arc;
use core::marker::PhantomData;

/// Port pairs to create at boot: `gve_rs_emu.pairs=` on the kernel command
/// line, `CONFIG_GVE_RS_EMU_PAIRS` by default (unchecked: callers clamp it).
#[cfg(CONFIG_GVE_RS_EMU)]
pub fn boot_pairs() -> i32 {
    // SAFETY: Reads an int the parameter code set before initcalls run.
    unsafe { bindings::gve_rs_emu_boot_pairs() }
}

/// Payload bytes the device writes into the header buffer after the
/// headers when it splits a frame: `gve_rs_emu.rx_inline` (0 by default,
/// at most 4096; writable at run time, so read it once per frame).
#[cfg(CONFIG_GVE_RS_EMU)]
pub fn rx_inline() -> u32 {
    // SAFETY: Reads an unsigned int (`READ_ONCE`); always safe to call.
    unsafe { bindings::gve_rs_emu_rx_inline() }
}

/// Most queues per direction of a port.
pub const MAX_QUEUES: usize = 16;
/// Largest MTU the device supports.
pub const MAX_MTU: u32 = 9000;
/// RSS hash key length (Toeplitz), bytes.
pub const RSS_KEY_LEN: usize = 40;
/// RSS indirection table length.
pub const RSS_INDIR_LEN: usize = 128;
/// Flow steering rule locations (0..`MAX_FLOW_RULES`).
pub const MAX_FLOW_RULES: usize = 64;

/// An rx buffer posted on a buffer queue (GVE DQO: buffer id, header and
/// payload buffer addresses).
#[derive(Clone, Copy, Debug, Default)]
pub struct RxBuf {
    /// Driver's id for the buffer, echoed in the completion.
    pub id: u16,
    /// DMA address of the header buffer.
    pub hdr_addr: u64,
    /// Size of the header buffer.
    pub hdr_len: u32,
    /// DMA address of the payload buffer.
    pub data_addr: u64,
    /// Size of the payload buffer.
    pub data_len: u32,
}

/// An rx completion: what the device wrote for one buffer.
#[derive(Clone, Copy, Debug, Default)]
pub struct RxCompl {
    /// Id of the buffer used.
    pub id: u16,
    /// Bytes written to the header buffer (headers of a split frame;
    /// 0 if the frame was not split).
    pub hdr_len: u32,
    /// Bytes written to the payload buffer.
    pub data_len: u32,
    /// Headers and payload were split.
    pub split: bool,
    /// First buffer of the frame.
    pub sop: bool,
    /// Last buffer of the frame.
    pub eop: bool,
    /// RSS hash of the frame.
    pub rss_hash: u32,
    /// The hash covers L4 ports.
    pub hash_l4: bool,
    /// The device verified the L4 checksum.
    pub l4_csum_ok: bool,
}

/// A tx segment: `len` bytes at DMA address `addr`; `eop` ends the frame.
#[derive(Clone, Copy, Debug, Default)]
pub struct TxSeg {
    /// DMA address of the bytes.
    pub addr: u64,
    /// Number of bytes.
    pub len: u32,
    /// Last segment of the frame: the device sends it and completes `tag`.
    pub eop: bool,
    /// Driver's completion tag, echoed in the [`TxCompl`] of the frame.
    pub tag: u16,
}

/// A tx completion: the frame with `tag` was sent (or dropped on the wire),
/// its buffers may be unmapped.
#[derive(Clone, Copy, Debug, Default)]
pub struct TxCompl {
    /// The frame's tag.
    pub tag: u16,
}

/// A flow steering rule's match (ntuple): zero fields match anything.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FlowMatch {
    /// `libc::IPPROTO_TCP` or `IPPROTO_UDP`.
    pub proto: u8,
    /// IPv6 (else IPv4).
    pub ipv6: bool,
    /// Source address (IPv4 in the first 4 bytes), network order.
    pub src: [u8; 16],
    /// Source address mask.
    pub src_mask: [u8; 16],
    /// Destination address, network order.
    pub dst: [u8; 16],
    /// Destination address mask.
    pub dst_mask: [u8; 16],
    /// Source port, host order, and its mask.
    pub sport: u16,
    /// Source port mask.
    pub sport_mask: u16,
    /// Destination port, host order.
    pub dport: u16,
    /// Destination port mask.
    pub dport_mask: u16,
}

/// Interrupt vectors of a port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Vector {
    /// Rx completions on a queue.
    Rx(u16),
    /// Tx completions on a queue.
    Tx(u16),
    /// Link state changed.
    Link,
}

/// The driver's interrupt handler. Called from any context (the device
/// raises interrupts from its peer's transmit path, in BH context).
pub trait IrqHandler: Send + Sync {
    /// Handles an interrupt.
    fn irq(&self, vector: Vector);
}

/// Per-port device counters.
#[derive(Clone, Copy, Debug, Default)]
pub struct PortStats {
    /// Frames dropped because the rx queue had no posted buffer.
    pub rx_no_buffer: u64,
    /// Frames dropped because a DMA address was refused.
    pub dma_errors: u64,
}

/// The register interface of one emulated port.
pub trait Port: Send + Sync {
    /// Permanent MAC address.
    fn mac(&self) -> [u8; 6];
    /// Most queues per direction.
    fn max_queues(&self) -> u16;
    /// Sets the interrupt handler (None masks all interrupts).
    fn set_irq_handler(&self, handler: Option<Arc<dyn IrqHandler>>);
    /// Enables `nq` rx and tx queues and resets their state; 0 stops the
    /// port (no frame is received or sent, posted buffers are forgotten).
    fn enable(&self, nq: u16) -> Result;
    /// Turns header split on or off.
    fn set_header_split(&self, on: bool);
    /// Sets the MTU the port accepts (frames larger are dropped).
    fn set_mtu(&self, mtu: u32) -> Result;
    /// Sets the RSS key and indirection table.
    fn set_rss(&self, key: &[u8; RSS_KEY_LEN], indir: &[u16; RSS_INDIR_LEN]) -> Result;
    /// Installs flow steering rule `loc` sending matching frames to `queue`.
    fn set_flow_rule(&self, loc: u32, m: &FlowMatch, queue: u16) -> Result;
    /// Removes flow steering rule `loc`.
    fn del_flow_rule(&self, loc: u32) -> Result;
    /// Stops and forgets the buffers of rx queue `q` only (queue restart).
    fn rx_queue_stop(&self, q: u16) -> Result;
    /// Starts rx queue `q` again, empty.
    fn rx_queue_start(&self, q: u16) -> Result;
    /// Posts an rx buffer on queue `q`; `EBUSY` when the ring is full.
    fn post_rx(&self, q: u16, buf: RxBuf) -> Result;
    /// Takes the next rx completion of queue `q`.
    fn poll_rx(&self, q: u16) -> Option<RxCompl>;
    /// Posts a tx segment on queue `q`; `EBUSY` when the ring is full.
    fn post_tx(&self, q: u16, seg: TxSeg) -> Result;
    /// Takes the next tx completion of queue `q`.
    fn poll_tx(&self, q: u16) -> Option<TxCompl>;
    /// Whether the emulated wire is connected to a peer port that is up.
    fn link_up(&self) -> bool;
    /// Device counters.
    fn stats(&self) -> PortStats;
}

/// An emulated port registered as platform device `name.id`; unregistered
/// (which removes its driver) when dropped.
///
/// # Invariants
///
/// `pdev` is a registered platform device whose `platform_data` holds a
/// copy of `port`, a pointer from `KBox::into_raw` that stays valid until
/// `drop`.
pub struct PortDevice {
    pdev: *mut bindings::platform_device,
    port: *mut Arc<dyn Port>,
}

// SAFETY: The platform device can be unregistered from any process context.
unsafe impl Send for PortDevice {}
// SAFETY: `&PortDevice` exposes nothing mutable.
unsafe impl Sync for PortDevice {}

impl PortDevice {
    /// Registers `port` as platform device `name.id` with a 64-bit DMA mask.
    pub fn register(name: &'static CStr, id: i32, port: Arc<dyn Port>) -> Result<Self> {
        let port = KBox::into_raw(KBox::new(port, GFP_KERNEL)?);
        // SAFETY: FFI call; `name` is 'static.
        let pdev = unsafe { bindings::platform_device_alloc(name.as_char_ptr(), id) };
        if pdev.is_null() {
            // SAFETY: `port` came from `into_raw` above and was not shared.
            drop(unsafe { KBox::from_raw(port) });
            return Err(ENOMEM);
        }
        // SAFETY: `pdev` is ours and not yet added; the DMA mask lives in
        // it. The platform core owns `platform_data` (it frees it on
        // release), so it gets a copy of the pointer to `port`, which we
        // keep owning; only our driver's probe reads it.
        let r = unsafe {
            let ptr = port;
            to_result(bindings::platform_device_add_data(
                pdev,
                (&ptr as *const *mut Arc<dyn Port>).cast(),
                core::mem::size_of::<*mut Arc<dyn Port>>(),
            ))
            .and_then(|()| {
                crate::net_ext::dma::set_mask_64(crate::device::Device::as_ref(&mut (*pdev).dev))
            })
            .and_then(|()| to_result(bindings::platform_device_add(pdev)))
        };
        if let Err(e) = r {
            // SAFETY: Not added: drop our reference; nobody else saw `port`.
            unsafe {
                bindings::platform_device_put(pdev);
                drop(KBox::from_raw(port));
            }
            return Err(e);
        }
        // INVARIANT: registered with `platform_data == port`.
        Ok(Self { pdev, port })
    }

    /// The platform device's `struct device`.
    pub fn device(&self) -> &crate::device::Device {
        // SAFETY: By the type invariants the device is registered and lives
        // as long as `self`.
        unsafe { crate::device::Device::as_ref(&mut (*self.pdev).dev) }
    }
}

impl Drop for PortDevice {
    fn drop(&mut self) {
        // SAFETY: By the type invariants `pdev` is registered; unregistering
        // runs the driver's remove synchronously, after which nobody uses
        // `platform_data`, so `port` can go.
        unsafe {
            bindings::platform_device_unregister(self.pdev);
            drop(KBox::from_raw(self.port));
        }
    }
}

/// A driver of emulated ports.
pub trait Driver: Sized + 'static {
    /// Per-port state, created by `probe`, dropped on remove.
    type Data: Send + Sync;

    /// Binds to a port whose platform device (the DMA device, and the
    /// parent of the driver's netdev) is `dev`.
    fn probe(dev: &crate::device::Device, port: Arc<dyn Port>) -> Result<KBox<Self::Data>>;
}

/// A registered driver of emulated ports named `name`; unregistered (which
/// removes it from every port) when dropped.
///
/// # Invariants
///
/// `drv` is a registered platform driver whose callbacks are `Adapter<T>`'s.
pub struct DriverRegistration<T: Driver> {
    drv: KBox<bindings::platform_driver>,
    _p: PhantomData<T>,
}

// SAFETY: The driver can be unregistered from any process context.
unsafe impl<T: Driver> Send for DriverRegistration<T> {}
// SAFETY: `&DriverRegistration` exposes nothing.
unsafe impl<T: Driver> Sync for DriverRegistration<T> {}

impl<T: Driver> DriverRegistration<T> {
    /// Registers driver `T` for the ports named `name`.
    pub fn new(name: &'static CStr, module: &'static ThisModule) -> Result<Self> {
        // SAFETY: `platform_driver` is plain old data; zero means unset.
        let mut drv: bindings::platform_driver = unsafe { core::mem::zeroed() };
        drv.probe = Some(probe_callback::<T>);
        drv.__bindgen_anon_1.remove = Some(remove_callback::<T>);
        drv.driver.name = name.as_char_ptr();
        let mut drv = KBox::new(drv, GFP_KERNEL)?;
        // SAFETY: `drv` is set up and lives in the heap until `drop`
        // unregisters it.
        to_result(unsafe { bindings::__platform_driver_register(&mut *drv, module.as_ptr()) })?;
        // INVARIANT: registered above.
        Ok(Self {
            drv,
            _p: PhantomData,
        })
    }
}

impl<T: Driver> Drop for DriverRegistration<T> {
    fn drop(&mut self) {
        // SAFETY: By the type invariants the driver is registered.
        unsafe { bindings::platform_driver_unregister(&mut *self.drv) };
    }
}

/// # Safety
///
/// `pdev` must be a platform device registered by [`PortDevice`], being
/// probed by a driver registered by [`DriverRegistration<T>`].
unsafe extern "C" fn probe_callback<T: Driver>(
    pdev: *mut bindings::platform_device,
) -> core::ffi::c_int {
    from_result(|| {
        // SAFETY: guaranteed by the caller: `platform_data` holds the
        // pointer to the `PortDevice`'s port, valid until the device is
        // unregistered, which waits for probe and remove.
        let port = unsafe { &**(*pdev).dev.platform_data.cast::<*mut Arc<dyn Port>>() }.clone();
        // SAFETY: `pdev` is valid during probe.
        let dev = unsafe { crate::device::Device::as_ref(&mut (*pdev).dev) };
        let data = T::probe(dev, port)?;
        // SAFETY: The driver owns drvdata while bound; remove takes it back.
        unsafe { bindings::net_ext_emu_set_drvdata(pdev, KBox::into_raw(data).cast()) };
        Ok(0)
    })
}

/// # Safety
///
/// `pdev` must be a platform device successfully probed by
/// [`probe_callback::<T>`].
unsafe extern "C" fn remove_callback<T: Driver>(pdev: *mut bindings::platform_device) {
    // SAFETY: guaranteed by the caller: drvdata is what probe stored.
    let data = unsafe { bindings::net_ext_emu_get_drvdata(pdev) }.cast::<T::Data>();
    // SAFETY: It came from `KBox::into_raw` in probe and is taken once.
    drop(unsafe { KBox::from_raw(data) });
}
