// SPDX-License-Identifier: GPL-2.0

//! A bounded FIFO, the model of a descriptor ring inside the device.

use kernel::prelude::*;

/// A bounded FIFO of `T` with a fixed capacity (a hardware ring).
pub(crate) struct Ring<T: Copy + Default> {
    slots: KVec<T>,
    head: usize,
    len: usize,
}

impl<T: Copy + Default> Ring<T> {
    /// An empty ring of `cap` slots (allocated in any context).
    pub(crate) fn new(cap: usize, flags: kernel::alloc::Flags) -> Result<Self> {
        let mut slots = KVec::with_capacity(cap, flags)?;
        for _ in 0..cap {
            slots.push(T::default(), flags)?;
        }
        Ok(Self {
            slots,
            head: 0,
            len: 0,
        })
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Appends `v`; `EBUSY` when full.
    pub(crate) fn push(&mut self, v: T) -> Result {
        let cap = self.slots.len();
        if self.len == cap {
            return Err(EBUSY);
        }
        self.slots[(self.head + self.len) % cap] = v;
        self.len += 1;
        Ok(())
    }

    /// Takes the oldest entry.
    pub(crate) fn pop(&mut self) -> Option<T> {
        if self.len == 0 {
            return None;
        }
        let v = self.slots[self.head];
        self.head = (self.head + 1) % self.slots.len();
        self.len -= 1;
        Some(v)
    }

    /// The `i`-th oldest entry.
    pub(crate) fn peek(&self, i: usize) -> Option<T> {
        (i < self.len).then(|| self.slots[(self.head + i) % self.slots.len()])
    }

    /// Forgets every entry.
    pub(crate) fn clear(&mut self) {
        self.head = 0;
        self.len = 0;
    }
}
