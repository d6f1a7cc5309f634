//! The input digest (whether assets must be rebuilt) and the before/after
//! snapshots that find what the build wrote (what to cache and restore).

use crate::error::{io_at, AssetsError};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// Lockfiles and manifests: always inputs, whatever `inputs` says.
pub(crate) const ALWAYS_INPUTS: &[&str] = &[
    "package.json",
    "package-lock.json",
    "npm-shrinkwrap.json",
    "yarn.lock",
    "pnpm-lock.yaml",
    ".yarnrc.yml",
    ".npmrc",
    "project.toml",
];

/// Directories that are tools or caches, never inputs nor outputs: installed
/// packages, VCS data, bytecode, virtualenvs (classic Python keeps one in `.heroku`).
pub(crate) fn is_tooling_dir(name: &OsStr) -> bool {
    matches!(
        name.to_str(),
        Some("node_modules" | ".git" | "__pycache__" | ".slipway" | ".heroku" | ".venv" | "venv")
    )
}

fn is_noise_file(name: &OsStr) -> bool {
    Path::new(name)
        .extension()
        .is_some_and(|e| e == "pyc" || e == "pyo")
}

fn walk(app: &Path) -> impl Iterator<Item = walkdir::Result<walkdir::DirEntry>> {
    walkdir::WalkDir::new(app)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            e.depth() == 0 || !(e.file_type().is_dir() && is_tooling_dir(e.file_name()))
        })
}

fn rel(app: &Path, path: &Path) -> String {
    path.strip_prefix(app)
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}

/// sha256 of a file's content, hex.
pub(crate) fn sha256_file(path: &Path) -> Result<String, AssetsError> {
    use std::io::Read as _;
    let mut file = std::fs::File::open(path).map_err(io_at(path))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0; 64 * 1024];
    loop {
        match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => hasher.update(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io_at(path)(e)),
        }
    }
    Ok(hex(&hasher.finalize()))
}

pub(crate) use buildkit::fs::hex;

/// The inputs of the asset build: each file's hash and the facts (tool
/// versions, settings) that change the result.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Inputs {
    pub(crate) digest: String,
    pub(crate) files: BTreeMap<String, String>,
    pub(crate) facts: BTreeMap<String, String>,
}

impl Inputs {
    pub(crate) fn compute(
        app: &Path,
        globs: &[String],
        facts: BTreeMap<String, String>,
    ) -> Result<Self, AssetsError> {
        let selected = if globs.is_empty() {
            None
        } else {
            let mut set = globset::GlobSetBuilder::new();
            for g in globs {
                let glob = globset::GlobBuilder::new(g.trim_start_matches('/'))
                    .literal_separator(true)
                    .build()
                    .map_err(|e| AssetsError::Config(format!("inputs: `{g}`: {e}")))?;
                set.add(glob);
            }
            Some(
                set.build()
                    .map_err(|e| AssetsError::Config(e.to_string()))?,
            )
        };
        let mut files = BTreeMap::new();
        for entry in walk(app) {
            let entry = entry.map_err(|e| AssetsError::Io {
                path: e.path().unwrap_or(app).to_path_buf(),
                source: e
                    .into_io_error()
                    .unwrap_or_else(|| std::io::Error::other("walk")),
            })?;
            let ft = entry.file_type();
            if ft.is_dir() || is_noise_file(entry.file_name()) {
                continue;
            }
            let name = rel(app, entry.path());
            let wanted = selected
                .as_ref()
                .is_none_or(|s| s.is_match(&name) || ALWAYS_INPUTS.contains(&name.as_str()));
            if !wanted {
                continue;
            }
            let hash = if ft.is_symlink() {
                let target = std::fs::read_link(entry.path()).map_err(io_at(entry.path()))?;
                hex(&Sha256::digest(target.as_os_str().as_encoded_bytes()))
            } else if ft.is_file() {
                sha256_file(entry.path())?
            } else {
                continue;
            };
            files.insert(name, hash);
        }
        let mut h = Sha256::new();
        h.update(b"slipway-static-assets inputs v1\n");
        for (k, v) in &facts {
            h.update(format!("fact {k}={v}\n"));
        }
        for (k, v) in &files {
            h.update(b"file ");
            h.update(k.as_bytes());
            h.update(b"\0");
            h.update(v.as_bytes());
            h.update(b"\n");
        }
        Ok(Self {
            digest: hex(&h.finalize()),
            files,
            facts,
        })
    }

    /// Why these inputs differ from `previous`, for the log: at most `limit` reasons.
    pub(crate) fn changes_since(&self, previous: &Inputs, limit: usize) -> Vec<String> {
        let mut out = Vec::new();
        for (k, v) in &self.facts {
            match previous.facts.get(k) {
                Some(old) if old == v => {}
                Some(old) => out.push(format!("{k}: {old} -> {v}")),
                None => out.push(format!("{k}: {v}")),
            }
        }
        for (k, v) in &self.files {
            match previous.files.get(k) {
                Some(old) if old == v => {}
                Some(_) => out.push(format!("changed {k}")),
                None => out.push(format!("added {k}")),
            }
        }
        for k in previous.files.keys() {
            if !self.files.contains_key(k) {
                out.push(format!("removed {k}"));
            }
        }
        let more = out.len().saturating_sub(limit);
        out.truncate(limit);
        if more > 0 {
            out.push(format!("and {more} more"));
        }
        out
    }
}

/// What each file looked like, to find what a build step wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp {
    len: u64,
    mtime: (i64, i64),
    ino: u64,
    link: bool,
}

#[derive(Debug, Default)]
pub(crate) struct Snapshot(BTreeMap<String, Stamp>);

impl Snapshot {
    pub(crate) fn take(app: &Path) -> Self {
        let mut map = BTreeMap::new();
        for entry in walk(app) {
            let Ok(entry) = entry else { continue };
            let ft = entry.file_type();
            if !(ft.is_file() || ft.is_symlink()) || is_noise_file(entry.file_name()) {
                continue;
            }
            let Ok(meta) = entry.metadata() else { continue };
            map.insert(
                rel(app, entry.path()),
                Stamp {
                    len: meta.len(),
                    mtime: (meta.mtime(), meta.mtime_nsec()),
                    ino: meta.ino(),
                    link: ft.is_symlink(),
                },
            );
        }
        Self(map)
    }

    /// Files (and links) new or changed in `after`: what the build produced.
    pub(crate) fn written_since(&self, after: &Snapshot) -> Vec<String> {
        after
            .0
            .iter()
            .filter(|(k, v)| self.0.get(*k) != Some(v))
            .map(|(k, _)| k.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        for (p, c) in [
            ("package.json", "{}"),
            ("assets/scss/main.scss", "a{}"),
            ("app/views.py", "x = 1"),
            ("node_modules/sass/index.js", "lib"),
            ("app/__pycache__/views.cpython-311.pyc", "bytecode"),
        ] {
            let p = d.path().join(p);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, c).unwrap();
        }
        d
    }

    #[test]
    fn the_digest_covers_the_app_but_not_installed_packages_or_bytecode() {
        let d = app();
        let a = Inputs::compute(d.path(), &[], BTreeMap::new()).unwrap();
        assert_eq!(
            a.files.keys().collect::<Vec<_>>(),
            ["app/views.py", "assets/scss/main.scss", "package.json"]
        );
        std::fs::write(d.path().join("node_modules/sass/index.js"), "other").unwrap();
        std::fs::write(d.path().join("app/__pycache__/views.cpython-311.pyc"), "o").unwrap();
        assert_eq!(Inputs::compute(d.path(), &[], BTreeMap::new()).unwrap(), a);
        std::fs::write(d.path().join("assets/scss/main.scss"), "b{}").unwrap();
        let b = Inputs::compute(d.path(), &[], BTreeMap::new()).unwrap();
        assert_ne!(a.digest, b.digest);
        assert_eq!(b.changes_since(&a, 5), ["changed assets/scss/main.scss"]);
    }

    #[test]
    fn globs_narrow_the_inputs_but_lockfiles_always_count() {
        let d = app();
        let only = vec!["assets/**".to_string()];
        let a = Inputs::compute(d.path(), &only, BTreeMap::new()).unwrap();
        assert_eq!(
            a.files.keys().collect::<Vec<_>>(),
            ["assets/scss/main.scss", "package.json"]
        );
        std::fs::write(d.path().join("app/views.py"), "x = 2").unwrap();
        assert_eq!(
            Inputs::compute(d.path(), &only, BTreeMap::new())
                .unwrap()
                .digest,
            a.digest
        );
    }

    #[test]
    fn facts_change_the_digest_and_are_named() {
        let d = app();
        let facts = |v: &str| BTreeMap::from([("node".to_string(), v.to_string())]);
        let a = Inputs::compute(d.path(), &[], facts("v20.1.0")).unwrap();
        let b = Inputs::compute(d.path(), &[], facts("v22.0.0")).unwrap();
        assert_ne!(a.digest, b.digest);
        assert_eq!(b.changes_since(&a, 5), ["node: v20.1.0 -> v22.0.0"]);
    }

    #[test]
    fn the_snapshot_finds_what_a_step_wrote() {
        let d = app();
        let before = Snapshot::take(d.path());
        std::fs::create_dir_all(d.path().join("static/dist")).unwrap();
        std::fs::write(d.path().join("static/dist/main.css"), "a{}").unwrap();
        std::fs::write(d.path().join("node_modules/.cache"), "x").unwrap();
        std::thread::sleep(std::time::Duration::from_millis(10));
        std::fs::write(d.path().join("package.json"), "{ }").unwrap();
        let after = Snapshot::take(d.path());
        assert_eq!(
            before.written_since(&after),
            ["package.json", "static/dist/main.css"]
        );
    }
}
