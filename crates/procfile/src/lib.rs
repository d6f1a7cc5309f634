//! Slipway's process table.
//!
//! Reads an app's process types from its `Procfile` (or `heroku.yml` `run:`),
//! generates the reference Django + Celery layout when `project.toml`
//! declares it, applies formation rules (sizes, bounds, singletons), reads
//! Celery facts (queues, beat) from commands, and renders the table for CNB
//! `launch.toml`, classic `bin/release`, heroku.yml and app.json.
//!
//! The file formats are specified in `SPEC.md` beside this crate.

// Dev-dependencies serve the integration tests (tests/), not the unit tests.
#![cfg_attr(test, allow(unused_crate_dependencies))]

mod celery;
mod formation;
mod heroku_yml;
mod name;
mod parse;
mod project;
mod reference;
mod render;
mod shell;
mod slug_procfile;
mod table;

pub use formation::{Formation, FormationOrigin};
pub use heroku_yml::HerokuYml;
pub use parse::{parse, Entry, Parsed};
pub use slug_procfile::append_missing;

pub use celery::Role;
pub(crate) use slipway_data::Diagnostic;
pub use table::{declared, has_process_sources, load, Declared, Origin, Process, ProcessTable};

use std::path::PathBuf;

/// Environment variable the process-table buildpack sets at launch: the path
/// of the stored process table (TOML, see [`ProcessTable::metadata_toml`]).
pub const TABLE_PATH_ENV: &str = "SLIPWAY_PROCESS_TABLE";

#[derive(Debug, thiserror::Error)]
pub enum ProcfileError {
    #[error("could not read {path}: {source}\nCheck that the file is readable by the build user.")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}", slipway_data::render_all(diagnostics))]
    Invalid { diagnostics: Vec<Diagnostic> },
    #[error(transparent)]
    AppFile(#[from] app_files::AppFileError),
}
