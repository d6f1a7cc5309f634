//! What the app has: a Node asset build (package.json scripts or a gulpfile)
//! and/or a Django project using staticfiles.

use crate::error::{io_at, AssetsError};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// gulp's config file names, as gulp-cli looks them up.
pub(crate) const GULPFILES: &[&str] = &[
    "gulpfile.js",
    "gulpfile.mjs",
    "gulpfile.cjs",
    "gulpfile.babel.js",
    "gulpfile.ts",
    "Gulpfile.js",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PackageManager {
    Npm,
    /// Yarn 1.
    YarnClassic,
    /// Yarn 2+ (a `.yarnrc.yml`, or `packageManager: yarn@2+`).
    YarnBerry,
    Pnpm,
}

impl PackageManager {
    pub(crate) fn program(self) -> &'static str {
        match self {
            PackageManager::Npm => "npm",
            PackageManager::YarnClassic | PackageManager::YarnBerry => "yarn",
            PackageManager::Pnpm => "pnpm",
        }
    }
}

#[derive(Debug, Clone)]
pub struct NodeProject {
    pub(crate) manager: PackageManager,
    /// The lockfile the manager installs from (`None`: plain `npm install`).
    pub(crate) lockfile: Option<PathBuf>,
    /// package.json's scripts.
    pub(crate) scripts: BTreeMap<String, String>,
    /// A gulpfile, used when package.json has no build script.
    pub(crate) gulpfile: Option<String>,
    /// Notes for the build log (several lockfiles, ...).
    pub(crate) warnings: Vec<String>,
}

impl NodeProject {
    /// The build steps after install: `heroku-build` or `build`, then `heroku-postbuild`.
    pub(crate) fn build_scripts(&self) -> Vec<&str> {
        let mut out = Vec::new();
        if self.scripts.contains_key("heroku-build") {
            out.push("heroku-build");
        } else if self.scripts.contains_key("build") {
            out.push("build");
        }
        if self.scripts.contains_key("heroku-postbuild") {
            out.push("heroku-postbuild");
        }
        out
    }

    /// Whether there is anything to build (otherwise the Node side does nothing).
    pub fn has_build(&self) -> bool {
        !self.build_scripts().is_empty()
            || self.scripts.contains_key("heroku-prebuild")
            || self.gulpfile.is_some()
    }
}

#[derive(Debug, Clone, Default)]
pub struct Detection {
    pub node: Option<NodeProject>,
    /// Django with `django.contrib.staticfiles` (manage.py in the app root).
    pub django: bool,
}

impl Detection {
    pub fn any(&self) -> bool {
        self.node.as_ref().is_some_and(NodeProject::has_build) || self.django
    }
}

#[derive(Deserialize)]
struct PackageJson {
    #[serde(default)]
    scripts: BTreeMap<String, serde_json::Value>,
    #[serde(default, rename = "packageManager")]
    package_manager: Option<String>,
    #[serde(default)]
    engines: BTreeMap<String, serde_json::Value>,
}

pub(crate) fn detect(app: &Path) -> Result<Detection, AssetsError> {
    Ok(Detection {
        node: node_project(app)?,
        django: django_project(app),
    })
}

pub(crate) fn node_project(app: &Path) -> Result<Option<NodeProject>, AssetsError> {
    let path = app.join("package.json");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_at(&path)(e)),
    };
    let pkg: PackageJson = serde_json::from_str(&text).map_err(|e| AssetsError::PackageJson {
        file: "package.json".into(),
        line: e.line(),
        message: e.to_string(),
    })?;
    let scripts = pkg
        .scripts
        .into_iter()
        .filter_map(|(k, v)| v.as_str().map(|s| (k, s.to_string())))
        .collect();
    let mut warnings = Vec::new();
    let locks: Vec<&str> = [
        "package-lock.json",
        "npm-shrinkwrap.json",
        "yarn.lock",
        "pnpm-lock.yaml",
    ]
    .into_iter()
    .filter(|l| app.join(l).is_file())
    .collect();
    let declared = pkg
        .package_manager
        .as_deref()
        .and_then(|p| p.split('@').next())
        .map(str::to_string);
    // `packageManager` decides between several lockfiles; otherwise npm's, yarn's, pnpm's.
    let chosen = locks
        .iter()
        .find(|l| {
            declared.as_deref().is_some_and(|d| match d {
                "npm" => matches!(**l, "package-lock.json" | "npm-shrinkwrap.json"),
                "yarn" => **l == "yarn.lock",
                "pnpm" => **l == "pnpm-lock.yaml",
                _ => false,
            })
        })
        .or_else(|| locks.first())
        .copied();
    if locks.len() > 1 {
        warnings.push(format!(
            "Several lockfiles: {}. Using {} (set \"packageManager\" in package.json to choose); delete the others so every tool agrees.",
            locks.join(", "),
            chosen.unwrap_or("package-lock.json")
        ));
    }
    if chosen == Some("pnpm-lock.yaml")
        && declared.as_deref() != Some("pnpm")
        && !pkg.engines.contains_key("pnpm")
    {
        // heroku/nodejs 5.7.4, src/package_manager.rs determine_package_manager:
        // pnpm only from `packageManager` or `engines.pnpm`, else npm.
        warnings.push(
            "pnpm-lock.yaml, but package.json names pnpm in neither \"packageManager\" nor \"engines\": heroku/nodejs installs with npm then (and `npm ci` fails without a package-lock.json). Add \"packageManager\": \"pnpm@<version>\" to package.json.".to_string(),
        );
    }
    let manager = match chosen {
        Some("yarn.lock") => {
            let berry = app.join(".yarnrc.yml").is_file()
                || pkg
                    .package_manager
                    .as_deref()
                    .and_then(|p| p.strip_prefix("yarn@"))
                    .is_some_and(|v| !v.starts_with("1."));
            if berry {
                PackageManager::YarnBerry
            } else {
                PackageManager::YarnClassic
            }
        }
        Some("pnpm-lock.yaml") => PackageManager::Pnpm,
        _ => PackageManager::Npm,
    };
    let gulpfile = GULPFILES
        .iter()
        .find(|g| app.join(g).is_file())
        .map(|g| (*g).to_string());
    Ok(Some(NodeProject {
        manager,
        lockfile: chosen.map(|l| app.join(l)),
        scripts,
        gulpfile,
        warnings,
    }))
}

/// `manage.py` in the root (as Heroku's Python CNB requires) and
/// `django.contrib.staticfiles` in a settings file within depth 3.
pub(crate) fn django_project(app: &Path) -> bool {
    if !app.join("manage.py").is_file() {
        return false;
    }
    walkdir::WalkDir::new(app)
        .max_depth(3)
        .into_iter()
        .filter_entry(|e| !crate::digest::is_tooling_dir(e.file_name()))
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file() && e.path().extension().is_some_and(|x| x == "py"))
        .any(|e| {
            std::fs::read_to_string(e.path())
                .is_ok_and(|t| t.contains("django.contrib.staticfiles"))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(files: &[(&str, &str)]) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        for (p, c) in files {
            let p = d.path().join(p);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, c).unwrap();
        }
        d
    }

    #[test]
    fn the_lockfile_chooses_the_package_manager() {
        for (lock, extra, want) in [
            ("package-lock.json", None, PackageManager::Npm),
            ("yarn.lock", None, PackageManager::YarnClassic),
            ("yarn.lock", Some(".yarnrc.yml"), PackageManager::YarnBerry),
            ("pnpm-lock.yaml", None, PackageManager::Pnpm),
        ] {
            let mut files = vec![("package.json", r#"{"scripts":{"build":"x"}}"#), (lock, "")];
            if let Some(e) = extra {
                files.push((e, ""));
            }
            let d = app(&files);
            let n = node_project(d.path()).unwrap().unwrap();
            assert_eq!(n.manager, want, "{lock}");
            assert_eq!(
                n.warnings.is_empty(),
                lock != "pnpm-lock.yaml",
                "{lock}: {:?}",
                n.warnings
            );
        }
        let d = app(&[("package.json", "{}")]);
        let n = node_project(d.path()).unwrap().unwrap();
        assert_eq!((n.manager, n.lockfile), (PackageManager::Npm, None));
    }

    #[test]
    fn a_pnpm_lockfile_without_pnpm_named_in_package_json_warns_that_heroku_nodejs_uses_npm() {
        let d = app(&[("package.json", "{}"), ("pnpm-lock.yaml", "")]);
        let n = node_project(d.path()).unwrap().unwrap();
        assert!(
            n.warnings[0].contains("\"packageManager\": \"pnpm@<version>\""),
            "{:?}",
            n.warnings
        );
        for named in [
            r#"{"packageManager":"pnpm@9.15.9"}"#,
            r#"{"engines":{"pnpm":"9.x"}}"#,
        ] {
            let d = app(&[("package.json", named), ("pnpm-lock.yaml", "")]);
            let n = node_project(d.path()).unwrap().unwrap();
            assert!(n.warnings.is_empty(), "{named}: {:?}", n.warnings);
        }
    }

    #[test]
    fn several_lockfiles_warn_and_package_manager_decides() {
        let d = app(&[
            ("package.json", r#"{"packageManager":"pnpm@9.1.0"}"#),
            ("package-lock.json", ""),
            ("pnpm-lock.yaml", ""),
        ]);
        let n = node_project(d.path()).unwrap().unwrap();
        assert_eq!(n.manager, PackageManager::Pnpm);
        assert!(
            n.warnings[0].contains("package-lock.json, pnpm-lock.yaml"),
            "{:?}",
            n.warnings
        );
    }

    #[test]
    fn heroku_build_replaces_build_and_postbuild_follows() {
        let d = app(&[(
            "package.json",
            r#"{"scripts":{"build":"a","heroku-build":"b","heroku-postbuild":"c","test":"d"}}"#,
        )]);
        let n = node_project(d.path()).unwrap().unwrap();
        assert_eq!(n.build_scripts(), ["heroku-build", "heroku-postbuild"]);
    }

    #[test]
    fn a_gulpfile_without_scripts_is_a_build_and_plain_package_json_is_not() {
        let d = app(&[
            ("package.json", r#"{"scripts":{"test":"x"}}"#),
            ("gulpfile.babel.js", ""),
        ]);
        let n = node_project(d.path()).unwrap().unwrap();
        assert_eq!(n.gulpfile.as_deref(), Some("gulpfile.babel.js"));
        assert!(n.has_build());
        let d = app(&[("package.json", r#"{"scripts":{"start":"node ."}}"#)]);
        assert!(!detect(d.path()).unwrap().any());
    }

    #[test]
    fn malformed_package_json_names_the_line() {
        let d = app(&[(
            "package.json",
            "{\n  \"scripts\": {\n    \"build\": \"x\",\n  }\n}\n",
        )]);
        let e = node_project(d.path()).unwrap_err().to_string();
        assert!(e.starts_with("package.json:4:"), "{e}");
    }

    #[test]
    fn django_needs_manage_py_and_staticfiles() {
        let settings = "INSTALLED_APPS = ['django.contrib.staticfiles']\n";
        assert!(django_project(
            app(&[("manage.py", ""), ("proj/settings.py", settings)]).path()
        ));
        assert!(!django_project(
            app(&[("proj/settings.py", settings)]).path()
        ));
        assert!(!django_project(
            app(&[
                ("manage.py", ""),
                ("proj/settings.py", "INSTALLED_APPS = []\n")
            ])
            .path()
        ));
        // A dependency's copy of Django does not count.
        assert!(!django_project(
            app(&[("manage.py", ""), ("node_modules/x/settings.py", settings)]).path()
        ));
    }
}
