//! Every error `slipway/static-assets` shows its user, in one place: a
//! headline, then why and what to do (`static_assets::AssetsError` carries the
//! file, line or command, the end of its output and a diagnosis). The
//! snapshots below are what the build log shows under
//! `ERROR: Slipway static assets`.

use static_assets::AssetsError;
use std::fmt;

#[derive(Debug)]
pub(crate) struct Failed(pub AssetsError);

impl fmt::Display for Failed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headline = match &self.0 {
            AssetsError::Config(_) => "The asset settings in project.toml do not read",
            AssetsError::PackageJson { .. } => "package.json is not valid JSON",
            AssetsError::ToolMissing { .. } => "A tool the asset build needs is missing",
            AssetsError::StepFailed(_) => "The asset build failed",
            AssetsError::Io { .. } => "Could not read or write the app's files",
        };
        write!(f, "{headline}\n\n{}", self.0)
    }
}

impl From<Failed> for libcnb::Error<Failed> {
    fn from(e: Failed) -> Self {
        libcnb::Error::BuildpackError(e)
    }
}

#[cfg(test)]
mod tests {
    use super::Failed;
    use static_assets::{AssetsError, Env, Plan};

    /// What planning the build of an app made of `files` fails with.
    fn planning(files: &[(&str, &str)]) -> Failed {
        let dir = tempfile::tempdir().expect("a temp dir");
        for (name, text) in files {
            std::fs::write(dir.path().join(name), text).expect("written");
        }
        match Plan::new(dir.path(), &Env::new()) {
            Ok(_) => panic!("{files:?} planned"),
            Err(e) => Failed(e),
        }
    }

    #[test]
    fn an_unknown_asset_setting() {
        insta::assert_snapshot!(planning(&[(
            "project.toml",
            "[_]\nschema-version = \"0.2\"\n[_.metadata.slipway.assets]\ncolectstatic = \"build\"\n"
        )])
        .to_string());
    }

    #[test]
    fn a_package_json_that_is_not_json() {
        insta::assert_snapshot!(planning(&[(
            "package.json",
            "{\n  \"name\": \"app\",\n  \"scripts\": { \"build\": \"gulp\" },\n}\n"
        )])
        .to_string());
    }

    #[test]
    fn a_missing_tool() {
        insta::assert_snapshot!(Failed(AssetsError::ToolMissing {
            tool: "node".into(),
            why: "package.json has a `build` script".into(),
            hint: "Add heroku/nodejs before slipway/static-assets in your buildpack order.".into(),
        })
        .to_string());
    }

    #[test]
    fn a_build_step_that_fails() {
        insta::assert_snapshot!(Failed(AssetsError::StepFailed(
            static_assets::StepFailure {
                command: "npm run build".into(),
                status: "exit status 2".into(),
                tail: vec!["Error: Cannot find module 'gulp'".into()],
                cause: "a module the build needs is not installed".into(),
                hint: "Add it to package.json's dependencies (or devDependencies: they are installed for the build).".into(),
            }
        ))
        .to_string());
    }

    #[test]
    fn a_file_that_cannot_be_written() {
        insta::assert_snapshot!(Failed(AssetsError::Io {
            path: "staticfiles/app.css".into(),
            source: std::io::Error::from(std::io::ErrorKind::PermissionDenied)
        })
        .to_string());
    }
}
