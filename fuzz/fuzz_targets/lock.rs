//! `pylock.toml` (`lock::pylock::from_toml`, and `to_toml` of what reads).
#![no_main]

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::lock(data));
