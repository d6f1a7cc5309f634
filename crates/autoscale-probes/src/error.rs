//! Why a probe could not measure, or a probe's setting is wrong.

/// The crate's one error. Measurements that fail become "unknown" with this
/// error's text (the worker holds the types that depend on them).
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// A setting (a variable named in the message) is wrong: fix it.
    #[error("{0}")]
    Config(String),
    /// The broker could not be reached, or the connection broke.
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// The broker answered something we did not expect.
    #[error("{0}")]
    Protocol(String),
}

impl ProbeError {
    pub(crate) fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> Self {
        let what = what.into();
        move |source| Self::Io { what, source }
    }
}
