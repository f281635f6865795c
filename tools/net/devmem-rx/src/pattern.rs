// SPDX-License-Identifier: GPL-2.0

//! The stream pattern: byte `i` of a flow is `i % PERIOD` (a prime, so
//! shifted or dropped data never lines up). Both sides index one table
//! instead of computing bytes, so checking costs one compare per byte.

/// Pattern period (the same as the selftests' `tcp_pattern.py`).
pub const PERIOD: usize = 251;

/// A table of the pattern, long enough for any chunk up to `max_len`.
pub struct Pattern {
    table: Vec<u8>,
    max_len: usize,
}

impl Pattern {
    /// A pattern for chunks of at most `max_len` bytes.
    pub fn new(max_len: usize) -> Self {
        let table = (0..max_len + PERIOD).map(|i| (i % PERIOD) as u8).collect();
        Self { table, max_len }
    }

    /// The pattern's `len` bytes from stream offset `pos` (`len <= max_len`).
    pub fn at(&self, pos: u64, len: usize) -> &[u8] {
        assert!(len <= self.max_len);
        let s = (pos % PERIOD as u64) as usize;
        &self.table[s..s + len]
    }

    /// Whether `data` is the pattern at stream offset `pos`; longer data
    /// is checked in pieces.
    pub fn matches(&self, pos: u64, data: &[u8]) -> bool {
        data.chunks(self.max_len)
            .enumerate()
            .all(|(i, c)| c == self.at(pos + (i * self.max_len) as u64, c.len()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_definition() {
        let p = Pattern::new(1000);
        let pos = 123_456_789u64;
        let want: Vec<u8> = (0..3000u64).map(|i| ((pos + i) % 251) as u8).collect();
        assert_eq!(p.at(pos, 1000), &want[..1000]);
        assert!(p.matches(pos, &want));
        assert!(!p.matches(pos + 1, &want));
        let mut bad = want.clone();
        bad[2999] ^= 1;
        assert!(!p.matches(pos, &bad));
    }
}
