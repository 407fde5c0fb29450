//! `METADATA` / `PKG-INFO` (`metadata::CoreMetadata::parse`) and `requires.txt`.
#![no_main]

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::core_metadata(data));
