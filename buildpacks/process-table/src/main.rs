//! `slipway/process-table`: thin glue between the CNB (and classic) buildpack
//! APIs and the `procfile` crate, which holds all the logic.

mod classic;
mod errors;

pub(crate) use errors::BuildpackError;
use libcnb::build::{BuildContext, BuildResult, BuildResultBuilder};

use libcnb::data::layer_name;
use libcnb::detect::{DetectContext, DetectResult, DetectResultBuilder};
use libcnb::generic::{GenericMetadata, GenericPlatform};
use libcnb::layer::UncachedLayerDefinition;
use libcnb::layer_env::{LayerEnv, ModificationBehavior, Scope};
use libcnb::Buildpack;
use procfile::ProcessTable;
use std::path::Path;

/// The file, inside the `process-table` launch layer, that holds the table at runtime.
pub(crate) const TABLE_FILE: &str = "process-table.toml";

pub(crate) struct ProcessTableBuildpack;

impl Buildpack for ProcessTableBuildpack {
    type Platform = GenericPlatform;
    type Metadata = GenericMetadata;
    type Error = BuildpackError;

    fn detect(&self, context: DetectContext<Self>) -> libcnb::Result<DetectResult, Self::Error> {
        if procfile::has_process_sources(&context.app_dir) {
            DetectResultBuilder::pass().build()
        } else {
            println!(
                "No Procfile, heroku.yml `run:` or [_.metadata.slipway.celery] in project.toml."
            );
            DetectResultBuilder::fail().build()
        }
    }

    fn build(&self, context: BuildContext<Self>) -> libcnb::Result<BuildResult, Self::Error> {
        let table = load_and_report(&context.app_dir)?;

        let layer = context.uncached_layer(
            layer_name!("process-table"),
            UncachedLayerDefinition {
                build: false,
                launch: true,
            },
        )?;
        let table_path = layer.path().join(TABLE_FILE);
        std::fs::write(&table_path, table.metadata_toml()).map_err(BuildpackError::Write)?;
        layer.write_env(LayerEnv::new().chainable_insert(
            Scope::Launch,
            ModificationBehavior::Override,
            procfile::TABLE_PATH_ENV,
            &table_path,
        ))?;
        buildkit::output::bullet(&format!(
            "Formation metadata: ${} ({})",
            procfile::TABLE_PATH_ENV,
            table_path.display()
        ));

        let launch = table.launch().map_err(BuildpackError::ProcessType)?;
        BuildResultBuilder::new().launch(launch).build()
    }

    fn on_error(&self, error: libcnb::Error<Self::Error>) {
        buildkit::classic::on_error("Slipway process table", error);
    }
}

/// Load the table, print it in Heroku's build-output style, print warnings loudly.
pub(crate) fn load_and_report(app_dir: &Path) -> Result<ProcessTable, BuildpackError> {
    buildkit::output::header("Slipway process table");
    let loaded = procfile::load(app_dir).map_err(BuildpackError::Table)?;
    for w in &loaded.warnings {
        buildkit::output::warning(&w.render());
    }
    buildkit::output::bullet(&format!("Read from {}", loaded.sources.join(", ")));
    buildkit::output::bullet(&format!(
        "{} process types, default: {}",
        loaded.table.processes.len(),
        loaded.table.default_process().unwrap_or("none")
    ));
    buildkit::output::block(&loaded.table.human_table());
    Ok(loaded.table)
}

fn main() {
    buildkit::classic::main(&classic::CLASSIC, &ProcessTableBuildpack);
}
