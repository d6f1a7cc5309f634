//! `buildpack.toml`, as far as the lifecycle needs it.

use crate::error::{LifecycleError, Result};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The Buildpack API this runner implements (libcnb 0.30's).
pub(crate) const SUPPORTED_API: &str = "0.10";

#[derive(Debug, Clone)]
pub(crate) struct BuildpackDir {
    pub(crate) dir: PathBuf,
    pub(crate) id: String,
    pub(crate) version: String,
    pub(crate) api: String,
    pub(crate) clear_env: bool,
    /// A composite buildpack's `[[order]]`: groups of references, tried in order.
    pub(crate) order: Option<Vec<Vec<GroupRef>>>,
}

/// An entry of an `[[order.group]]` (or of project.toml's `[[io.buildpacks.group]]`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub(crate) struct GroupRef {
    pub(crate) id: String,
    #[serde(default)]
    pub(crate) version: Option<String>,
    #[serde(default)]
    pub(crate) optional: bool,
}

#[derive(Deserialize)]
struct Descriptor {
    api: String,
    buildpack: Info,
    #[serde(default)]
    order: Vec<OrderGroup>,
}

#[derive(Deserialize)]
struct OrderGroup {
    #[serde(default)]
    group: Vec<GroupRef>,
}

#[derive(Deserialize)]
struct Info {
    id: String,
    version: String,
    #[serde(rename = "clear-env", default)]
    clear_env: bool,
}

impl BuildpackDir {
    pub(crate) fn open(dir: &Path) -> Result<Self> {
        let dir = std::fs::canonicalize(dir).map_err(|e| LifecycleError::NotABuildpack {
            path: dir.to_path_buf(),
            why: e.to_string(),
        })?;
        let file = dir.join("buildpack.toml");
        let text = std::fs::read_to_string(&file).map_err(|e| LifecycleError::NotABuildpack {
            path: dir.clone(),
            why: format!("cannot read buildpack.toml ({e})"),
        })?;
        let d: Descriptor = toml::from_str(&text).map_err(|e| LifecycleError::Toml {
            file: file.clone(),
            message: e.message().to_string(),
        })?;
        if d.api != SUPPORTED_API {
            return Err(LifecycleError::UnsupportedApi {
                buildpack: d.buildpack.id,
                api: d.api,
            });
        }
        let order =
            (!d.order.is_empty()).then(|| d.order.into_iter().map(|g| g.group).collect::<Vec<_>>());
        for bin in ["detect", "build"] {
            if order.is_none() && !dir.join("bin").join(bin).is_file() {
                return Err(LifecycleError::NotABuildpack {
                    path: dir.clone(),
                    why: format!("bin/{bin} is missing"),
                });
            }
        }
        Ok(Self {
            id: d.buildpack.id,
            version: d.buildpack.version,
            api: d.api,
            clear_env: d.buildpack.clear_env,
            order,
            dir,
        })
    }

    pub(crate) fn is_composite(&self) -> bool {
        self.order.is_some()
    }

    /// The directory name the lifecycle uses under the layers dir (`/` becomes `_`).
    pub(crate) fn escaped_id(&self) -> String {
        self.id.replace('/', "_")
    }
}
