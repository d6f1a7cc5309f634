//! What a build is asked to do: shared by every builder
//! (ours, classic, the official lifecycle's) and the image platform.

use crate::error::{LifecycleError, Result};
use crate::order;
use std::path::PathBuf;

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
    /// Who runs the buildpacks.
    pub runner: Runner,
}

/// Who runs the buildpacks: the CNB lifecycle (ours or the official one) or
/// Heroku's classic build.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Runner {
    /// Slipway's own runner of the CNB lifecycle's phases (`SPEC.md`).
    #[default]
    Slipway,
    /// The official CNB lifecycle's binaries in this directory (`--lifecycle DIR`).
    Official(PathBuf),
    /// Heroku classic, as its native multiple buildpacks run them
    /// (`heroku buildpacks:add`; `--classic native`).
    ClassicNative,
    /// Heroku classic, as heroku-buildpack-multi runs them (`.buildpacks`;
    /// `--classic multi`).
    ClassicMulti,
}

/// The groups to detect over: the `--buildpack` list (or the app's
/// project.toml group), composites expanded; and the registry of every
/// buildpack a reference may name.
pub(crate) fn order_groups(opts: &BuildOptions) -> Result<order::Order> {
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
