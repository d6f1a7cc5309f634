//! `slipway build`: run packaged Cloud Native Buildpacks over an app, as the
//! CNB lifecycle (Buildpack API 0.10) would: detect → restore → build → export.

use crate::classic::Flavor;
use crate::descriptor::BuildpackDir;
use crate::env::{self, Env, Phase};
use crate::error::{IoContext, LifecycleError, Result};
use crate::image::{Api, Image, ImageBuildpack, ImageMetadata, ImageProcess};
use crate::layers::{export, give_back, layer_types, restore};
use crate::options::{order_groups, BuildOptions, Runner};
use crate::order;
use crate::plan::{self, DetectPlan};
use crate::platform;
use crate::process;
use buildkit::fs::remove;
use libcnb_data::launch::{Launch, WorkingDirectory};
use serde::Deserialize;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Detect exit codes (Buildpack API 0.10).
pub(crate) const DETECT_PASS: i32 = 0;
pub(crate) const DETECT_FAIL: i32 = 100;

/// Build the app as `opts` says, with the runner it names; the image
/// directory it wrote.
pub fn build(opts: &BuildOptions) -> Result<PathBuf> {
    match &opts.runner {
        Runner::Slipway => build_cnb(opts),
        Runner::Official(lifecycle_dir) => crate::official::build_official(opts, lifecycle_dir),
        Runner::ClassicNative => crate::classic::build_classic(opts, Flavor::Native),
        Runner::ClassicMulti => crate::classic::build_classic(opts, Flavor::Multi),
    }
}

/// Slipway's own runner: the lifecycle's phases in this process.
fn build_cnb(opts: &BuildOptions) -> Result<PathBuf> {
    let order::Order { groups, .. } = order_groups(opts)?;
    // The lock is held until `conclude` has put the right image in place.
    let (image, _app_dir, _lock) = platform::prepare_image(opts)?;
    let result = build_image(&image, &groups);
    platform::conclude(&image, result)
}

/// Detect, restore, build and export into a prepared image directory.
fn build_image(image: &Image, groups: &[Vec<order::Element>]) -> Result<PathBuf> {
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
        match restore(image, bp) {
            Ok(layers) => restored.extend(layers),
            Err(e) => {
                give_back_the_cache(image, &buildpacks);
                return Err(e);
            }
        }
    }
    for r in &restored {
        println!("Restoring cached layer '{r}'");
    }

    println!("===> BUILDING");
    let processes = match build_each(image, &buildpacks, &mut resolved, &base) {
        Ok(processes) => processes,
        Err(e) => {
            give_back_the_cache(image, &buildpacks);
            return Err(e);
        }
    };

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
    Ok(image.root.clone())
}

/// Run each buildpack's `bin/build` in order; the processes they declare.
fn build_each(
    image: &Image,
    buildpacks: &[BuildpackDir],
    resolved: &mut plan::Resolved,
    base: &Env,
) -> Result<Vec<ImageProcess>> {
    let tmp = image.tmp();
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

    Ok(processes)
}

/// A build failed: every cached layer it left unchanged goes back to the
/// cache; those it changed are dropped, never cached half-changed. (A
/// problem doing so is said, and the build's own error is what is returned.)
fn give_back_the_cache(image: &Image, buildpacks: &[BuildpackDir]) {
    for bp in buildpacks {
        match give_back(image, bp) {
            Ok((kept, dropped)) => {
                for k in kept {
                    println!("Keeping cached layer '{k}': the failed build left it unchanged");
                }
                for d in dropped {
                    println!("Dropping cached layer '{d}': the failed build changed it");
                }
            }
            Err(e) => eprintln!("warning: could not keep the cache of {}: {e}", bp.id),
        }
    }
}

/// The names a buildpack's `build.toml` lists as `[[unmet]]` (libcnb-data's
/// `Build` is write-only and writes them as strings, not tables; the spec reads tables).
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

/// Merge a buildpack's `launch.toml` processes: a later buildpack's type
/// replaces an earlier one's; a later `default = true` moves the default.
fn merge_launch(processes: &mut Vec<ImageProcess>, launch_toml: &Path, bp_id: &str) -> Result<()> {
    let Ok(text) = std::fs::read_to_string(launch_toml) else {
        return Ok(());
    };
    let launch: Launch = toml::from_str(&text).map_err(|e| LifecycleError::Toml {
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
            kind: p.r#type.to_string(),
            command: p.command,
            args: p.args,
            default: p.default,
            buildpack_id: bp_id.to_string(),
            working_dir: match p.working_directory {
                WorkingDirectory::App => None,
                WorkingDirectory::Directory(dir) => Some(dir.display().to_string()),
            },
        };
        match processes.iter_mut().find(|e| e.kind == new.kind) {
            Some(existing) => *existing = new,
            None => processes.push(new),
        }
    }
    Ok(())
}
