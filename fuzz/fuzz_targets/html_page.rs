//! PEP 503 HTML project pages (`index::simple::Page::parse`).
#![no_main]

#[path = "../harness.rs"]
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| harness::page(
    data,
    pinguard::index::simple::PageFormat::Html
));
