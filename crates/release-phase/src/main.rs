//! `release-phase`: run on every release (Procfile `release:`, the CNB
//! `release` process, heroku.yml `release:`).

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "release-phase", version, about = "Run the release plan (migrations and release commands) safely")]
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.command {
        Cmd::Run => release_phase::run(&cli.app_dir),
        Cmd::Check => release_phase::check(&cli.app_dir).unwrap_or_else(|e| {
            let redactor = release_phase::redact::Redactor::from_process_env();
            eprintln!(" !     {}", redactor.redact(&e.to_string()).replace('\n', "\n !     "));
            release_phase::error::exit::ERROR
        }),
    };
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}
