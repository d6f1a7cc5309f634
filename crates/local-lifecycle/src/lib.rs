//! A Docker-free runner for buildpacks, faithful to the Cloud Native
//! Buildpacks lifecycle (Buildpack API 0.10) and to Heroku's classic
//! buildpack API. It builds an app into a directory laid out like an image
//! and runs its processes with the environment the launcher would give them.
//!
//! It exists so Slipway's *packaged* buildpacks can be tested without Docker
//! or a builder image, and so users can iterate fast locally. Production
//! stays on real platforms (pack, Heroku, any CNB platform).
//!
//! What it implements, and what it does not, is in `SPEC.md` beside this crate.

mod build;
mod classic;
mod descriptor;
mod env;
mod error;
mod image;
mod launch;
mod layers;
mod local;
mod official;
mod options;
mod order;
mod plan;
mod platform;
mod process;

pub use build::build;
pub use error::LifecycleError;
pub use launch::{run, RunOptions};
pub use local::{local, LocalOptions};
pub use options::{BuildOptions, Runner};
pub use platform::user_env;
pub(crate) use process::exit_code;
