//! The classic buildpack API over the same binary: `bin/compile` and
//! `bin/release` are links to it, and `bin/detect` called classically (one
//! argument, no CNB environment) is told apart from the CNB call.
//!
//! heroku-buildpack-multi (`.buildpacks`) only runs classic buildpacks.

use crate::{load_and_report, TABLE_FILE};
use procfile::render;
use std::path::{Path, PathBuf};

/// Runs the classic phase named by argv[0], or returns None for the CNB API.
pub(crate) fn dispatch() -> Option<i32> {
    let args: Vec<PathBuf> = std::env::args_os().map(PathBuf::from).collect();
    let phase = args.first()?.file_name()?.to_str()?.to_string();
    let cnb = std::env::var_os("CNB_PLATFORM_DIR").is_some()
        || std::env::var_os("CNB_BUILDPACK_DIR").is_some();
    match (phase.as_str(), args.len()) {
        ("compile", 4) => Some(compile(&args[1])),
        ("release", 2) => Some(release(&args[1])),
        ("detect", 2) if !cnb => Some(detect(&args[1])),
        ("compile" | "release", _) => {
            eprintln!("usage: bin/compile BUILD_DIR CACHE_DIR ENV_DIR | bin/release BUILD_DIR");
            Some(2)
        }
        _ => None,
    }
}

fn detect(build_dir: &Path) -> i32 {
    if procfile::has_process_sources(build_dir) {
        println!("Slipway process table");
        0
    } else {
        1
    }
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
