//! Numbers as ASCII digits, appended to a line without allocating.

pub fn push_u64(into: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    into.extend_from_slice(&digits[at..]);
}

/// `n` with at least `width` digits, zero-padded.
pub fn push_padded(into: &mut Vec<u8>, n: u64, width: usize) {
    let digits = n.checked_ilog10().unwrap_or(0) as usize + 1;
    into.resize(into.len() + width.saturating_sub(digits), b'0');
    push_u64(into, n);
}

pub fn push_hex(into: &mut Vec<u8>, n: u64) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut digits = [0u8; 16];
    let mut at = digits.len();
    let mut n = n;
    loop {
        at -= 1;
        digits[at] = HEX[(n & 0xf) as usize];
        n >>= 4;
        if n == 0 {
            break;
        }
    }
    into.extend_from_slice(&digits[at..]);
}
