//! A gzip stream (RFC 1952) inflated without computing its CRC-32, for reading the metadata
//! of a `.tar.gz` sdist whose bytes are checked another way: every sdist read of
//! [`crate::dependencies`] hashes the whole file and uses what it read only when the
//! sha256 matches the lock.
//!
//! flate2's `MultiGzDecoder` computes the CRC-32 of every inflated byte. Some sdists inflate
//! to hundreds of MB before their `PKG-INFO` (py_pure_client 1.93.0: 15 MB to 400 MB), and
//! there the CRC took about half of the walk. [`Members`] reads each member's header itself
//! and inflates the raw deflate stream; the trailer's size field is still checked, and a
//! stream cut short is still an error. As Python's `gzip` (which
//! `tarfile` uses) does, members follow one another, and zero bytes between or after them are
//! padding.

use std::io::{self, BufRead, Read};

use flate2::bufread::DeflateDecoder;

/// Header flags (RFC 1952, 2.3.1).
const FHCRC: u8 = 1 << 1;
const FEXTRA: u8 = 1 << 2;
const FNAME: u8 = 1 << 3;
const FCOMMENT: u8 = 1 << 4;
const RESERVED: u8 = 0b1110_0000;

/// The inflated bytes of every member of the gzip stream `R` holds, one after another.
pub(crate) struct Members<R: BufRead> {
    state: State<R>,
}

enum State<R: BufRead> {
    /// Before a member's header (the first one, or after a trailer).
    Between { reader: R, first: bool },
    /// Inside a member's deflate stream.
    Inflating(DeflateDecoder<R>),
    /// After the last member, or after an error.
    Done,
}

impl<R: BufRead> Members<R> {
    /// The members of the gzip stream `reader` holds.
    pub(crate) fn new(reader: R) -> Self {
        Self {
            state: State::Between {
                reader,
                first: true,
            },
        }
    }

    /// Ends the member `decoder` has inflated: reads its trailer and checks its size field.
    fn end_member(decoder: DeflateDecoder<R>) -> io::Result<State<R>> {
        let inflated = decoder.total_out();
        let mut reader = decoder.into_inner();
        let mut trailer = [0; 8];
        reader
            .read_exact(&mut trailer)
            .map_err(|e| match e.kind() {
                io::ErrorKind::UnexpectedEof => invalid("the gzip stream ends inside a member"),
                _ => e,
            })?;
        let size = u32::from_le_bytes([trailer[4], trailer[5], trailer[6], trailer[7]]);
        // ISIZE is the size modulo 2^32.
        if u64::from(size) != inflated & u64::from(u32::MAX) {
            return Err(invalid("a gzip member's size does not match its trailer"));
        }
        Ok(State::Between {
            reader,
            first: false,
        })
    }
}

impl<R: BufRead> Read for Members<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        // Each state is taken, and the next put back; an error leaves `Done`.
        loop {
            self.state = match std::mem::replace(&mut self.state, State::Done) {
                State::Done => return Ok(0),
                State::Between { mut reader, first } => {
                    if !first && at_padding_end(&mut reader)? {
                        return Ok(0);
                    }
                    read_header(&mut reader)?;
                    State::Inflating(DeflateDecoder::new(reader))
                }
                State::Inflating(mut decoder) => {
                    let n = decoder.read(buf)?;
                    if n > 0 {
                        self.state = State::Inflating(decoder);
                        return Ok(n);
                    }
                    Self::end_member(decoder)?
                }
            };
        }
    }
}

/// Skips zero bytes; whether the stream ends after them.
fn at_padding_end(reader: &mut impl BufRead) -> io::Result<bool> {
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok(true);
        }
        let zeros = buf.iter().take_while(|&&b| b == 0).count();
        let more = zeros < buf.len();
        reader.consume(zeros);
        if more {
            return Ok(false);
        }
    }
}

/// Reads one member header, leaving `reader` at its deflate stream.
fn read_header(reader: &mut impl BufRead) -> io::Result<()> {
    let mut fixed = [0; 10];
    reader.read_exact(&mut fixed).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => invalid("not a gzip stream: its header is cut short"),
        _ => e,
    })?;
    let [id1, id2, method, flags, ..] = fixed;
    if (id1, id2) != (0x1f, 0x8b) {
        return Err(invalid("not a gzip stream"));
    }
    if method != 8 {
        return Err(invalid("a gzip member is not deflate-compressed"));
    }
    if flags & RESERVED != 0 {
        return Err(invalid("a gzip member header sets reserved flags"));
    }
    if flags & FEXTRA != 0 {
        let mut len = [0; 2];
        reader.read_exact(&mut len)?;
        let len = u64::from(u16::from_le_bytes(len));
        if io::copy(&mut reader.take(len), &mut io::sink())? != len {
            return Err(invalid("a gzip member header is cut short"));
        }
    }
    for flag in [FNAME, FCOMMENT] {
        if flags & flag != 0 {
            skip_zero_terminated(reader)?;
        }
    }
    if flags & FHCRC != 0 {
        reader.read_exact(&mut [0; 2])?;
    }
    Ok(())
}

/// Skips a zero-terminated header field (a file name or comment).
fn skip_zero_terminated(reader: &mut impl BufRead) -> io::Result<()> {
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Err(invalid("a gzip member header is cut short"));
        }
        if let Some(end) = buf.iter().position(|&b| b == 0) {
            reader.consume(end + 1);
            return Ok(());
        }
        let len = buf.len();
        reader.consume(len);
    }
}

fn invalid(message: &'static str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

#[cfg(test)]
mod tests;
