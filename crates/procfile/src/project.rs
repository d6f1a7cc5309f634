//! Slipway's tables in `project.toml` that the process table reads
//! (`[_.metadata.slipway.celery]`, `[_.metadata.slipway.formation.<type>]`),
//! through `slipway-data`, and TOML errors as diagnostics that point at the line.

use crate::Diagnostic;
use slipway_data::{CeleryTable, FormationTable, Project, TomlError};
use std::collections::BTreeMap;

/// The parts of `[_.metadata.slipway]` this crate owns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct SlipwayTables {
    pub(crate) celery: Option<CeleryTable>,
    pub(crate) formation: BTreeMap<String, FormationTable>,
}

/// Read this crate's tables. A misspelt key or a wrong type becomes a
/// diagnostic naming the line.
pub(crate) fn parse(project: &Project) -> Result<SlipwayTables, Diagnostic> {
    let help = "see crates/procfile/SPEC.md for the `[_.metadata.slipway]` tables and their keys";
    let diagnostic = |e: TomlError| Diagnostic::from_toml(&e).help(help);
    Ok(SlipwayTables {
        celery: project.celery().map_err(diagnostic)?,
        formation: project.formation().map_err(diagnostic)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_text(text: &str) -> Result<SlipwayTables, Diagnostic> {
        let project =
            Project::parse("project.toml", text).map_err(|e| Diagnostic::from_toml(&e))?;
        parse(&project)
    }

    #[test]
    fn reads_celery_and_formation_tables_and_ignores_others() {
        let t = parse_text(
            "[_]\nschema-version = \"0.2\"\n[io.buildpacks]\nexclude = [\"docs\"]\n[_.metadata.slipway.celery]\napp = \"refapp\"\n[_.metadata.slipway.formation.worker_general]\nsize = \"standard-2x\"\nmax = 4\n[_.metadata.slipway.assets]\nanything = 1\n",
        )
        .unwrap();
        assert_eq!(t.celery.unwrap().wsgi(), "refapp.wsgi");
        assert_eq!(t.formation["worker_general"].max, Some(4));
    }

    #[test]
    fn a_misspelt_key_names_its_line() {
        let d = parse_text("[_.metadata.slipway.formation.web]\nsize = \"basic\"\nmaximum = 3\n")
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
        let d =
            parse_text("[_]\nschema-version = \"0.2\"\n[_.metadata.slipway.celery\n").unwrap_err();
        assert_eq!(d.line, 3);
    }
}
