//! What a build leaves behind: `<out>/workspace` (the app), `<out>/layers`
//! (launch layers per buildpack) and `<out>/layers/config/metadata.toml`
//! (the buildpacks and the merged process table), as in a CNB image.

use crate::error::{IoContext, LifecycleError, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Api {
    /// Built by Cloud Native Buildpacks: launch env from layers.
    Cnb,
    /// Built by classic buildpacks: `.profile.d/*.sh` sourced at start.
    Classic,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ImageBuildpack {
    pub(crate) id: String,
    pub(crate) version: String,
    /// Directory name under `layers/` (CNB) or the buildpack's name (classic).
    /// Absent in the official lifecycle's `metadata.toml`: the escaped id.
    #[serde(default)]
    pub(crate) layers: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ImageProcess {
    #[serde(rename = "type")]
    pub(crate) kind: String,
    pub(crate) command: Vec<String>,
    #[serde(default)]
    pub(crate) args: Vec<String>,
    #[serde(default)]
    pub(crate) default: bool,
    #[serde(rename = "buildpack-id", default)]
    pub(crate) buildpack_id: String,
    #[serde(
        rename = "working-dir",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) working_dir: Option<String>,
}

/// `layers/config/metadata.toml`. The official lifecycle's builder writes the
/// same file (`slipway build --lifecycle`): it has no `api` (it is a CNB
/// build), no `layers` per buildpack, and names the default process in
/// `buildpack-default-process-type` instead of `default = true`; reading
/// accepts both.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ImageMetadata {
    #[serde(default = "cnb")]
    pub(crate) api: Api,
    #[serde(default)]
    pub(crate) buildpacks: Vec<ImageBuildpack>,
    #[serde(default)]
    pub(crate) processes: Vec<ImageProcess>,
    #[serde(
        rename = "buildpack-default-process-type",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub(crate) default_process_type: Option<String>,
}

fn cnb() -> Api {
    Api::Cnb
}

pub(crate) struct Image {
    pub(crate) root: PathBuf,
}

impl Image {
    pub(crate) fn new(root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
        }
    }
    pub(crate) fn workspace(&self) -> PathBuf {
        self.root.join("workspace")
    }
    pub(crate) fn layers(&self) -> PathBuf {
        self.root.join("layers")
    }
    pub(crate) fn platform(&self) -> PathBuf {
        self.root.join("platform")
    }
    /// Scratch space of a build (plans), removed at its end.
    pub(crate) fn tmp(&self) -> PathBuf {
        self.root.join("tmp")
    }
    pub(crate) fn cache(&self) -> PathBuf {
        self.root.join("cache")
    }
    pub(crate) fn metadata_path(&self) -> PathBuf {
        self.layers().join("config").join("metadata.toml")
    }

    pub(crate) fn read_metadata(&self) -> Result<ImageMetadata> {
        let path = self.metadata_path();
        let text = std::fs::read_to_string(&path).map_err(|_| LifecycleError::NoImage {
            image: self.root.clone(),
        })?;
        let mut m: ImageMetadata = toml::from_str(&text).map_err(|e| LifecycleError::Toml {
            file: path,
            message: e.message().to_string(),
        })?;
        for bp in &mut m.buildpacks {
            if bp.layers.is_empty() {
                bp.layers = bp.id.replace('/', "_");
            }
        }
        if !m.processes.iter().any(|p| p.default) {
            if let Some(kind) = &m.default_process_type {
                for p in &mut m.processes {
                    p.default = p.kind == *kind;
                }
            }
        }
        Ok(m)
    }

    pub(crate) fn write_metadata(&self, m: &ImageMetadata) -> Result<()> {
        let path = self.metadata_path();
        std::fs::create_dir_all(path.parent().expect("has parent")).at(&path)?;
        std::fs::write(&path, toml::to_string(m).expect("metadata serializes")).at(&path)
    }
}

impl ImageMetadata {
    pub(crate) fn process(&self, wanted: Option<&str>) -> Result<&ImageProcess> {
        let available = || {
            self.processes
                .iter()
                .map(|p| p.kind.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        match wanted {
            Some(w) => self.processes.iter().find(|p| p.kind == w).ok_or_else(|| {
                LifecycleError::UnknownProcess {
                    wanted: w.to_string(),
                    available: available(),
                }
            }),
            None => self.processes.iter().find(|p| p.default).ok_or_else(|| {
                LifecycleError::NoDefaultProcess {
                    available: available(),
                }
            }),
        }
    }
}
