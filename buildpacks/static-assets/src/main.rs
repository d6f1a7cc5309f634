//! `slipway/static-assets`: thin glue over `crates/static-assets`. Detects a
//! Node asset build or Django staticfiles, gives the crate two cache layers
//! (node_modules, and the last build's outputs; neither launches), and hands
//! `collectstatic` to slipway/release-phase through the build plan when the
//! app asks for it at release time.

mod classic;
mod errors;

use libcnb::build::{BuildContext, BuildResult, BuildResultBuilder};
use libcnb::data::build_plan::{BuildPlanBuilder, Require};
use libcnb::data::layer_name;
use libcnb::detect::{DetectContext, DetectResult, DetectResultBuilder};
use libcnb::generic::GenericPlatform;
use libcnb::layer::{CachedLayerDefinition, InvalidMetadataAction, RestoredLayerAction};
use libcnb::{Buildpack, Platform};
use serde::{Deserialize, Serialize};
use slipway_data::Collectstatic;
use static_assets::{AssetsError, Env, Plan, Stores};
use std::path::Path;

/// Our own plan entry: tells the build which detect alternative resolved.
const OWN_PLAN: &str = "slipway-static-assets";
use slipway_data::{CommandEntry, ReleaseRequest, PLAN_NAME as RELEASE_PHASE};

pub(crate) struct StaticAssetsBuildpack;

pub(crate) use errors::Failed;

#[derive(Serialize, Deserialize, Clone, PartialEq, Eq)]
struct StoreMetadata {
    /// A string, not a number: the official lifecycle keeps cached layers'
    /// metadata as JSON between builds and writes numbers back as floats
    /// (`schema = 1.0`), which a `u32` rejects, so the cache was dropped on
    /// every pack and Heroku build (found by tests/official_cnb.rs).
    schema: String,
}

/// The cache layers' format; another value drops them.
const STORE_SCHEMA: &str = "1";

#[derive(Serialize)]
struct OwnMetadata {
    release_handoff: bool,
    /// heroku/nodejs runs earlier and installs node_modules (its build
    /// scripts disabled by our requirement): we run the Node build, once.
    nodejs: bool,
}

/// heroku/nodejs's own build plan name (v5.7.4: `src/buildpack_config.rs`,
/// `BuildpackConfig` reads the entries named after the buildpack's id).
/// Required with `enabled = false` it runs no build scripts
/// (`package_manager::run_build_scripts`); pruning is a separate key since
/// v5.2.0: `skip_pruning = true`, or `package_manager::prune_dev_dependencies`
/// removes the devDependencies (sass, webpack, gulp) our build needs after it.
const HEROKU_NODEJS: &str = "heroku/nodejs";

#[derive(Serialize)]
struct NodeBuildScripts {
    enabled: bool,
    skip_pruning: bool,
}

pub(crate) fn process_env() -> Env {
    std::env::vars().collect()
}

/// What to add to project.toml when collectstatic cannot be handed over.
pub(crate) const RELEASE_LINES: &str = "    [[com.heroku.phase.release]]\n    command = \"python\"\n    args = [\"manage.py\", \"collectstatic\", \"--noinput\"]";

pub(crate) fn build_in(
    app: &Path,
    stores: &Stores,
    env: &Env,
    neighbours: static_assets::Neighbours,
    exported: &[StandIn],
) -> Result<static_assets::Outcome, AssetsError> {
    buildkit::output::header("Slipway static assets");
    let (declared, inferred): (Vec<&StandIn>, Vec<&StandIn>) =
        exported.iter().partition(|s| !s.inferred);
    let names = |list: &[&StandIn]| {
        list.iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if !declared.is_empty() {
        buildkit::output::bullet(&format!(
            "Build-time stand-ins for the next buildpacks (heroku/python's collectstatic): {} (build only, where unset; never in the image)",
            names(&declared)
        ));
    }
    if !inferred.is_empty() {
        buildkit::output::bullet(&format!(
            "Build-time stand-ins for {}: the settings read them at import with no default and the build does not set them (build only, where unset; never in the image; declare your own in project.toml [_.metadata.slipway.assets] build-env)",
            names(&inferred)
        ));
    }
    let timer = buildkit::output::Timer::start("Compiling static assets");
    let outcome = static_assets::build(app, stores, env, neighbours)?;
    timer.done();
    Ok(outcome)
}

impl Buildpack for StaticAssetsBuildpack {
    type Platform = GenericPlatform;
    type Metadata = libcnb::generic::GenericMetadata;
    type Error = Failed;

    fn detect(&self, context: DetectContext<Self>) -> libcnb::Result<DetectResult, Self::Error> {
        // Broken config: pass, so the build reports it with its line.
        let Ok(plan) = Plan::new(&context.app_dir, &process_env()) else {
            return DetectResultBuilder::pass().build();
        };
        if !plan.detection.any() {
            println!("No static assets to build: no package.json build script or gulpfile, and no Django project using django.contrib.staticfiles.");
            return DetectResultBuilder::fail().build();
        }
        let own = |handoff: bool, nodejs: bool| {
            let mut r = Require::new(OWN_PLAN);
            r.metadata(OwnMetadata {
                release_handoff: handoff,
                nodejs,
            })
            .expect("serializes");
            r
        };
        let release = plan.detection.django && plan.config.collectstatic == Collectstatic::Release;
        let node_build = plan
            .detection
            .node
            .as_ref()
            .is_some_and(static_assets::NodeProject::has_build);
        // Alternatives, preferred first: with heroku/nodejs earlier (it
        // installs, we build once) or without; collectstatic handed to
        // slipway/release-phase (which must come earlier) or run here.
        let mut alternatives: Vec<(bool, bool)> = Vec::new();
        for nodejs in if node_build {
            vec![true, false]
        } else {
            vec![false]
        } {
            if release {
                alternatives.push((true, nodejs));
            }
            alternatives.push((false, nodejs));
        }
        let mut builder = BuildPlanBuilder::new();
        for (i, (handoff, nodejs)) in alternatives.iter().copied().enumerate() {
            if i > 0 {
                builder = builder.or();
            }
            builder = builder.provides(OWN_PLAN).requires(own(handoff, nodejs));
            if handoff {
                let (command, args) = static_assets::release_command();
                let mut req = Require::new(RELEASE_PHASE);
                req.metadata(ReleaseRequest {
                    release: vec![CommandEntry {
                        command,
                        args,
                        source: None,
                    }],
                    source: Some("slipway/static-assets".into()),
                })
                .expect("serializes");
                builder = builder.requires(req);
            }
            if nodejs {
                let mut req = Require::new(HEROKU_NODEJS);
                req.metadata(NodeBuildScripts {
                    enabled: false,
                    skip_pruning: true,
                })
                .expect("serializes");
                builder = builder.requires(req);
            }
        }
        let plan = builder.build();
        DetectResultBuilder::pass().build_plan(plan).build()
    }

    fn build(&self, context: BuildContext<Self>) -> libcnb::Result<BuildResult, Self::Error> {
        let mut env = process_env();
        for (k, v) in context.platform.env() {
            env.insert(
                k.to_string_lossy().into_owned(),
                v.to_string_lossy().into_owned(),
            );
        }
        // Build+cache (node_modules) and cache-only (outputs): never launched, so never in the image.
        let store = |name, build| {
            context.cached_layer(
                name,
                CachedLayerDefinition {
                    build,
                    launch: false,
                    invalid_metadata_action: &|_| InvalidMetadataAction::DeleteLayer,
                    restored_layer_action: &|m: &StoreMetadata, _| {
                        if m.schema == STORE_SCHEMA {
                            RestoredLayerAction::KeepLayer
                        } else {
                            RestoredLayerAction::DeleteLayer
                        }
                    },
                },
            )
        };
        let node = store(layer_name!("node_modules"), true)?;
        let outputs = store(layer_name!("assets-cache"), false)?;
        node.write_metadata(StoreMetadata {
            schema: STORE_SCHEMA.into(),
        })?;
        outputs.write_metadata(StoreMetadata {
            schema: STORE_SCHEMA.into(),
        })?;
        let stores = Stores {
            node: node.path(),
            outputs: outputs.path().join("outputs"),
        };
        let own_flag = |key: &str| {
            context
                .buildpack_plan
                .entries
                .iter()
                .filter(|e| e.name == OWN_PLAN)
                .any(|e| e.metadata.get(key).and_then(toml::Value::as_bool) == Some(true))
        };
        let neighbours = static_assets::Neighbours {
            // heroku/nodejs ran its install (node_modules may be absent: no dependencies).
            node_modules_installed: own_flag("nodejs"),
            node_scripts_ran: false,
            python: static_assets::PythonNeighbour::MaybeLater,
            stand_ins_announced: false,
        };
        let exported = export_stand_ins(&context)?;
        let outcome =
            build_in(&context.app_dir, &stores, &env, neighbours, &exported).map_err(Failed)?;

        let handoff = context
            .buildpack_plan
            .entries
            .iter()
            .filter(|e| e.name == OWN_PLAN)
            .any(|e| {
                e.metadata
                    .get("release_handoff")
                    .and_then(toml::Value::as_bool)
                    == Some(true)
            });
        if outcome.collectstatic_on_release {
            if handoff {
                buildkit::output::bullet("Handed `python manage.py collectstatic --noinput` to slipway/release-phase: it runs on every release");
            } else {
                buildkit::output::warning(&format!("collectstatic = \"release\" is set, but no slipway/release-phase runs before slipway/static-assets to run it on release.\nPut slipway/release-phase earlier in the order, or add to project.toml:\n\n{RELEASE_LINES}"));
            }
        }
        BuildResultBuilder::new().build()
    }

    fn on_error(&self, error: libcnb::Error<Self::Error>) {
        buildkit::classic::on_error("Slipway static assets", error);
    }
}

/// The build-time stand-ins (`[_.metadata.slipway.assets] build-env`) as a
/// build-only layer's env (`env.build/NAME.default`: only where unset), so
/// later buildpacks see them: heroku/python runs `manage.py collectstatic`
/// with the environment earlier buildpacks' build layers give it. Never in
/// the image, never printed.
/// A build-time stand-in exported for the next buildpacks, by name.
pub(crate) struct StandIn {
    pub(crate) name: String,
    /// Found in the settings, not declared in project.toml.
    pub(crate) inferred: bool,
}

fn export_stand_ins(
    context: &BuildContext<StaticAssetsBuildpack>,
) -> libcnb::Result<Vec<StandIn>, Failed> {
    use libcnb::layer::UncachedLayerDefinition;
    use libcnb::layer_env::{LayerEnv, ModificationBehavior, Scope};
    let Ok(plan) = Plan::new(&context.app_dir, &process_env()) else {
        return Ok(Vec::new());
    };
    if plan.config.build_env.is_empty() {
        return Ok(Vec::new());
    }
    let layer = context.uncached_layer(
        layer_name!("build-env"),
        UncachedLayerDefinition {
            build: true,
            launch: false,
        },
    )?;
    let mut env = LayerEnv::new();
    for (name, value) in &plan.config.build_env {
        env = env.chainable_insert(Scope::Build, ModificationBehavior::Default, name, value);
    }
    layer.write_env(env)?;
    Ok(plan
        .config
        .build_env
        .keys()
        .map(|name| StandIn {
            name: name.clone(),
            inferred: plan.inferred.contains(name),
        })
        .collect())
}

fn main() {
    buildkit::classic::main(&classic::CLASSIC, &StaticAssetsBuildpack);
}
