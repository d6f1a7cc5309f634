//! Classic API over the same binary (see buildpacks/process-table/src/classic.rs):
//! compile copies `release-phase` into the app and puts it on PATH through
//! `.profile.d`; release prints the process table plus `release: release-phase run`.

use crate::{check_and_report, has_release_work, AUTOSCALE_COMMAND, RELEASE_COMMAND};
use buildkit::classic::Classic;
use std::path::Path;

/// The classic phases (`main` runs the one named by argv[0]).
pub(crate) const CLASSIC: Classic<'static> = Classic {
        name: "Slipway release phase",
        detect: &has_release_work,
        nothing_to_do: "nothing to run on release (no manage.py, bin/rails, [[com.heroku.phase.release]] or [_.metadata.slipway.release] in project.toml)",
    compile: &|build_dir, _cache, _env| compile(build_dir),
    release: &|build_dir| Ok(release(build_dir)),
};

fn compile(build_dir: &Path) -> anyhow::Result<()> {
    if let Err(e) = check_and_report(build_dir, &procfile::declared(build_dir)) {
        return Err(anyhow::anyhow!("{e}"));
    }
    // The buildpack's own binary lives beside bin/: <buildpack>/.libcnb-cargo/additional-bin/release-phase.
    let me = std::env::current_exe().ok();
    let source = me
        .as_deref()
        .and_then(Path::parent)
        .and_then(Path::parent)
        .map(|bp| bp.join(".libcnb-cargo/additional-bin/release-phase"));
    let bin = build_dir.join(".slipway/bin");
    let installed = source
        .ok_or_else(|| std::io::Error::other("cannot locate the buildpack directory"))
        .and_then(|src| {
            std::fs::create_dir_all(&bin)?;
            std::fs::copy(src, bin.join("release-phase"))?;
            std::fs::create_dir_all(build_dir.join(".profile.d"))?;
            crate::heartbeat_app::install(&build_dir.join(".slipway/python"))?;
            std::fs::write(
                build_dir.join(".profile.d/slipway-release-phase.sh"),
                "export PATH=\"$HOME/.slipway/bin:$PATH\"\nexport PYTHONPATH=\"${PYTHONPATH:+$PYTHONPATH:}$HOME/.slipway/python\"\n",
            )
        });
    if let Err(e) = installed {
        return Err(anyhow::anyhow!(
            "could not install the release-phase binary: {e}"
        ));
    }
    buildkit::output::bullet("Installed release-phase on PATH (.slipway/bin, via .profile.d)");
    crate::install_docs(&bin);
    // Buildpacks after this one (heroku-buildpack-python's collectstatic) import
    // the app's settings: multi-buildpack setups source `<buildpack>/export`.
    if let Some(bp) = me.as_deref().and_then(Path::parent).and_then(Path::parent) {
        let line = format!(
            "export PYTHONPATH=\"${{PYTHONPATH:+$PYTHONPATH:}}{}\"\n",
            build_dir.join(".slipway/python").display()
        );
        // A read-only buildpack directory only loses the build-time import.
        let _ = std::fs::write(bp.join("export"), line);
    }
    buildkit::output::bullet(
        "Heartbeat endpoint: the `heroku_autoscale` Django app on PYTHONPATH (.slipway/python)",
    );
    let wanted = [
        ("release".to_string(), RELEASE_COMMAND.to_string()),
        ("autoscale".to_string(), AUTOSCALE_COMMAND.to_string()),
    ];
    match procfile::append_missing(build_dir, &wanted) {
        Ok(added) if added.is_empty() => {}
        Ok(added) => {
            for (name, command) in &added {
                buildkit::output::bullet(&format!(
                    "Added to the slug's Procfile: {name}: {command}"
                ));
            }
            buildkit::output::block(
                "Classic Heroku runs the release phase only for a `release` type in the\n\
                 slug's Procfile (buildpacks' defaults count only from the last one listed).\n\
                 `autoscale` stays at 0 dynos until you scale it: heroku ps:scale autoscale=1",
            );
        }
        Err(e) => {
            return Err(anyhow::anyhow!(
                "could not add release and autoscale to the slug's Procfile: {e}"
            ));
        }
    }
    Ok(())
}

/// heroku-buildpack-multi keeps only the last buildpack's bin/release: print
/// the whole process table (if the app declares one) plus `release`.
fn release(build_dir: &Path) -> String {
    let mut table = procfile::load(build_dir)
        .map(|l| l.table)
        .unwrap_or_default();
    if procfile::declared(build_dir).command("release").is_none() && table.get("release").is_none()
    {
        table.processes.push(procfile::Process {
            name: "release".into(),
            command: RELEASE_COMMAND.into(),
            origin: procfile::Origin::Procfile { line: 0 },
            formation: procfile::Formation::platform_default("release"),
            celery: None,
        });
    }
    if table.get("autoscale").is_none() {
        table.processes.push(procfile::Process {
            name: "autoscale".into(),
            command: AUTOSCALE_COMMAND.into(),
            origin: procfile::Origin::Procfile { line: 0 },
            formation: procfile::Formation::platform_default("autoscale")
                .singleton("the autoscaler: one instance, never scaled by itself"),
            celery: None,
        });
    }
    table.classic_release_yaml()
}
