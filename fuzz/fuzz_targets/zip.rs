//! Zip archives: the central-directory locator of range requests, and the wheel / zip-sdist
//! metadata readers.
#![no_main]

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::zip(data));
