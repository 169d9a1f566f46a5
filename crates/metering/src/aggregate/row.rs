//! One usable line as the aggregator keeps it, in memory and in spill files.

use super::PARTITIONS;
use std::io::{self, Write};

pub(super) const ROW_BYTES: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Row {
    /// A 128-bit hash of the request or event id.
    pub key: u128,
    pub time: i64,
    /// Where the line was read, in reading order: the earlier of two copies with the same
    /// request time wins, whichever thread read them.
    pub position: u64,
    /// Interned by the shard that read the line; 0: none.
    pub tenant: u32,
    /// The caller's `sub` (access log), or the values of the properties that `unique_count`
    /// meters count (events); interned, 0: none.
    pub sub: u32,
    /// The response length in bytes (access log), or the event's value in units of
    /// 10^-[`VALUE_SCALE`](crate::VALUE_SCALE).
    pub amount: u128,
    /// Bit `i`: the line passes meter `i`'s filter.
    pub meters: u64,
}

impl Row {
    /// All copies of a request id fall in the same partition.
    pub fn partition(&self) -> usize {
        (self.key >> 64) as usize % PARTITIONS
    }

    /// Copies of a request id side by side, the one that counts first.
    pub fn order(&self) -> (u128, i64, u64) {
        (self.key, self.time, self.position)
    }

    pub fn write(&self, out: &mut impl Write) -> io::Result<()> {
        let mut buf = [0u8; ROW_BYTES];
        buf[0..16].copy_from_slice(&self.key.to_le_bytes());
        buf[16..24].copy_from_slice(&self.time.to_le_bytes());
        buf[24..32].copy_from_slice(&self.position.to_le_bytes());
        buf[32..36].copy_from_slice(&self.tenant.to_le_bytes());
        buf[36..40].copy_from_slice(&self.sub.to_le_bytes());
        buf[40..56].copy_from_slice(&self.amount.to_le_bytes());
        buf[56..64].copy_from_slice(&self.meters.to_le_bytes());
        out.write_all(&buf)
    }

    pub fn read(buf: &[u8; ROW_BYTES]) -> Row {
        let le8 = |at: usize| -> [u8; 8] { buf[at..at + 8].try_into().expect("8 bytes") };
        let le4 = |at: usize| -> [u8; 4] { buf[at..at + 4].try_into().expect("4 bytes") };
        Row {
            key: u128::from_le_bytes(buf[0..16].try_into().expect("16 bytes")),
            time: i64::from_le_bytes(le8(16)),
            position: u64::from_le_bytes(le8(24)),
            tenant: u32::from_le_bytes(le4(32)),
            sub: u32::from_le_bytes(le4(36)),
            amount: u128::from_le_bytes(buf[40..56].try_into().expect("16 bytes")),
            meters: u64::from_le_bytes(le8(56)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_reads_back_as_written() {
        let row = Row {
            key: u128::MAX - 5,
            time: -7,
            position: 1 << 50,
            tenant: 3,
            sub: u32::MAX,
            amount: u128::MAX - 1,
            meters: 0b1011,
        };
        let mut buf = Vec::new();
        row.write(&mut buf).unwrap();
        assert_eq!(Row::read(&buf.try_into().unwrap()), row);
    }
}
