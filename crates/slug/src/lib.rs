//! Slug hygiene. `ignore`: apply `.slugignore` with Heroku's semantics,
//! never touching anything outside the app. Formats: `SPEC.md` beside this crate.

pub mod error;
pub mod ignore_file;

pub use error::SlugError;
pub use ignore_file::{apply, Removal, SlugIgnore};
