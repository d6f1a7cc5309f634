//! The command line, shared by this crate's binary and the copy the
//! release-phase buildpack ships.

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "release-phase",
    version,
    about = "Run the release plan (migrations and release commands) safely"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
    /// The app directory (project.toml, manage.py); default: the current directory.
    #[arg(long, global = true, default_value = ".")]
    app_dir: PathBuf,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the release plan; exit non-zero if any step fails (the platform then refuses the release).
    Run,
    /// Validate the configuration and print the plan without running it.
    Check,
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.command {
        Cmd::Run => crate::run(&cli.app_dir),
        Cmd::Check => crate::check(&cli.app_dir).unwrap_or_else(|e| {
            let redactor = crate::redact::Redactor::from_process_env();
            eprintln!(
                " !     {}",
                redactor.redact(&e.to_string()).replace('\n', "\n !     ")
            );
            crate::error::exit::ERROR
        }),
    };
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}
