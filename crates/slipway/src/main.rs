//! `slipway`: build an app with packaged buildpacks (CNB or classic) into a
//! local image directory, and run its processes, without Docker.

use clap::{Parser, Subcommand};
use local_lifecycle::{BuildOptions, RunOptions};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

#[derive(Parser)]
#[command(
    name = "slipway",
    version,
    about = "Build Heroku-style apps with buildpacks and run them locally, without Docker"
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
        /// Heroku's native multiple buildpacks do (`native`, the default:
        /// `heroku buildpacks:add`) or as heroku-buildpack-multi does (`multi`:
        /// `.buildpacks`).
        #[arg(long, value_enum, num_args = 0..=1, default_missing_value = "native", value_name = "HOW")]
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
        /// human, launch-toml, release-yaml, heroku-yml, app-json or metadata-toml.
        #[arg(long, default_value = "human")]
        format: String,
    },
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
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
            let opts = BuildOptions {
                app_dir,
                buildpacks,
                map,
                out,
                env,
                clear_cache,
            };
            let report = if let Some(how) = classic {
                local_lifecycle::build_classic(
                    &opts,
                    match how {
                        ClassicHow::Native => local_lifecycle::Flavor::Native,
                        ClassicHow::Multi => local_lifecycle::Flavor::Multi,
                    },
                )
            } else if let Some(dir) = &lifecycle {
                local_lifecycle::build_official(&opts, dir)
            } else {
                local_lifecycle::build(&opts)
            }?;
            println!(
                "Built {} in {:.2}s",
                report.image.display(),
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
            let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
            for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
                signal_hook::flag::register(sig, std::sync::Arc::clone(&stop))
                    .map_err(|e| anyhow::anyhow!("cannot handle signals: {e}"))?;
            }
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
        Cmd::Processes { app_dir, format } => {
            let loaded = procfile::load(&app_dir)?;
            for w in &loaded.warnings {
                eprintln!("{w}");
            }
            let t = &loaded.table;
            let text = match format.as_str() {
                "human" => procfile::render::human_table(t),
                "launch-toml" => procfile::render::launch_toml(t),
                "release-yaml" => procfile::render::classic_release_yaml(t),
                "heroku-yml" => procfile::render::heroku_yml_run(t),
                "app-json" => format!("{:#}\n", procfile::render::app_json_formation(t)),
                "metadata-toml" => procfile::render::metadata_toml(t),
                other => anyhow::bail!("unknown --format {other}; use human, launch-toml, release-yaml, heroku-yml, app-json or metadata-toml"),
            };
            print!("{text}");
            Ok(0)
        }
    }
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
    match static_assets::build(app_dir, &stores, &env) {
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
