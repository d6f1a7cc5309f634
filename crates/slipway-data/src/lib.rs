//! Slipway's data formats, in the manner of `libcnb-data`: types, no logic.
//!
//! - `project.toml` ([`Project`]): every table we accept in the app's `project.toml`
//!   (`[_.metadata.slipway.*]`, `[[com.heroku.phase.release]]`,
//!   `[io.buildpacks] exclude` and `[[io.buildpacks.group]]`), read through
//!   one reader ([`Project::read`]) that reports a TOML error at its line.
//! - The release request ([`ReleaseRequest`], [`CommandsFile`]): what one buildpack hands `slipway/release-phase`: the build
//!   plan entry asking for a release command, and the commands file the
//!   release-phase binary reads on every release.
//!
//! The tables' meaning is each owner's SPEC; this crate's SPEC.md lists them.

mod diagnostic;
mod error;
mod project;
mod release;

pub use diagnostic::{render_all, Diagnostic};
pub use error::{from_str, TomlError};
pub use project::{
    AssetsTable, AutoscaleTable, AutoscaleTypeTable, CeleryTable, Collectstatic, ConfigValue,
    FormationTable, GroupEntry, Migrate, Project, ReadError, ReleaseTable, SlugTable, PROJECT_FILE,
};
pub use release::{CommandEntry, CommandsFile, ReleaseRequest, COMMANDS_ENV, PLAN_NAME};
