//! `slipway build --lifecycle DIR`: the same build on the official CNB
//! lifecycle (github.com/buildpacks/lifecycle, the binaries `pack` and
//! Heroku's CNB platform run), driven phase by phase as a platform does, with
//! no Docker daemon and no registry:
//!
//! analyzer → detector → restorer → builder → exporter, Platform API
//! [`PLATFORM_API`], images in an OCI image layout directory (`<out>/oci`,
//! the lifecycle's experimental `-layout` mode): a minimal run image is
//! written there, and the exporter writes the app image beside it. The image
//! directory keeps our layout (`workspace/`, `layers/`, `platform/env/`), so
//! `slipway run` and `slipway local` start its processes; the lifecycle's
//! cache lives in `<out>/lifecycle-cache`.
//!
//! The detector and builder refuse to run as root (`cmd/lifecycle/detector.go`,
//! `builder.go`: "refusing to run as root"). Run as root, every phase is
//! started in a user namespace (util-linux `unshare --user`) where this
//! process's user is the build user (`CNB_USER_ID`/`CNB_GROUP_ID`, default
//! 1000): the lifecycle sees an unprivileged user, while files stay ours.
//!
//! What this does not do: extensions, SBOM files, a registry or daemon image.

use crate::descriptor::BuildpackDir;
use crate::env::{self, Env};
use crate::error::{IoContext, LifecycleError, Result};
use crate::image::Image;
use crate::options::BuildOptions;
use crate::platform;
use buildkit::fs::remove;
use sha2::{Digest as _, Sha256};
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The Platform API this driver speaks (lifecycle v0.21 supports 0.7 to 0.15).
pub(crate) const PLATFORM_API: &str = "0.14";
/// The run image written into the layout, and the app image the exporter writes.
pub(crate) const RUN_IMAGE: &str = "slipway.local/run:latest";
pub(crate) const APP_IMAGE: &str = "slipway.local/app:latest";
/// Where `ParseRefToPath` (buildpacks/imgutil `layout/util.go`) puts those refs.
const RUN_IMAGE_PATH: &str = "slipway.local/run/latest";
/// The layout directory and the cache directory, under the image directory.
pub(crate) const LAYOUT_DIR: &str = "oci";
pub(crate) const CACHE_DIR: &str = "lifecycle-cache";

const PHASES: [&str; 6] = [
    "analyzer", "detector", "restorer", "builder", "exporter", "launcher",
];

/// Build with the official lifecycle binaries in `lifecycle_dir` (the
/// `lifecycle` binary with its phase links, and `launcher`; what
/// `scripts/official-cnb-tools` builds).
pub(crate) fn build_official(opts: &BuildOptions, lifecycle_dir: &Path) -> Result<PathBuf> {
    let tools = locate(lifecycle_dir)?;
    let order = crate::options::order_groups(opts)?;
    let buildpacks: Vec<BuildpackDir> = order
        .registry
        .all()
        .iter()
        .filter(|b| !b.is_composite())
        .cloned()
        .collect();
    // The lock is held until `conclude` has put the right image in place.
    let (image, _app_dir, _lock) = platform::prepare_image(opts)?;
    let result = run_phases(opts, &image, &tools, &order, &buildpacks);
    platform::conclude(&image, result)
}

/// The inputs the phases read: the cache directory, the layers directory,
/// the buildpacks as the lifecycle looks them up, order.toml and our run
/// image. Where the buildpacks and order.toml are.
fn stage_inputs(
    opts: &BuildOptions,
    image: &Image,
    order: &crate::order::Order,
) -> Result<(PathBuf, PathBuf)> {
    let cache = image.root.join(CACHE_DIR);
    if opts.clear_cache {
        remove(&cache)?;
    }
    std::fs::create_dir_all(&cache).at(&cache)?;
    let tmp = image.tmp();
    let layers = image.layers();
    std::fs::create_dir_all(&layers).at(&layers)?;

    let bp_root = tmp.join("buildpacks");
    for bp in order.registry.all() {
        // <buildpacks>/<escaped id>/<version>/buildpack.toml, as the lifecycle looks them up.
        let parent = bp_root.join(bp.escaped_id());
        std::fs::create_dir_all(&parent).at(&parent)?;
        std::os::unix::fs::symlink(&bp.dir, parent.join(&bp.version)).at(&parent)?;
    }
    let order_path = tmp.join("order.toml");
    std::fs::write(&order_path, order_toml(&order.top)).at(&order_path)?;
    let layout = image.root.join(LAYOUT_DIR);
    write_run_image(&layout.join(RUN_IMAGE_PATH))?;
    Ok((bp_root, order_path))
}

/// analyzer → detector → restorer → builder → exporter over a prepared image.
fn run_phases(
    opts: &BuildOptions,
    image: &Image,
    tools: &Path,
    order: &crate::order::Order,
    buildpacks: &[BuildpackDir],
) -> Result<PathBuf> {
    let cache = image.root.join(CACHE_DIR);
    let layers = image.layers();
    let (bp_root, order_path) = stage_inputs(opts, image, order)?;

    let user = BuildUser::from_env();
    let runner = Runner {
        cwd: &image.root,
        tools,
        user,
        env: phase_env(),
    };
    let p = |path: &Path| path.as_os_str().to_os_string();
    let s = |text: &str| OsString::from(text);
    let uid_gid = || {
        vec![
            s("-uid"),
            s(&user.uid.to_string()),
            s("-gid"),
            s(&user.gid.to_string()),
        ]
    };
    // Relative to the phases' working directory (the image directory): the
    // lifecycle turns layout paths into image references, which must be
    // lowercase (a temporary directory like /tmp/.tmpAbC1 is refused).
    let layout_args = || vec![s("-layout"), s("-layout-dir"), s(LAYOUT_DIR)];
    let common = || {
        vec![
            s("-layers"),
            p(&layers),
            s("-analyzed"),
            p(&layers.join("analyzed.toml")),
        ]
    };
    let group_plan = || {
        vec![
            s("-group"),
            p(&layers.join("group.toml")),
            s("-plan"),
            p(&layers.join("plan.toml")),
        ]
    };
    let app_bps = || {
        vec![
            s("-app"),
            p(&image.workspace()),
            s("-buildpacks"),
            p(&bp_root),
            s("-platform"),
            p(&image.platform()),
        ]
    };

    println!("===> ANALYZING");
    runner.phase(
        "analyzer",
        [
            layout_args(),
            common(),
            uid_gid(),
            vec![s("-run-image"), s(RUN_IMAGE), s(APP_IMAGE)],
        ],
    )?;
    println!("===> DETECTING");
    runner.phase(
        "detector",
        [
            app_bps(),
            common(),
            group_plan(),
            vec![s("-order"), p(&order_path)],
        ],
    )?;
    println!("===> RESTORING");
    runner.phase(
        "restorer",
        [
            layout_args(),
            common(),
            uid_gid(),
            vec![
                s("-group"),
                p(&layers.join("group.toml")),
                s("-cache-dir"),
                p(&cache),
            ],
        ],
    )?;
    let restored = restored_layers(&layers, buildpacks)?;
    for r in &restored {
        println!("Restoring cached layer '{r}'");
    }
    println!("===> BUILDING");
    runner.phase("builder", [app_bps(), common(), group_plan(), vec![]])?;
    println!("===> EXPORTING");
    runner.phase(
        "exporter",
        [
            layout_args(),
            common(),
            uid_gid(),
            vec![
                s("-app"),
                p(&image.workspace()),
                s("-group"),
                p(&layers.join("group.toml")),
                s("-cache-dir"),
                p(&cache),
                s("-launcher"),
                p(&tools.join("launcher")),
                s("-report"),
                p(&layers.join("report.toml")),
                s(APP_IMAGE),
            ],
        ],
    )?;
    remove(&image.tmp())?;
    Ok(image.root.clone())
}

/// The lifecycle directory, checked: every phase we run and the launcher.
fn locate(dir: &Path) -> Result<PathBuf> {
    let dir = std::fs::canonicalize(dir).map_err(|e| LifecycleError::NoOfficialLifecycle {
        dir: dir.to_path_buf(),
        why: e.to_string(),
    })?;
    for name in PHASES {
        if !dir.join(name).is_file() {
            return Err(LifecycleError::NoOfficialLifecycle {
                dir,
                why: format!("{name} is missing"),
            });
        }
    }
    Ok(dir)
}

/// The build user the lifecycle runs as (`-uid`/`-gid`, and the user
/// namespace's mapping when we are root).
#[derive(Debug, Clone, Copy)]
struct BuildUser {
    uid: u32,
    gid: u32,
}

impl BuildUser {
    fn from_env() -> Self {
        let id = |name: &str| {
            std::env::var(name)
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(1000)
        };
        Self {
            uid: id("CNB_USER_ID"),
            gid: id("CNB_GROUP_ID"),
        }
    }
}

fn phase_env() -> Env {
    let mut env = env::host_env();
    env.insert("CNB_PLATFORM_API".into(), PLATFORM_API.into());
    // The OCI layout export is experimental in the lifecycle: allow it without a warning per phase.
    env.insert("CNB_EXPERIMENTAL_MODE".into(), "quiet".into());
    env
}

struct Runner<'a> {
    cwd: &'a Path,
    tools: &'a Path,
    user: BuildUser,
    env: Env,
}

impl Runner<'_> {
    fn phase<const N: usize>(&self, name: &str, args: [Vec<OsString>; N]) -> Result<()> {
        let program = self.tools.join(name);
        let args: Vec<OsString> = args.into_iter().flatten().collect();
        let as_root = nix::unistd::geteuid().is_root();
        let mut cmd = if as_root {
            let mut c = Command::new("unshare");
            c.arg("--user")
                .arg(format!("--map-user={}", self.user.uid))
                .arg(format!("--map-group={}", self.user.gid))
                .arg("--")
                .arg(&program);
            c
        } else {
            Command::new(&program)
        };
        cmd.args(&args)
            .env_clear()
            .envs(&self.env)
            .current_dir(self.cwd);
        let status = cmd.status().map_err(|source| LifecycleError::Spawn {
            program: if as_root {
                "unshare (util-linux; runs the lifecycle as the build user)".to_string()
            } else {
                program.display().to_string()
            },
            source,
        })?;
        if status.success() {
            return Ok(());
        }
        Err(LifecycleError::OfficialPhase {
            phase: name.to_string(),
            code: crate::exit_code(status),
        })
    }
}

/// The group as a platform's order.toml: the lifecycle expands composites itself.
fn order_toml(group: &[crate::order::Element]) -> String {
    let mut text = String::from("[[order]]\n");
    for el in group {
        text.push_str(&format!(
            "\n[[order.group]]\nid = {}\nversion = {}\noptional = {}\n",
            toml::Value::String(el.bp.id.clone()),
            toml::Value::String(el.bp.version.clone()),
            el.optional
        ));
    }
    text
}

/// `<buildpack>:<layer>` for every layer whose contents the restorer brought
/// back from the cache. (It also restores the `<layer>.toml` of the previous
/// image's launch layers, without contents: not a cache restore.)
fn restored_layers(layers: &Path, buildpacks: &[BuildpackDir]) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for bp in buildpacks {
        let dir = layers.join(bp.escaped_id());
        for (name, _) in crate::layers::layer_types(&dir)? {
            if dir.join(&name).is_dir() {
                out.push(format!("{}:{name}", bp.id));
            }
        }
    }
    Ok(out)
}

/// A minimal run image in OCI image layout format at `dir`: one empty layer,
/// linux/amd64 (this machine's arch), and this machine's distro in the
/// `io.buildpacks.base.distro.*` labels, so the lifecycle gives buildpacks the
/// same `CNB_TARGET_*` as `slipway build`. Written the same way every time.
fn write_run_image(dir: &Path) -> Result<()> {
    let blobs = dir.join("blobs").join("sha256");
    std::fs::create_dir_all(&blobs).at(&blobs)?;
    let blob = |data: &[u8]| -> Result<(String, usize)> {
        let digest = buildkit::fs::hex(&Sha256::digest(data));
        std::fs::write(blobs.join(&digest), data).at(blobs.join(&digest))?;
        Ok((format!("sha256:{digest}"), data.len()))
    };
    // An empty tar archive is its end marker: two 512-byte zero blocks.
    let (layer, layer_size) = blob(&[0u8; 1024])?;
    let target = platform::target_env();
    let target_var = |k: &str| {
        target
            .get(OsStr::new(k))
            .map(|v| v.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let config = serde_json::json!({
        "architecture": target_var("CNB_TARGET_ARCH"),
        "os": target_var("CNB_TARGET_OS"),
        "rootfs": { "type": "layers", "diff_ids": [layer] },
        "config": {
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "Labels": {
                "io.buildpacks.base.distro.name": target_var("CNB_TARGET_DISTRO_NAME"),
                "io.buildpacks.base.distro.version": target_var("CNB_TARGET_DISTRO_VERSION"),
            },
        },
    });
    let (config, config_size) = blob(config.to_string().as_bytes())?;
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": config, "size": config_size,
        },
        "layers": [{
            "mediaType": "application/vnd.oci.image.layer.v1.tar",
            "digest": layer, "size": layer_size,
        }],
    });
    let (manifest, manifest_size) = blob(manifest.to_string().as_bytes())?;
    let index = serde_json::json!({
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": manifest, "size": manifest_size,
        }],
    });
    std::fs::write(dir.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).at(dir)?;
    std::fs::write(dir.join("index.json"), index.to_string()).at(dir)
}
