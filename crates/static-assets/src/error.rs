use std::path::PathBuf;

/// Everything that can stop the asset build, each with what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum AssetsError {
    #[error("{0}")]
    Config(String),

    #[error("{file}:{line}: {message}\nFix the JSON in {file}; `node -e 'require(\"./package.json\")'` shows the same error locally.")]
    PackageJson {
        file: String,
        line: usize,
        message: String,
    },

    #[error("`{tool}` is not on PATH, and this app needs it: {why}.\n{hint}")]
    ToolMissing {
        tool: String,
        why: String,
        hint: String,
    },

    #[error("{0}")]
    StepFailed(StepFailure),

    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// A command that ran and failed, with the end of its output and a diagnosis.
#[derive(Debug)]
pub struct StepFailure {
    /// What ran, as the user would type it (`npm run build`).
    pub command: String,
    /// `exit status 2`, `killed by signal 9`.
    pub status: String,
    /// The last lines of its output (already redacted).
    pub tail: Vec<String>,
    /// What went wrong, in one line.
    pub cause: String,
    /// What to do.
    pub hint: String,
}

impl std::fmt::Display for StepFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "`{}` failed ({}): {}",
            self.command, self.status, self.cause
        )?;
        if !self.tail.is_empty() {
            writeln!(f, "\nThe end of its output:")?;
            for line in &self.tail {
                writeln!(f, "  | {line}")?;
            }
            writeln!(f)?;
        }
        write!(f, "{}", self.hint)
    }
}

pub(crate) fn io_at(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> AssetsError + '_ {
    move |source| AssetsError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl From<buildkit::fs::FsError> for AssetsError {
    fn from(e: buildkit::fs::FsError) -> Self {
        AssetsError::Io {
            path: e.path,
            source: e.source,
        }
    }
}
