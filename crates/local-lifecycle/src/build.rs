//! `slipway build`: run packaged Cloud Native Buildpacks over an app, as the
//! CNB lifecycle (Buildpack API 0.10) would: detect → restore → build → export.

use crate::descriptor::BuildpackDir;
use crate::env::{self, Env, Phase};
use crate::error::{IoContext, LifecycleError, Result};
use crate::image::{Api, Image, ImageBuildpack, ImageMetadata, ImageProcess};
use crate::order;
use crate::plan::{self, DetectPlan};
use crate::platform;
use crate::process;
use buildkit::fs::{copy_tree, remove};
use serde::Deserialize;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// What to build.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    pub app_dir: PathBuf,
    /// Buildpack directories, in order (composites expand); none: the app's
    /// project.toml `[[io.buildpacks.group]]`.
    pub buildpacks: Vec<PathBuf>,
    /// `--map ID=DIR`: where a referenced buildpack id is found.
    pub map: Vec<(String, PathBuf)>,
    pub out: PathBuf,
    /// `--env` arguments (`KEY=VALUE` or `KEY`).
    pub env: Vec<String>,
    pub clear_cache: bool,
}

/// What the build did.
#[derive(Debug, Clone)]
pub struct BuildReport {
    pub image: PathBuf,
    pub metadata: ImageMetadata,
    /// `<buildpack>:<layer>` restored from cache.
    pub restored: Vec<String>,
}

/// Detect exit codes (Buildpack API 0.10).
pub const DETECT_PASS: i32 = 0;
pub const DETECT_FAIL: i32 = 100;

/// The groups to detect over: the `--buildpack` list (or the app's
/// project.toml group), composites expanded; and the registry of every
/// buildpack a reference may name.
pub fn order_groups(opts: &BuildOptions) -> Result<order::Order> {
    let mut registry = order::Registry::default();
    for (id, dir) in &opts.map {
        registry.add_mapping(id, dir)?;
    }
    let top: Vec<order::Element> = if opts.buildpacks.is_empty() {
        order::project_group(&opts.app_dir, &mut registry)?.ok_or(LifecycleError::NoBuildpacks)?
    } else {
        opts.buildpacks
            .iter()
            .map(|b| {
                Ok(order::Element {
                    bp: registry.add_dir(b)?,
                    optional: false,
                })
            })
            .collect::<Result<Vec<_>>>()?
    };
    Ok(order::Order {
        groups: order::expand(&top, &registry)?,
        top,
        registry,
    })
}

pub fn build(opts: &BuildOptions) -> Result<BuildReport> {
    let order::Order { groups, .. } = order_groups(opts)?;
    let (image, _app_dir) = platform::prepare_image(opts)?;
    let result = build_image(&image, &groups);
    platform::conclude(&image, result)
}

/// Detect, restore, build and export into a prepared image directory.
fn build_image(image: &Image, groups: &[Vec<order::Element>]) -> Result<BuildReport> {
    let tmp = image.tmp();
    let platform_env = env::read_platform_env(&image.platform())?;

    let base = base_env(&platform_env);

    println!("===> DETECTING");
    let (buildpacks, mut resolved) = detect(image, groups, &tmp, &base)?;
    let listed = groups.iter().map(Vec::len).max().unwrap_or(0);
    if buildpacks.len() < listed {
        println!("{} of {listed} buildpacks participating", buildpacks.len());
    }
    let width = buildpacks.iter().map(|b| b.id.len()).max().unwrap_or(0);
    for bp in &buildpacks {
        println!("{:<width$} {}", bp.id, bp.version);
    }
    write_group_and_plan(image, &buildpacks, &resolved)?;

    println!("===> RESTORING");
    let mut restored = Vec::new();
    for bp in &buildpacks {
        restored.extend(restore(image, bp)?);
    }
    for r in &restored {
        println!("Restoring cached layer '{r}'");
    }

    println!("===> BUILDING");
    // Layers with build = true, in order: visible to every later buildpack.
    let mut build_layers: Vec<PathBuf> = Vec::new();
    let mut processes: Vec<ImageProcess> = Vec::new();
    for (i, bp) in buildpacks.iter().enumerate() {
        let bp_plan = resolved.plan_for(i);
        let layers_dir = image.layers().join(bp.escaped_id());
        std::fs::create_dir_all(&layers_dir).at(&layers_dir)?;
        let plan_path = tmp.join("plan").join(bp.escaped_id()).join("plan.toml");
        std::fs::create_dir_all(plan_path.parent().expect("parent")).at(&plan_path)?;
        // An empty plan is an empty file, as the lifecycle writes it.
        let text = if bp_plan.entries.is_empty() {
            String::new()
        } else {
            toml::to_string(&bp_plan).expect("plan serializes")
        };
        std::fs::write(&plan_path, text).at(&plan_path)?;

        let mut env = if bp.clear_env {
            base_env(&Env::new())
        } else {
            base.clone()
        };
        for layer in &build_layers {
            env::apply_layer(&mut env, layer, Phase::Build)?;
        }
        env.insert("CNB_LAYERS_DIR".into(), layers_dir.clone().into());
        env.insert("CNB_BP_PLAN_PATH".into(), plan_path.clone().into());
        env.insert("CNB_PLATFORM_DIR".into(), image.platform().into());
        env.insert("CNB_BUILDPACK_DIR".into(), bp.dir.clone().into());
        let status = process::status(process::phase(
            &bp.dir.join("bin").join("build"),
            &[
                layers_dir.as_os_str(),
                image.platform().as_os_str(),
                plan_path.as_os_str(),
            ],
            &image.workspace(),
            &env,
        ))?;
        if !status.success() {
            return Err(LifecycleError::BuildFailed {
                buildpack: bp.id.clone(),
                code: crate::exit_code(status),
            });
        }
        resolved.meet(&bp_plan, &unmet(&layers_dir.join("build.toml"))?);
        for (name, types) in layer_types(&layers_dir)? {
            if types.build {
                build_layers.push(layers_dir.join(&name));
            }
        }
        merge_launch(&mut processes, &layers_dir.join("launch.toml"), &bp.id)?;
    }

    println!("===> EXPORTING");
    for bp in &buildpacks {
        export(image, bp)?;
    }
    let metadata = ImageMetadata {
        default_process_type: None,
        api: Api::Cnb,
        buildpacks: buildpacks
            .iter()
            .map(|b| ImageBuildpack {
                id: b.id.clone(),
                version: b.version.clone(),
                layers: b.escaped_id(),
            })
            .collect(),
        processes,
    };
    image.write_metadata(&metadata)?;
    remove(&tmp)?;
    for p in &metadata.processes {
        println!(
            "Adding process type '{}'{}",
            p.kind,
            if p.default { " (default)" } else { "" }
        );
    }
    Ok(BuildReport {
        image: image.root.clone(),
        metadata,
        restored,
    })
}

/// The names a buildpack's `build.toml` lists as `[[unmet]]`.
fn unmet(build_toml: &Path) -> Result<Vec<String>> {
    #[derive(Deserialize)]
    struct BuildToml {
        #[serde(default)]
        unmet: Vec<Unmet>,
    }
    #[derive(Deserialize)]
    struct Unmet {
        name: String,
    }
    let Ok(text) = std::fs::read_to_string(build_toml) else {
        return Ok(Vec::new());
    };
    let parsed: BuildToml = toml::from_str(&text).map_err(|e| LifecycleError::Toml {
        file: build_toml.to_path_buf(),
        message: e.message().to_string(),
    })?;
    Ok(parsed.unmet.into_iter().map(|u| u.name).collect())
}

/// `layers/group.toml` and `layers/plan.toml`, as the lifecycle's detector
/// writes them (the differential test compares them with the official one's).
fn write_group_and_plan(
    image: &Image,
    buildpacks: &[BuildpackDir],
    resolved: &plan::Resolved,
) -> Result<()> {
    let group = plan::GroupToml {
        group: buildpacks
            .iter()
            .map(|b| plan::GroupElement {
                id: b.id.clone(),
                version: b.version.clone(),
                api: b.api.clone(),
            })
            .collect(),
    };
    let plan_toml = plan::PlanToml::new(resolved, &group);
    std::fs::create_dir_all(image.layers()).at(image.layers())?;
    for (name, text) in [
        ("group.toml", toml::to_string(&group)),
        ("plan.toml", toml::to_string(&plan_toml)),
    ] {
        let path = image.layers().join(name);
        std::fs::write(&path, text.expect("plan files serialize")).at(&path)?;
    }
    Ok(())
}

/// The environment every phase starts from: the host's, plus the platform's
/// user env (unless a buildpack sets clear-env), plus target variables.
fn base_env(platform_env: &Env) -> Env {
    let mut env = env::host_env();
    env.extend(platform_env.iter().map(|(k, v)| (k.clone(), v.clone())));
    env.extend(platform::target_env());
    env
}

/// Detect over the groups in order, as the lifecycle does: each buildpack's
/// `bin/detect` runs once (results are reused across groups); a group passes
/// when its non-optional members pass and its plan resolves (optional
/// members that fail detection or leave the plan unresolved drop out).
/// Returns the first passing group's participants and resolved plan.
fn detect(
    image: &Image,
    groups: &[Vec<order::Element>],
    tmp: &Path,
    base: &Env,
) -> Result<(Vec<BuildpackDir>, plan::Resolved)> {
    let mut results: Vec<(String, Option<DetectPlan>, String)> = Vec::new();
    let mut report = String::new();
    for (g, group) in groups.iter().enumerate() {
        if groups.len() > 1 {
            let _ = writeln!(report, "group #{}:", g + 1);
        }
        let mut passed: Vec<(usize, DetectPlan)> = Vec::new();
        let mut failed_required = false;
        for (i, el) in group.iter().enumerate() {
            let key = format!("{}@{}", el.bp.id, el.bp.version);
            let known = results.iter().position(|(k, _, _)| *k == key);
            let at = if let Some(at) = known {
                at
            } else {
                let (plan, output) = detect_one(image, &el.bp, tmp, base)?;
                results.push((key.clone(), plan, output));
                results.len() - 1
            };
            let (_, plan, output) = &results[at];
            if let Some(plan) = plan {
                let _ = writeln!(report, "pass: {key}");
                passed.push((i, plan.clone()));
            } else {
                let _ = writeln!(
                    report,
                    "{}: {key}",
                    if el.optional { "skip" } else { "fail" }
                );
                for line in output.lines() {
                    let _ = writeln!(report, "      {line}");
                }
                failed_required |= !el.optional;
            }
        }
        if failed_required || passed.is_empty() {
            continue;
        }
        let plans: Vec<DetectPlan> = passed.iter().map(|(_, p)| p.clone()).collect();
        let optional: Vec<bool> = passed.iter().map(|(i, _)| group[*i].optional).collect();
        match plan::resolve_with_optional(&plans, &optional) {
            Ok((kept, resolved)) => {
                let participants = kept
                    .iter()
                    .map(|&k| group[passed[k].0].bp.clone())
                    .collect();
                return Ok((participants, resolved));
            }
            Err(problem) => {
                if groups.len() == 1 {
                    return Err(LifecycleError::PlanUnresolved(problem));
                }
                let _ = writeln!(report, "      the build plan does not resolve: {problem}");
            }
        }
    }
    Err(LifecycleError::NoGroupPassed { report })
}

/// One buildpack's `bin/detect`: its plan when it passes, None when it does
/// not apply (exit 100), with its output either way.
fn detect_one(
    image: &Image,
    bp: &BuildpackDir,
    tmp: &Path,
    base: &Env,
) -> Result<(Option<DetectPlan>, String)> {
    let plan_path = tmp.join("detect").join(bp.escaped_id()).join("plan.toml");
    std::fs::create_dir_all(plan_path.parent().expect("parent")).at(&plan_path)?;
    std::fs::write(&plan_path, "").at(&plan_path)?;
    let mut env = base.clone();
    env.insert("CNB_BUILDPACK_DIR".into(), bp.dir.clone().into());
    env.insert("CNB_PLATFORM_DIR".into(), image.platform().into());
    env.insert("CNB_BUILD_PLAN_PATH".into(), plan_path.clone().into());
    let out = process::output(process::phase(
        &bp.dir.join("bin").join("detect"),
        &[image.platform().as_os_str(), plan_path.as_os_str()],
        &image.workspace(),
        &env,
    ))?;
    let output = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    match crate::exit_code(out.status) {
        DETECT_PASS => {
            let text = std::fs::read_to_string(&plan_path).at(&plan_path)?;
            let plan = toml::from_str(&text).map_err(|e| LifecycleError::Toml {
                file: plan_path.clone(),
                message: e.message().to_string(),
            })?;
            Ok((Some(plan), output))
        }
        DETECT_FAIL => Ok((None, output)),
        code => Err(LifecycleError::DetectError {
            buildpack: bp.id.clone(),
            code,
            output,
        }),
    }
}

#[derive(Debug, Clone, Copy, Default, Deserialize)]
pub struct LayerTypes {
    #[serde(default)]
    pub launch: bool,
    #[serde(default)]
    pub build: bool,
    #[serde(default)]
    pub cache: bool,
}

#[derive(Debug, Default, Deserialize)]
struct LayerToml {
    #[serde(default)]
    types: LayerTypes,
    #[serde(default)]
    metadata: toml::Table,
}

const RESERVED_TOML: [&str; 3] = ["launch", "build", "store"];

/// Every `<layer>.toml` in a buildpack's layers dir, sorted by name, with its types.
pub fn layer_types(layers_dir: &Path) -> Result<Vec<(String, LayerTypes)>> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(layers_dir) else {
        return Ok(out);
    };
    for e in entries.filter_map(std::result::Result::ok) {
        let path = e.path();
        let Some(name) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".toml"))
        else {
            continue;
        };
        if RESERVED_TOML.contains(&name) || !path.is_file() {
            continue;
        }
        let text = std::fs::read_to_string(&path).at(&path)?;
        let parsed: LayerToml = toml::from_str(&text).map_err(|e| LifecycleError::Toml {
            file: path.clone(),
            message: e.message().to_string(),
        })?;
        out.push((name.to_string(), parsed.types));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// Restore a buildpack's cache: `cache = true` layers with their contents,
/// their `<layer>.toml` with `[metadata]` only (API ≥ 0.6: types must be
/// declared again by the buildpack), and `store.toml`.
fn restore(image: &Image, bp: &BuildpackDir) -> Result<Vec<String>> {
    let cache = image.cache().join(bp.escaped_id());
    let layers = image.layers().join(bp.escaped_id());
    let mut restored = Vec::new();
    if !cache.is_dir() {
        return Ok(restored);
    }
    std::fs::create_dir_all(&layers).at(&layers)?;
    for (name, types) in layer_types(&cache)? {
        if !types.cache {
            continue;
        }
        let toml_path = cache.join(format!("{name}.toml"));
        let parsed: LayerToml =
            toml::from_str(&std::fs::read_to_string(&toml_path).at(&toml_path)?)
                .unwrap_or_default();
        let mut doc = toml::Table::new();
        doc.insert(
            "metadata".into(),
            as_the_lifecycle_restores(toml::Value::Table(parsed.metadata)),
        );
        std::fs::write(
            layers.join(format!("{name}.toml")),
            toml::to_string(&doc).expect("serializes"),
        )
        .at(&layers)?;
        if cache.join(&name).is_dir() {
            // Moved, not copied: a warm build of the reference app takes
            // 0.23 s this way and 2.3-2.9 s copying its 57 MB node_modules
            // cache (measured on ext4 here). The cache gives the layer up
            // (toml too), so a failed build leaves no half-changed cache
            // behind: that layer is simply not cached next time.
            if std::fs::rename(cache.join(&name), layers.join(&name)).is_err() {
                copy_tree(&cache.join(&name), &layers.join(&name), None)?;
            }
            remove(&toml_path)?;
        }
        restored.push(format!("{}:{name}", bp.id));
    }
    if cache.join("store.toml").is_file() {
        std::fs::copy(cache.join("store.toml"), layers.join("store.toml"))
            .at(cache.join("store.toml"))?;
    }
    Ok(restored)
}

/// Layer metadata as the official lifecycle gives it back: it keeps it as
/// JSON in the cache (`io.buildpacks.lifecycle.cache.metadata`) and in the
/// image label, decoded into Go's `interface{}`, so every number comes back
/// as a float (`schema = 1` is restored as `schema = 1.0`) and dates as
/// strings. Doing the same here makes a buildpack that reads an integer back
/// fail in our tests as it does on pack and Heroku.
fn as_the_lifecycle_restores(value: toml::Value) -> toml::Value {
    match value {
        #[allow(clippy::cast_precision_loss)] // as JSON's float64: the point
        toml::Value::Integer(i) => toml::Value::Float(i as f64),
        toml::Value::Datetime(d) => toml::Value::String(d.to_string()),
        toml::Value::Array(a) => {
            toml::Value::Array(a.into_iter().map(as_the_lifecycle_restores).collect())
        }
        toml::Value::Table(t) => toml::Value::Table(
            t.into_iter()
                .map(|(k, v)| (k, as_the_lifecycle_restores(v)))
                .collect(),
        ),
        other => other,
    }
}

/// Cache `cache = true` layers (replacing the buildpack's previous cache) and
/// keep only `launch = true` layers in the image.
fn export(image: &Image, bp: &BuildpackDir) -> Result<()> {
    let layers = image.layers().join(bp.escaped_id());
    let cache = image.cache().join(bp.escaped_id());
    let staged = image.cache().join(format!("{}.new", bp.escaped_id()));
    remove(&staged)?;
    std::fs::create_dir_all(&staged).at(&staged)?;
    let all = layer_types(&layers)?;
    for (name, types) in &all {
        let dir = layers.join(name);
        let toml_path = layers.join(format!("{name}.toml"));
        if types.cache {
            std::fs::copy(&toml_path, staged.join(format!("{name}.toml"))).at(&toml_path)?;
            if dir.is_dir() {
                // A cache-only layer leaves the image anyway: move it, don't copy it.
                if types.launch || std::fs::rename(&dir, staged.join(name)).is_err() {
                    copy_tree(&dir, &staged.join(name), None)?;
                }
            }
        }
        if !types.launch {
            remove(&dir)?;
            remove(&toml_path)?;
        }
    }
    // Directories without a <layer>.toml are temporary: the exporter drops them.
    if let Ok(entries) = std::fs::read_dir(&layers) {
        for e in entries.filter_map(std::result::Result::ok) {
            let name = e.file_name().to_string_lossy().into_owned();
            if e.path().is_dir() && !all.iter().any(|(n, t)| *n == name && t.launch) {
                remove(&e.path())?;
            }
        }
    }
    if layers.join("store.toml").is_file() {
        std::fs::copy(layers.join("store.toml"), staged.join("store.toml"))
            .at(layers.join("store.toml"))?;
    }
    remove(&cache)?;
    std::fs::rename(&staged, &cache).at(&cache)?;
    Ok(())
}

#[derive(Debug, Default, Deserialize)]
struct LaunchToml {
    #[serde(default)]
    processes: Vec<LaunchProcess>,
}

#[derive(Debug, Deserialize)]
struct LaunchProcess {
    #[serde(rename = "type")]
    kind: String,
    command: Vec<String>,
    #[serde(default)]
    args: Vec<String>,
    #[serde(default)]
    default: bool,
    #[serde(rename = "working-dir")]
    working_dir: Option<String>,
}

/// Merge a buildpack's `launch.toml` processes: a later buildpack's type
/// replaces an earlier one's; a later `default = true` moves the default.
fn merge_launch(processes: &mut Vec<ImageProcess>, launch_toml: &Path, bp_id: &str) -> Result<()> {
    let Ok(text) = std::fs::read_to_string(launch_toml) else {
        return Ok(());
    };
    let launch: LaunchToml = toml::from_str(&text).map_err(|e| LifecycleError::Toml {
        file: launch_toml.to_path_buf(),
        message: e.message().to_string(),
    })?;
    for p in launch.processes {
        if p.default {
            for existing in processes.iter_mut() {
                existing.default = false;
            }
        }
        let new = ImageProcess {
            kind: p.kind,
            command: p.command,
            args: p.args,
            default: p.default,
            buildpack_id: bp_id.to_string(),
            working_dir: p.working_dir,
        };
        match processes.iter_mut().find(|e| e.kind == new.kind) {
            Some(existing) => *existing = new,
            None => processes.push(new),
        }
    }
    Ok(())
}
