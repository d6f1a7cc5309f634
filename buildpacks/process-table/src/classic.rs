//! The classic buildpack API over the same binary: `bin/compile` and
//! `bin/release` are links to it, and `bin/detect` called classically (one
//! argument, no CNB environment) is told apart from the CNB call.
//!
//! heroku-buildpack-multi (`.buildpacks`) only runs classic buildpacks.

use crate::{load_and_report, TABLE_FILE};
use procfile::render;
use std::path::Path;

/// Runs the classic phase named by argv[0], or returns None for the CNB API.
pub(crate) fn dispatch() -> Option<i32> {
    classic_api::dispatch(&classic_api::Classic {
        name: "Slipway process table",
        detect: &procfile::has_process_sources,
        compile: &|build_dir, _cache, _env| compile(build_dir),
        release: &release,
    })
}

fn compile(build_dir: &Path) -> i32 {
    let table = match load_and_report(build_dir) {
        Ok(t) => t,
        Err(e) => {
            build_output::error("Slipway process table", &e.to_string());
            return 1;
        }
    };
    let dir = build_dir.join(".slipway");
    let profile_d = build_dir.join(".profile.d");
    let written = std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::write(dir.join(TABLE_FILE), render::metadata_toml(&table)))
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
        build_output::error(
            "Slipway process table",
            &format!("could not write {}: {e}", dir.display()),
        );
        return 1;
    }
    build_output::bullet(&format!(
        "Formation metadata: ${} (.slipway/{TABLE_FILE})",
        procfile::TABLE_PATH_ENV
    ));
    0
}

fn release(build_dir: &Path) -> i32 {
    match procfile::load(build_dir) {
        Ok(loaded) => {
            print!("{}", render::classic_release_yaml(&loaded.table));
            0
        }
        Err(e) => {
            eprintln!("{e}");
            1
        }
    }
}
