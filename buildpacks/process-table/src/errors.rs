//! Every error `slipway/process-table` shows its user, in one place: a
//! headline, then why and what to do (the Procfile's own diagnostics point at
//! the file and line). The snapshots below are what the build log shows
//! under `ERROR: Slipway process table`.

use procfile::ProcfileError;
use std::fmt;

#[derive(Debug)]
pub(crate) enum BuildpackError {
    /// The Procfile, heroku.yml or project.toml tables do not read.
    Table(ProcfileError),
    /// The table could not be stored in its launch layer.
    Write(std::io::Error),
    /// A type the Procfile crate accepted but libcnb refuses (should not happen: same rule).
    ProcessType(String),
}

impl fmt::Display for BuildpackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Table(e) => write!(f, "The app's process types do not read\n\n{e}"),
            Self::Write(e) => write!(
                f,
                "Could not store the process table\n\n\
                 Writing it into its launch layer failed: {e}\n\
                 The layers directory must be writable by the build user."
            ),
            Self::ProcessType(t) => write!(
                f,
                "Process type `{t}` is not a valid CNB process type\n\n\
                 Rename it using only letters, digits, `.`, `_` and `-`."
            ),
        }
    }
}

impl std::error::Error for BuildpackError {}

impl From<BuildpackError> for libcnb::Error<BuildpackError> {
    fn from(e: BuildpackError) -> Self {
        libcnb::Error::BuildpackError(e)
    }
}

#[cfg(test)]
mod tests {
    use super::BuildpackError;

    fn table(files: &[(&str, &str)]) -> BuildpackError {
        let dir = tempfile::tempdir().expect("a temp dir");
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).expect("written");
        }
        BuildpackError::Table(procfile::load(dir.path()).expect_err("does not read"))
    }

    #[test]
    fn a_procfile_line_without_a_colon() {
        insta::assert_snapshot!(table(&[(
            "Procfile",
            "web: gunicorn app.wsgi\nworker celery -A app worker\n"
        )])
        .to_string());
    }

    #[test]
    fn a_formation_table_with_min_above_max() {
        insta::assert_snapshot!(table(&[
            ("Procfile", "web: gunicorn app.wsgi\n"),
            ("project.toml", "[_]\nschema-version = \"0.2\"\n[_.metadata.slipway.formation.web]\nmin = 3\nmax = 2\n")
        ])
        .to_string());
    }

    #[test]
    fn a_layer_that_cannot_be_written() {
        insta::assert_snapshot!(BuildpackError::Write(std::io::Error::from(
            std::io::ErrorKind::PermissionDenied
        ))
        .to_string());
    }

    #[test]
    fn a_process_type_libcnb_refuses() {
        insta::assert_snapshot!(BuildpackError::ProcessType("web/1".into()).to_string());
    }
}
