//! The `pinguard` binary: everything lives in the library.

fn main() -> std::process::ExitCode {
    limit_malloc_arenas();
    pinguard::commands::main().into()
}

/// glibc gives threads that allocate at the same time heaps (arenas) of their own, up to
/// eight per core. With dozens of threads reading pages, the memory each frees stays in its
/// arena, and a cold lock of 575 pins held 123 MiB resident for 57 MiB of live heap. Two
/// arenas keep it at 52–59 MiB (`--no-dependencies`) without slowing it: the threads mostly
/// wait on the network, and one arena was measurably slower (0.69–0.73 s against 0.56–0.62 s).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn limit_malloc_arenas() {
    // SAFETY: mallopt only changes the allocator's settings, and is called before any other
    // thread exists. Its result is ignored: the default settings work too, with more memory.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn limit_malloc_arenas() {}
