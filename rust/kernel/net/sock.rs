// SPDX-License-Identifier: GPL-2.0

//! The socket side of Device Memory TCP: what a devmem core needs of a
//! socket, of a `recvmsg` in progress and of a socket option's value.
//!
//! C headers: [`include/net/sock.h`](srctree/include/net/sock.h),
//! [`include/linux/socket.h`](srctree/include/linux/socket.h),
//! [`include/linux/sockptr.h`](srctree/include/linux/sockptr.h)
//!
//! With `CONFIG_NET_DEVMEM_CORE_RUST`, `tcp_recvmsg_locked()` hands the
//! unreadable skbs of a `MSG_SOCK_DEVMEM` read to the core, `sk_setsockopt()`
//! hands it `SO_DEVMEM_DONTNEED`, and `tcp_v4_destroy_sock()` lets it
//! release what the user still holds (patches/0005). The core implements
//! [`SockCore`] and defines those entry points with
//! [`crate::net_devmem_sock!`]. Each socket may carry one object of the
//! core's [`SockCore::Tokens`] type (in `sk->sk_devmem_tokens`), created on
//! the first devmem read and dropped when the socket is destroyed.

use crate::alloc::{flags::GFP_KERNEL, KBox};
use crate::bindings;
use crate::error::{code::*, to_result, Error, Result};
use crate::init::InPlaceInit;
use crate::init::PinInit;
use crate::net::skb::Skb;
use crate::types::{ForeignOwnable, Opaque};
use core::marker::PhantomData;
use core::pin::Pin;

/// A socket the devmem core is called for.
///
/// # Invariants
///
/// The wrapped `sock` is valid and not destroyed while `&self` lives, and
/// its `sk_devmem_tokens` is null or a `Pin<KBox<T>>` made foreign by
/// [`LockedSock::tokens_or_init`] (one `T` per kernel: see
/// [`crate::net_devmem_sock!`]), freed only when the socket is destroyed.
#[repr(transparent)]
pub struct Sock<T>(Opaque<bindings::sock>, PhantomData<T>);

impl<T: Send + Sync + 'static> Sock<T> {
    fn as_ptr(&self) -> *mut bindings::sock {
        self.0.get()
    }

    /// Whether this is a TCP socket (`sk_is_tcp()`).
    pub fn is_tcp(&self) -> bool {
        // SAFETY: The socket is valid (type invariants).
        unsafe { bindings::sk_is_tcp(self.as_ptr()) }
    }

    /// The core's per-socket object, if a devmem read made one.
    pub fn tokens(&self) -> Option<Pin<&T>> {
        // SAFETY: The socket is valid (type invariants); the acquire load
        // pairs with the release store that published the object.
        let p = unsafe { bindings::net_ext_sk_devmem_tokens(self.as_ptr()) };
        if p.is_null() {
            return None;
        }
        // SAFETY: A `Pin<KBox<T>>` made foreign, freed only when the socket
        // is destroyed, which cannot happen while `&self` lives (type
        // invariants).
        Some(unsafe { <Pin<KBox<T>> as ForeignOwnable>::borrow(p.cast_const().cast()) })
    }
}

/// A socket whose owner lock (`lock_sock()`) the caller holds, as in
/// `tcp_recvmsg_locked()`.
///
/// # Invariants
///
/// As for [`Sock`]; moreover the socket is locked while `&self` lives, so
/// no other [`LockedSock`] of it exists at the same time.
#[repr(transparent)]
pub struct LockedSock<T>(Sock<T>);

impl<T: Send + Sync + 'static> core::ops::Deref for LockedSock<T> {
    type Target = Sock<T>;

    fn deref(&self) -> &Sock<T> {
        &self.0
    }
}

impl<T: Send + Sync + 'static> LockedSock<T> {
    /// The core's per-socket object, made with `init` if the socket has
    /// none yet.
    pub fn tokens_or_init<E>(&self, init: impl PinInit<T, E>) -> Result<Pin<&T>>
    where
        Error: From<E>,
    {
        if let Some(t) = self.tokens() {
            return Ok(t);
        }
        let obj = KBox::pin_init(init, GFP_KERNEL)?;
        // INVARIANT: a `Pin<KBox<T>>` made foreign. Only a `LockedSock`
        // stores it, and the socket lock makes this the only one: nobody
        // stored one since the check above.
        let p = <Pin<KBox<T>> as ForeignOwnable>::into_foreign(obj);
        // SAFETY: The socket is valid; the release store publishes the
        // initialised object to lockless readers (`Sock::tokens`).
        unsafe { bindings::net_ext_sk_set_devmem_tokens(self.as_ptr(), p.cast_mut().cast()) };
        self.tokens().ok_or(EINVAL)
    }
}

/// The `msghdr` of a `recvmsg` in progress: the data buffers (an
/// `iov_iter`) and the control buffer, user or kernel memory.
///
/// # Invariants
///
/// `self.0` is a `msghdr` set up for receiving, valid and used by nobody
/// else for `'a`.
pub struct Msg<'a>(*mut bindings::msghdr, PhantomData<&'a mut ()>);

impl<'a> Msg<'a> {
    /// Wraps `msg`.
    ///
    /// # Safety
    ///
    /// `msg` is a receiving `msghdr`, valid and used by nobody else for
    /// `'a`.
    pub unsafe fn from_raw(msg: *mut bindings::msghdr) -> Self {
        // INVARIANT: the caller's guarantee.
        Self(msg, PhantomData)
    }

    /// Runs `f` on a `msghdr` over kernel buffers, as `kernel_recvmsg()`
    /// callers build: `data` takes the data, `control` the control
    /// messages. Returns what `f` returned and the control bytes used.
    ///
    /// # Examples
    ///
    /// ```
    /// use kernel::net::sock::Msg;
    ///
    /// let (mut data, mut control) = ([0u8; 8], [0u8; 64]);
    /// let (r, used) = Msg::with_kernel_buffers(&mut data, &mut control, |msg| {
    ///     assert_eq!(msg.copy_to_iter(b"0123456789"), 8); // data is 8 bytes
    ///     msg.put_cmsg(1, 78, &7u32.to_ne_bytes())
    /// });
    /// r?;
    /// assert_eq!(&data, b"01234567");
    /// // struct cmsghdr { size_t len; int level; int type; } + data, padded.
    /// assert_eq!(used, 24);
    /// assert_eq!(&control[..8], &20usize.to_ne_bytes()); // CMSG_LEN(4)
    /// assert_eq!(&control[8..12], &1i32.to_ne_bytes());
    /// assert_eq!(&control[12..16], &78i32.to_ne_bytes());
    /// assert_eq!(&control[16..20], &7u32.to_ne_bytes());
    ///
    /// // A control message that does not fit whole is not written.
    /// let mut small = [0u8; 19];
    /// let (r, used) = Msg::with_kernel_buffers(&mut data, &mut small, |msg| {
    ///     msg.put_cmsg(1, 78, &7u32.to_ne_bytes())
    /// });
    /// assert_eq!((r, used), (Err(EMSGSIZE), 0));
    /// let (r, _) = Msg::with_kernel_buffers(&mut data, &mut [], |msg| msg.put_cmsg(1, 78, &[]));
    /// assert_eq!(r, Err(EMSGSIZE));
    /// # Ok::<(), Error>(())
    /// ```
    pub fn with_kernel_buffers<R>(
        data: &mut [u8],
        control: &mut [u8],
        f: impl FnOnce(&mut Msg<'_>) -> R,
    ) -> (R, usize) {
        let mut msg = core::mem::MaybeUninit::<bindings::msghdr>::uninit();
        let mut vec = core::mem::MaybeUninit::<bindings::kvec>::uninit();
        let ctl = if control.is_empty() {
            core::ptr::null_mut()
        } else {
            control.as_mut_ptr()
        };
        // SAFETY: Initialises `msg` and `vec` whole; `data` and `control`
        // are writable for their lengths while borrowed here.
        unsafe {
            bindings::net_ext_msg_init_kernel(
                msg.as_mut_ptr(),
                vec.as_mut_ptr(),
                data.as_mut_ptr().cast(),
                data.len(),
                ctl.cast(),
                control.len(),
            )
        };
        // INVARIANT: set up for receiving into buffers borrowed for the call.
        let mut m = Msg(msg.as_mut_ptr(), PhantomData);
        let r = f(&mut m);
        // SAFETY: Initialised above.
        let left = unsafe { bindings::net_ext_msg_controllen(msg.as_ptr()) };
        (r, control.len() - left)
    }

    /// Copies `data` to the data buffers; returns how many bytes were
    /// copied (fewer if the buffers end or fault).
    pub fn copy_to_iter(&mut self, data: &[u8]) -> usize {
        // SAFETY: The `msghdr` is valid and ours (type invariants); `data`
        // is readable for its length.
        unsafe {
            bindings::copy_to_iter(
                data.as_ptr().cast(),
                data.len(),
                core::ptr::addr_of_mut!((*self.0).msg_iter),
            )
        }
    }

    /// Appends a control message (`level`, `ty`, `data`) whole, or fails:
    /// `EMSGSIZE` if the control buffer is absent or too small for it (no
    /// truncated message is written, `MSG_CTRUNC` is not set), `EFAULT`
    /// if user memory faults.
    pub fn put_cmsg(&mut self, level: i32, ty: i32, data: &[u8]) -> Result {
        let len = i32::try_from(data.len()).map_err(|_| EMSGSIZE)?;
        // SAFETY: The `msghdr` is valid and ours; `put_cmsg_notrunc` only
        // reads `len` bytes of `data`.
        let ret = unsafe {
            bindings::put_cmsg_notrunc(self.0, level, ty, len, data.as_ptr().cast_mut().cast())
        };
        // 6.12 says so with ETOOSMALL, an errno user space must not see.
        if ret == -(bindings::ETOOSMALL as i32) {
            return Err(EMSGSIZE);
        }
        to_result(ret)
    }
}

/// A socket option's value as `setsockopt()` passed it (`sockptr_t`):
/// `len` bytes of user or kernel memory.
///
/// # Invariants
///
/// `ptr` is a kernel pointer valid for reading `len` bytes for `'a`, or a
/// user pointer (which may fault: every read is checked).
pub struct OptVal<'a> {
    ptr: bindings::sockptr_t,
    len: usize,
    _buf: PhantomData<&'a [u8]>,
}

impl<'a> OptVal<'a> {
    /// Wraps the value `sk_setsockopt()` was given.
    ///
    /// # Safety
    ///
    /// `ptr` is a user pointer, or a kernel pointer valid for reading `len`
    /// bytes for `'a`.
    pub unsafe fn from_raw(ptr: bindings::sockptr_t, len: u32) -> Self {
        // INVARIANT: the caller's guarantee.
        Self {
            ptr,
            len: len as usize,
            _buf: PhantomData,
        }
    }

    /// A value in kernel memory (`KERNEL_SOCKPTR()`), as in-kernel callers
    /// of `setsockopt` pass.
    ///
    /// # Examples
    ///
    /// ```
    /// use kernel::net::sock::OptVal;
    ///
    /// let v = OptVal::from_kernel(&[1, 2, 3, 4, 5]);
    /// assert_eq!(v.len(), 5);
    /// let mut buf = [0u8; 4];
    /// v.read(&mut buf)?;
    /// assert_eq!(buf, [1, 2, 3, 4]);
    /// assert_eq!(v.read(&mut [0u8; 6]), Err(EINVAL)); // longer than the value
    /// # Ok::<(), Error>(())
    /// ```
    pub fn from_kernel(buf: &'a [u8]) -> Self {
        // SAFETY: FFI call, builds a value from a pointer.
        let ptr = unsafe { bindings::KERNEL_SOCKPTR(buf.as_ptr().cast_mut().cast()) };
        // INVARIANT: kernel memory readable for `buf.len()` bytes for `'a`.
        Self {
            ptr,
            len: buf.len(),
            _buf: PhantomData,
        }
    }

    /// Length of the value in bytes (`optlen`).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the value is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Copies the value's first `buf.len()` bytes into `buf`: `EINVAL` if
    /// the value is shorter, `EFAULT` if user memory faults (then `buf`
    /// may be partly written).
    pub fn read(&self, buf: &mut [u8]) -> Result {
        if buf.len() > self.len {
            return Err(EINVAL);
        }
        // SAFETY: `buf` is writable for its length; `ptr` is readable for
        // `len >= buf.len()` bytes or a user pointer, whose faults
        // `copy_from_sockptr` catches (type invariants).
        let ret =
            unsafe { bindings::copy_from_sockptr(buf.as_mut_ptr().cast(), self.ptr, buf.len()) };
        if ret != 0 {
            return Err(EFAULT);
        }
        Ok(())
    }
}

/// The socket side of a devmem core, called from TCP and `sk_setsockopt()`.
pub trait SockCore {
    /// What the core keeps per socket (its token store). Dropped when the
    /// socket is destroyed, possibly in softirq context: its `Drop` must
    /// not sleep.
    type Tokens: Send + Sync + 'static;

    /// `tcp_recvmsg_dmabuf()`: reads up to `len` (> 0) bytes of `skb` from
    /// `offset` on (and of the skbs on its `frag_list`), unreadable frags
    /// as `SCM_DEVMEM_DMABUF` messages with tokens, the linear part copied
    /// and reported by `SCM_DEVMEM_LINEAR`. Returns the bytes received, or
    /// an error if none were.
    fn recvmsg_dmabuf(
        sk: &LockedSock<Self::Tokens>,
        skb: &Skb,
        offset: u32,
        msg: &mut Msg<'_>,
        len: u32,
    ) -> Result<u32>;

    /// `SO_DEVMEM_DONTNEED` with `optval` (called without the socket
    /// lock): returns the number of frags given back.
    fn dontneed(sk: &Sock<Self::Tokens>, optval: &OptVal<'_>) -> Result<u32>;
}

/// The functions behind [`crate::net_devmem_sock!`]; not to be called
/// otherwise.
#[doc(hidden)]
pub mod ffi {
    use super::*;

    /// # Safety
    ///
    /// Called by `tcp_recvmsg_locked()` with the socket locked, for an skb
    /// of its receive queue, a receiving `msg` and `remaining_len > 0`; the
    /// socket's store, if any, was made by this `T`.
    pub unsafe fn recvmsg<T: SockCore>(
        sk: *mut bindings::sock,
        skb: *const bindings::sk_buff,
        offset: u32,
        msg: *mut bindings::msghdr,
        remaining_len: i32,
    ) -> i32 {
        let Ok(len) = u32::try_from(remaining_len) else {
            return EINVAL.to_errno();
        };
        // CAST: both `repr(transparent)` over the C structs.
        // SAFETY: Guaranteed by the caller: the socket is locked and alive,
        // the skb is not changed while the socket is locked.
        let (sk, skb, mut msg) = unsafe {
            (
                &*sk.cast::<LockedSock<T::Tokens>>(),
                &*skb.cast::<Skb>(),
                Msg::from_raw(msg),
            )
        };
        match T::recvmsg_dmabuf(sk, skb, offset, &mut msg, len) {
            Ok(n) => i32::try_from(n).unwrap_or(i32::MAX),
            Err(e) => e.to_errno(),
        }
    }

    /// # Safety
    ///
    /// Called by `sk_setsockopt()` for a live socket, with the value it was
    /// given; the socket's store, if any, was made by this `T`.
    pub unsafe fn dontneed<T: SockCore>(
        sk: *mut bindings::sock,
        optval: bindings::sockptr_t,
        optlen: u32,
    ) -> i32 {
        // SAFETY: Guaranteed by the caller (the file reference keeps the
        // socket from being destroyed during the call).
        let (sk, optval) = unsafe {
            (
                &*sk.cast::<Sock<T::Tokens>>(),
                OptVal::from_raw(optval, optlen),
            )
        };
        match T::dontneed(sk, &optval) {
            Ok(n) => i32::try_from(n).unwrap_or(i32::MAX),
            Err(e) => e.to_errno(),
        }
    }

    /// # Safety
    ///
    /// Called by `tcp_v4_destroy_sock()` once, when nothing else uses the
    /// socket any more; the socket's store, if any, was made by this `T`.
    pub unsafe fn destroy<T: SockCore>(sk: *mut bindings::sock) {
        // SAFETY: The socket is valid (the caller's guarantee).
        let p = unsafe { bindings::net_ext_sk_devmem_tokens(sk) };
        if p.is_null() {
            return;
        }
        // SAFETY: As above; nobody reads the pointer any more.
        unsafe { bindings::net_ext_sk_set_devmem_tokens(sk, core::ptr::null_mut()) };
        // SAFETY: Made foreign by `LockedSock::tokens_or_init` for this `T`,
        // and no borrow of it is left.
        drop(unsafe {
            <Pin<KBox<T::Tokens>> as ForeignOwnable>::from_foreign(p.cast_const().cast())
        });
    }
}

/// Defines the C entry points of the socket side of the devmem core `$t`
/// (a type implementing [`SockCore`](crate::net::sock::SockCore)):
/// `devmem_rs_recvmsg_dmabuf`, `devmem_rs_dontneed` and
/// `devmem_rs_sock_destroy`, declared in `include/net/sock.h` by
/// patches/0005.
///
/// Use it once, in the built-in crate of the core: the symbols are unique,
/// so the socket's store always has `$t`'s type.
#[macro_export]
macro_rules! net_devmem_sock {
    ($t:ty) => {
        /// Entry point for `tcp_recvmsg_locked()`.
        ///
        /// # Safety
        ///
        /// See [`kernel::net::sock::ffi::recvmsg`].
        #[no_mangle]
        pub unsafe extern "C" fn devmem_rs_recvmsg_dmabuf(
            sk: *mut $crate::bindings::sock,
            skb: *const $crate::bindings::sk_buff,
            offset: core::ffi::c_uint,
            msg: *mut $crate::bindings::msghdr,
            remaining_len: core::ffi::c_int,
        ) -> core::ffi::c_int {
            // SAFETY: The C caller keeps the contract.
            unsafe { $crate::net::sock::ffi::recvmsg::<$t>(sk, skb, offset, msg, remaining_len) }
        }

        /// Entry point for `sk_setsockopt()`.
        ///
        /// # Safety
        ///
        /// See [`kernel::net::sock::ffi::dontneed`].
        #[no_mangle]
        pub unsafe extern "C" fn devmem_rs_dontneed(
            sk: *mut $crate::bindings::sock,
            optval: $crate::bindings::sockptr_t,
            optlen: core::ffi::c_uint,
        ) -> core::ffi::c_int {
            // SAFETY: The C caller keeps the contract.
            unsafe { $crate::net::sock::ffi::dontneed::<$t>(sk, optval, optlen) }
        }

        /// Entry point for `tcp_v4_destroy_sock()`.
        ///
        /// # Safety
        ///
        /// See [`kernel::net::sock::ffi::destroy`].
        #[no_mangle]
        pub unsafe extern "C" fn devmem_rs_sock_destroy(sk: *mut $crate::bindings::sock) {
            // SAFETY: The C caller keeps the contract.
            unsafe { $crate::net::sock::ffi::destroy::<$t>(sk) }
        }
    };
}
