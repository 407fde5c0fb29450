//! The `pinguard` binary: everything lives in the library.

fn main() {}
