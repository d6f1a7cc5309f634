//! Every error `slipway/release-phase` shows its user at build time, in one
//! place: a headline, then why and what to do (the configuration's own
//! errors name the file and line). The snapshots below are what the build
//! log shows under `ERROR: Slipway release phase`.

use std::fmt;

#[derive(Debug)]
pub(crate) enum BuildpackError {
    /// The release plan (project.toml, the detected migration) does not read.
    Config(release_phase::ReleaseError),
    /// The binary, its heartbeat app or its man pages could not be installed in their layer.
    Install(std::io::Error),
    /// Another buildpack's build plan asked for a release command in a form not understood.
    BadPlanEntry(String),
}

impl fmt::Display for BuildpackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Config(e) => write!(f, "The release configuration is invalid\n\n{e}"),
            Self::Install(e) => write!(
                f,
                "Could not install the release-phase binary\n\n\
                 Writing it into its launch layer failed: {e}\n\
                 The layers directory must be writable by the build user."
            ),
            Self::BadPlanEntry(e) => write!(
                f,
                "A buildpack asked for a release command in a form release-phase does not understand\n\n\
                 {e}\n\
                 Expected `[requires.metadata] release = [{{ command = \"...\", args = [...] }}]` \
                 (heroku/buildpacks-release-phase's form)."
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

    fn config(project_toml: &str) -> BuildpackError {
        let dir = tempfile::tempdir().expect("a temp dir");
        std::fs::write(dir.path().join("project.toml"), project_toml).expect("written");
        BuildpackError::Config(
            release_phase::load(dir.path(), &|_| None).expect_err("does not read"),
        )
    }

    #[test]
    fn an_unknown_release_setting() {
        insta::assert_snapshot!(config(
            "[_]\nschema-version = \"0.2\"\n[_.metadata.slipway.release]\nlock-timout = 600\n"
        )
        .to_string());
    }

    #[test]
    fn a_release_command_without_a_command() {
        insta::assert_snapshot!(config(
            "[_]\nschema-version = \"0.2\"\n[[com.heroku.phase.release]]\nargs = [\"-c\", \"true\"]\n"
        )
        .to_string());
    }

    #[test]
    fn a_layer_that_cannot_be_written() {
        insta::assert_snapshot!(BuildpackError::Install(std::io::Error::from(
            std::io::ErrorKind::PermissionDenied
        ))
        .to_string());
    }

    #[test]
    fn a_plan_entry_in_another_form() {
        // What another buildpack's `[requires.metadata]` said: a string, not commands.
        let metadata: toml::Table = toml::from_str("release = \"bin/release\"").expect("TOML");
        let e = toml::Value::Table(metadata)
            .try_into::<crate::ReleaseRequest>()
            .expect_err("not a list of commands");
        insta::assert_snapshot!(BuildpackError::BadPlanEntry(e.to_string()).to_string());
    }
}
