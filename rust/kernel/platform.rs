// SPDX-License-Identifier: GPL-2.0

//! Platform devices of in-kernel device models, and the drivers that bind
//! to them.
//!
//! C header: [`include/linux/platform_device.h`](srctree/include/linux/platform_device.h)
//!
//! A device model (an emulated NIC, say) registers each device it models as
//! a [`ModelDevice<D>`]: a platform device `name.id` that carries the
//! model's data `D` (its register interface) and does DMA like a device
//! behind an IOMMU: its DMA mappings are tracked, and the model reaches
//! memory only through them ([`BusMaster`]).
//!
//! A [`Driver`] registered for `name` ([`DriverRegistration`]) is probed
//! with the `D` of each such device. Platform devices are matched by name
//! only, and any code (or user space, through `driver_override`) can put
//! another device with that name in front of the driver: probe therefore
//! only accepts devices that a `ModelDevice<T::DeviceData>` created, and
//! refuses any other with `ENODEV` (the driver core then leaves it alone).

use crate::alloc::{flags::GFP_KERNEL, KBox};
use crate::bindings;
use crate::device::Device;
use crate::dma::{BusMaster, Tracker};
use crate::error::{code::*, from_result, to_result, Result};
use crate::prelude::*;
use crate::str::CStr;
use crate::types::Opaque;
use crate::ThisModule;
use core::any::TypeId;
use core::marker::PhantomData;
use core::ptr::NonNull;

/// The device type of every [`ModelDevice`]: its address tells them from
/// any other platform device.
struct ModelType(bindings::device_type);

// SAFETY: The type is immutable and holds null pointers only.
unsafe impl Sync for ModelType {}

static MODEL_TYPE: ModelType = ModelType(
    // SAFETY: `device_type` is plain old data; all-zero is "nothing
    // special" (no name, groups, uevent or release of its own).
    unsafe { core::mem::zeroed() },
);

/// What every [`ModelDevice`] object starts with.
///
/// # Invariants
///
/// `pdev` is a platform device whose `release` is [`release`] and whose
/// type is `MODEL_TYPE`, `type_id`
/// the `TypeId` of the `D` of the [`Object<D>`] this header starts, and
/// `free` the function that drops that object.
#[repr(C)]
#[pin_data]
struct Header {
    #[pin]
    pdev: Opaque<bindings::platform_device>,
    type_id: TypeId,
    free: unsafe fn(*mut Header),
    /// The device's DMA mappings.
    #[pin]
    dma: Tracker,
}

/// A [`ModelDevice`]'s allocation: the platform device and the data.
///
/// # Invariants
///
/// `header.type_id` is `D`'s.
#[repr(C)]
#[pin_data]
struct Object<D> {
    #[pin]
    header: Header,
    data: D,
}

impl<D: Send + Sync + 'static> Object<D> {
    /// # Safety
    ///
    /// `header` must be the header of an `Object<D>` from `KBox::into_raw`
    /// that nobody uses any more.
    unsafe fn free(header: *mut Header) {
        // SAFETY: `Header` is the first field of the `repr(C)` object, so
        // the pointers are the same; guaranteed by the caller otherwise.
        drop(unsafe { KBox::from_raw(header.cast::<Object<D>>()) });
    }
}

/// The `release` of every [`ModelDevice`]: frees its object once the last
/// reference to the device is gone.
///
/// # Safety
///
/// `dev` must be the device of a `ModelDevice`'s platform device, whose
/// last reference was just dropped.
unsafe extern "C" fn release(dev: *mut bindings::device) {
    // SAFETY: guaranteed by the caller.
    let header = unsafe { header_of(dev) };
    // SAFETY: By the `Header` invariants `free` drops the object the
    // header starts, which nobody uses any more.
    unsafe { ((*header).free)(header) };
}

/// The header of the [`ModelDevice`] whose platform device's device is
/// `dev`.
///
/// # Safety
///
/// `dev` must be the `dev` of the `pdev` of a live `Header`.
unsafe fn header_of(dev: *mut bindings::device) -> *mut Header {
    // SAFETY: guaranteed by the caller: both `container_of!`s go back to
    // the start of objects that contain the given fields.
    unsafe {
        let pdev = crate::container_of!(dev, bindings::platform_device, dev);
        crate::container_of!(pdev, Header, pdev).cast_mut()
    }
}

/// The DMA tracker of `dev`, the device of a [`ModelDevice`].
///
/// # Safety
///
/// `dev` must be the device of a live `ModelDevice` platform device (its
/// DMA ops are only installed on those).
pub(crate) unsafe fn tracker_of<'a>(dev: *mut bindings::device) -> &'a Tracker {
    // SAFETY: guaranteed by the caller; the tracker lives as long as the
    // device.
    unsafe { &(*header_of(dev)).dma }
}

/// A platform device of a device model, carrying the model's data `D`;
/// unregistered (which removes its driver) when dropped.
///
/// The device has a 64-bit DMA mask and tracked DMA (see the module
/// documentation and [`BusMaster`]). The allocation, `D` included, lives
/// until the last reference to the device goes (the driver core, DMA
/// mappings and [`ARef<Device>`](crate::types::ARef)s hold some), which may
/// be in any context: `D` must be fine to drop there.
///
/// # Invariants
///
/// `obj` is an `Object<D>` whose platform device this object registered
/// and holds the registration reference of.
///
/// # Examples
///
/// A driver bound to model devices carrying a `u32`; it is probed for
/// those and for nothing else named like them:
///
/// ```
/// use core::sync::atomic::{AtomicU32, Ordering};
/// use kernel::c_str;
/// use kernel::device::Device;
/// use kernel::dma::PlatformDevice;
/// use kernel::platform::{Driver, DriverRegistration, ModelDevice};
/// use kernel::prelude::*;
///
/// // SAFETY: Built-in code's module pointer is null.
/// static M: ThisModule = unsafe { ThisModule::from_ptr(core::ptr::null_mut()) };
/// static PROBED: AtomicU32 = AtomicU32::new(0);
///
/// struct Counting;
/// impl Driver for Counting {
///     type DeviceData = u32;
///     type Data = u32;
///     fn probe(_dev: &Device, data: &u32) -> Result<KBox<u32>> {
///         PROBED.fetch_add(*data, Ordering::Relaxed);
///         Ok(KBox::new(*data, GFP_KERNEL)?)
///     }
/// }
///
/// let name = c_str!("rs-model-doc");
/// let drv = DriverRegistration::<Counting>::new(name, &M)?;
/// // A device of that name from anywhere else is not probed...
/// let plain = PlatformDevice::new(name, PlatformDevice::ID_AUTO)?;
/// // ...nor one of a model with other data.
/// let other = ModelDevice::new(name, PlatformDevice::ID_AUTO, 5u64)?;
/// assert_eq!(PROBED.load(Ordering::Relaxed), 0);
/// let ours = ModelDevice::new(name, PlatformDevice::ID_AUTO, 7u32)?;
/// assert_eq!(PROBED.load(Ordering::Relaxed), 7);
/// assert_eq!(*ours.data(), 7);
/// drop((ours, other, plain));
/// drop(drv);
/// # Ok::<(), Error>(())
/// ```
pub struct ModelDevice<D: Send + Sync + 'static> {
    obj: NonNull<Object<D>>,
}

// SAFETY: The device may be unregistered from any process context; `D` is
// `Send + Sync`.
unsafe impl<D: Send + Sync + 'static> Send for ModelDevice<D> {}
// SAFETY: `&ModelDevice` gives `&Device` and `&D`, both `Sync`.
unsafe impl<D: Send + Sync + 'static> Sync for ModelDevice<D> {}

impl<D: Send + Sync + 'static> ModelDevice<D> {
    /// Registers platform device `name.id` (see
    /// [`PlatformDevice::new`](crate::dma::PlatformDevice::new) for
    /// `id`) carrying `data`. A matching driver is probed before this
    /// returns.
    pub fn new(name: &'static CStr, id: i32, data: D) -> Result<Self> {
        let init = pin_init!(Object::<D> {
            header <- pin_init!(Header {
                // SAFETY: `platform_device` is plain old data; all-zero is
                // its unregistered state (as `platform_device_alloc` makes
                // it).
                pdev: Opaque::new(unsafe { core::mem::zeroed() }),
                type_id: TypeId::of::<D>(),
                free: Object::<D>::free,
                dma <- Tracker::new(),
            }),
            data,
        });
        let obj = KBox::pin_init(init, GFP_KERNEL)?;
        // SAFETY: The object is never moved: it is freed in place by
        // `release`, through `free`.
        let obj = KBox::into_raw(unsafe { core::pin::Pin::into_inner_unchecked(obj) });
        // SAFETY: `obj` is valid; `pdev` is ours until registered.
        let pdev = unsafe { (*obj).header.pdev.get() };
        // SAFETY: As above. The name is `'static`. The masks are set before
        // `platform_device_register`, which then keeps them, so a driver
        // probed during registration sees them. `release` frees the object
        // from the last `put_device` on, whatever happens below.
        let r = unsafe {
            (*pdev).name = name.as_char_ptr();
            (*pdev).id = id;
            (*pdev).dev.release = Some(release);
            (*pdev).dev.type_ = &MODEL_TYPE.0;
            (*pdev).platform_dma_mask = u64::MAX;
            (*pdev).dev.dma_mask = core::ptr::addr_of_mut!((*pdev).platform_dma_mask);
            (*pdev).dev.coherent_dma_mask = u64::MAX;
            // C only reads the table (a `const` pointer in C).
            (*pdev).dev.dma_ops = core::ptr::addr_of!(crate::dma::TRACKED_OPS).cast_mut();
            bindings::platform_device_register(pdev)
        };
        if let Err(e) = to_result(r) {
            // SAFETY: `platform_device_register` initialised the device;
            // dropping its reference frees the object (through `release`).
            unsafe { bindings::platform_device_put(pdev) };
            return Err(e);
        }
        // INVARIANT: registered above; the registration reference is ours.
        Ok(Self {
            // SAFETY: `KBox::into_raw` does not return null.
            obj: unsafe { NonNull::new_unchecked(obj) },
        })
    }

    fn pdev(&self) -> *mut bindings::platform_device {
        // SAFETY: By the type invariants the object is alive.
        unsafe { (*self.obj.as_ptr()).header.pdev.get() }
    }

    /// The device.
    pub fn device(&self) -> &Device {
        // SAFETY: By the type invariants the device is registered and we
        // hold a reference to it while `self` lives.
        unsafe { Device::as_ref(core::ptr::addr_of_mut!((*self.pdev()).dev)) }
    }

    /// The model's data.
    pub fn data(&self) -> &D {
        // SAFETY: By the type invariants the object is alive.
        unsafe { &(*self.obj.as_ptr()).data }
    }

    /// The device side of this device's DMA: reads and writes of memory
    /// mapped for it.
    pub fn bus_master(&self) -> BusMaster {
        // SAFETY: The tracker is in the object, which lives as long as the
        // device reference the `BusMaster` takes.
        unsafe { BusMaster::new(self.device(), &(*self.obj.as_ptr()).header.dma) }
    }
}

impl<D: Send + Sync + 'static> Drop for ModelDevice<D> {
    fn drop(&mut self) {
        // SAFETY: By the type invariants the device is registered by us.
        // The object goes with the last reference (`release`).
        unsafe { bindings::platform_device_unregister(self.pdev()) }
    }
}

/// A driver of the [`ModelDevice`]s of one device model.
pub trait Driver: 'static {
    /// The data of the devices this driver binds to.
    type DeviceData: Send + Sync + 'static;
    /// Per-device state, created by `probe`, dropped on remove.
    type Data: Send + Sync;

    /// Binds to a device `dev` carrying `data`.
    fn probe(dev: &Device, data: &Self::DeviceData) -> Result<KBox<Self::Data>>;
}

/// A registered platform driver `T` for the devices named `name`;
/// unregistered (which removes it from every device) when dropped.
///
/// # Invariants
///
/// `drv` is a registered platform driver whose callbacks are
/// `probe_callback::<T>` and `remove_callback::<T>`.
pub struct DriverRegistration<T: Driver> {
    drv: Pin<KBox<Opaque<bindings::platform_driver>>>,
    _p: PhantomData<T>,
}

// SAFETY: The driver can be unregistered from any process context.
unsafe impl<T: Driver> Send for DriverRegistration<T> {}
// SAFETY: `&DriverRegistration` exposes nothing.
unsafe impl<T: Driver> Sync for DriverRegistration<T> {}

impl<T: Driver> DriverRegistration<T> {
    /// Registers driver `T` for the devices named `name`.
    pub fn new(name: &'static CStr, module: &'static ThisModule) -> Result<Self> {
        // SAFETY: `platform_driver` is plain old data; zero means unset.
        let mut raw: bindings::platform_driver = unsafe { core::mem::zeroed() };
        raw.probe = Some(probe_callback::<T>);
        raw.__bindgen_anon_1.remove = Some(remove_callback::<T>);
        raw.driver.name = name.as_char_ptr();
        let drv = KBox::pin(Opaque::new(raw), GFP_KERNEL)?;
        // SAFETY: `drv` is set up and pinned on the heap until `drop`
        // unregisters it.
        to_result(unsafe { bindings::__platform_driver_register(drv.get(), module.as_ptr()) })?;
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
        unsafe { bindings::platform_driver_unregister(self.drv.get()) };
    }
}

/// The data of `pdev` if a `ModelDevice<D>` created it.
///
/// # Safety
///
/// `pdev` must be a registered platform device (being probed).
unsafe fn model_data<'a, D: 'static>(pdev: *mut bindings::platform_device) -> Option<&'a D> {
    // SAFETY: `pdev` is valid (caller). Only `ModelDevice`s have
    // `MODEL_TYPE` as their type, so this tells them from any other
    // platform device without reading what the others may not have.
    if !core::ptr::eq(unsafe { (*pdev).dev.type_ }, &MODEL_TYPE.0) {
        return None;
    }
    // SAFETY: A `ModelDevice` (checked above): its header is alive while
    // the device is.
    let header = unsafe { header_of(core::ptr::addr_of_mut!((*pdev).dev)) };
    // SAFETY: As above.
    if unsafe { (*header).type_id } != TypeId::of::<D>() {
        return None;
    }
    // SAFETY: By the `Header` invariants the header starts an `Object<D>`
    // (its `type_id` is `D`'s), alive while the device is.
    Some(unsafe { &(*header.cast::<Object<D>>()).data })
}

/// # Safety
///
/// `pdev` must be a registered platform device being probed by a driver
/// registered by [`DriverRegistration<T>`].
unsafe extern "C" fn probe_callback<T: Driver>(
    pdev: *mut bindings::platform_device,
) -> core::ffi::c_int {
    from_result(|| {
        // SAFETY: guaranteed by the caller.
        let data = unsafe { model_data::<T::DeviceData>(pdev) }.ok_or(ENODEV)?;
        // SAFETY: `pdev` is valid during probe.
        let dev = unsafe { Device::as_ref(core::ptr::addr_of_mut!((*pdev).dev)) };
        let state = T::probe(dev, data)?;
        // SAFETY: The driver owns drvdata while bound; remove takes it back.
        unsafe { bindings::platform_set_drvdata(pdev, KBox::into_raw(state).cast()) };
        Ok(0)
    })
}

/// # Safety
///
/// `pdev` must be a platform device successfully probed by
/// [`probe_callback::<T>`].
unsafe extern "C" fn remove_callback<T: Driver>(pdev: *mut bindings::platform_device) {
    // SAFETY: guaranteed by the caller: drvdata is what probe stored.
    let state = unsafe { bindings::platform_get_drvdata(pdev) }.cast::<T::Data>();
    // SAFETY: It came from `KBox::into_raw` in probe and is taken once.
    drop(unsafe { KBox::from_raw(state) });
}
