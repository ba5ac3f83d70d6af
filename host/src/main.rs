//! The `imini` binary.

fn main() -> std::process::ExitCode {
    match imini::cli::run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("imini: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
