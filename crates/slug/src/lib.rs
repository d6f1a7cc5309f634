//! Slug hygiene. `ignore`: apply `.slugignore` with Heroku's semantics,
//! never touching anything outside the app. Formats: `SPEC.md` beside this crate.

pub mod error;
pub mod ignore_file;
pub mod pack;
pub mod pargz;

pub use error::SlugError;
pub use ignore_file::{apply, Removal, SlugIgnore};
pub use pack::{measure, pack, SlugStats, Source};
pub use pargz::GzOptions;
