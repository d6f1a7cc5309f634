//! `slipway/slug-size`: thin glue over `crates/slug`. Measures what ships
//! (the app and every launch layer of the build), judges it against the
//! limits and prints the report of what to cut. Runs last in the order.

mod errors;

use buildkit::classic::Classic;
use errors::SlugSizeError;
use libcnb::build::{BuildContext, BuildResult, BuildResultBuilder};
use libcnb::data::layer_content_metadata::LayerContentMetadata;
use libcnb::detect::{DetectContext, DetectResult, DetectResultBuilder};
use libcnb::generic::{GenericMetadata, GenericPlatform};
use libcnb::Buildpack;
use slug::human;
use slug::{GzOptions, SizeTracker, Source};
use slug::{Limits, Verdict};
use std::path::Path;

struct SlugSizeBuildpack;

/// Every `launch = true` layer under the build's layers root (all buildpacks' dirs).
fn launch_layers(layers_root: &Path) -> Vec<Source> {
    let mut out = Vec::new();
    let Ok(buildpacks) = std::fs::read_dir(layers_root) else {
        return out;
    };
    let mut buildpacks: Vec<_> = buildpacks
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    buildpacks.sort();
    for bp in buildpacks {
        let Ok(entries) = std::fs::read_dir(&bp) else {
            continue;
        };
        let mut tomls: Vec<_> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .collect();
        tomls.sort();
        for toml_path in tomls {
            // Another buildpack's layer TOML, as libcnb-data reads one.
            let launch = std::fs::read_to_string(&toml_path)
                .ok()
                .and_then(|t| toml::from_str::<LayerContentMetadata>(&t).ok())
                .and_then(|m| m.types)
                .is_some_and(|t| t.launch);
            let dir = toml_path.with_extension("");
            if launch && dir.is_dir() {
                let (bp_name, layer) = (
                    bp.file_name().unwrap_or_default().to_string_lossy(),
                    dir.file_name().unwrap_or_default().to_string_lossy(),
                );
                out.push(Source {
                    prefix: format!("./layers/{bp_name}/{layer}"),
                    dir,
                });
            }
        }
    }
    out
}

fn check(app_dir: &Path, layers_root: Option<&Path>) -> Result<(), SlugSizeError> {
    buildkit::output::header("Slipway slug size");
    let project = slipway_data::Project::read(app_dir).map_err(SlugSizeError::Project)?;
    let limits = Limits::load(project.as_ref(), &|k| std::env::var(k).ok())
        .map_err(SlugSizeError::Limits)?;
    let mut sources = vec![Source::app(app_dir)];
    if let Some(root) = layers_root {
        sources.extend(launch_layers(root));
    }
    buildkit::output::bullet(&format!(
        "Measuring the app and {} launch layer(s)",
        sources.len() - 1
    ));
    let opts = GzOptions::default();
    let mut tracker = SizeTracker::default();
    let stats = buildkit::output::with_dots("Compressing", || {
        slug::measure_tracked(&sources, opts, &mut tracker)
    })
    .map_err(SlugSizeError::Measure)?;
    buildkit::output::bullet(&format!(
        "Done: {} ({} files, {} uncompressed)",
        human(stats.gz.compressed),
        stats.files,
        human(stats.file_bytes)
    ));
    let verdict = limits.judge(stats.gz.compressed);
    let report = || tracker.report(&stats, opts.block_size, 10).render();
    match verdict {
        Verdict::Ok => Ok(()),
        Verdict::OverSoft => {
            buildkit::output::warning(&format!(
                "Warning: Your slug size ({} MB) exceeds our soft limit ({} MB) which may affect boot time.",
                stats.gz.compressed / slug::MIB,
                limits.soft / slug::MIB
            ));
            buildkit::output::block(&report());
            Ok(())
        }
        Verdict::OverHard => {
            buildkit::output::block(&report());
            Err(SlugSizeError::TooLarge {
                compressed: human(stats.gz.compressed),
                limit: human(limits.hard),
            })
        }
    }
}

impl Buildpack for SlugSizeBuildpack {
    type Platform = GenericPlatform;
    type Metadata = GenericMetadata;
    type Error = SlugSizeError;

    fn detect(&self, _context: DetectContext<Self>) -> libcnb::Result<DetectResult, Self::Error> {
        DetectResultBuilder::pass().build()
    }

    fn build(&self, context: BuildContext<Self>) -> libcnb::Result<BuildResult, Self::Error> {
        let root = context.layers_dir.parent().map(Path::to_path_buf);
        check(&context.app_dir, root.as_deref()).map_err(libcnb::Error::BuildpackError)?;
        BuildResultBuilder::new().build()
    }

    fn on_error(&self, error: libcnb::Error<Self::Error>) {
        buildkit::classic::on_error("Slipway slug size", error);
    }
}

fn main() {
    buildkit::classic::main(
        &Classic {
            name: "Slipway slug size",
            detect: &|_| true,
            nothing_to_do: "",
            compile: &|build_dir, _, _| Ok(check(build_dir, None)?),
            release: &buildkit::classic::no_release,
        },
        &SlugSizeBuildpack,
    );
}
