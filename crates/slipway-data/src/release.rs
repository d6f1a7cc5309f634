//! What other buildpacks hand `slipway/release-phase`, and what it hands the
//! `release-phase` binary.
//!
//! 1. A buildpack asks for a release command in its build plan: `[[requires]]
//!    name = "release-phase"` with [`ReleaseRequest`] as its metadata
//!    (`slipway/static-assets` does, for `collectstatic = "release"`).
//! 2. `slipway/release-phase` writes every request into a [`CommandsFile`] in
//!    its launch layer and points [`COMMANDS_ENV`] at it.
//! 3. `release-phase run` reads the file and runs the commands after
//!    project.toml's `[[com.heroku.phase.release]]` and before the migration.

use serde::{Deserialize, Serialize};

/// The build plan entry name `slipway/release-phase` provides.
pub const PLAN_NAME: &str = "release-phase";

/// The launch variable naming the commands file.
pub const COMMANDS_ENV: &str = "SLIPWAY_RELEASE_COMMANDS";

/// One release command: `[[com.heroku.phase.release]]` in project.toml, an
/// entry of a [`ReleaseRequest`], or a line of the [`CommandsFile`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandEntry {
    pub command: String,
    #[serde(default)]
    pub args: Vec<String>,
    /// Only in the commands file: which buildpack asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// The metadata of a `release-phase` build plan requirement.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseRequest {
    #[serde(default)]
    pub release: Vec<CommandEntry>,
    /// The asking buildpack, named in the release log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// `release-commands.toml` in release-phase's launch layer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandsFile {
    #[serde(default)]
    pub release: Vec<CommandEntry>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_becomes_a_commands_file_line_that_names_its_source() {
        let req: ReleaseRequest = toml::from_str(
            "source = \"slipway/static-assets\"\n[[release]]\ncommand = \"python\"\nargs = [\"manage.py\", \"collectstatic\"]\n",
        )
        .unwrap();
        let file = CommandsFile {
            release: req
                .release
                .iter()
                .map(|c| CommandEntry {
                    source: c.source.clone().or(req.source.clone()),
                    ..c.clone()
                })
                .collect(),
        };
        let text = toml::to_string(&file).unwrap();
        let back: CommandsFile = toml::from_str(&text).unwrap();
        assert_eq!(back, file);
        assert_eq!(
            back.release[0].source.as_deref(),
            Some("slipway/static-assets")
        );
    }
}
