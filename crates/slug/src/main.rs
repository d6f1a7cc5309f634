//! `slug`: apply .slugignore, measure and pack slugs.

// One package, several targets: the package's dependencies serve all of them.
#![allow(unused_crate_dependencies)]

use clap::{CommandFactory as _, Parser, Subcommand};
use serde_json::json;
use slug::human;
use slug::{GzOptions, SizeTracker, SlugIgnore, Source};
use slug::{Limits, Verdict};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// What `slug` exits with (also at the end of `--help`).
const EXIT_CODES: &[(&str, &str)] = &[
    (
        "0",
        "done (measure: within the hard limit, maybe over the soft one)",
    ),
    (
        "1",
        "measure: the slug is over the hard limit (the report says what to cut)",
    ),
    (
        "2",
        "failed: unreadable tree, bad .slugignore or project.toml, or a wrong command line",
    ),
    (
        "128+N",
        "pack: stopped by signal N (the partial slug is removed)",
    ),
];

#[derive(Parser)]
#[command(
    name = "slug",
    version,
    about = "Slug hygiene: .slugignore, size limits with a report, deterministic slugs",
    after_help = buildkit::cli::exit_codes(EXIT_CODES)
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
    /// Machine-readable output: one JSON object on stdout (errors too, as
    /// `{"error": {...}}`).
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
    /// Print a shell completion script.
    Completions { shell: buildkit::cli::Shell },
    /// Write the man pages (slug.1 and one per subcommand) into DIR.
    ManPages { dir: PathBuf },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) if cli.json => {
            println!("{}", buildkit::cli::json_error(&e.to_string(), 2));
            ExitCode::from(2)
        }
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
                    "{}",
                    buildkit::style::step(&format!(
                        "Deleting {} files matching .slugignore patterns ({} freed).",
                        removal.files + removal.links,
                        human(removal.bytes)
                    ))
                );
            }
            Ok(0)
        }
        Cmd::Measure { dir, report } => {
            let project = slipway_data::Project::read(dir)?;
            let limits = Limits::load(project.as_ref(), &|k| std::env::var(k).ok())?;
            let opts = GzOptions {
                level: cli.level,
                ..GzOptions::default()
            };
            let mut tracker = SizeTracker::default();
            let mut progress = Progress::new("Measuring", &mut tracker, cli.json);
            let stats = slug::measure_tracked(&[Source::app(dir)], opts, &mut progress);
            progress.finish();
            let stats = stats?;
            let verdict = limits.judge(stats.gz.compressed);
            let r = tracker.report(&stats, opts.block_size, 10);
            if cli.json {
                let offenders = |v: &[slug::Offender]| {
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
                    "{}\n{}",
                    buildkit::style::step("Compressing..."),
                    buildkit::style::detail(&format!("Done: {}", human(stats.gz.compressed)))
                );
                match verdict {
                    Verdict::Ok => {}
                    Verdict::OverSoft => eprintln!(
                        " !     Warning: Your slug size ({} MB) exceeds our soft limit ({} MB) which may affect boot time.",
                        stats.gz.compressed / slug::MIB,
                        limits.soft / slug::MIB
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
        Cmd::Pack { dir, output } => pack(cli, dir, output),
        Cmd::Completions { shell } => {
            buildkit::cli::completions(Cli::command(), *shell, &mut std::io::stdout());
            Ok(0)
        }
        Cmd::ManPages { dir } => {
            for page in buildkit::cli::man_pages(Cli::command(), dir).map_err(|e| {
                anyhow::anyhow!("cannot write man pages into {}: {e}", dir.display())
            })? {
                println!("{}", page.display());
            }
            Ok(0)
        }
    }
}

/// Progress on a terminal for trees that take a while: after a second (or
/// `SLUG_PROGRESS_AFTER_MS`), one line on stderr rewritten in place a few
/// times a second, erased when done. Nothing at all when stderr is not a
/// terminal (a pipe, a file, a build log) or with `--json`.
struct Progress<'a> {
    inner: &'a mut dyn slug::Tracker,
    verb: &'static str,
    on: bool,
    after: Duration,
    started: Instant,
    shown_at: Option<Instant>,
    entries: u64,
    bytes: u64,
}

impl<'a> Progress<'a> {
    fn new(verb: &'static str, inner: &'a mut dyn slug::Tracker, json: bool) -> Self {
        use std::io::IsTerminal as _;
        let after = std::env::var("SLUG_PROGRESS_AFTER_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .map_or(Duration::from_secs(1), Duration::from_millis);
        Self {
            inner,
            verb,
            on: !json && std::io::stderr().is_terminal(),
            after,
            started: Instant::now(),
            shown_at: None,
            entries: 0,
            bytes: 0,
        }
    }

    fn finish(&self) {
        if self.shown_at.is_some() {
            eprint!("\r\x1b[2K");
        }
    }
}

impl slug::Tracker for Progress<'_> {
    fn entry(&mut self, name: &[u8], start: u64, end: u64, size: u64) {
        self.inner.entry(name, start, end, size);
        self.entries += 1;
        self.bytes += size;
        if !self.on {
            return;
        }
        let now = Instant::now();
        let due = match self.shown_at {
            None => now.duration_since(self.started) >= self.after,
            Some(at) => now.duration_since(at) >= Duration::from_millis(200),
        };
        if due {
            self.shown_at = Some(now);
            eprint!(
                "\r\x1b[2K{}",
                buildkit::style::step(&format!(
                    "{}... {} entries, {} read",
                    self.verb,
                    self.entries,
                    human(self.bytes)
                ))
            );
        }
    }
}

/// `slug pack`: the slug written to `output`, with progress on a terminal.
fn pack(cli: &Cli, dir: &std::path::Path, output: &std::path::Path) -> anyhow::Result<u8> {
    remove_partial_on_termination(output);
    let mut nothing = ();
    let mut progress = Progress::new("Packing", &mut nothing, cli.json);
    let stats = slug::pack_tracked(
        &[Source::app(dir)],
        output,
        GzOptions {
            level: cli.level,
            ..GzOptions::default()
        },
        &mut progress,
    );
    progress.finish();
    let stats = stats?;
    if cli.json {
        println!(
            "{}",
            json!({"path": output, "compressed": stats.gz.compressed, "files": stats.files})
        );
    } else {
        // Written to a device or through a link (`-o /dev/stdout`): the
        // slug may be on stdout, so the summary goes to stderr.
        let line = buildkit::style::step(&format!(
            "Wrote {} ({}, {} files)",
            output.display(),
            human(stats.gz.compressed),
            stats.files
        ));
        if stats.in_place {
            eprintln!("{line}");
        } else {
            println!("{line}");
        }
    }
    Ok(0)
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
    let partial = slug::partial_path_for(output);
    if let Ok(stop) = buildkit::process::Stop::install() {
        std::thread::spawn(move || {
            // Sleeps until a signal (a wait past what the clock holds has no end).
            while !stop.sleep(std::time::Duration::MAX) {}
            let _ = std::fs::remove_file(&partial);
            std::process::exit(128 + stop.signal());
        });
    }
}
