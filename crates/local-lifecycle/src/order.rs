//! The order a build detects over, as the lifecycle's detector sees it:
//! groups of buildpack references, composite buildpacks expanded into their
//! own `[[order]]` groups, optional members, and the first group that passes
//! detection and resolves its plan wins.
//!
//! Where the group comes from: the `--buildpack` directories, in order (a
//! composite among them expands), or, with none, the app's `project.toml`
//! `[[io.buildpacks.group]]` (whose entries have no `optional`: the project
//! descriptor spec). References are found by id (and version when given) in
//! the [`Registry`]: the given directories, a composite's `package.toml`
//! dependencies that are local directories (what `cargo libcnb package`
//! writes), and `--map ID=DIR` for the others (e.g. `heroku/nodejs`).

use crate::descriptor::{BuildpackDir, GroupRef};
use crate::error::{LifecycleError, Result};
use serde::Deserialize;
use slipway_data::{Project, ReadError};
use std::path::{Path, PathBuf};

/// Groups are expanded up to this many (composites multiply).
const MAX_GROUPS: usize = 1024;

/// Buildpacks that references can resolve to.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    buildpacks: Vec<BuildpackDir>,
}

#[derive(Deserialize)]
struct PackageToml {
    #[serde(default)]
    dependencies: Vec<Dependency>,
}

#[derive(Deserialize)]
struct Dependency {
    uri: String,
}

impl Registry {
    /// Open a buildpack directory and register it (and, for a composite, the
    /// local directories its `package.toml` lists).
    pub(crate) fn add_dir(&mut self, dir: &Path) -> Result<BuildpackDir> {
        let bp = BuildpackDir::open(dir)?;
        if bp.is_composite() {
            if let Ok(text) = std::fs::read_to_string(bp.dir.join("package.toml")) {
                let package: PackageToml =
                    toml::from_str(&text).map_err(|e| LifecycleError::Toml {
                        file: bp.dir.join("package.toml"),
                        message: e.message().to_string(),
                    })?;
                for dep in package.dependencies {
                    let path = PathBuf::from(&dep.uri);
                    let path = if path.is_absolute() {
                        path
                    } else {
                        bp.dir.join(path)
                    };
                    if !dep.uri.contains("://") && path.join("buildpack.toml").is_file() {
                        self.add_dir(&path)?;
                    }
                }
            }
        }
        self.insert(bp.clone());
        Ok(bp)
    }

    /// `--map ID=DIR`: the buildpack for a reference nothing else provides.
    pub(crate) fn add_mapping(&mut self, id: &str, dir: &Path) -> Result<()> {
        let bp = self.add_dir(dir)?;
        if bp.id != id {
            return Err(LifecycleError::NotABuildpack {
                path: dir.to_path_buf(),
                why: format!("--map {id}=... points at a buildpack whose id is {}", bp.id),
            });
        }
        Ok(())
    }

    /// Every registered buildpack.
    pub(crate) fn all(&self) -> &[BuildpackDir] {
        &self.buildpacks
    }

    fn insert(&mut self, bp: BuildpackDir) {
        self.buildpacks
            .retain(|b| !(b.id == bp.id && b.version == bp.version));
        self.buildpacks.push(bp);
    }

    /// The buildpack a reference names: by id, and by version when it gives one.
    pub(crate) fn find(&self, r: &GroupRef) -> Result<&BuildpackDir> {
        self.buildpacks
            .iter()
            .rev()
            .find(|b| b.id == r.id && r.version.as_ref().is_none_or(|v| *v == b.version))
            .ok_or_else(|| LifecycleError::UnresolvedReference {
                id: r.id.clone(),
                version: r.version.clone().unwrap_or_else(|| "any version".into()),
                known: self
                    .buildpacks
                    .iter()
                    .map(|b| format!("{}@{}", b.id, b.version))
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }
}

/// What a build detects over.
#[derive(Debug)]
pub(crate) struct Order {
    /// The group as given (composites not expanded): what a platform's order.toml holds.
    pub(crate) top: Vec<Element>,
    /// Expanded, in the order they are tried.
    pub(crate) groups: Vec<Vec<Element>>,
    pub(crate) registry: Registry,
}

/// A member of an expanded group.
#[derive(Debug, Clone)]
pub(crate) struct Element {
    pub(crate) bp: BuildpackDir,
    pub(crate) optional: bool,
}

/// Expand a group whose members may be composites into the groups of
/// non-composite buildpacks to try, in the lifecycle's order (a composite's
/// groups in order; an optional composite may also be left out, last).
pub(crate) fn expand(group: &[Element], registry: &Registry) -> Result<Vec<Vec<Element>>> {
    expand_depth(group, registry, 0)
}

fn expand_depth(group: &[Element], registry: &Registry, depth: usize) -> Result<Vec<Vec<Element>>> {
    if depth > 16 {
        return Err(LifecycleError::Order(
            "composite buildpacks nest more than 16 deep (a cycle?)".into(),
        ));
    }
    let mut out: Vec<Vec<Element>> = vec![Vec::new()];
    for el in group {
        let alternatives: Vec<Vec<Element>> = match &el.bp.order {
            None => vec![vec![el.clone()]],
            Some(order) => {
                let mut alts = Vec::new();
                for sub in order {
                    let members = sub
                        .iter()
                        .map(|r| {
                            Ok(Element {
                                bp: registry.find(r)?.clone(),
                                optional: r.optional || el.optional,
                            })
                        })
                        .collect::<Result<Vec<_>>>()?;
                    alts.extend(expand_depth(&members, registry, depth + 1)?);
                }
                if el.optional {
                    alts.push(Vec::new());
                }
                alts
            }
        };
        let mut next = Vec::new();
        for prefix in &out {
            for alt in &alternatives {
                let mut g = prefix.clone();
                g.extend(alt.iter().cloned());
                next.push(g);
                if next.len() > MAX_GROUPS {
                    return Err(LifecycleError::Order(format!(
                        "the order expands to more than {MAX_GROUPS} groups"
                    )));
                }
            }
        }
        out = next;
    }
    Ok(out)
}

/// The app's `project.toml` `[[io.buildpacks.group]]`, resolved, if it has one.
/// An entry with a `uri` that is a local directory is registered from it.
pub(crate) fn project_group(
    app_dir: &Path,
    registry: &mut Registry,
) -> Result<Option<Vec<Element>>> {
    let path = app_dir.join("project.toml");
    let toml_error = |e: slipway_data::TomlError| LifecycleError::Toml {
        file: path.clone(),
        message: format!("line {}: {}", e.line, e.message),
    };
    let project = match Project::read(app_dir) {
        Ok(Some(p)) => p,
        Ok(None) => return Ok(None),
        Err(ReadError::Toml(e)) => return Err(toml_error(e)),
        Err(ReadError::AppFile(e)) => return Err(LifecycleError::Order(e.to_string())),
    };
    let group = project.group().map_err(toml_error)?;
    if group.is_empty() {
        return Ok(None);
    }
    let mut out = Vec::new();
    for (i, entry) in group.into_iter().enumerate() {
        let local = entry
            .uri
            .as_deref()
            .filter(|u| !u.contains("://"))
            .map(|u| app_dir.join(u))
            .filter(|p| p.join("buildpack.toml").is_file());
        let bp = if let Some(dir) = local {
            registry.add_dir(&dir)?
        } else {
            let id = entry.id.ok_or_else(|| {
                LifecycleError::Order(format!(
                    "{}: [[io.buildpacks.group]] entry #{} has neither an id nor a local uri",
                    path.display(),
                    i + 1
                ))
            })?;
            registry
                .find(&GroupRef {
                    id,
                    version: entry.version,
                    optional: false,
                })?
                .clone()
        };
        out.push(Element {
            bp,
            optional: false,
        });
    }
    Ok(Some(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buildpack(parent: &Path, id: &str, extra: &str) -> PathBuf {
        let dir = parent.join(id.replace('/', "_"));
        std::fs::create_dir_all(dir.join("bin")).unwrap();
        std::fs::write(
            dir.join("buildpack.toml"),
            format!("api = \"0.10\"\n[buildpack]\nid = \"{id}\"\nversion = \"1.0.0\"\n{extra}"),
        )
        .unwrap();
        if extra.is_empty() {
            std::fs::write(dir.join("bin/detect"), "").unwrap();
            std::fs::write(dir.join("bin/build"), "").unwrap();
        }
        dir
    }

    fn ids(groups: &[Vec<Element>]) -> Vec<String> {
        groups
            .iter()
            .map(|g| {
                g.iter()
                    .map(|e| format!("{}{}", e.bp.id, if e.optional { "?" } else { "" }))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect()
    }

    #[test]
    fn composites_expand_in_order_and_an_optional_one_may_be_left_out() {
        let tmp = tempfile::tempdir().unwrap();
        let mut reg = Registry::default();
        for id in ["a", "b", "c"] {
            reg.add_dir(&buildpack(tmp.path(), id, "")).unwrap();
        }
        let comp = buildpack(
            tmp.path(),
            "comp",
            "[[order]]\n[[order.group]]\nid = \"a\"\n[[order.group]]\nid = \"b\"\noptional = true\n[[order]]\n[[order.group]]\nid = \"c\"\n",
        );
        let comp = reg.add_dir(&comp).unwrap();
        let c = reg
            .find(&GroupRef {
                id: "c".into(),
                version: None,
                optional: false,
            })
            .unwrap()
            .clone();
        let groups = expand(
            &[
                Element {
                    bp: comp,
                    optional: true,
                },
                Element {
                    bp: c,
                    optional: false,
                },
            ],
            &reg,
        )
        .unwrap();
        assert_eq!(ids(&groups), ["a? b? c", "c? c", "c"]);
    }

    #[test]
    fn an_unknown_reference_names_what_is_known() {
        let reg = Registry::default();
        let e = reg
            .find(&GroupRef {
                id: "heroku/nodejs".into(),
                version: Some("5.0.0".into()),
                optional: false,
            })
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("heroku/nodejs@5.0.0") && e.contains("--map"),
            "{e}"
        );
    }
}
