//! `[_.metadata.slipway.assets]` in project.toml (see SPEC.md).

use crate::error::AssetsError;
use slipway_data::Diagnostic;
use slipway_data::{Project, ReadError};
use std::path::Path;

pub(crate) use slipway_data::AssetsTable as AssetsConfig;
pub(crate) use slipway_data::Collectstatic;

const HELP: &str = "see crates/static-assets/SPEC.md: [_.metadata.slipway.assets] takes build-env (a table of strings), inputs (a list of globs) and collectstatic (\"build\", \"release\" or \"off\")";

/// Read the app's project.toml; no file means the defaults.
pub(crate) fn load(app_dir: &Path) -> Result<AssetsConfig, AssetsError> {
    match Project::read(app_dir) {
        Ok(Some(project)) => check(&project),
        Ok(None) => Ok(AssetsConfig::default()),
        Err(ReadError::Toml(e)) => Err(toml_error(&e)),
        Err(ReadError::AppFile(e)) => Err(AssetsError::Config(e.to_string())),
    }
}

/// A TOML error in project.toml, pointing at its line.
fn toml_error(e: &slipway_data::TomlError) -> AssetsError {
    AssetsError::Config(Diagnostic::from_toml(e).help(HELP).render())
}

/// `text`, read from `file` (named in errors).
#[cfg(test)]
fn parse(file: &str, text: &str) -> Result<AssetsConfig, AssetsError> {
    let project = Project::parse(file, text).map_err(|e| toml_error(&e))?;
    check(&project)
}

/// The table, every `inputs` glob valid.
fn check(project: &Project) -> Result<AssetsConfig, AssetsError> {
    let file = project.file();
    let config = project.assets().map_err(|e| toml_error(&e))?;
    for pattern in &config.inputs {
        globset::Glob::new(pattern).map_err(|e| {
            let (line, src) = project.line_of(pattern);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_apply_without_the_table() {
        let c = parse("project.toml", "[_]\nschema-version = \"0.2\"\n").unwrap();
        assert_eq!(c, AssetsConfig::default());
        assert_eq!(c.collectstatic, Collectstatic::Build);
    }

    #[test]
    fn reads_placeholders_inputs_and_collectstatic() {
        let c = parse(
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
        let e = parse(
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
        let e = parse(
            "project.toml",
            "[_.metadata.slipway.assets]\nbuild_env = {}\n",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("project.toml:2") && e.contains("unknown field `build_env`"),
            "{e}"
        );
        let e = parse(
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
