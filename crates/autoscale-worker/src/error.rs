//! Why the worker cannot start: its configuration, named so it can be fixed.

use autoscale::SettingError;

/// The crate's one error: a configuration the worker refuses to start with
/// (the release-phase binary exits 1).
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    /// An `AUTOSCALE_*` variable.
    #[error(transparent)]
    Setting(#[from] SettingError),
    /// The app's process table (Procfile, heroku.yml, project.toml).
    #[error(transparent)]
    Processes(#[from] procfile::ProcfileError),
    /// A probe's setting (heartbeat URL, management API URL).
    #[error(transparent)]
    Probe(#[from] autoscale_probes::ProbeError),
    /// `[_.metadata.slipway.autoscale]`, a variable, or settings that do not
    /// fit together: the message names which and what to do.
    #[error("{0}")]
    Config(String),
}
