//! `[_.metadata.slipway.assets]` in project.toml (see SPEC.md).

use crate::error::AssetsError;
use procfile::Diagnostic;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// When collectstatic runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Collectstatic {
    /// During the build (the default): the slug carries the collected files.
    #[default]
    Build,
    /// On every release, through slipway/release-phase: for storages that need
    /// runtime config vars (S3 and the like).
    Release,
    /// Never.
    Off,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct AssetsConfig {
    /// Build-time stand-ins for settings that demand runtime secrets.
    #[serde(default)]
    pub build_env: BTreeMap<String, String>,
    /// Globs (gitignore-style, relative to the app) of the files whose content
    /// decides whether assets are rebuilt. Default: every file of the app but
    /// node_modules, .git and Python bytecode.
    #[serde(default)]
    pub inputs: Vec<String>,
    #[serde(default)]
    pub collectstatic: Collectstatic,
}

/// The part of `[_.metadata.slipway]` this crate reads.
#[derive(Deserialize, Default)]
struct Slipway {
    #[serde(default)]
    assets: AssetsConfig,
}

impl AssetsConfig {
    /// Read the app's project.toml; no file means the defaults.
    pub fn load(app_dir: &Path) -> Result<Self, AssetsError> {
        match app_files::read_to_string(app_dir, "project.toml") {
            Ok(Some(text)) => Self::parse("project.toml", &text),
            Ok(None) => Ok(Self::default()),
            Err(e) => Err(AssetsError::Io {
                path: app_dir.join("project.toml"),
                source: std::io::Error::other(e.to_string()),
            }),
        }
    }

    pub fn parse(file: &str, text: &str) -> Result<Self, AssetsError> {
        let config = procfile::project::slipway_tables::<Slipway>(
            file,
            text,
            "see crates/static-assets/SPEC.md: [_.metadata.slipway.assets] takes build-env (a table of strings), inputs (a list of globs) and collectstatic (\"build\", \"release\" or \"off\")",
        )
        .map(|s| s.assets)
        .map_err(|d| AssetsError::Config(d.render()))?;
        for pattern in &config.inputs {
            globset::Glob::new(pattern).map_err(|e| {
                let line = text
                    .lines()
                    .position(|l| l.contains(pattern.as_str()))
                    .map_or(0, |i| i + 1);
                let src = text.lines().nth(line.saturating_sub(1)).unwrap_or("");
                AssetsError::Config(
                    Diagnostic::error(
                        file,
                        line,
                        src,
                        format!(
                            "{file}: inputs: `{pattern}` is not a valid glob: {}",
                            e.kind()
                        ),
                    )
                    .pointing_at(pattern)
                    .help("use `*`, `**`, `?` and `[...]`, e.g. \"assets/**\"")
                    .render(),
                )
            })?;
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_apply_without_the_table() {
        let c = AssetsConfig::parse("project.toml", "[_]\nschema-version = \"0.2\"\n").unwrap();
        assert_eq!(c, AssetsConfig::default());
        assert_eq!(c.collectstatic, Collectstatic::Build);
    }

    #[test]
    fn reads_placeholders_inputs_and_collectstatic() {
        let c = AssetsConfig::parse(
            "project.toml",
            "[_.metadata.slipway.assets]\nbuild-env = { SECRET_KEY = \"x\", DATABASE_URL = \"sqlite:///:memory:\" }\ninputs = [\"assets/**\"]\ncollectstatic = \"release\"\n[_.metadata.slipway.celery]\napp = \"a\"\n",
        )
        .unwrap();
        assert_eq!(c.build_env["SECRET_KEY"], "x");
        assert_eq!(c.inputs, ["assets/**"]);
        assert_eq!(c.collectstatic, Collectstatic::Release);
    }

    #[test]
    fn a_wrong_value_names_the_line() {
        let e = AssetsConfig::parse(
            "project.toml",
            "[_]\nid = \"a\"\n[_.metadata.slipway.assets]\ncollectstatic = \"sometimes\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("project.toml:4"), "{e}");
        assert!(e.contains("unknown variant `sometimes`"), "{e}");
    }

    #[test]
    fn a_misspelt_key_and_a_bad_glob_name_their_lines() {
        let e = AssetsConfig::parse(
            "project.toml",
            "[_.metadata.slipway.assets]\nbuild_env = {}\n",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("project.toml:2") && e.contains("unknown field `build_env`"),
            "{e}"
        );
        let e = AssetsConfig::parse(
            "project.toml",
            "[_.metadata.slipway.assets]\n\ninputs = [\"assets/[a\"]\n",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("project.toml:3") && e.contains("not a valid glob"),
            "{e}"
        );
    }
}
