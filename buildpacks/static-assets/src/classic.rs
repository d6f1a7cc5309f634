//! Classic API over the same binary: `bin/compile BUILD CACHE ENV_DIR` keeps
//! node_modules and the last outputs under CACHE/slipway-static-assets, and
//! exports the app's config vars (ENV_DIR) to the build, as Heroku's classic
//! Python buildpack does for collectstatic.

use crate::{build_in, process_env, StandIn, RELEASE_LINES};
use buildkit::classic::Classic;
use static_assets::{Plan, PythonNeighbour, Stores};
use std::fmt::Write as _;
use std::path::Path;

/// Said when heroku-buildpack-python ran before us: its collectstatic ran
/// before the assets were compiled here, with no stand-ins.
const WRONG_ORDER: &str = "slipway/static-assets runs after heroku-buildpack-python, which has already run collectstatic: before the assets were compiled here, and without build-time stand-ins (an app whose settings read SECRET_KEY at import fails there). collectstatic runs again here.\nFor one collectstatic that sees the compiled assets, list slipway/static-assets after heroku/nodejs and before heroku/python (`heroku buildpacks` shows the order):\n\n    heroku buildpacks:remove https://slipway-buildpacks.github.io/slipway/v0.1.0/slipway-static-assets.tgz\n    heroku buildpacks:add --index N https://slipway-buildpacks.github.io/slipway/v0.1.0/slipway-static-assets.tgz\n\nwith N the position heroku/python has now.";

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
    // heroku-buildpack-python installs Python into .heroku/python (v351:
    // bin/compile, `python_home`) and runs bin/steps/collectstatic right
    // after its install: if it is there, it ran before us.
    let python_ran = build_dir.join(".heroku/python").is_dir();
    let mut exported = Vec::new();
    if python_ran {
        buildkit::output::warning(WRONG_ORDER);
    } else {
        exported = export_stand_ins(build_dir, &env)?;
    }
    // heroku-buildpack-nodejs, listed earlier, makes .heroku/node first
    // (v363: bin/compile), installs node_modules in the app and runs the
    // build script (no opt-out); an app with no dependencies has no
    // node_modules.
    let node_ran =
        build_dir.join(".heroku/node").is_dir() || build_dir.join("node_modules").is_dir();
    let neighbours = static_assets::Neighbours {
        node_modules_installed: node_ran,
        node_scripts_ran: node_ran,
        // Not there yet: heroku-buildpack-python may come later. On Heroku's
        // stack Django cannot be imported before it, so collectstatic is left
        // to it; where it can (a machine with Django installed), it runs here
        // and the buildpacks after this one are told to skip theirs.
        python: if python_ran {
            PythonNeighbour::NotLater
        } else {
            PythonNeighbour::MaybeLater
        },
        stand_ins_announced: !exported.is_empty(),
    };
    match build_in(build_dir, &stores, &env, neighbours, &exported) {
        Ok(outcome) => {
            if outcome.collected && !python_ran {
                skip_later_collectstatic(&env)?;
            }
            if outcome.collectstatic_on_release {
                // Classic builds have no build plan to hand the command over with.
                buildkit::output::warning(&format!("collectstatic = \"release\": classic buildpacks cannot hand it to release-phase.\nAdd it to project.toml so `release-phase run` runs it on every release:\n\n{RELEASE_LINES}"));
            }
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

/// The build-time stand-ins (declared in project.toml, or found in the
/// settings) for the variables neither the config vars nor the environment
/// set, as `<buildpack>/export`: Heroku sources it for the buildpacks after
/// this one, so heroku-buildpack-python's collectstatic imports the settings.
/// Build only (never in the slug), never over a value: its collectstatic
/// exports the config vars over this environment (v351:
/// bin/steps/collectstatic, `export_env "${ENV_DIR}"`), and a line sets a
/// name only where it is unset. Values are never printed.
fn export_stand_ins(build_dir: &Path, env: &static_assets::Env) -> anyhow::Result<Vec<StandIn>> {
    let Some(dir) = buildkit::classic::buildpack_dir() else {
        return Ok(Vec::new());
    };
    let export = dir.join("export");
    let stand_ins: Vec<(String, String, bool)> = match Plan::new(build_dir, env) {
        Ok(plan) if plan.collect => plan
            .config
            .build_env
            .iter()
            .filter(|(name, _)| !env.contains_key(*name))
            .map(|(name, value)| (name.clone(), value.clone(), plan.inferred.contains(name)))
            .collect(),
        _ => Vec::new(),
    };
    if stand_ins.is_empty() {
        return Ok(Vec::new());
    }
    let mut text = String::from("# Slipway static assets: build-time stand-ins, where unset.\n");
    for (name, value, _) in &stand_ins {
        let quoted = value.replace('\'', "'\\''");
        let _ = writeln!(text, "[ -n \"${{{name}+x}}\" ] || export {name}='{quoted}'");
    }
    std::fs::write(&export, text)
        .map_err(|e| anyhow::anyhow!("writing {}: {e}", export.display()))?;
    Ok(stand_ins
        .into_iter()
        .map(|(name, _, inferred)| StandIn { name, inferred })
        .collect())
}

/// collectstatic ran here, before heroku-buildpack-python: tell the
/// buildpacks after this one `DISABLE_COLLECTSTATIC=1` (through `export`,
/// unless a config var sets it), so it runs once. heroku-buildpack-python
/// honours it (v351: bin/steps/collectstatic).
fn skip_later_collectstatic(env: &static_assets::Env) -> anyhow::Result<()> {
    if env.contains_key("DISABLE_COLLECTSTATIC") {
        return Ok(());
    }
    let Some(dir) = buildkit::classic::buildpack_dir() else {
        return Ok(());
    };
    let export = dir.join("export");
    let mut text = std::fs::read_to_string(&export).unwrap_or_default();
    text.push_str("[ -n \"${DISABLE_COLLECTSTATIC+x}\" ] || export DISABLE_COLLECTSTATIC=1\n");
    std::fs::write(&export, text)
        .map_err(|e| anyhow::anyhow!("writing {}: {e}", export.display()))?;
    buildkit::output::bullet("collectstatic ran here (Django is installed already): heroku-buildpack-python, if it comes later, skips its own (DISABLE_COLLECTSTATIC=1 for the buildpacks after this one)");
    Ok(())
}
