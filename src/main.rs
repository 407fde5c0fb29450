//! The `pinguard` binary: everything lives in the library.

fn main() -> std::process::ExitCode {
    pinguard::commands::main().into()
}
