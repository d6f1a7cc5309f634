//! `slug`: apply .slugignore, measure and pack slugs.

// One package, several targets: the package's dependencies serve all of them.
#![allow(unused_crate_dependencies)]

use clap::{Parser, Subcommand};
use serde_json::json;
use slug::limits::{Limits, Verdict};
use slug::report::human;
use slug::{GzOptions, SizeTracker, SlugIgnore, Source};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "slug",
    version,
    about = "Slug hygiene: .slugignore, size limits with a report, deterministic slugs"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
    /// Machine-readable output.
    #[arg(long, global = true)]
    json: bool,
    /// gzip level for measure and pack (1-9).
    #[arg(long, global = true, value_parser = clap::value_parser!(u32).range(1..=9), default_value_t = GzOptions::default().level)]
    level: u32,
}

#[derive(Subcommand)]
enum Cmd {
    /// Remove what DIR/.slugignore matches (Heroku's semantics; never outside DIR).
    Ignore { dir: PathBuf },
    /// The exact compressed size of DIR's slug, judged against the limits, with a report when over.
    Measure {
        dir: PathBuf,
        /// Always print the report of what to cut.
        #[arg(long)]
        report: bool,
    },
    /// Write DIR's slug (a gzip'd tar with the app under ./app).
    Pack {
        dir: PathBuf,
        #[arg(short, long)]
        output: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            // Our errors say what and why; their sources are in their text.
            eprintln!(" !     {}", e.to_string().replace('\n', "\n !     "));
            ExitCode::from(2)
        }
    }
}

fn run(cli: &Cli) -> anyhow::Result<u8> {
    match &cli.command {
        Cmd::Ignore { dir } => {
            let bytes = app_files::read(dir, ".slugignore")?.unwrap_or_default();
            let rules = SlugIgnore::parse(&bytes)?;
            if let Some(w) = rules.warning() {
                eprintln!(" !     Warning: {w}");
            }
            let removal = slug::apply(dir, &rules)?;
            if cli.json {
                let paths: Vec<_> = removal
                    .paths
                    .iter()
                    .map(|p| p.to_string_lossy().into_owned())
                    .collect();
                println!(
                    "{}",
                    json!({"removed": paths, "files": removal.files, "links": removal.links, "bytes": removal.bytes})
                );
            } else {
                println!(
                    "-----> Deleting {} files matching .slugignore patterns ({} freed).",
                    removal.files + removal.links,
                    human(removal.bytes)
                );
            }
            Ok(0)
        }
        Cmd::Measure { dir, report } => {
            let project = slipway_data::project::Project::read(dir)?;
            let limits = Limits::load(project.as_ref(), &|k| std::env::var(k).ok())?;
            let opts = GzOptions {
                level: cli.level,
                ..GzOptions::default()
            };
            let mut tracker = SizeTracker::default();
            let stats = slug::measure_tracked(&[Source::app(dir)], opts, &mut tracker)?;
            let verdict = limits.judge(stats.gz.compressed);
            let r = tracker.report(&stats, opts.block_size, 10);
            if cli.json {
                let offenders = |v: &[slug::report::Offender]| {
                    v.iter()
                        .map(|o| json!({"path": o.path, "raw": o.raw, "compressed": o.compressed}))
                        .collect::<Vec<_>>()
                };
                println!(
                    "{}",
                    json!({
                        "compressed": stats.gz.compressed, "uncompressed_tar": stats.gz.uncompressed, "file_bytes": stats.file_bytes,
                        "files": stats.files, "dirs": stats.dirs, "links": stats.links,
                        "soft_limit": limits.soft, "hard_limit": limits.hard,
                        "verdict": match verdict { Verdict::Ok => "ok", Verdict::OverSoft => "over-soft-limit", Verdict::OverHard => "over-hard-limit" },
                        "largest_dirs": offenders(&r.dirs), "largest_files": offenders(&r.files),
                        "suggestions": r.suggestions.iter().map(|s| json!({"slugignore": s.line, "compressed": s.compressed, "why": s.why})).collect::<Vec<_>>(),
                    })
                );
            } else {
                println!(
                    "-----> Compressing...\n       Done: {}",
                    human(stats.gz.compressed)
                );
                match verdict {
                    Verdict::Ok => {}
                    Verdict::OverSoft => eprintln!(
                        " !     Warning: Your slug size ({} MB) exceeds our soft limit ({} MB) which may affect boot time.",
                        stats.gz.compressed / slug::limits::MIB,
                        limits.soft / slug::limits::MIB
                    ),
                    Verdict::OverHard => eprintln!(
                        " !     Compiled slug size: {} is too large (max is {}).\n !     See: http://devcenter.heroku.com/articles/slug-size",
                        human(stats.gz.compressed),
                        human(limits.hard)
                    ),
                }
                if verdict != Verdict::Ok || *report {
                    print!("{}", indent(&r.render()));
                }
            }
            Ok(u8::from(verdict == Verdict::OverHard))
        }
        Cmd::Pack { dir, output } => {
            remove_partial_on_termination(output);
            let stats = slug::pack(
                &[Source::app(dir)],
                output,
                GzOptions {
                    level: cli.level,
                    ..GzOptions::default()
                },
            )?;
            if cli.json {
                println!(
                    "{}",
                    json!({"path": output, "compressed": stats.gz.compressed, "files": stats.files})
                );
            } else {
                println!(
                    "-----> Wrote {} ({}, {} files)",
                    output.display(),
                    human(stats.gz.compressed),
                    stats.files
                );
            }
            Ok(0)
        }
    }
}

fn indent(text: &str) -> String {
    use std::fmt::Write as _;
    text.lines().fold(String::new(), |mut out, l| {
        let _ = writeln!(out, "       {l}");
        out
    })
}

/// SIGTERM or SIGINT while packing: remove the partial slug, then exit as
/// killed by that signal (128 + N), so nothing half-written is left behind.
fn remove_partial_on_termination(output: &std::path::Path) {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let partial = slug::pack::partial_path_for(output);
    if let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGTERM, SIGINT]) {
        std::thread::spawn(move || {
            if let Some(sig) = signals.forever().next() {
                let _ = std::fs::remove_file(&partial);
                std::process::exit(128 + sig);
            }
        });
    }
}
