//! The `release-phase` binary this buildpack installs into its launch layer:
//! the command line that wires the release runner (`crates/release-phase`)
//! and the autoscale worker (`crates/autoscale-worker`); neither crate knows
//! the other.

// One package, several targets: the package's dependencies serve all of them.
#![allow(unused_crate_dependencies)]

use anyhow::Context as _;
use clap::{CommandFactory as _, Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// What `release-phase` exits with (also at the end of `--help`).
const EXIT_CODES: &[(&str, &str)] = &[
    (
        "0",
        "released (run), valid (check), stopped by SIGTERM (autoscale)",
    ),
    (
        "1",
        "configuration, database or lock problem: nothing ran, or the lock was not taken",
    ),
    ("2", "the command line is wrong (unknown option or value)"),
    (
        "75",
        "run: the release lock's connection was lost mid-step; the step was stopped",
    ),
    ("124", "run: a step ran longer than its timeout"),
    ("130", "run: interrupted (SIGINT)"),
    (
        "143",
        "run: terminated (SIGTERM, the platform stopping the release)",
    ),
    ("N", "run: a step's own exit code when it failed"),
];

#[derive(Parser)]
#[command(
    name = "release-phase",
    version,
    about = "Run the release plan (migrations and release commands) safely",
    after_help = buildkit::cli::exit_codes(EXIT_CODES)
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
    Check {
        /// The plan as one JSON object (`steps`, `settings`, `warnings`,
        /// `database`); errors too, as `{"error": {...}}` on stdout.
        #[arg(long)]
        json: bool,
    },
    /// The autoscale worker (the `autoscale` process type): heartbeat and queue-depth
    /// scaling through the Platform API, configured by django-heroku-autoscale's
    /// AUTOSCALE_* variables. Runs until SIGTERM.
    Autoscale {
        /// Decide and log, never PATCH the formation.
        #[arg(long)]
        dry_run: bool,
        #[command(subcommand)]
        action: Option<AutoscaleCmd>,
    },
    /// Print a shell completion script.
    Completions { shell: buildkit::cli::Shell },
    /// Write the man pages (release-phase.1 and one per subcommand) into DIR.
    ManPages { dir: PathBuf },
    /// Internal: runs a release step so that it never outlives `run` (see runner.rs).
    #[command(name = "__step-guard", hide = true)]
    StepGuard {
        #[arg(long)]
        parent: i32,
        /// After the parent's death: SIGTERM to the group, SIGKILL this much later.
        #[arg(long, default_value_t = 5000)]
        grace_ms: u64,
        #[arg(last = true, required = true)]
        argv: Vec<String>,
    },
}

#[derive(Subcommand)]
enum AutoscaleCmd {
    /// Replay a load trace through the policy against a queueing model of dynos:
    /// writes timeline.csv, plot.svg and summary.txt into --out.
    Simulate {
        /// CSV: t,rps,service_ms[,q:<queue>...][,job_ms][,dep_ms]
        #[arg(long)]
        trace: PathBuf,
        #[arg(long)]
        out: PathBuf,
        /// The policy whose timeline, plot and summary are written (all
        /// three are run and compared side by side).
        #[arg(long, value_enum, default_value_t = SimulatedPolicy::Slipway)]
        policy: SimulatedPolicy,
        /// The app's heartbeat endpoint reports latency only (not the
        /// shipped one, which sends X-Slipway-Service-Ms): the policy estimates.
        #[arg(long)]
        no_service_header: bool,
        /// Seconds from a scale-up until the new dynos serve.
        #[arg(long, default_value_t = 60.0)]
        boot_seconds: f64,
        /// Heartbeat noise: each beat's parts times a factor in [1-N, 1+N] (0.5: ±50%).
        #[arg(long)]
        noise: Option<f64>,
        /// The noise generator's seed (the same seed, the same run).
        #[arg(long, default_value_t = 1)]
        noise_seed: u64,
    },
}

/// `simulate --policy`.
#[derive(Clone, Copy, clap::ValueEnum)]
enum SimulatedPolicy {
    /// This autoscaler, as configured by the app.
    Slipway,
    /// django-heroku-autoscale's algorithm, with the same settings.
    Seed,
    /// Perfect foresight: the fewest web dyno-hours that keep the latency
    /// under the target in the same model (the lower bound).
    Oracle,
    /// Perfect foresight within the daily flap budget: the lower bound for
    /// a policy that keeps it (the same as `oracle` without a budget).
    OracleInBudget,
}

/// The process's environment: what Heroku gives the release dyno.
fn process_env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.command {
        Cmd::Run => release_phase::run(&cli.app_dir, &process_env),
        Cmd::Autoscale {
            action:
                Some(AutoscaleCmd::Simulate {
                    trace,
                    out,
                    policy,
                    no_service_header,
                    boot_seconds,
                    noise,
                    noise_seed,
                }),
            ..
        } => {
            let conditions = autoscale::simulate::Conditions {
                service_header: !no_service_header,
                boot_seconds,
                noise: noise.map(|a| (a, noise_seed)),
            };
            simulate(&cli.app_dir, &trace, &out, policy, &conditions)
        }
        Cmd::Autoscale {
            dry_run,
            action: None,
        } => autoscale(&cli.app_dir, dry_run),
        Cmd::StepGuard {
            parent,
            grace_ms,
            argv,
        } => release_phase::step_guard(parent, std::time::Duration::from_millis(grace_ms), &argv),
        Cmd::Check { json: false } => release_phase::check(&cli.app_dir, &process_env)
            .unwrap_or_else(|e| {
                let redactor = buildkit::redact::Redactor::from_process_env();
                eprintln!(
                    " !     {}",
                    redactor.redact(&e.to_string()).replace('\n', "\n !     ")
                );
                release_phase::exit::ERROR
            }),
        Cmd::Check { json: true } => {
            let redactor = buildkit::redact::Redactor::from_process_env();
            match release_phase::check_json(&cli.app_dir, &process_env) {
                Ok(report) => {
                    println!("{}", redactor.redact(&report.to_string()));
                    0
                }
                Err(e) => {
                    let code = release_phase::exit::ERROR;
                    println!(
                        "{}",
                        buildkit::cli::json_error(&redactor.redact(&e.to_string()), code)
                    );
                    code
                }
            }
        }
        Cmd::Completions { shell } => {
            buildkit::cli::completions(Cli::command(), shell, &mut std::io::stdout());
            0
        }
        Cmd::ManPages { dir } => match buildkit::cli::man_pages(Cli::command(), &dir) {
            Ok(pages) => {
                for page in pages {
                    println!("{}", page.display());
                }
                0
            }
            Err(e) => {
                eprintln!(" !     cannot write man pages into {}: {e}", dir.display());
                release_phase::exit::ERROR
            }
        },
    };
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

fn autoscale(app_dir: &std::path::Path, dry_run: bool) -> i32 {
    let stop = match buildkit::process::Stop::install() {
        Ok(s) => s,
        Err(e) => {
            eprintln!(" !     cannot install signal handlers: {e}");
            return release_phase::exit::ERROR;
        }
    };
    let mut config =
        match autoscale_worker::Config::load(app_dir, &|k| std::env::var(k).ok(), dry_run) {
            Ok(c) => c,
            Err(e) => {
                let redactor = buildkit::redact::Redactor::from_process_env();
                eprintln!(
                    " !     autoscale: {}",
                    redactor.redact(&e.to_string()).replace('\n', "\n !     ")
                );
                return release_phase::exit::ERROR;
            }
        };
    config
        .warnings
        .extend(autoscale_worker::unknown(std::env::vars().map(|(k, _)| k)));
    watch_the_grace(stop.clone());
    // Stopped by a signal: 0. A refused token or app was logged (the
    // `fatal` event): a configuration error.
    match autoscale_worker::run(&mut config, &|d| stop.sleep(d), &mut std::io::stdout()) {
        Ok(()) => 0,
        Err(_) => release_phase::exit::ERROR,
    }
}

/// Heroku sends SIGTERM and kills the dyno 30 s later. The worker stops
/// between ticks, but a tick can be waiting on a stalled peer for longer
/// than that (a heartbeat's timeout is five times the max response time):
/// if it has not stopped 20 s after the signal, it is stopped here, with a
/// line saying so. Nothing is left half-done that matters: a PATCH the
/// platform received is applied, the lease goes with the connection.
fn watch_the_grace(stop: buildkit::process::Stop) {
    const CUT_AFTER: std::time::Duration = std::time::Duration::from_secs(20);
    std::thread::spawn(move || {
        while !stop.sleep(std::time::Duration::from_hours(1)) {}
        std::thread::sleep(CUT_AFTER);
        // One JSON line, as every line of the worker's log (no data in it to escape).
        println!(
            "{{\"event\":\"stop\",\"reason\":\"signal\",\"cut_short\":\"a tick was still waiting on a peer {}s after the signal (Heroku kills the dyno at 30s)\"}}",
            CUT_AFTER.as_secs()
        );
        std::process::exit(0);
    });
}

/// The policies on the same trace and model, with each one's distance from
/// the perfect-foresight bounds: free, and within the flap budget (the one a
/// policy that keeps the budget can reach).
fn side_by_side(
    runs: [&autoscale::simulate::Summary; 4],
    c: &autoscale::simulate::Conditions,
) -> String {
    let [slipway, seed, oracle, in_budget] = runs;
    let ratio = |a: f64, b: f64| {
        if b > 0.0 {
            format!("{:.2}x", a / b)
        } else {
            "-".to_string()
        }
    };
    let model = format!(
        "heartbeat {}, boot {:.0} s{}",
        if c.service_header {
            "reports its service time"
        } else {
            "reports latency only"
        },
        c.boot_seconds,
        c.noise.map_or_else(String::new, |(a, seed)| format!(
            ", noise ±{:.0}% (seed {seed})",
            a * 100.0
        ))
    );
    let mut out = format!(
        "\nside by side ({model}):\n{:28} {:>9} {:>9} {:>9} {:>9} {:>15} {:>18} {:>12}\n",
        "",
        "slipway",
        "seed",
        "oracle",
        "in budget",
        "slipway/oracle",
        "slipway/in budget",
        "seed/oracle"
    );
    for (what, f) in [
        (
            "web dyno-hours",
            (|s: &autoscale::simulate::Summary| s.web_dyno_hours) as fn(&_) -> f64,
        ),
        ("dyno-hours (scaled types)", |s| s.dyno_hours),
    ] {
        out += &format!(
            "{what:28} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>15} {:>18} {:>12}\n",
            f(slipway),
            f(seed),
            f(oracle),
            f(in_budget),
            ratio(f(slipway), f(oracle)),
            ratio(f(slipway), f(in_budget)),
            ratio(f(seed), f(oracle))
        );
    }
    let over = |s: &autoscale::simulate::Summary| s.minutes_over_target;
    out += &format!(
        "{:28} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>15} {:>18} {:>12}\n",
        "minutes over the target",
        over(slipway),
        over(seed),
        over(oracle),
        over(in_budget),
        format!("{:+.1}", over(slipway) - over(oracle)),
        format!("{:+.1}", over(slipway) - over(in_budget)),
        format!("{:+.1}", over(seed) - over(oracle))
    );
    let rev = |s: &autoscale::simulate::Summary| {
        format!("{}/{}", s.max_reversals_hour.0, s.max_reversals_day.0)
    };
    out += &format!(
        "{:28} {:>9} {:>9} {:>9} {:>9}\n",
        "most reversals (hour/day)",
        rev(slipway),
        rev(seed),
        rev(oracle),
        rev(in_budget),
    );
    out
}

fn simulate(
    app_dir: &std::path::Path,
    trace: &std::path::Path,
    out: &std::path::Path,
    which: SimulatedPolicy,
    conditions: &autoscale::simulate::Conditions,
) -> i32 {
    use autoscale::simulate;
    let result = (|| -> anyhow::Result<String> {
        let text = std::fs::read_to_string(trace)
            .with_context(|| format!("reading {}", trace.display()))?;
        let rows = simulate::parse_trace(&trace.display().to_string(), &text)?;
        let mut app = autoscale_worker::policy_for(app_dir, &|k| std::env::var(k).ok())?;
        // Decisions carry their rule; explaining every hold is for the live log.
        app.policy.explain = false;
        let interval = app
            .policy
            .settings
            .heartbeat_interval
            .as_secs_f64()
            .max(0.001);
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let ticks = ((rows[rows.len() - 1].t - rows[0].t) / interval) as u64;
        let which = match which {
            SimulatedPolicy::Seed => simulate::Which::Seed,
            SimulatedPolicy::Slipway => simulate::Which::Slipway,
            SimulatedPolicy::Oracle => simulate::Which::Oracle,
            SimulatedPolicy::OracleInBudget => simulate::Which::OracleInBudget,
        };
        let run = |w| {
            simulate::run(
                &app.policy,
                w,
                &rows,
                &app.initial,
                Some(&app.consumers),
                conditions,
                (ticks / 3000).max(1),
            )
        };
        let started = std::time::Instant::now();
        let (samples, summary) = run(which);
        let elapsed = started.elapsed();
        let [slipway, seed, oracle, in_budget] = [
            simulate::Which::Slipway,
            simulate::Which::Seed,
            simulate::Which::Oracle,
            simulate::Which::OracleInBudget,
        ]
        .map(|w| {
            if w == which {
                summary.clone()
            } else {
                run(w).1
            }
        });
        std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
        let target = app.policy.settings.max_response.as_secs_f64() * 1000.0;
        let title = format!(
            "{which:?} policy: {:.1} dyno-hours, {:.0} min over {target:.0} ms, {} reversals",
            summary.dyno_hours, summary.minutes_over_target, summary.reversals
        );
        let back = summary
            .minutes_back_to_min
            .map_or_else(|| "never".to_string(), |m| format!("{m:.1} min"));
        let text = format!(
            "policy: {which:?}\nticks: {}\ndyno-hours: {:.2}\nweb dyno-hours: {:.2}\nminutes over the latency target ({target:.0} ms): {:.1}\n  of which web was at its max: {:.1}\nweb back at what the final load needs after the load fell: {back}\ndirection reversals: {} (most in an hour: {} {}; in a day: {} {})\njobs waiting: {:.1} job-hours (peak queue {:.0})\nsimulated in {:.3}s ({:.0} ticks/s)\n",
            summary.ticks,
            summary.dyno_hours,
            summary.web_dyno_hours,
            summary.minutes_over_target,
            summary.minutes_over_target_at_max,
            summary.reversals,
            summary.max_reversals_hour.0,
            summary.max_reversals_hour.1,
            summary.max_reversals_day.0,
            summary.max_reversals_day.1,
            summary.job_hours_waiting,
            summary.peak_depth,
            elapsed.as_secs_f64(),
            f64::from(u32::try_from(summary.ticks).unwrap_or(u32::MAX)) / elapsed.as_secs_f64().max(1e-9)
        ) + &side_by_side([&slipway, &seed, &oracle, &in_budget], conditions);
        for (name, body) in [
            ("timeline.csv", simulate::timeline_csv(&samples)),
            ("plot.svg", simulate::svg(&samples, target, &title)),
            ("summary.txt", text.clone()),
        ] {
            std::fs::write(out.join(name), body)
                .with_context(|| format!("writing {}", out.join(name).display()))?;
        }
        Ok(text)
    })();
    match result {
        Ok(text) => {
            print!("{text}");
            0
        }
        Err(e) => {
            eprintln!(" !     simulate: {e:#}");
            release_phase::exit::ERROR
        }
    }
}
