//! The `latchkey` binary: parses the command line and runs it (see `cli`).

use std::process::ExitCode;

use clap::Parser;

/// A request allocates many small, short-lived buffers across threads (rows, JSON,
/// headers); glibc's malloc spent a fifth of the hot path's CPU on them.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    if let Err(e) = init_logging() {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    let cli = latchkey::cli::Cli::parse();
    match latchkey::cli::run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `LATCHKEY_LOG_FORMAT=text` (the default: for people, coloured on a terminal) or `json`
/// (one object a line, for log shippers). `RUST_LOG` picks the levels.
fn init_logging() -> Result<(), String> {
    use std::io::IsTerminal;

    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,sqlx=warn".into());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match std::env::var("LATCHKEY_LOG_FORMAT").as_deref() {
        Ok("text") | Ok("") | Err(_) => builder.with_ansi(std::io::stderr().is_terminal()).init(),
        Ok("json") => builder.json().flatten_event(true).with_current_span(false).with_span_list(false).init(),
        Ok(other) => return Err(format!("LATCHKEY_LOG_FORMAT must be text or json, not {other:?}")),
    }
    Ok(())
}
