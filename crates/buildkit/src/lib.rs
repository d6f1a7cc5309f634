//! Slipway's build kit, in the manner of `libherokubuildpack`: the plumbing
//! every Slipway crate and buildpack shares, one feature-gated module each.
//!
//! | feature | module | what |
//! |---|---|---|
//! | `output` | [`output`] | build output in Heroku's style (CNB headers and bullets; classic `-----> `) |
//! | `classic` | [`classic`] | Heroku's classic API (`bin/detect`, `bin/compile`, `bin/release`) over a libcnb binary, one main path for every buildpack |
//! | `process` | [`process`] | children in their own process group, SIGTERM then SIGKILL after a grace, exit codes, output line by line, SIGTERM/SIGINT caught once |
//! | `fs` | [`fs`] | copying, moving and removing trees (links kept as links) |
//! | `http` | [`http`] | HTTP failures described without their URL (`timed out`, not ureq's "Network Error") |
//! | `redact` | [`redact`] | secrets out of logs and errors |
//! | `pg` | [`pg`] | PostgreSQL connections as Heroku gives them (TLS as libpq's `sslmode=require`) |
//! | `tls` | [`tls`] | TLS client configurations: verified, or encrypted only (self-signed servers) |
//! | `cli` | [`cli`] | what every command line shares: shell completions and man pages from its clap definition, exit codes in `--help`, errors as JSON under `--json` |

#[cfg(feature = "classic")]
pub mod classic;
#[cfg(feature = "cli")]
pub mod cli;
#[cfg(feature = "fs")]
pub mod fs;
#[cfg(feature = "http")]
pub mod http;
#[cfg(feature = "output")]
pub mod output;
#[cfg(feature = "pg")]
pub mod pg;
#[cfg(feature = "process")]
pub mod process;
#[cfg(feature = "redact")]
pub mod redact;
pub mod style;
#[cfg(feature = "tls")]
pub mod tls;
