use std::io::{Read, Write};

use flate2::Compression;
use flate2::write::{DeflateEncoder, GzEncoder};
use proptest::prelude::*;

use super::Members;

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

fn inflate(stream: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    Members::new(stream).read_to_end(&mut out)?;
    Ok(out)
}

fn error(stream: &[u8]) -> String {
    inflate(stream).unwrap_err().to_string()
}

/// A member with every optional header field, a CRC-32 of zero (never checked) and `size`
/// as its size field.
fn member_with_all_fields(data: &[u8], size: u32) -> Vec<u8> {
    let mut member = vec![0x1f, 0x8b, 8, 0b1_1110, 0, 0, 0, 0, 0, 3];
    member.extend([3, 0, b'x', b'y', b'z']);
    member.extend(b"name.tar\0comment\0");
    member.extend([0xab, 0xcd]);
    let mut encoder = DeflateEncoder::new(member, Compression::fast());
    encoder.write_all(data).unwrap();
    let mut member = encoder.finish().unwrap();
    member.extend([0, 0, 0, 0]);
    member.extend(size.to_le_bytes());
    member
}

#[test]
fn a_member_with_every_header_field_is_inflated_and_its_crc_is_not_checked() {
    let data = b"PKG-INFO\n".repeat(100);
    let member = member_with_all_fields(&data, data.len() as u32);
    assert_eq!(inflate(&member).unwrap(), data);
}

#[test]
fn members_follow_one_another_and_zero_padding_is_skipped() {
    let mut stream = gzip(b"first ");
    stream.extend([0; 7]);
    stream.extend(gzip(b"second"));
    stream.extend([0; 512]);
    assert_eq!(inflate(&stream).unwrap(), b"first second");
    assert_eq!(inflate(&gzip(b"")).unwrap(), b"");
}

#[test]
fn a_cut_short_wrong_sized_or_foreign_stream_is_an_error() {
    let whole = gzip(&b"0123456789".repeat(1000));
    assert_eq!(
        error(&whole[..whole.len() - 4]),
        "the gzip stream ends inside a member"
    );
    assert_eq!(
        error(&whole[..whole.len() / 2]),
        "incomplete deflate stream"
    );
    assert_eq!(
        error(&member_with_all_fields(b"abc", 4)),
        "a gzip member's size does not match its trailer"
    );
    assert_eq!(error(b"PK\x03\x04 a zip"), "not a gzip stream");
    assert_eq!(error(b""), "not a gzip stream: its header is cut short");
    let mut trailing = gzip(b"data");
    trailing.extend(b"junk after the member");
    assert_eq!(error(&trailing), "not a gzip stream");
    let mut reserved = gzip(b"data");
    reserved[3] = 0x20;
    assert_eq!(error(&reserved), "a gzip member header sets reserved flags");
    let mut stored = gzip(b"data");
    stored[2] = 0;
    assert_eq!(error(&stored), "a gzip member is not deflate-compressed");
}

proptest! {
    /// What flate2's CRC-checking reader gives, for any members and compression levels.
    #[test]
    fn members_inflate_as_flate2_reads_them(
        parts in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..3000), 1..4),
        level in 0u32..10,
    ) {
        let mut stream = Vec::new();
        for part in &parts {
            let mut encoder = GzEncoder::new(Vec::new(), Compression::new(level));
            encoder.write_all(part).unwrap();
            stream.extend(encoder.finish().unwrap());
        }
        let mut expected = Vec::new();
        flate2::read::MultiGzDecoder::new(&stream[..]).read_to_end(&mut expected).unwrap();
        prop_assert_eq!(inflate(&stream).unwrap(), expected);
    }
}
