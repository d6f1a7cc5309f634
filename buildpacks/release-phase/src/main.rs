//! `slipway/release-phase`: thin glue. Installs the `release-phase` binary
//! (logic in `crates/release-phase`) into a launch layer, checks the release
//! configuration at build time, stores release commands other buildpacks
//! asked for through the build plan, and declares the `release` process.

// One package, several targets: the package's dependencies serve all of them.
#![allow(unused_crate_dependencies)]

mod classic;
mod heartbeat_app;

use libcnb::additional_buildpack_binary_path;
use libcnb::build::{BuildContext, BuildResult, BuildResultBuilder};
use libcnb::data::build_plan::BuildPlanBuilder;
use libcnb::data::launch::{LaunchBuilder, ProcessBuilder};
use libcnb::data::{layer_name, process_type};
use libcnb::detect::{DetectContext, DetectResult, DetectResultBuilder};
use libcnb::generic::{GenericMetadata, GenericPlatform};
use libcnb::layer::UncachedLayerDefinition;
use libcnb::layer_env::{LayerEnv, ModificationBehavior, Scope};
use libcnb::Buildpack;
use release_phase::config;
use slipway_data::project::Project;
use slipway_data::release::{CommandEntry, CommandsFile, ReleaseRequest, COMMANDS_ENV, PLAN_NAME};
use std::path::Path;

pub(crate) const RELEASE_COMMAND: &str = "release-phase run";
pub(crate) const AUTOSCALE_COMMAND: &str = "release-phase autoscale";

pub(crate) struct ReleasePhaseBuildpack;

#[derive(Debug)]
pub(crate) enum BuildpackError {
    Config(release_phase::error::ReleaseError),
    Install(std::io::Error),
    BadPlanEntry(String),
}

impl std::fmt::Display for BuildpackError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BuildpackError::Config(e) => write!(f, "the release configuration is invalid:\n{e}"),
            BuildpackError::Install(e) => write!(f, "could not install the release-phase binary: {e}"),
            BuildpackError::BadPlanEntry(e) => write!(f, "a buildpack asked for a release command in a form release-phase does not understand: {e}\nExpected `[requires.metadata] release = [{{ command = \"...\", args = [...] }}]`."),
        }
    }
}

impl std::error::Error for BuildpackError {}

impl From<BuildpackError> for libcnb::Error<BuildpackError> {
    fn from(e: BuildpackError) -> Self {
        libcnb::Error::BuildpackError(e)
    }
}

/// Whether the app has anything to run on release.
pub(crate) fn has_release_work(app_dir: &Path) -> bool {
    config::detect_migration(app_dir).is_some()
        || match Project::read(app_dir) {
            Ok(Some(p)) => {
                // A table that does not read is work too: the build reports it.
                p.release_commands().map_or(true, |c| !c.is_empty())
                    || p.release().map_or(true, |r| r.is_some())
            }
            Ok(None) => false,
            Err(_) => true,
        }
}

/// The Procfile's own `release:` command, if it declares one.
pub(crate) fn procfile_release(app_dir: &Path) -> Option<String> {
    procfile_command(app_dir, "release")
}

/// The Procfile's command for a type, if it declares one.
pub(crate) fn procfile_command(app_dir: &Path, name: &str) -> Option<String> {
    let bytes = app_files::read(app_dir, "Procfile").ok()??;
    procfile::parse::parse("Procfile", &bytes)
        .entries
        .into_iter()
        .find(|e| e.name == name)
        .map(|e| e.command)
}

/// Check the plan at build time, so a broken config fails the build, not the release.
pub(crate) fn check_and_report(app_dir: &Path) -> Result<(), BuildpackError> {
    buildkit::output::header("Slipway release phase");
    let plan = config::load(app_dir, &|k| {
        (k != COMMANDS_ENV).then(|| std::env::var(k).ok()).flatten()
    })
    .map_err(BuildpackError::Config)?;
    for w in &plan.warnings {
        buildkit::output::warning(w);
    }
    buildkit::output::bullet("Release plan (run by `release-phase run` on every release):");
    buildkit::output::block(&config::describe(&plan));
    match procfile_release(app_dir) {
        Some(cmd) if !cmd.contains("release-phase") => buildkit::output::warning(&format!(
            "The Procfile declares `release: {cmd}`, which runs instead of release-phase (no lock, timeout or redaction).\nUse `release: release-phase run` and put the command in [[com.heroku.phase.release]] in project.toml."
        )),
        _ => {}
    }
    Ok(())
}

impl Buildpack for ReleasePhaseBuildpack {
    type Platform = GenericPlatform;
    type Metadata = GenericMetadata;
    type Error = BuildpackError;

    fn detect(&self, context: DetectContext<Self>) -> libcnb::Result<DetectResult, Self::Error> {
        // Provide and require `release-phase`, so the plan resolves alone, and
        // earlier buildpacks' requirements (with release commands) reach us... only
        // when they come after; see crates/release-phase/SPEC.md.
        let plan = BuildPlanBuilder::new()
            .provides(PLAN_NAME)
            .requires(PLAN_NAME)
            .build();
        if has_release_work(&context.app_dir) {
            DetectResultBuilder::pass().build_plan(plan).build()
        } else {
            println!("Nothing to run on release: no manage.py, bin/rails, [[com.heroku.phase.release]] or [_.metadata.slipway.release].");
            DetectResultBuilder::fail().build()
        }
    }

    fn build(&self, context: BuildContext<Self>) -> libcnb::Result<BuildResult, Self::Error> {
        check_and_report(&context.app_dir)?;
        let layer = context.uncached_layer(
            layer_name!("release-phase"),
            UncachedLayerDefinition {
                build: false,
                launch: true,
            },
        )?;
        let bin = layer.path().join("bin");
        std::fs::create_dir_all(&bin).map_err(BuildpackError::Install)?;
        std::fs::copy(
            additional_buildpack_binary_path!("release-phase"),
            bin.join("release-phase"),
        )
        .map_err(BuildpackError::Install)?;
        buildkit::output::bullet(&format!(
            "Installed release-phase on PATH ({})",
            bin.join("release-phase").display()
        ));

        // The heartbeat endpoint, for the app's Django (and collectstatic at build time).
        let python = context.uncached_layer(
            layer_name!("heartbeat"),
            UncachedLayerDefinition {
                build: true,
                launch: true,
            },
        )?;
        heartbeat_app::install(python.path().as_path()).map_err(BuildpackError::Install)?;
        python.write_env(
            LayerEnv::new()
                .chainable_insert(
                    Scope::All,
                    ModificationBehavior::Append,
                    "PYTHONPATH",
                    python.path(),
                )
                .chainable_insert(
                    Scope::All,
                    ModificationBehavior::Delimiter,
                    "PYTHONPATH",
                    ":",
                ),
        )?;
        buildkit::output::bullet(
            "Heartbeat endpoint: the `heroku_autoscale` Django app on PYTHONPATH (add it to INSTALLED_APPS and include `heroku_autoscale.urls`)",
        );

        let mut entries = Vec::new();
        for entry in context
            .buildpack_plan
            .entries
            .iter()
            .filter(|e| e.name == PLAN_NAME)
        {
            let meta: ReleaseRequest = toml::Value::Table(entry.metadata.clone())
                .try_into()
                .map_err(|e: toml::de::Error| BuildpackError::BadPlanEntry(e.to_string()))?;
            for cmd in meta.release {
                entries.push(CommandEntry {
                    source: cmd.source.clone().or(meta.source.clone()),
                    ..cmd
                });
            }
        }
        if !entries.is_empty() {
            let file = layer.path().join("release-commands.toml");
            let out = CommandsFile {
                release: entries.clone(),
            };
            std::fs::write(&file, toml::to_string(&out).expect("serializes"))
                .map_err(BuildpackError::Install)?;
            layer.write_env(LayerEnv::new().chainable_insert(
                Scope::Launch,
                ModificationBehavior::Override,
                COMMANDS_ENV,
                &file,
            ))?;
            buildkit::output::bullet(&format!(
                "{} release command(s) requested by other buildpacks",
                entries.len()
            ));
        }

        let mut launch = LaunchBuilder::new();
        if procfile_release(&context.app_dir).is_none() {
            launch.process(
                ProcessBuilder::new(process_type!("release"), ["release-phase", "run"]).build(),
            );
            buildkit::output::bullet(&format!("Process type: release -> {RELEASE_COMMAND}"));
        }
        if procfile_command(&context.app_dir, "autoscale").is_none() {
            // Declared, not started: scale it to 1 (`heroku ps:scale autoscale=1`) with
            // AUTOSCALE_HEROKU_APP_NAME and AUTOSCALE_HEROKU_API_KEY set.
            launch.process(
                ProcessBuilder::new(process_type!("autoscale"), ["release-phase", "autoscale"])
                    .build(),
            );
            buildkit::output::bullet(&format!("Process type: autoscale -> {AUTOSCALE_COMMAND} (scale it to 1 to enable; see AUTOSCALE_* settings)"));
        }
        BuildResultBuilder::new().launch(launch.build()).build()
    }

    fn on_error(&self, error: libcnb::Error<Self::Error>) {
        buildkit::classic::on_error("Slipway release phase", error);
    }
}

fn main() {
    buildkit::classic::main(&classic::CLASSIC, &ReleasePhaseBuildpack);
}
