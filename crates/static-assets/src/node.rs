//! The Node side: `heroku-prebuild`, install (node_modules from the cache
//! when the lockfile and Node are unchanged), `heroku-build`/`build`,
//! `heroku-postbuild`, or `gulp default`. node_modules lives in the cache
//! store between builds and never stays in the app (the image).

use crate::detect::{NodeProject, PackageManager};
use crate::digest::{hex, sha256_file};
use crate::error::{io_at, AssetsError};
use crate::run::{run_step, which, Env, Step};
use buildkit::fs::{move_tree, remove};
use buildkit::redact::Redactor;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

pub(crate) const ORDER_HINT: &str = "Add heroku/nodejs before slipway/static-assets in your buildpack order (project.toml [[io.buildpacks.group]], `pack build -b`, or .buildpacks).";

/// Tool versions, for cache keys and the digest.
#[derive(Debug, Clone)]
pub(crate) struct Toolchain {
    pub(crate) node_version: String,
    pub(crate) manager: PathBuf,
    pub(crate) manager_version: String,
}

fn version_of(program: &Path, env: &Env) -> Option<String> {
    package_version(program).or_else(|| {
        let out = std::process::Command::new(program)
            .arg("--version")
            .env_clear()
            .envs(env)
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    })
}

/// npm, yarn and pnpm are npm packages: their version is in the package.json
/// above the real path of the command (reading it beats starting Node: `npm
/// --version` takes 150 ms).
fn package_version(program: &Path) -> Option<String> {
    let name = program.file_name()?.to_str()?;
    let real = std::fs::canonicalize(program).ok()?;
    real.ancestors().skip(1).take(4).find_map(|dir| {
        let text = std::fs::read_to_string(dir.join("package.json")).ok()?;
        let v: serde_json::Value = serde_json::from_str(&text).ok()?;
        (v["name"] == name).then(|| v["version"].as_str().map(String::from))?
    })
}

pub(crate) fn toolchain(project: &NodeProject, env: &Env) -> Result<Toolchain, AssetsError> {
    let missing = |tool: &str, why: String, hint: String| AssetsError::ToolMissing {
        tool: tool.into(),
        why,
        hint,
    };
    let node = which("node", env).ok_or_else(|| {
        missing(
            "node",
            "package.json has a build to run".into(),
            ORDER_HINT.into(),
        )
    })?;
    let program = project.manager.program();
    let lock = project
        .lockfile
        .as_ref()
        .and_then(|l| l.file_name())
        .map_or_else(
            || "package.json".to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
    let manager = which(program, env).ok_or_else(|| {
        missing(
            program,
            format!("the app has {lock}"),
            match project.manager {
                PackageManager::Npm => ORDER_HINT.into(),
                _ => format!(
                    "heroku/nodejs installs {program} for a {lock}: add it before slipway/static-assets. Locally: `corepack enable` (Node 16.9+) puts {program} on PATH."
                ),
            },
        )
    })?;
    Ok(Toolchain {
        node_version: version_of(&node, env).unwrap_or_else(|| "unknown".into()),
        manager_version: version_of(&manager, env).unwrap_or_else(|| "unknown".into()),
        manager,
    })
}

/// Where node_modules and the package manager's download cache live between builds.
pub(crate) struct NodeStore {
    pub(crate) dir: PathBuf,
}

impl NodeStore {
    fn modules(&self) -> PathBuf {
        self.dir.join("node_modules")
    }
    fn key_file(&self) -> PathBuf {
        self.dir.join("node_modules.key")
    }
    fn download_cache(&self) -> PathBuf {
        self.dir.join("download-cache")
    }
}

/// sha256 of what decides node_modules: the lockfile (or package.json without
/// one), the package manager and its version, and the Node version.
pub(crate) fn modules_key(
    app: &Path,
    project: &NodeProject,
    tools: &Toolchain,
) -> Result<String, AssetsError> {
    let manifest = project
        .lockfile
        .clone()
        .unwrap_or_else(|| app.join("package.json"));
    let mut h = Sha256::new();
    h.update(format!(
        "slipway node_modules v1\nmanager={:?} {}\nnode={}\nlock={}\n",
        project.manager,
        tools.manager_version,
        tools.node_version,
        sha256_file(&manifest)?
    ));
    Ok(hex(&h.finalize()))
}

fn install_args(project: &NodeProject) -> Vec<&'static str> {
    match (project.manager, project.lockfile.is_some()) {
        (PackageManager::Npm, true) => vec!["ci", "--include=dev", "--no-audit", "--no-fund"],
        (PackageManager::Npm, false) => vec!["install", "--include=dev", "--no-audit", "--no-fund"],
        (PackageManager::YarnClassic, _) => vec![
            "install",
            "--frozen-lockfile",
            "--production=false",
            "--non-interactive",
        ],
        (PackageManager::YarnBerry, _) => vec!["install", "--immutable"],
        (PackageManager::Pnpm, _) => vec!["install", "--frozen-lockfile", "--prod=false"],
    }
}

struct Ctx<'a> {
    app: &'a Path,
    env: Env,
    redactor: &'a Redactor,
}

impl Ctx<'_> {
    fn step(&self, program: &Path, display: &str, args: &[String]) -> Result<(), AssetsError> {
        let step = Step {
            display,
            program,
            args,
            tail: 20,
        };
        run_step(&step, self.app, &self.env, self.redactor, |lines| {
            diagnose(display, lines)
        })
    }
}

fn diagnose(command: &str, lines: &[String]) -> (String, String) {
    let text = lines.join("\n");
    if let Some(d) = diagnose_tooling(&text) {
        return d;
    }
    if text.contains("can only install packages when your package.json and package-lock.json")
        || text.contains("lockfile needs to be updated")
        || text.contains("Your lockfile needs to be updated")
        || text.contains("YN0028")
        || text.contains("ERR_PNPM_OUTDATED_LOCKFILE")
    {
        return (
            "the lockfile does not match package.json".into(),
            "Run the install locally (`npm install`, `yarn install` or `pnpm install`) and commit the updated lockfile.".into(),
        );
    }
    if [
        "ENOTFOUND",
        "ETIMEDOUT",
        "ECONNREFUSED",
        "EAI_AGAIN",
        "ECONNRESET",
    ]
    .iter()
    .any(|e| text.contains(e))
    {
        return (
            "the package registry could not be reached".into(),
            "This is usually temporary: build again. If the app uses a private registry, check its URL and credentials in .npmrc (the token belongs in a build-time env var, not in the file).".into(),
        );
    }
    if let Some((name, version)) = unserved_package(&text) {
        let pm = command.split_whitespace().next().unwrap_or("npm");
        let (lockfile, fix) = match pm {
            "yarn" => (
                "yarn.lock",
                format!("yarn upgrade {name}@<a version that exists>"),
            ),
            "pnpm" => (
                "pnpm-lock.yaml",
                format!("pnpm update {name}@<a version that exists>"),
            ),
            _ => (
                "package-lock.json",
                format!("npm install {name}@<a version that exists>"),
            ),
        };
        return (
            format!("the registry no longer serves {name}@{version}, which {lockfile} pins"),
            format!("The package version was unpublished or never existed on this registry. See the versions it serves with `npm view {name} versions`, then run `{fix}` locally and commit {lockfile}."),
        );
    }
    if command.contains(" install") || command.contains(" ci") {
        return (
            "installing the packages failed".into(),
            format!(
                "Run `{command}` locally from a clean checkout to reproduce; its output is above."
            ),
        );
    }
    if text.contains("Cannot find module")
        || text.contains("command not found")
        || text.contains(": not found")
    {
        return (
            "the script uses a tool that is not installed".into(),
            "Build tools must be in package.json (devDependencies are installed for the build); check the script's command in package.json.".into(),
        );
    }
    (
        "the app's build script failed".into(),
        format!("Its output is above. Run `{command}` locally to reproduce. If it needs a config var that exists only at runtime, declare a build-time stand-in: [_.metadata.slipway.assets] build-env = {{ NAME = \"placeholder\" }} in project.toml."),
    )
}

/// node_modules a Node buildpack already installed in the app.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Installed {
    pub(crate) in_app: bool,
    /// ... and ran the app's build scripts.
    pub(crate) scripts_ran: bool,
}

/// Run the Node side in `app`. node_modules is taken from and returned to
/// `store`, unless heroku/nodejs installed it in the app (`installed`): then
/// it is used and left in place (only devDependencies it left out are
/// installed, for the build; they are pruned after it).
pub(crate) fn build(
    app: &Path,
    project: &NodeProject,
    tools: &Toolchain,
    store: &NodeStore,
    env: &Env,
    redactor: &Redactor,
    installed: Installed,
) -> Result<(), AssetsError> {
    for w in &project.warnings {
        buildkit::output::warning(w);
    }
    let mut env = env.clone();
    // Heroku's default, which production bundlers (and Django pipelines) expect.
    env.entry("NODE_ENV".into())
        .or_insert_with(|| "production".into());
    // Tools the scripts call (sass, esbuild, gulp) come from node_modules/.bin.
    let path = env.get("PATH").cloned().unwrap_or_default();
    env.insert(
        "PATH".into(),
        format!("{}:{path}", app.join("node_modules/.bin").display()),
    );
    // Our download cache, unless heroku/nodejs installed node_modules: then
    // its caches and store stay in charge (pnpm would otherwise purge and
    // reinstall node_modules for a store it did not install from).
    if !installed.in_app {
        let cache = store.download_cache();
        std::fs::create_dir_all(&cache).map_err(io_at(&cache))?;
        let cache_str = cache.display().to_string();
        match project.manager {
            PackageManager::Npm => env.insert("npm_config_cache".into(), cache_str),
            PackageManager::YarnClassic => env.insert("YARN_CACHE_FOLDER".into(), cache_str),
            PackageManager::YarnBerry => env.insert("YARN_GLOBAL_FOLDER".into(), cache_str),
            PackageManager::Pnpm => env.insert("npm_config_store_dir".into(), cache_str),
        };
    }
    let ctx = Ctx { app, env, redactor };
    let pm = project.manager.program();
    let script = |name: &str| -> Result<(), AssetsError> {
        ctx.step(
            &tools.manager,
            &format!("{pm} run {name}"),
            &["run".into(), name.into()],
        )
    };
    buildkit::output::bullet(&format!(
        "Node {} with {pm} {} ({})",
        tools.node_version,
        tools.manager_version,
        project
            .lockfile
            .as_ref()
            .and_then(|l| l.file_name())
            .map_or_else(
                || "no lockfile".into(),
                |n| n.to_string_lossy().into_owned()
            )
    ));
    if installed.in_app && installed.scripts_ran {
        if !(project.build_scripts().is_empty() && project.gulpfile.is_some()) {
            buildkit::output::bullet("The Node.js buildpack already installed node_modules and ran the build scripts: nothing to do for Node");
            return Ok(());
        }
        // Classic heroku-buildpack-nodejs pruned devDependencies (gulp among
        // them, usually) after its build step: they are put back below.
        buildkit::output::bullet("Using the node_modules the Node.js buildpack installed; it ran no build script, so `gulp default` runs here");
    } else if project.scripts.contains_key("heroku-prebuild") {
        script("heroku-prebuild")?;
    }
    if installed.in_app {
        if !installed.scripts_ran {
            buildkit::output::bullet(
                "Using the node_modules heroku/nodejs installed (its build scripts disabled at our request: they run here, once)",
            );
        }
        let missing = missing_dev_dependencies(app);
        if !missing.is_empty() {
            // heroku/nodejs installs as the environment says: with
            // NODE_ENV=production, npm ci, yarn and pnpm leave devDependencies out.
            buildkit::output::bullet(&format!(
                "{} devDependencies are not in node_modules ({}{}): installing them for the build; they are pruned after it",
                missing.len(),
                missing.iter().take(3).cloned().collect::<Vec<_>>().join(", "),
                if missing.len() > 3 { ", ..." } else { "" },
            ));
            let args: Vec<String> = install_args(project)
                .into_iter()
                .map(String::from)
                .collect();
            ctx.step(&tools.manager, &format!("{pm} {}", args.join(" ")), &args)?;
        }
        run_build(app, project, &ctx, &script)?;
        return prune_dev(app, project, tools, &ctx.env, redactor);
    }

    let key = modules_key(app, project, tools)?;
    let cached_key = std::fs::read_to_string(store.key_file()).unwrap_or_default();
    let in_app = app.join("node_modules");
    if cached_key.trim() == key && store.modules().is_dir() {
        buildkit::output::bullet(
            "Reusing node_modules from the cache (lockfile, package manager and Node unchanged)",
        );
        move_tree(&store.modules(), &in_app)?;
    } else {
        buildkit::output::bullet(if cached_key.is_empty() {
            "Installing node_modules (nothing cached yet)"
        } else {
            "Installing node_modules (the lockfile, package manager or Node changed)"
        });
        remove(&store.key_file())?;
        remove(&store.modules())?;
        let args: Vec<String> = install_args(project)
            .into_iter()
            .map(String::from)
            .collect();
        ctx.step(&tools.manager, &format!("{pm} {}", args.join(" ")), &args)?;
    }

    // Whatever happens next, node_modules goes back to the store: out of the image.
    let result = run_build(app, project, &ctx, &script);
    if in_app.is_dir() {
        move_tree(&in_app, &store.modules())?;
        std::fs::write(store.key_file(), &key).map_err(io_at(&store.key_file()))?;
    }
    result
}

/// Node tooling too old for the Node in use, recognised by what it prints.
fn diagnose_tooling(text: &str) -> Option<(String, String)> {
    if text.contains("primordials is not defined") {
        return Some((
            "gulp 3 does not run on this Node.js (\"primordials is not defined\": its graceful-fs 3 needs Node 10 or older)".into(),
            "Upgrade gulp: `npm install --save-dev gulp@5` and write tasks as exported functions (gulp.task('default', ...) still works with gulp.series). Or, not recommended, pin an old Node in package.json: \"engines\": { \"node\": \"10.x\" }, which Heroku no longer supports.".into(),
        ));
    }
    if text.contains("node-sass")
        && (text.contains("gyp ERR!") || text.contains("Build failed with error code"))
    {
        return Some((
            "node-sass cannot be built for this Node.js (it is deprecated, ships no binary for it, and its native build fails)".into(),
            "Replace it with Dart Sass: `npm uninstall node-sass && npm install --save-dev sass` (the `sass` command takes the same arguments; gulp-sass 5+ takes it as require('gulp-sass')(require('sass'))). Or pin a Node version node-sass has binaries for in package.json \"engines\".".into(),
        ));
    }
    None
}

/// `name@version` of a package whose tarball the registry answered 404 or
/// 410 for: npm (`404 Not Found - GET <url>`), yarn (`Request failed "404
/// Not Found"`), pnpm (`ERR_PNPM_FETCH_404`), from the tarball URL
/// `<registry>/<name>/-/<basename>-<version>.tgz`.
fn unserved_package(text: &str) -> Option<(String, String)> {
    if !(text.contains("404") || text.contains("410")) {
        return None;
    }
    let url = text
        .split(|c: char| c.is_whitespace() || c == '"' || c == '\'' || c == '`')
        .map(|w| w.trim_end_matches([':', ',']))
        .find(|w| {
            w.contains("/-/")
                && std::path::Path::new(w)
                    .extension()
                    .is_some_and(|e| e.eq_ignore_ascii_case("tgz"))
        })?;
    let path = url.split_once("://").map_or(url, |(_, rest)| rest);
    let (before, file) = path.split_once("/-/")?;
    let mut parts: Vec<&str> = before.split('/').skip(1).collect();
    if parts.is_empty() {
        return None;
    }
    let name = if parts.len() >= 2 && parts[parts.len() - 2].starts_with('@') {
        parts.split_off(parts.len() - 2).join("/")
    } else {
        (*parts.last()?).to_string()
    };
    let base = name.rsplit('/').next()?;
    let version = file
        .strip_suffix(".tgz")?
        .strip_prefix(base)?
        .strip_prefix('-')?;
    Some((
        name.replace("%2f", "/").replace("%2F", "/"),
        version.to_string(),
    ))
}

/// The devDependencies package.json declares that node_modules does not hold.
fn missing_dev_dependencies(app: &Path) -> Vec<String> {
    let Ok(text) = std::fs::read_to_string(app.join("package.json")) else {
        return Vec::new();
    };
    let Ok(json) = serde_json::from_str::<serde_json::Value>(&text) else {
        return Vec::new();
    };
    json.get("devDependencies")
        .and_then(serde_json::Value::as_object)
        .map(|deps| {
            deps.keys()
                .filter(|name| {
                    !app.join("node_modules")
                        .join(name)
                        .join("package.json")
                        .exists()
                })
                .cloned()
                .collect()
        })
        .unwrap_or_default()
}

/// heroku/nodejs prunes devDependencies after the build scripts it runs;
/// when they ran here instead (its scripts disabled at our request), prune
/// as it would have, so they stay out of the image.
pub(crate) fn prune_dev(
    app: &Path,
    project: &NodeProject,
    tools: &Toolchain,
    env: &Env,
    redactor: &Redactor,
) -> Result<(), AssetsError> {
    // The commands heroku/nodejs 5.7.4 prunes with (src/package_managers:
    // npm.rs, yarn.rs and pnpm.rs, `prune_dev_dependencies`); npm's with
    // --omit=dev, since our NODE_ENV may not be the app's.
    let args: &[&str] = match project.manager {
        PackageManager::Npm => &["prune", "--omit=dev", "--no-audit", "--no-fund"],
        PackageManager::Pnpm => &["prune", "--prod", "--ignore-scripts"],
        PackageManager::YarnClassic => &[
            "install",
            "--production",
            "--frozen-lockfile",
            "--ignore-engines",
            "--ignore-scripts",
            "--prefer-offline",
        ],
        // Yarn 2+ has no prune command; heroku/nodejs runs a plugin of its own.
        PackageManager::YarnBerry => {
            buildkit::output::warning(
                "devDependencies stay in the image: Yarn 2+ has no prune command (heroku/nodejs prunes with a Yarn plugin of its own)",
            );
            return Ok(());
        }
    };
    if !app.join("node_modules").is_dir() {
        return Ok(());
    }
    let args: Vec<String> = args.iter().map(|a| (*a).to_string()).collect();
    let ctx = Ctx {
        app,
        env: env.clone(),
        redactor,
    };
    ctx.step(
        &tools.manager,
        &format!(
            "{} {} (devDependencies out of the image, as heroku/nodejs does)",
            project.manager.program(),
            args.join(" ")
        ),
        &args,
    )
}

/// Heroku's build scripts (`heroku-build` or `build`, then `heroku-postbuild`),
/// or `gulp default` when there is a gulpfile and no build script.
fn run_build(
    app: &Path,
    project: &NodeProject,
    ctx: &Ctx<'_>,
    script: &dyn Fn(&str) -> Result<(), AssetsError>,
) -> Result<(), AssetsError> {
    let scripts = project.build_scripts();
    if scripts.is_empty() {
        if let Some(gulpfile) = &project.gulpfile {
            let gulp = app.join("node_modules/.bin/gulp");
            if !gulp.exists() {
                return Err(AssetsError::ToolMissing {
                    tool: "gulp".into(),
                    why: format!("the app has {gulpfile} and no build script in package.json"),
                    hint: "Add gulp to devDependencies (`npm install --save-dev gulp`) and commit the lockfile, or add a \"build\" script.".into(),
                });
            }
            ctx.step(&gulp, "gulp default", &["default".into()])?;
        }
    }
    for name in scripts {
        script(name)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(str::to_string).collect()
    }

    #[test]
    fn a_pinned_version_the_registry_does_not_serve_is_named_with_its_lockfile_and_fix() {
        let npm = "npm error code E404\nnpm error 404 Not Found - GET https://registry.npmjs.org/left-pad/-/left-pad-99.99.99.tgz\nnpm error 404";
        let (headline, fix) = diagnose("npm ci --include=dev", &lines(npm));
        assert_eq!(
            headline,
            "the registry no longer serves left-pad@99.99.99, which package-lock.json pins"
        );
        assert!(
            fix.contains("npm install left-pad@") && fix.contains("commit package-lock.json"),
            "{fix}"
        );
        let yarn = "error An unexpected error occurred: \"https://registry.yarnpkg.com/@babel/core/-/core-7.99.0.tgz: Request failed \\\"404 Not Found\\\"\".";
        let (headline, fix) = diagnose("yarn install --frozen-lockfile", &lines(yarn));
        assert_eq!(
            headline,
            "the registry no longer serves @babel/core@7.99.0, which yarn.lock pins"
        );
        assert!(fix.contains("yarn upgrade @babel/core@"), "{fix}");
        let pnpm = " ERR_PNPM_FETCH_404  GET https://registry.npmjs.org/is-odd/-/is-odd-0.0.9.tgz: Not Found - 404";
        let (headline, _) = diagnose("pnpm install --frozen-lockfile", &lines(pnpm));
        assert_eq!(
            headline,
            "the registry no longer serves is-odd@0.0.9, which pnpm-lock.yaml pins"
        );
    }

    #[test]
    fn gulp_3_and_node_sass_on_a_newer_node_say_what_why_and_the_fix() {
        let (headline, fix) = diagnose(
            "gulp default",
            &lines("fs.js:44\n} = primordials;\nReferenceError: primordials is not defined"),
        );
        assert!(
            headline.starts_with("gulp 3 does not run on this Node.js"),
            "{headline}"
        );
        assert!(fix.contains("gulp@5") && fix.contains("engines"), "{fix}");
        let (headline, fix) = diagnose("npm ci", &lines("npm error gyp ERR! cwd /app/node_modules/node-sass\nnpm error Build failed with error code: 1"));
        assert!(
            headline.starts_with("node-sass cannot be built"),
            "{headline}"
        );
        assert!(fix.contains("npm install --save-dev sass"), "{fix}");
    }

    #[test]
    fn failures_are_classified() {
        let lines = |s: &str| s.lines().map(String::from).collect::<Vec<_>>();
        assert_eq!(
            diagnose("npm ci", &lines("npm error `npm ci` can only install packages when your package.json and package-lock.json or npm-shrinkwrap.json are in sync.")).0,
            "the lockfile does not match package.json"
        );
        assert_eq!(
            diagnose(
                "npm ci",
                &lines("npm error code ENOTFOUND\nnpm error network request failed")
            )
            .0,
            "the package registry could not be reached"
        );
        let (cause, hint) = diagnose(
            "npm run build",
            &lines("Error: Undefined variable.\n  ╷\n3 │ color: $missing;"),
        );
        assert_eq!(cause, "the app's build script failed");
        assert!(hint.contains("Run `npm run build` locally"));
        assert_eq!(
            diagnose("npm run build", &lines("sh: 1: webpack: not found")).0,
            "the script uses a tool that is not installed"
        );
    }

    #[test]
    fn the_package_managers_version_is_read_from_its_package_json() {
        let d = tempfile::tempdir().unwrap();
        let pkg = d.path().join("lib/node_modules/npm");
        std::fs::create_dir_all(pkg.join("bin")).unwrap();
        std::fs::write(
            pkg.join("package.json"),
            r#"{"name":"npm","version":"11.2.3"}"#,
        )
        .unwrap();
        std::fs::write(pkg.join("bin/npm-cli.js"), "").unwrap();
        std::fs::create_dir_all(d.path().join("bin")).unwrap();
        std::os::unix::fs::symlink(pkg.join("bin/npm-cli.js"), d.path().join("bin/npm")).unwrap();
        assert_eq!(
            package_version(&d.path().join("bin/npm")).as_deref(),
            Some("11.2.3")
        );
        // Another package's package.json above it does not count.
        std::os::unix::fs::symlink(pkg.join("bin/npm-cli.js"), d.path().join("bin/pnpm")).unwrap();
        assert_eq!(package_version(&d.path().join("bin/pnpm")), None);
    }

    #[test]
    fn installs_keep_dev_dependencies_and_the_lockfile_frozen() {
        let p = |manager, lock: bool| NodeProject {
            manager,
            lockfile: lock.then(|| PathBuf::from("x")),
            scripts: std::collections::BTreeMap::default(),
            gulpfile: None,
            warnings: vec![],
        };
        assert_eq!(
            install_args(&p(PackageManager::Npm, true))[..2],
            ["ci", "--include=dev"]
        );
        assert_eq!(install_args(&p(PackageManager::Npm, false))[0], "install");
        assert!(install_args(&p(PackageManager::YarnClassic, true)).contains(&"--frozen-lockfile"));
        assert!(install_args(&p(PackageManager::YarnBerry, true)).contains(&"--immutable"));
        assert!(install_args(&p(PackageManager::Pnpm, true)).contains(&"--prod=false"));
    }
}
