//! Slipway's tables in `project.toml` (CNB project descriptor), as far as the
//! process table is concerned: `[_.metadata.slipway.celery]` and
//! `[_.metadata.slipway.formation.<type>]`. Other tables are left alone.

use crate::diagnostic::Diagnostic;
use crate::formation::FormationConfig;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::collections::BTreeMap;

// project.toml down to `[_.metadata.slipway]`; every level may be absent.
#[derive(Default, Deserialize)]
struct Descriptor<S> {
    #[serde(rename = "_", default)]
    underscore: Underscore<S>,
}

#[derive(Default, Deserialize)]
struct Underscore<S> {
    #[serde(default)]
    metadata: Metadata<S>,
}

#[derive(Default, Deserialize)]
struct Metadata<S> {
    #[serde(default)]
    slipway: S,
}

/// `[_.metadata.slipway]` of a project.toml, read as `S`: a crate's struct
/// naming its own tables there (other tables and keys elsewhere are left
/// alone). Absent levels give `S::default()`. A TOML syntax error, a misspelt
/// key or a wrong type becomes a diagnostic naming the line, with `help`.
pub fn slipway_tables<S: DeserializeOwned + Default>(
    file: &str,
    text: &str,
    help: &str,
) -> Result<S, Diagnostic> {
    toml::from_str::<Descriptor<S>>(text)
        .map(|d| d.underscore.metadata.slipway)
        .map_err(|e| Diagnostic::from_toml(file, text, &e).help(help))
}

/// The parts of `[_.metadata.slipway]` this crate owns.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct SlipwayTables {
    pub celery: Option<CeleryConfig>,
    #[serde(default)]
    pub formation: BTreeMap<String, FormationConfig>,
}

/// `[_.metadata.slipway.celery]`: declares a Celery app in the reference layout.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CeleryConfig {
    /// The Celery app module (`celery -A <app>`).
    pub app: String,
    /// The WSGI callable for the generated `web` type; default `<app>.wsgi`.
    pub wsgi: Option<String>,
}

impl CeleryConfig {
    pub fn wsgi(&self) -> String {
        self.wsgi
            .clone()
            .unwrap_or_else(|| format!("{}.wsgi", self.app))
    }
}

/// Parse `project.toml`. A TOML syntax error, a misspelt key or a wrong type
/// becomes a diagnostic naming the line.
pub fn parse(file: &str, text: &str) -> Result<SlipwayTables, Diagnostic> {
    slipway_tables(
        file,
        text,
        "see crates/procfile/SPEC.md for the `[_.metadata.slipway]` tables and their keys",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_celery_and_formation_tables_and_ignores_others() {
        let t = parse(
            "project.toml",
            "[_]\nschema-version = \"0.2\"\n[io.buildpacks]\nexclude = [\"docs\"]\n[_.metadata.slipway.celery]\napp = \"refapp\"\n[_.metadata.slipway.formation.worker_general]\nsize = \"standard-2x\"\nmax = 4\n[_.metadata.slipway.assets]\nanything = 1\n",
        )
        .unwrap();
        assert_eq!(t.celery.unwrap().wsgi(), "refapp.wsgi");
        assert_eq!(t.formation["worker_general"].max, Some(4));
    }

    #[test]
    fn a_misspelt_key_names_its_line() {
        let d = parse(
            "project.toml",
            "[_.metadata.slipway.formation.web]\nsize = \"basic\"\nmaximum = 3\n",
        )
        .unwrap_err();
        assert_eq!(d.location(), "project.toml:3");
        assert!(
            d.message.contains("unknown field `maximum`"),
            "{}",
            d.message
        );
    }

    #[test]
    fn a_toml_syntax_error_names_its_line() {
        let d = parse(
            "project.toml",
            "[_]\nschema-version = \"0.2\"\n[_.metadata.slipway.celery\n",
        )
        .unwrap_err();
        assert_eq!(d.line, 3);
    }
}
