//! The seeded generator, read through integer helpers only.

use crate::digits::{push_hex, push_u64};
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The denominator of rates in parts per million.
pub const PPM: u64 = 1_000_000;

pub struct Dice(ChaCha8Rng);

impl Dice {
    pub fn new(seed: u64, stream: u64) -> Dice {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(stream);
        Dice(rng)
    }

    /// Uniform in `0..n` (0 when `n` is 0); the bias is below 2^-64 · n.
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.0.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..=hi`.
    pub fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    /// In `lo..=hi`, small values much more likely than large ones: a uniform draw below a
    /// uniform draw below a uniform draw (density ~ ln²(span / (value − lo)), mean span / 8).
    pub fn skewed(&mut self, lo: u64, hi: u64) -> u64 {
        let x = self.below(hi - lo + 1);
        let x = self.below(x + 1);
        lo + self.below(x + 1)
    }

    pub fn ppm(&mut self, rate: u64) -> bool {
        self.below(PPM) < rate
    }

    /// A random (version 4) UUID in its 36-character text form.
    pub fn uuid(&mut self) -> [u8; 36] {
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&self.0.next_u64().to_le_bytes());
        bytes[8..].copy_from_slice(&self.0.next_u64().to_le_bytes());
        bytes[6] = (bytes[6] & 0x0f) | 0x40;
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut text = [b'-'; 36];
        let mut at = 0;
        for (i, b) in bytes.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                at += 1;
            }
            text[at] = HEX[usize::from(b >> 4)];
            text[at + 1] = HEX[usize::from(b & 0x0f)];
            at += 2;
        }
        text
    }

    /// A source address in the documentation ranges (RFC 5737, RFC 3849).
    pub fn ip(&mut self, into: &mut Vec<u8>) {
        let r = self.below(100);
        if r < 5 {
            into.extend_from_slice(b"2001:db8:");
            push_hex(into, self.below(0x1_0000));
            into.extend_from_slice(b"::");
            push_hex(into, 1 + self.below(0xffff));
        } else {
            let prefix: &[u8] = match r % 3 {
                0 => b"192.0.2.",
                1 => b"198.51.100.",
                _ => b"203.0.113.",
            };
            into.extend_from_slice(prefix);
            push_u64(into, 1 + self.below(254));
        }
    }
}
