// SPDX-License-Identifier: GPL-2.0

//! Layout guard: fails the build when bindgen lays out a C struct that our
//! Rust code touches differently from the C compiler.
//!
//! `layout_asserts.rs` is generated from the C compiler's own `sizeof`,
//! `__alignof__` and `offsetof` values (see `layout-gen.py` and the
//! Makefile); each line expands to a const assertion on the bindgen type.

use kernel::bindings;

macro_rules! size {
    ($s:ident, $v:literal) => {
        const _: () = assert!(
            core::mem::size_of::<bindings::$s>() == $v,
            concat!(
                "bindgen: sizeof(struct ",
                stringify!($s),
                ") differs from C (",
                $v,
                ")"
            )
        );
    };
}

macro_rules! align {
    ($s:ident, $v:literal) => {
        const _: () = assert!(
            core::mem::align_of::<bindings::$s>() == $v,
            concat!(
                "bindgen: alignof(struct ",
                stringify!($s),
                ") differs from C (",
                $v,
                ")"
            )
        );
    };
}

macro_rules! offset {
    ($s:ident, $f:ident, $v:literal) => {
        const _: () = assert!(
            core::mem::offset_of!(bindings::$s, $f) == $v,
            concat!(
                "bindgen: offsetof(struct ",
                stringify!($s),
                ", ",
                stringify!($f),
                ") differs from C (",
                $v,
                ")"
            )
        );
    };
}

include!(env!("DEVMEM_RS_LAYOUT_ASSERTS"));
