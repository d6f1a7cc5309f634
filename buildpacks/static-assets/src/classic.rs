//! Classic API over the same binary: `bin/compile BUILD CACHE ENV_DIR` keeps
//! node_modules and the last outputs under CACHE/slipway-static-assets, and
//! exports the app's config vars (ENV_DIR) to the build, as Heroku's classic
//! Python buildpack does for collectstatic.

use crate::{build_in, process_env, RELEASE_LINES};
use buildkit::classic::Classic;
use static_assets::Stores;
use std::path::Path;

/// The classic phases (`main` runs the one named by argv[0]).
pub(crate) const CLASSIC: Classic<'static> = Classic {
        name: "Slipway static assets",
        detect: &|app| {
            static_assets::Plan::new(app, &process_env()).is_ok_and(|p| p.detection.any())
        },
        nothing_to_do: "no assets to build (no package.json build script, no gulpfile, no Django app with django.contrib.staticfiles)",
    compile: &compile,
    release: &|_| Ok("--- {}\n".to_string()),
};

fn compile(build_dir: &Path, cache_dir: &Path, env_dir: &Path) -> anyhow::Result<()> {
    let mut env = process_env();
    if let Ok(entries) = std::fs::read_dir(env_dir) {
        for e in entries.filter_map(Result::ok) {
            if let (Some(name), Ok(value)) =
                (e.file_name().to_str(), std::fs::read_to_string(e.path()))
            {
                env.insert(name.to_string(), value);
            }
        }
    }
    // slipway/release-phase, listed earlier, put the heartbeat app here
    // (heroku_autoscale): the app's settings may name it.
    let heartbeat = build_dir.join(".slipway/python");
    if heartbeat.is_dir() {
        let joined = match env.get("PYTHONPATH").filter(|p| !p.is_empty()) {
            Some(p) => format!("{p}:{}", heartbeat.display()),
            None => heartbeat.display().to_string(),
        };
        env.insert("PYTHONPATH".into(), joined);
    }
    let root = cache_dir.join("slipway-static-assets");
    let stores = Stores {
        node: root.join("node"),
        outputs: root.join("outputs"),
    };
    match build_in(
        build_dir,
        &stores,
        &env,
        // heroku-buildpack-nodejs, listed earlier, installs node_modules in
        // the app and runs the build scripts (no opt-out); heroku-buildpack-python
        // may come later and run collectstatic.
        static_assets::Neighbours {
            node_modules_installed: build_dir.join("node_modules").is_dir(),
            node_scripts_ran: build_dir.join("node_modules").is_dir(),
            python_later: true,
        },
        &[],
    ) {
        Ok(outcome) => {
            if outcome.collectstatic_on_release {
                // Classic builds have no build plan to hand the command over with.
                buildkit::output::warning(&format!("collectstatic = \"release\": classic buildpacks cannot hand it to release-phase.\nAdd it to project.toml so `release-phase run` runs it on every release:\n\n{RELEASE_LINES}"));
            }
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}
