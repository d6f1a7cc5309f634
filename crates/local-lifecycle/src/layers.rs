//! A buildpack's layers directory and its cache, as the lifecycle treats
//! them: each `<layer>.toml` read as libcnb-data's `LayerContentMetadata`;
//! restore (`cache = true` layers and their metadata, as the official
//! lifecycle gives it back) and export (launch layers stay, cache layers go
//! to the cache).

use crate::descriptor::BuildpackDir;
use crate::error::{IoContext, LifecycleError, Result};
use crate::image::Image;
use buildkit::fs::{copy_tree, remove};
use libcnb_data::layer_content_metadata::{LayerContentMetadata, LayerTypes};
use std::path::Path;

const RESERVED_TOML: [&str; 3] = ["launch", "build", "store"];

/// Every `<layer>.toml` in a buildpack's layers dir, sorted by name, with its types.
pub(crate) fn layer_types(layers_dir: &Path) -> Result<Vec<(String, LayerTypes)>> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(layers_dir) else {
        return Ok(out);
    };
    for e in entries.filter_map(std::result::Result::ok) {
        let path = e.path();
        let Some(name) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".toml"))
        else {
            continue;
        };
        if RESERVED_TOML.contains(&name) || !path.is_file() {
            continue;
        }
        let text = std::fs::read_to_string(&path).at(&path)?;
        let parsed: LayerContentMetadata =
            toml::from_str(&text).map_err(|e| LifecycleError::Toml {
                file: path.clone(),
                message: e.message().to_string(),
            })?;
        out.push((name.to_string(), parsed.types.unwrap_or_default()));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// The digest (`buildkit::fs::tree_fingerprint`) of each cached layer's
/// contents when it was cached, kept in the buildpack's cache beside the
/// layers (a dot-file: never a `<layer>.toml`). Restore moves a layer out of
/// the cache rather than copying it; this is how a failed build can tell
/// which layers it left untouched and give them back.
const FINGERPRINTS: &str = ".slipway-fingerprints";

type Fingerprints = std::collections::BTreeMap<String, String>;

fn read_fingerprints(cache: &Path) -> Option<Fingerprints> {
    let text = std::fs::read_to_string(cache.join(FINGERPRINTS)).ok()?;
    toml::from_str(&text).ok()
}

fn write_fingerprints(cache: &Path, prints: &Fingerprints) -> Result<()> {
    let path = cache.join(FINGERPRINTS);
    std::fs::write(&path, toml::to_string(prints).expect("serializes")).at(&path)
}

/// Restore a buildpack's cache: `cache = true` layers with their contents,
/// their `<layer>.toml` with `[metadata]` only (API ≥ 0.6: types must be
/// declared again by the buildpack), and `store.toml`.
pub(crate) fn restore(image: &Image, bp: &BuildpackDir) -> Result<Vec<String>> {
    let cache = image.cache().join(bp.escaped_id());
    let layers = image.layers().join(bp.escaped_id());
    let mut restored = Vec::new();
    if !cache.is_dir() {
        return Ok(restored);
    }
    std::fs::create_dir_all(&layers).at(&layers)?;
    let prints = read_fingerprints(&cache);
    for (name, types) in layer_types(&cache)? {
        if !types.cache {
            continue;
        }
        let toml_path = cache.join(format!("{name}.toml"));
        let had_contents = prints.as_ref().is_some_and(|p| p.contains_key(&name));
        if had_contents && !cache.join(&name).is_dir() {
            // A build killed while it held this layer (or one that failed
            // having changed it): its metadata without its contents would
            // tell the buildpack a cache is there that is not.
            remove(&toml_path)?;
            continue;
        }
        let metadata = toml::from_str::<LayerContentMetadata>(
            &std::fs::read_to_string(&toml_path).at(&toml_path)?,
        )
        .ok()
        .and_then(|m| m.metadata)
        .unwrap_or_default();
        let mut doc = toml::Table::new();
        doc.insert(
            "metadata".into(),
            as_the_lifecycle_restores(toml::Value::Table(metadata)),
        );
        std::fs::write(
            layers.join(format!("{name}.toml")),
            toml::to_string(&doc).expect("serializes"),
        )
        .at(&layers)?;
        if cache.join(&name).is_dir() {
            // Moved, not copied: a warm build of the reference app takes
            // 0.23 s this way and 2.3-2.9 s copying its 57 MB node_modules
            // cache (measured on ext4 here). The `<layer>.toml` stays in the
            // cache: a build that succeeds replaces the whole cache
            // (`export`), one that fails gives back what it left unchanged
            // (`give_back`), and a killed one leaves metadata whose
            // contents are gone, which the next restore drops (above).
            if std::fs::rename(cache.join(&name), layers.join(&name)).is_err() {
                copy_tree(&cache.join(&name), &layers.join(&name), None)?;
            }
        }
        restored.push(format!("{}:{name}", bp.id));
    }
    if cache.join("store.toml").is_file() {
        std::fs::copy(cache.join("store.toml"), layers.join("store.toml"))
            .at(cache.join("store.toml"))?;
    }
    Ok(restored)
}

/// After a failed build, as Heroku keeps the last good cache: move back into
/// the cache every layer `restore` took out that the build left exactly as
/// it was (same fingerprint), and forget the ones it changed (a half-changed
/// layer is never cached). Returns what was kept and what was dropped.
pub(crate) fn give_back(image: &Image, bp: &BuildpackDir) -> Result<(Vec<String>, Vec<String>)> {
    let cache = image.cache().join(bp.escaped_id());
    let layers = image.layers().join(bp.escaped_id());
    let (mut kept, mut dropped) = (Vec::new(), Vec::new());
    let Some(mut prints) = read_fingerprints(&cache) else {
        return Ok((kept, dropped));
    };
    let taken: Vec<(String, String)> = prints
        .iter()
        .filter(|(name, _)| !cache.join(name).exists())
        .map(|(n, p)| (n.clone(), p.clone()))
        .collect();
    for (name, print) in taken {
        let dir = layers.join(&name);
        let unchanged = dir.is_dir() && buildkit::fs::tree_fingerprint(&dir).ok() == Some(print);
        if unchanged {
            std::fs::rename(&dir, cache.join(&name)).at(&dir)?;
            kept.push(format!("{}:{name}", bp.id));
        } else {
            remove(&cache.join(format!("{name}.toml")))?;
            prints.remove(&name);
            dropped.push(format!("{}:{name}", bp.id));
        }
    }
    write_fingerprints(&cache, &prints)?;
    Ok((kept, dropped))
}

/// Layer metadata as the official lifecycle gives it back: it keeps it as
/// JSON in the cache (`io.buildpacks.lifecycle.cache.metadata`) and in the
/// image label, decoded into Go's `interface{}`, so every number comes back
/// as a float (`schema = 1` is restored as `schema = 1.0`) and dates as
/// strings. Doing the same here makes a buildpack that reads an integer back
/// fail in our tests as it does on pack and Heroku.
fn as_the_lifecycle_restores(value: toml::Value) -> toml::Value {
    match value {
        #[allow(clippy::cast_precision_loss)] // as JSON's float64: the point
        toml::Value::Integer(i) => toml::Value::Float(i as f64),
        toml::Value::Datetime(d) => toml::Value::String(d.to_string()),
        toml::Value::Array(a) => {
            toml::Value::Array(a.into_iter().map(as_the_lifecycle_restores).collect())
        }
        toml::Value::Table(t) => toml::Value::Table(
            t.into_iter()
                .map(|(k, v)| (k, as_the_lifecycle_restores(v)))
                .collect(),
        ),
        other => other,
    }
}

/// Cache `cache = true` layers (replacing the buildpack's previous cache) and
/// keep only `launch = true` layers in the image.
pub(crate) fn export(image: &Image, bp: &BuildpackDir) -> Result<()> {
    let layers = image.layers().join(bp.escaped_id());
    let cache = image.cache().join(bp.escaped_id());
    let staged = image.cache().join(format!("{}.new", bp.escaped_id()));
    remove(&staged)?;
    std::fs::create_dir_all(&staged).at(&staged)?;
    let all = layer_types(&layers)?;
    let mut prints = Fingerprints::new();
    for (name, types) in &all {
        let dir = layers.join(name);
        let toml_path = layers.join(format!("{name}.toml"));
        if types.cache {
            std::fs::copy(&toml_path, staged.join(format!("{name}.toml"))).at(&toml_path)?;
            if dir.is_dir() {
                // A cache-only layer leaves the image anyway: move it, don't copy it.
                if types.launch || std::fs::rename(&dir, staged.join(name)).is_err() {
                    copy_tree(&dir, &staged.join(name), None)?;
                }
                let cached = staged.join(name);
                prints.insert(name.clone(), buildkit::fs::tree_fingerprint(&cached)?);
            }
        }
        if !types.launch {
            remove(&dir)?;
            remove(&toml_path)?;
        }
    }
    // Directories without a <layer>.toml are temporary: the exporter drops them.
    if let Ok(entries) = std::fs::read_dir(&layers) {
        for e in entries.filter_map(std::result::Result::ok) {
            let name = e.file_name().to_string_lossy().into_owned();
            if e.path().is_dir() && !all.iter().any(|(n, t)| *n == name && t.launch) {
                remove(&e.path())?;
            }
        }
    }
    if layers.join("store.toml").is_file() {
        std::fs::copy(layers.join("store.toml"), staged.join("store.toml"))
            .at(layers.join("store.toml"))?;
    }
    write_fingerprints(&staged, &prints)?;
    remove(&cache)?;
    std::fs::rename(&staged, &cache).at(&cache)?;
    Ok(())
}
