//! The `pinguard` binary: everything lives in the library.

fn main() -> std::process::ExitCode {
    tune_malloc();
    pinguard::commands::main().into()
}

/// Two settings of glibc's allocator:
///
/// - **Two arenas.** glibc gives threads that allocate at the same time heaps (arenas) of
///   their own, up to eight per core. With dozens of threads reading pages, the memory each
///   frees stays in its arena, and a cold lock of 575 pins held 123 MiB resident for 57 MiB of
///   live heap. Two arenas keep it at 52–59 MiB (`--no-dependencies`) without slowing it: the
///   threads mostly wait on the network, and one arena was measurably slower (0.69–0.73 s
///   against 0.56–0.62 s).
/// - **Heaps grown 16 MiB at a time.** A thread's arena grows 128 KiB at a time by default,
///   each step an `mprotect` that takes the process's memory map for writing, so that the
///   other core's page faults wait. Reading a constraints-wide lock (2.4 MB) on two threads
///   made 1,400–1,900 of them in traced runs, 130–1,100 with the padding. In alternating runs,
///   `verify` of that lock (its read, mostly) took 47.7 ms instead of 52.3 (medians of 8), and
///   the read in `install -r` 45.5 ms instead of 50 (10); a cold `lock --no-dependencies` used
///   0.47 s of CPU instead of 0.505 s, its peak resident set 50 MiB against 51. The padding is
///   address space: memory is resident only once used.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn tune_malloc() {
    // SAFETY: mallopt only changes the allocator's settings, and is called before any other
    // thread exists. Its results are ignored: the default settings work too, more slowly and
    // with more memory.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
        libc::mallopt(libc::M_TOP_PAD, 16 << 20);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn tune_malloc() {}
