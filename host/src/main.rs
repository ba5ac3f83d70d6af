//! The `imini` binary.

/// mimalloc: glibc's allocator showed up in profiles under load (lock
/// contention between the runtime's threads and `malloc_consolidate`).
/// Built without transparent huge pages (`no_thp` in Cargo.toml), which
/// kept freed memory in the RSS.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    match imini::cli::run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("imini: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
