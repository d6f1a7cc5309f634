//! Every error `slipway/slugignore` shows its user, in one place: a
//! headline, then why and what to do (the crates' own messages carry the
//! file and line). The snapshots below are what the build log shows under
//! `ERROR: Slipway .slugignore`.

use std::fmt;

#[derive(Debug)]
pub(crate) enum SlugignoreError {
    /// `.slugignore` could not be read safely (a link out of the app, not a file).
    ReadRules(app_files::AppFileError),
    /// A `.slugignore` line (or a project.toml exclude) Heroku would not apply as written.
    Rules(slug::SlugError),
    /// project.toml could not be read (classic builds apply its `exclude`).
    Project(slipway_data::ReadError),
    /// Removing the matched files failed part way.
    Remove(slug::SlugError),
}

impl fmt::Display for SlugignoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (headline, detail): (&str, &dyn fmt::Display) = match self {
            Self::ReadRules(e) => ("Could not read .slugignore", e),
            Self::Rules(e) => (".slugignore has a line it cannot apply", e),
            Self::Project(e) => ("Could not read project.toml's [io.buildpacks] exclude", e),
            Self::Remove(e) => ("Could not remove what .slugignore matches", e),
        };
        write!(f, "{headline}\n\n{detail}")
    }
}

impl std::error::Error for SlugignoreError {}

#[cfg(test)]
mod tests {
    use super::SlugignoreError;
    use std::path::PathBuf;

    #[test]
    fn a_negation_line() {
        insta::assert_snapshot!(SlugignoreError::Rules(slug::SlugError::Negation {
            line: 3,
            pattern: "!keep.log".into()
        })
        .to_string());
    }

    #[test]
    fn a_pattern_outside_the_app() {
        insta::assert_snapshot!(SlugignoreError::Rules(slug::SlugError::OutsideApp {
            line: 1,
            pattern: "../secrets".into()
        })
        .to_string());
    }

    #[test]
    fn a_link_out_of_the_app() {
        insta::assert_snapshot!(
            SlugignoreError::ReadRules(app_files::AppFileError::OutsideApp {
                path: PathBuf::from(".slugignore"),
                target: PathBuf::from("/etc/passwd")
            })
            .to_string()
        );
    }

    #[test]
    fn a_project_toml_syntax_error() {
        let e =
            slipway_data::Project::parse("project.toml", "[io.buildpacks\n").expect_err("not TOML");
        insta::assert_snapshot!(
            SlugignoreError::Project(slipway_data::ReadError::Toml(e)).to_string()
        );
    }

    #[test]
    fn a_removal_that_fails() {
        insta::assert_snapshot!(SlugignoreError::Remove(slug::SlugError::Io {
            path: PathBuf::from("logs/big.log"),
            source: std::io::Error::from(std::io::ErrorKind::PermissionDenied)
        })
        .to_string());
    }
}
