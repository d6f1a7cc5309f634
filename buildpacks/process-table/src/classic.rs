//! The classic buildpack API over the same binary: `bin/compile` and
//! `bin/release` are links to it, and `bin/detect` called classically (one
//! argument, no CNB environment) is told apart from the CNB call.
//!
//! heroku-buildpack-multi (`.buildpacks`) only runs classic buildpacks.

use crate::{load_and_report, TABLE_FILE};
use buildkit::classic::Classic;
use std::path::Path;

/// The classic phases (`main` runs the one named by argv[0]).
pub(crate) const CLASSIC: Classic<'static> = Classic {
        name: "Slipway process table",
        detect: &procfile::has_process_sources,
        nothing_to_do: "the app declares no processes (no Procfile, heroku.yml run: or [_.metadata.slipway.celery] in project.toml)",
    compile: &|build_dir, _cache, _env| compile(build_dir),
    release: &release,
};

fn compile(build_dir: &Path) -> anyhow::Result<()> {
    let table = load_and_report(build_dir)?;
    let dir = build_dir.join(".slipway");
    let profile_d = build_dir.join(".profile.d");
    let written = std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::write(dir.join(TABLE_FILE), table.metadata_toml()))
        .and_then(|()| std::fs::create_dir_all(&profile_d))
        .and_then(|()| {
            std::fs::write(
                profile_d.join("slipway-process-table.sh"),
                format!(
                    "export {}=\"$HOME/.slipway/{TABLE_FILE}\"\n",
                    procfile::TABLE_PATH_ENV
                ),
            )
        });
    if let Err(e) = written {
        return Err(anyhow::anyhow!("could not write {}: {e}", dir.display()));
    }
    buildkit::output::bullet(&format!(
        "Formation metadata: ${} (.slipway/{TABLE_FILE})",
        procfile::TABLE_PATH_ENV
    ));
    let wanted: Vec<(String, String)> = table
        .processes
        .iter()
        .map(|p| (p.name.clone(), p.command.clone()))
        .collect();
    match procfile::append_missing(build_dir, &wanted) {
        Ok(added) => report_added(&added, "generated from project.toml"),
        Err(e) => {
            return Err(anyhow::anyhow!(
                "could not add process types to the slug's Procfile: {e}"
            ))
        }
    }
    Ok(())
}

/// Say which types went into the slug's Procfile, and why.
pub(crate) fn report_added(added: &[(String, String)], origin: &str) {
    if added.is_empty() {
        return;
    }
    buildkit::output::bullet(&format!(
        "Added to the slug's Procfile ({origin}): {}",
        added
            .iter()
            .map(|(n, _)| n.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    ));
    buildkit::output::block(
        "Classic Heroku takes process types from the slug's Procfile and from the\n\
         last buildpack's bin/release only; in the Procfile they reach the release\n\
         wherever this buildpack is listed. Lines you wrote are never changed.",
    );
}

fn release(build_dir: &Path) -> anyhow::Result<String> {
    procfile::load(build_dir)
        .map(|loaded| loaded.table.classic_release_yaml())
        .map_err(anyhow::Error::from)
}
