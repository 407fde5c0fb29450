//! Requirements and constraints files (`requirements::parse`, `parse_specs`).
#![no_main]

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::requirements(data));
