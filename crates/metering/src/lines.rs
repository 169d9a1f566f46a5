//! Newline-delimited lines of a [`BufRead`], each borrowed from the reader's buffer; only a
//! line that spans two fills of the buffer is copied.

use std::io::{self, BufRead};

pub struct Lines<R> {
    reader: R,
    /// The length of the line returned last, still in the reader's buffer.
    pending: usize,
    /// The line returned last when it spanned two fills.
    joined: Vec<u8>,
}

impl<R: BufRead> Lines<R> {
    pub fn new(reader: R) -> Lines<R> {
        Lines {
            reader,
            pending: 0,
            joined: Vec::new(),
        }
    }

    /// The next line with its `\n` (the last one may have none); `None` at the end.
    pub fn next_line(&mut self) -> io::Result<Option<&[u8]>> {
        self.reader.consume(std::mem::take(&mut self.pending));
        self.joined.clear();
        loop {
            let buf = match self.reader.fill_buf() {
                Ok(buf) => buf,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if buf.is_empty() {
                return Ok((!self.joined.is_empty()).then_some(self.joined.as_slice()));
            }
            match memchr::memchr(b'\n', buf) {
                Some(i) if self.joined.is_empty() => {
                    self.pending = i + 1;
                    break;
                }
                Some(i) => {
                    self.joined.extend_from_slice(&buf[..=i]);
                    self.reader.consume(i + 1);
                    return Ok(Some(self.joined.as_slice()));
                }
                None => {
                    let n = buf.len();
                    self.joined.extend_from_slice(buf);
                    self.reader.consume(n);
                }
            }
        }
        // The buffer is not empty: this returns it again without reading.
        let buf = self.reader.fill_buf()?;
        Ok(Some(&buf[..self.pending]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::io::BufReader;

    fn lines(text: &[u8], capacity: usize) -> Vec<Vec<u8>> {
        let mut lines = Lines::new(BufReader::with_capacity(capacity, text));
        let mut out = Vec::new();
        while let Some(line) = lines.next_line().unwrap() {
            out.push(line.to_vec());
        }
        out
    }

    proptest! {
        /// The same lines as `read_until(b'\n')`, whatever the buffer's size.
        #[test]
        fn reads_what_read_until_reads(text in "[ab\\n]{0,64}", capacity in 1usize..16) {
            let mut want = Vec::new();
            let mut reader = text.as_bytes();
            loop {
                let mut line = Vec::new();
                if reader.read_until(b'\n', &mut line).unwrap() == 0 {
                    break;
                }
                want.push(line);
            }
            prop_assert_eq!(lines(text.as_bytes(), capacity), want);
        }
    }
}
