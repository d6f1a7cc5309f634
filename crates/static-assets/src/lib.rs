//! Static assets at build time (see SPEC.md): the app's Node build and
//! Django's collectstatic, run with a build-safe environment, skipped
//! entirely when the inputs are unchanged (the previous output is restored
//! from the cache), node_modules kept in the cache and out of the image, and
//! an asset manifest written into the app.
//!
//! No libcnb here: the CNB buildpack and the classic `bin/compile` give this
//! crate the app directory, two cache directories and the environment.

mod config;
mod detect;
mod digest;
mod django;
mod error;
mod node;
mod run;
mod stand_ins;

pub(crate) use config::AssetsConfig;
use config::Collectstatic;
pub use detect::NodeProject;
pub(crate) use detect::{detect, Detection};
pub use error::{AssetsError, StepFailure};
pub use run::Env;

use buildkit::redact::Redactor;
use digest::{Inputs, Snapshot};
use error::io_at;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// The asset manifest, in the app (so in the image).
pub(crate) const MANIFEST: &str = ".slipway/asset-manifest.json";

/// Directories kept between builds.
#[derive(Debug, Clone)]
pub struct Stores {
    /// node_modules and the package manager's download cache.
    pub node: PathBuf,
    /// The last build's outputs, its inputs and its manifest.
    pub outputs: PathBuf,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct ManifestEntry {
    pub(crate) path: String,
    pub(crate) size: u64,
    pub(crate) sha256: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct Manifest {
    pub(crate) generator: String,
    /// sha256 over the inputs that produced these files.
    pub(crate) inputs: String,
    pub(crate) files: Vec<ManifestEntry>,
}

#[derive(Debug)]
pub struct Outcome {
    /// `collectstatic = "release"` for a Django app: the caller hands the command on.
    pub collectstatic_on_release: bool,
    /// collectstatic ran (or its outputs were restored) here.
    pub collected: bool,
}

fn facts(
    config: &AssetsConfig,
    env: &Env,
    tools: Option<&node::Toolchain>,
    python_version: Option<String>,
    collect: bool,
) -> std::collections::BTreeMap<String, String> {
    let mut f = std::collections::BTreeMap::new();
    if let Some(t) = tools {
        f.insert("node".into(), t.node_version.clone());
        f.insert(
            "package manager".into(),
            format!("{} {}", t.manager.display(), t.manager_version),
        );
    }
    if let Some(v) = python_version {
        f.insert("python".into(), v);
    }
    f.insert(
        "collectstatic".into(),
        if collect { "yes" } else { "no" }.into(),
    );
    // Variables that change what the build writes. Values are hashed: some may be secrets.
    let mut names: Vec<&str> = config.build_env.keys().map(String::as_str).collect();
    names.extend(["NODE_ENV", "DJANGO_SETTINGS_MODULE"]);
    for name in names {
        let value = env.get(name).or_else(|| config.build_env.get(name));
        if let Some(v) = value {
            f.insert(
                format!("${name}"),
                digest::hex(&Sha256::digest(v))[..12].to_string(),
            );
        }
    }
    f
}

/// The Python interpreter and the distributions it can import, as one fact:
/// `3.11.7, 110 packages 1a2b3c4d5e6f`. An unpinned requirement that resolves
/// to a new release changes it (collectstatic copies packages' own static files).
fn python_fingerprint(python: &Path, env: &Env) -> Option<String> {
    // `-S` (no site import) starts in a quarter of the time; the site
    // directories are derived below the way `site` would.
    let out = std::process::Command::new(python)
        .args([
            "-S",
            "-c",
            "import sys; print('%d.%d' % sys.version_info[:2]); print(sys.version.split()[0]); print(sys.prefix); print(sys.base_prefix); print(*sys.path, sep='\\n')",
        ])
        .env_clear()
        .envs(env)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    let minor = lines.next()?.trim().to_string();
    let version = lines.next()?.trim().to_string();
    let site = |base: &str| format!("{base}/lib/python{minor}/site-packages");
    let mut dirs: Vec<String> = Vec::new();
    for base in [lines.next()?, lines.next()?] {
        dirs.push(site(base));
    }
    dirs.extend(lines.filter(|l| !l.is_empty()).map(String::from));
    if let Some(user_base) = env.get("PYTHONUSERBASE") {
        dirs.push(site(user_base));
    } else if let Some(home) = env.get("HOME") {
        dirs.push(site(&format!("{home}/.local")));
    }
    dirs.sort();
    dirs.dedup();
    let mut dists = Vec::new();
    for dir in &dirs {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        for e in entries.filter_map(Result::ok) {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.ends_with(".dist-info") || name.ends_with(".egg-info") {
                dists.push(name);
            }
        }
    }
    dists.sort();
    let hash = digest::hex(&Sha256::digest(dists.join("\n")));
    Some(format!(
        "{version}, {} packages {}",
        dists.len(),
        &hash[..12]
    ))
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Option<T> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), AssetsError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io_at(parent))?;
    }
    let mut text = serde_json::to_string_pretty(value).expect("serializes");
    text.push('\n');
    std::fs::write(path, text).map_err(io_at(path))
}

/// Restore the previous outputs into `app`; `None` when the store does not hold them.
fn restore(app: &Path, store: &Path) -> Result<Option<Manifest>, AssetsError> {
    let Some(manifest) = read_json::<Manifest>(&store.join("manifest.json")) else {
        return Ok(None);
    };
    let files = store.join("files");
    for entry in &manifest.files {
        let src = files.join(&entry.path);
        let Ok(meta) = std::fs::symlink_metadata(&src) else {
            return Ok(None);
        };
        buildkit::fs::copy_entry(&src, &app.join(&entry.path), meta.file_type())?;
    }
    Ok(Some(manifest))
}

/// Keep this build's outputs for the next one (replacing the old ones whole).
fn save(app: &Path, store: &Path, inputs: &Inputs, manifest: &Manifest) -> Result<(), AssetsError> {
    let staged = store.with_extension("new");
    buildkit::fs::remove(&staged)?;
    for entry in &manifest.files {
        let src = app.join(&entry.path);
        let meta = std::fs::symlink_metadata(&src).map_err(io_at(&src))?;
        buildkit::fs::copy_entry(
            &src,
            &staged.join("files").join(&entry.path),
            meta.file_type(),
        )?;
    }
    write_json(&staged.join("manifest.json"), manifest)?;
    write_json(&staged.join("inputs.json"), inputs)?;
    buildkit::fs::remove(store)?;
    std::fs::rename(&staged, store).map_err(io_at(store))
}

fn manifest_of(app: &Path, written: &[String], inputs: &Inputs) -> Result<Manifest, AssetsError> {
    let mut files = Vec::new();
    for path in written {
        let full = app.join(path);
        let meta = std::fs::symlink_metadata(&full).map_err(io_at(&full))?;
        if !meta.is_file() {
            continue;
        }
        files.push(ManifestEntry {
            path: path.clone(),
            size: meta.len(),
            sha256: digest::sha256_file(&full)?,
        });
    }
    // Links the build made are restored too, but only files are listed with hashes.
    let links: Vec<_> = written
        .iter()
        .filter(|p| {
            std::fs::symlink_metadata(app.join(p)).is_ok_and(|m| m.file_type().is_symlink())
        })
        .map(|p| ManifestEntry {
            path: p.clone(),
            size: 0,
            sha256: String::new(),
        })
        .collect();
    files.extend(links);
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(Manifest {
        generator: "slipway/static-assets".into(),
        inputs: inputs.digest.clone(),
        files,
    })
}

/// What the build will do, decided from the app and the environment.
pub struct Plan {
    /// project.toml's table, `build-env` completed with the stand-ins found
    /// in the settings (`inferred`).
    pub config: AssetsConfig,
    pub detection: Detection,
    /// collectstatic runs at build time.
    pub collect: bool,
    /// Config vars the settings read at import with no default, unset at
    /// build and not declared: given a build-only stand-in (`stand_ins`).
    pub inferred: Vec<String>,
}

impl Plan {
    pub(crate) fn collectstatic_on_release(&self) -> bool {
        self.detection.django && self.config.collectstatic == Collectstatic::Release
    }

    pub fn new(app: &Path, env: &Env) -> Result<Self, AssetsError> {
        let mut config = config::load(app)?;
        let detection = detect(app)?;
        let collect = detection.django
            && config.collectstatic == Collectstatic::Build
            && !django::disabled_by_env(env);
        let mut inferred = Vec::new();
        if detection.django {
            // Declared stand-ins and real values win: only the rest is filled in.
            for (name, value) in stand_ins::from_settings(app) {
                if !config.build_env.contains_key(&name) && !env.contains_key(&name) {
                    config.build_env.insert(name.clone(), value);
                    inferred.push(name);
                }
            }
        }
        Ok(Self {
            config,
            detection,
            collect,
            inferred,
        })
    }
}

/// Where the build runs, when it is not alone (see SPEC.md, "In the suite").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Neighbours {
    /// heroku/nodejs ran earlier and installed node_modules in the app (with
    /// its build scripts disabled at our request): use them in place, run the
    /// scripts (or gulp) once, and leave node_modules where heroku/nodejs put it.
    pub node_modules_installed: bool,
    /// ... and it already ran the app's build scripts (classic
    /// heroku-buildpack-nodejs always does): only `gulp default` is left.
    pub node_scripts_ran: bool,
    /// Where heroku/python is, which decides who runs collectstatic.
    pub python: PythonNeighbour,
    /// The caller already named the build-time stand-ins it exported for
    /// the next buildpacks: collectstatic here does not name them again.
    pub stand_ins_announced: bool,
}

/// heroku/python's place beside static-assets: collectstatic runs once, in
/// the one that comes last.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PythonNeighbour {
    /// None, or it ran earlier (a classic order with static-assets after
    /// heroku-buildpack-python): collectstatic runs here.
    #[default]
    NotLater,
    /// It may come later (the CNB suite; classic before
    /// heroku-buildpack-python): collectstatic runs here only when Django can
    /// be imported already, else heroku/python runs it.
    MaybeLater,
}

/// The Python collectstatic runs with here, or None when it does not run
/// here (`collect` is then false): heroku/python, later, runs it.
fn collectstatic_python(
    collect: &mut bool,
    env: &Env,
    neighbour: PythonNeighbour,
) -> Result<Option<PathBuf>, AssetsError> {
    let maybe_later = neighbour == PythonNeighbour::MaybeLater;
    Ok(if *collect {
        match django::python(env) {
            Ok(p) if !maybe_later || django::importable(&p, env) => Some(p),
            Err(e) if !maybe_later => return Err(e),
            _ => {
                buildkit::output::bullet("Django is not installed yet: heroku/python, later in the order, installs it and runs `manage.py collectstatic` itself (with the build-time stand-ins)");
                *collect = false;
                None
            }
        }
    } else {
        None
    })
}

/// The stand-ins collectstatic runs with, by name: declared ones, then the
/// ones found in the settings.
fn announce_stand_ins(used: Vec<String>, inferred: &[String]) {
    let (found, declared): (Vec<String>, Vec<String>) =
        used.into_iter().partition(|n| inferred.contains(n));
    if !declared.is_empty() {
        buildkit::output::bullet(&format!(
            "Build-time stand-ins from project.toml: {} (the real values come from config vars at runtime)",
            declared.join(", ")
        ));
    }
    if !found.is_empty() {
        buildkit::output::bullet(&format!(
            "Build-time stand-ins for {}: the settings read them at import with no default (the real values come from config vars at runtime; declare your own in project.toml [_.metadata.slipway.assets] build-env)",
            found.join(", ")
        ));
    }
}

/// Run the asset build in `app`, beside `neighbours` (alone:
/// `Neighbours::default()`).
pub fn build(
    app: &Path,
    stores: &Stores,
    env: &Env,
    neighbours: Neighbours,
) -> Result<Outcome, AssetsError> {
    let mut plan = Plan::new(app, env)?;
    let redactor = Redactor::from_env(env.clone());
    let node_project = plan.detection.node.as_ref().filter(|n| n.has_build());
    let tools = node_project.map(|n| node::toolchain(n, env)).transpose()?;
    if plan.detection.django && !plan.collect {
        buildkit::output::bullet(match plan.config.collectstatic {
            Collectstatic::Release => {
                "collectstatic runs on release (collectstatic = \"release\" in project.toml)"
            }
            Collectstatic::Off => {
                "Skipping collectstatic (collectstatic = \"off\" in project.toml)"
            }
            Collectstatic::Build => "Skipping collectstatic (DISABLE_COLLECTSTATIC is set)",
        });
    }
    let python = collectstatic_python(&mut plan.collect, env, neighbours.python)?;
    let facts = facts(
        &plan.config,
        env,
        tools.as_ref(),
        python.as_deref().and_then(|p| python_fingerprint(p, env)),
        plan.collect,
    );
    let inputs = Inputs::compute(app, &plan.config.inputs, facts)?;
    let previous = read_json::<Inputs>(&stores.outputs.join("inputs.json"));

    if previous.as_ref().is_some_and(|p| p.digest == inputs.digest) {
        if let Some(manifest) = restore(app, &stores.outputs)? {
            buildkit::output::bullet(&format!(
                "Inputs unchanged ({} files, digest {}): restored {} compiled files from the cache; skipped install, build and collectstatic",
                inputs.files.len(),
                &inputs.digest[..12],
                manifest.files.len()
            ));
            write_json(&app.join(MANIFEST), &manifest)?;
            if let (Some(project), Some(tools), true, false) = (
                node_project,
                &tools,
                neighbours.node_modules_installed,
                neighbours.node_scripts_ran,
            ) {
                node::prune_dev(app, project, tools, env, &redactor)?;
            }
            return Ok(Outcome {
                collectstatic_on_release: plan.collectstatic_on_release(),
                collected: plan.collect,
            });
        }
        buildkit::output::bullet(
            "Inputs unchanged, but the cached outputs are incomplete: building",
        );
    } else if let Some(previous) = &previous {
        buildkit::output::bullet(&format!(
            "Inputs changed since the cached build: building\n{}",
            inputs
                .changes_since(previous, 8)
                .iter()
                .map(|c| format!("  {c}"))
                .collect::<Vec<_>>()
                .join("\n")
        ));
    } else {
        buildkit::output::bullet("No cached assets: building");
    }

    let before = Snapshot::take(app);
    if let (Some(project), Some(tools)) = (node_project, &tools) {
        let store = node::NodeStore {
            dir: stores.node.clone(),
        };
        node::build(
            app,
            project,
            tools,
            &store,
            env,
            &redactor,
            node::Installed {
                in_app: neighbours.node_modules_installed,
                scripts_ran: neighbours.node_scripts_ran,
            },
        )?;
    }
    if let Some(python) = python {
        let (env, used) = django::with_placeholders(env, &plan.config.build_env);
        if !neighbours.stand_ins_announced {
            announce_stand_ins(used, &plan.inferred);
        }
        django::collectstatic(app, &python, &env, &redactor)?;
    }
    let after = Snapshot::take(app);
    let written = before.written_since(&after);
    let manifest = manifest_of(app, &written, &inputs)?;
    save(app, &stores.outputs, &inputs, &manifest)?;
    write_json(&app.join(MANIFEST), &manifest)?;
    let bytes: u64 = manifest.files.iter().map(|f| f.size).sum();
    buildkit::output::bullet(&format!(
        "Compiled {} files ({} KiB); manifest in {MANIFEST}",
        manifest.files.len(),
        bytes.div_ceil(1024)
    ));
    Ok(Outcome {
        collectstatic_on_release: plan.collectstatic_on_release(),
        collected: plan.collect,
    })
}

/// The release command for `collectstatic = "release"` (handed to release-phase).
pub fn release_command() -> (String, Vec<String>) {
    (
        "python".into(),
        django::COLLECTSTATIC
            .iter()
            .map(|s| (*s).to_string())
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_python_fingerprint_names_the_version_and_counts_installed_distributions() {
        let env: Env = std::env::vars().collect();
        let python = django::python(&env).expect("python on PATH");
        let fp = python_fingerprint(&python, &env).expect("fingerprint");
        let (version, rest) = fp.split_once(", ").unwrap();
        assert!(version.starts_with("3."), "{fp}");
        let count: usize = rest.split(' ').next().unwrap().parse().unwrap();
        assert!(count > 0, "pip itself is a distribution: {fp}");
        // A new distribution on the path changes it.
        let extra = tempfile::tempdir().unwrap();
        std::fs::create_dir(extra.path().join("newpkg-1.0.dist-info")).unwrap();
        let mut env2 = env.clone();
        env2.insert("PYTHONPATH".into(), extra.path().display().to_string());
        let fp2 = python_fingerprint(&python, &env2).unwrap();
        assert_ne!(fp, fp2);
        assert!(fp2.contains(&format!("{} packages", count + 1)), "{fp2}");
    }
}
