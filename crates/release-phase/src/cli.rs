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
    /// The autoscale worker (the `autoscale` process type): heartbeat and queue-depth
    /// scaling through the Platform API, configured by django-heroku-autoscale's
    /// AUTOSCALE_* variables. Runs until SIGTERM.
    Autoscale {
        /// Decide and log, never PATCH the formation.
        #[arg(long)]
        dry_run: bool,
    },
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.command {
        Cmd::Run => crate::run(&cli.app_dir),
        Cmd::Autoscale { dry_run } => autoscale(&cli.app_dir, dry_run),
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

fn autoscale(app_dir: &std::path::Path, dry_run: bool) -> i32 {
    let stop = match crate::signals::Stop::install() {
        Ok(s) => s,
        Err(e) => {
            eprintln!(" !     cannot install signal handlers: {e}");
            return crate::error::exit::ERROR;
        }
    };
    let mut config =
        match autoscale_worker::Config::load(app_dir, &|k| std::env::var(k).ok(), dry_run) {
            Ok(c) => c,
            Err(e) => {
                let redactor = crate::redact::Redactor::from_process_env();
                eprintln!(
                    " !     autoscale: {}",
                    redactor.redact(&e).replace('\n', "\n !     ")
                );
                return autoscale_worker::EXIT_CONFIG;
            }
        };
    autoscale_worker::run(&mut config, &|| stop.stopped(), &mut std::io::stdout())
}
