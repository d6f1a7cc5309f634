//! `slipway`: build an app with packaged buildpacks (CNB or classic) into a
//! local image directory, and run its processes, without Docker.

use clap::{CommandFactory as _, Parser, Subcommand};
use local_lifecycle::{BuildOptions, RunOptions, Runner};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

/// What `slipway` exits with (also at the end of `--help`).
const EXIT_CODES: &[(&str, &str)] = &[
    (
        "0",
        "done (build: built; local: stopped by Ctrl-C or SIGTERM)",
    ),
    (
        "1",
        "failed: the build, its configuration or the image (the message says why)",
    ),
    ("2", "the command line is wrong (unknown option or value)"),
    (
        "130, 143",
        "build: stopped by SIGINT or SIGTERM (the buildpacks' processes stopped, the previous image kept)",
    ),
    (
        "N",
        "run, local: the process's own exit code (128+S when killed by signal S)",
    ),
];

#[derive(Parser)]
#[command(
    name = "slipway",
    version,
    about = "Build Heroku-style apps with buildpacks and run them locally, without Docker",
    after_help = buildkit::cli::exit_codes(EXIT_CODES)
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

/// A built image and how to run its processes (`run`, `local`).
#[derive(clap::Args)]
struct ImageArgs {
    #[arg(long, default_value = ".slipway/image")]
    image: PathBuf,
    /// $PORT (of web.1 for `local`; each further process gets the next port),
    /// when the environment does not set it.
    #[arg(long, default_value_t = 5000)]
    port: u16,
    /// Runtime config var, KEY=VALUE or KEY. Repeatable. The app's .env is read too.
    #[arg(long, short = 'e')]
    env: Vec<String>,
}

#[derive(Subcommand)]
enum AssetsCmd {
    /// Build the assets of APP_DIR in place.
    Build {
        app_dir: PathBuf,
        /// Keep node_modules and the last outputs here between runs (e.g. a
        /// BuildKit cache mount). Default: a temporary directory, removed.
        #[arg(long)]
        cache: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum ClassicHow {
    Native,
    Multi,
}

/// `slipway processes --format`.
#[derive(Clone, Copy, clap::ValueEnum)]
enum ProcessFormat {
    /// A table for people: type, formation, origin, queues, command.
    Human,
    /// CNB `launch.toml` `[[processes]]`.
    LaunchToml,
    /// A classic `bin/release` YAML (`default_process_types`).
    ReleaseYaml,
    /// heroku.yml's `run:` section.
    HerokuYml,
    /// app.json's `formation`.
    AppJson,
    /// The process-table layer's metadata TOML.
    MetadataToml,
}

#[derive(Subcommand)]
enum Cmd {
    /// Build APP_DIR with the given buildpacks, in order, into --out.
    Build {
        app_dir: PathBuf,
        /// A packaged buildpack directory (repeat for a group, in order); a
        /// composite (e.g. slipway_suite) expands into its order. None: the
        /// app's project.toml [[io.buildpacks.group]].
        #[arg(long = "buildpack", short = 'b')]
        buildpacks: Vec<PathBuf>,
        /// ID=DIR: the buildpack directory for an id the order references
        /// (e.g. heroku/nodejs=tests/doubles/heroku-nodejs). Repeatable.
        #[arg(long = "map", value_name = "ID=DIR")]
        map: Vec<String>,
        /// The image directory (workspace/, layers/, cache/ kept between builds).
        #[arg(long, default_value = ".slipway/image")]
        out: PathBuf,
        /// Build-time env var, KEY=VALUE or KEY (taken from this environment). Repeatable.
        #[arg(long, short = 'e')]
        env: Vec<String>,
        /// Drive classic buildpacks (bin/detect, bin/compile, bin/release) as
        /// Heroku's native multiple buildpacks do (`--classic`, the same as
        /// `--classic=native`: `heroku buildpacks:add`) or as
        /// heroku-buildpack-multi does (`--classic=multi`: `.buildpacks`).
        /// The value needs `=`, so `--classic APP` never takes APP for it.
        #[arg(long, value_enum, num_args = 0..=1, require_equals = true, default_missing_value = "native", value_name = "HOW")]
        classic: Option<ClassicHow>,
        /// Start without the cache of previous builds.
        #[arg(long)]
        clear_cache: bool,
        /// Build on the official CNB lifecycle binaries in DIR (`lifecycle`,
        /// its phase links and `launcher`; scripts/official-cnb-tools builds
        /// them) instead of slipway's own runner. The app image is also
        /// written as an OCI image layout in OUT/oci.
        #[arg(long, value_name = "DIR", conflicts_with = "classic")]
        lifecycle: Option<PathBuf>,
    },
    /// Run a process type of a built image (the default process when omitted).
    Run {
        process: Option<String>,
        #[command(flatten)]
        image: ImageArgs,
        /// Extra arguments appended to the process command.
        #[arg(last = true)]
        args: Vec<String>,
    },
    /// Run a formation of a built image's processes, like `heroku local`:
    /// one of each type by default (not `release`; `autoscale` once configured).
    Local {
        /// `type=count` entries, e.g. `web=2,worker_general=1`; none: one of each.
        formation: Vec<String>,
        #[command(flatten)]
        image: ImageArgs,
        /// Seconds between SIGTERM and SIGKILL when stopping (Heroku gives 30).
        #[arg(long, default_value_t = 30)]
        grace: u64,
    },
    /// Compile an app's static assets as slipway/static-assets does (Node
    /// build, then Django collectstatic), outside any buildpack: for a
    /// Dockerfile (`RUN slipway assets build .`). node_modules is kept in the
    /// cache directory, never left in the app.
    Assets {
        #[command(subcommand)]
        command: AssetsCmd,
    },
    /// Print the process table of an app directory (as the process-table buildpack reads it).
    Processes {
        app_dir: PathBuf,
        #[arg(long, value_enum, default_value_t = ProcessFormat::Human, conflicts_with = "json")]
        format: ProcessFormat,
        /// The table as one JSON object (`processes`, `default`, `warnings`);
        /// errors too, as `{"error": {...}}` on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Print a shell completion script (source it, or install it where your
    /// shell looks: e.g. /usr/share/bash-completion/completions/slipway).
    Completions { shell: buildkit::cli::Shell },
    /// Write the man pages (slipway.1 and one per subcommand) into DIR.
    ManPages { dir: PathBuf },
}

/// `--classic multi` (a space, not `=`) as users wrote it before the value
/// needed `=`: taken as `--classic=multi` when no directory of that name is
/// there to be the app, so `--classic APP` and `--classic multi APP` both mean
/// what they say.
fn classic_value_with_a_space(args: Vec<std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    let mut out = Vec::with_capacity(args.len());
    let mut args = args.into_iter().peekable();
    while let Some(arg) = args.next() {
        let how = args
            .peek()
            .and_then(|next| next.to_str())
            .filter(|next| matches!(*next, "native" | "multi"))
            .filter(|next| !std::path::Path::new(next).exists())
            .map(str::to_string);
        match how {
            Some(how) if arg == "--classic" => {
                args.next();
                out.push(format!("--classic={how}").into());
            }
            _ => out.push(arg),
        }
    }
    out
}

fn main() -> ExitCode {
    let cli = Cli::parse_from(classic_value_with_a_space(std::env::args_os().collect()));
    let json = matches!(cli.command, Cmd::Processes { json: true, .. });
    match run(cli) {
        Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Err(e) if json => {
            println!("{}", buildkit::cli::json_error(&e.to_string(), 1));
            ExitCode::FAILURE
        }
        Err(e) => {
            // Our errors carry their sources in their text: the top level is the report.
            let message = e.to_string();
            // Rendered diagnostics already start with their severity.
            if message.starts_with("error") {
                eprintln!("{message}");
            } else {
                eprintln!("slipway: error: {message}");
            }
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<i32> {
    match cli.command {
        Cmd::Build {
            app_dir,
            buildpacks,
            out,
            env,
            classic,
            clear_cache,
            lifecycle,
            map,
        } => {
            let started = Instant::now();
            let map = map
                .iter()
                .map(|m| {
                    m.split_once('=')
                        .filter(|(id, dir)| !id.is_empty() && !dir.is_empty())
                        .map(|(id, dir)| (id.to_string(), PathBuf::from(dir)))
                        .ok_or_else(|| anyhow::anyhow!("--map {m}: expected ID=DIR, e.g. --map heroku/nodejs=path/to/buildpack"))
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            if classic.is_some() && buildpacks.is_empty() {
                anyhow::bail!("--classic needs the buildpacks, in order: --buildpack DIR ...");
            }
            let runner = match (classic, lifecycle) {
                (Some(ClassicHow::Native), _) => Runner::ClassicNative,
                (Some(ClassicHow::Multi), _) => Runner::ClassicMulti,
                (None, Some(dir)) => Runner::Official(dir),
                (None, None) => Runner::Slipway,
            };
            let opts = BuildOptions {
                app_dir,
                buildpacks,
                map,
                out,
                env,
                clear_cache,
                runner,
            };
            let image = match local_lifecycle::build(&opts) {
                Ok(image) => image,
                Err(e @ local_lifecycle::LifecycleError::Interrupted { signal, .. }) => {
                    eprintln!("slipway: {e}");
                    return Ok(128 + signal);
                }
                Err(e) => return Err(e.into()),
            };
            println!(
                "Built {} in {:.2}s",
                image.display(),
                started.elapsed().as_secs_f64()
            );
            Ok(0)
        }
        Cmd::Run {
            process,
            image: ImageArgs { image, port, env },
            args,
        } => local_lifecycle::run(&RunOptions {
            image,
            process,
            port,
            env,
            args,
        })
        .map_err(anyhow::Error::from),
        Cmd::Local {
            formation,
            image: ImageArgs { image, port, env },
            grace,
        } => {
            use std::io::IsTerminal as _;
            let stop = buildkit::process::Stop::install()
                .map_err(|e| anyhow::anyhow!("cannot handle signals: {e}"))?;
            let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            local_lifecycle::local(
                &local_lifecycle::LocalOptions {
                    image,
                    formation,
                    port,
                    env,
                    grace: std::time::Duration::from_secs(grace),
                    color,
                },
                &stop,
                Box::new(std::io::stdout()),
            )
            .map_err(anyhow::Error::from)
        }
        Cmd::Assets {
            command: AssetsCmd::Build { app_dir, cache },
        } => assets_build(&app_dir, cache.as_deref()),
        Cmd::Processes {
            app_dir,
            format,
            json,
        } => processes(&app_dir, format, json),
        Cmd::Completions { shell } => {
            buildkit::cli::completions(Cli::command(), shell, &mut std::io::stdout());
            Ok(0)
        }
        Cmd::ManPages { dir } => {
            for page in buildkit::cli::man_pages(Cli::command(), &dir).map_err(|e| {
                anyhow::anyhow!("cannot write man pages into {}: {e}", dir.display())
            })? {
                println!("{}", page.display());
            }
            Ok(0)
        }
    }
}

/// `slipway processes`: the table in the asked format, or as JSON.
fn processes(app_dir: &std::path::Path, format: ProcessFormat, json: bool) -> anyhow::Result<i32> {
    if !app_dir.is_dir() {
        anyhow::bail!(
            "{} is not a directory: give the app's directory (where its Procfile or heroku.yml is)",
            app_dir.display()
        );
    }
    let loaded = procfile::load(app_dir)?;
    let t = &loaded.table;
    if json {
        let warnings: Vec<String> = loaded.warnings.iter().map(ToString::to_string).collect();
        let mut value = serde_json::to_value(t)?;
        value["default"] = serde_json::json!(t.default_process());
        value["warnings"] = serde_json::json!(warnings);
        println!("{value}");
        return Ok(0);
    }
    for w in &loaded.warnings {
        eprintln!("{w}");
    }
    let text = match format {
        ProcessFormat::Human => t.human_table(),
        ProcessFormat::LaunchToml => t.launch_toml().map_err(|name| {
            anyhow::anyhow!("process type `{name}` is not a valid CNB process type")
        })?,
        ProcessFormat::ReleaseYaml => t.classic_release_yaml(),
        ProcessFormat::HerokuYml => t.heroku_yml_run(),
        ProcessFormat::AppJson => format!("{:#}\n", t.app_json_formation()),
        ProcessFormat::MetadataToml => t.metadata_toml(),
    };
    print!("{text}");
    Ok(0)
}

/// `slipway assets build`: what slipway/static-assets runs, in place.
fn assets_build(app_dir: &std::path::Path, cache: Option<&std::path::Path>) -> anyhow::Result<i32> {
    let temporary;
    let cache = if let Some(c) = cache {
        c.to_path_buf()
    } else {
        temporary = tempfile::tempdir()
            .map_err(|e| anyhow::anyhow!("cannot make a cache directory: {e}"))?;
        temporary.path().to_path_buf()
    };
    let stores = static_assets::Stores {
        node: cache.join("node"),
        outputs: cache.join("outputs"),
    };
    buildkit::output::header("Slipway static assets");
    let env: static_assets::Env = std::env::vars().collect();
    let detected = static_assets::Plan::new(app_dir, &env)?;
    if !detected.detection.any() {
        buildkit::output::bullet("Nothing to do: no package.json build script, no gulpfile, no Django app with django.contrib.staticfiles");
        return Ok(0);
    }
    let timer = buildkit::output::Timer::start("Compiling static assets");
    match static_assets::build(app_dir, &stores, &env, static_assets::Neighbours::default()) {
        Ok(outcome) => {
            timer.done();
            if outcome.collectstatic_on_release {
                buildkit::output::warning("collectstatic = \"release\": run `python manage.py collectstatic --noinput` on release (heroku.yml `release:` with `release-phase run`, which reads [[com.heroku.phase.release]] in project.toml).");
            }
            Ok(0)
        }
        Err(e) => {
            buildkit::output::error("Slipway static assets", &e.to_string());
            Ok(1)
        }
    }
}
