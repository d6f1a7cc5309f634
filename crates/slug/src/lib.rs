//! Slug hygiene: apply `.slugignore` with Heroku's semantics, never touching
//! anything outside the app (`ignore_file`); measure the exact compressed
//! slug size without writing it and pack deterministic slugs (`pack`, with
//! pigz-style parallel gzip in `pargz`); judge it against the limits
//! (`limits`) and say what to cut (`report`). Formats: `SPEC.md` beside this crate.

// Dev-dependencies serve the integration tests (tests/), not the unit tests.
#![cfg_attr(test, allow(unused_crate_dependencies))]

// The `slug` binary's own dependencies (src/main.rs).
use anyhow as _;
use app_files as _;
use buildkit as _;
use clap as _;
use serde_json as _;

mod error;
mod ignore_file;
mod limits;
mod pack;
mod pargz;
mod report;

pub use error::SlugError;
pub use ignore_file::{apply, SlugIgnore};
pub use limits::{Limits, Verdict, MIB};
pub use pack::{measure_tracked, pack_tracked, partial_path_for, Source, Tracker};
pub use pargz::GzOptions;
pub use report::{human, Offender, SizeTracker};

/// What slug's tests share (with the integration tests' `mod support`).
#[cfg(test)]
#[path = "../tests/support/mod.rs"]
mod test_support;
