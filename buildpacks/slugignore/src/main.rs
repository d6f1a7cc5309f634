//! `slipway/slugignore`: thin glue over `crates/slug`. Applies `.slugignore`
//! to the app. Heroku removes matches before any buildpack runs, detection
//! included; in a CNB group this buildpack comes first, so every later
//! buildpack builds the trimmed app (their detection has already seen it whole).

mod errors;

use buildkit::classic::Classic;
use errors::SlugignoreError;
use libcnb::build::{BuildContext, BuildResult, BuildResultBuilder};
use libcnb::detect::{DetectContext, DetectResult, DetectResultBuilder};
use libcnb::generic::{GenericMetadata, GenericPlatform};
use libcnb::Buildpack;
use slipway_data::Project;
use std::path::Path;

struct SlugignoreBuildpack;

fn has_slugignore(app_dir: &Path) -> bool {
    app_dir.join(".slugignore").is_file()
}

/// Read project.toml `[io.buildpacks] exclude` (applied in classic builds only).
fn excludes(app_dir: &Path) -> Result<Vec<String>, SlugignoreError> {
    match Project::read(app_dir).map_err(SlugignoreError::Project)? {
        Some(project) => project
            .exclude()
            .map_err(|e| SlugignoreError::Project(e.into())),
        None => Ok(Vec::new()),
    }
}

fn apply(app_dir: &Path, classic: bool) -> Result<(), SlugignoreError> {
    buildkit::output::header("Slipway .slugignore");
    let bytes = app_files::read(app_dir, ".slugignore")
        .map_err(SlugignoreError::ReadRules)?
        .unwrap_or_default();
    let mut rules = slug::SlugIgnore::parse(&bytes).map_err(SlugignoreError::Rules)?;
    if let Some(w) = rules.warning() {
        buildkit::output::warning(&w);
    }
    if classic {
        let excludes = excludes(app_dir)?;
        if !excludes.is_empty() {
            buildkit::output::bullet(&format!("Also applying project.toml [io.buildpacks] exclude ({} patterns): no CNB platform does it in a classic build", excludes.len()));
            rules = rules
                .with_excludes(app_dir, &excludes)
                .map_err(SlugignoreError::Rules)?;
        }
    }
    let removal = slug::apply(app_dir, &rules).map_err(SlugignoreError::Remove)?;
    buildkit::output::bullet(&format!(
        "Deleting {} files matching .slugignore patterns ({} freed)",
        removal.files + removal.links,
        slug::human(removal.bytes)
    ));
    for p in removal.paths.iter().take(20) {
        buildkit::output::sub_bullet(&p.display().to_string());
    }
    if removal.paths.len() > 20 {
        buildkit::output::sub_bullet(&format!("... and {} more", removal.paths.len() - 20));
    }
    Ok(())
}

impl Buildpack for SlugignoreBuildpack {
    type Platform = GenericPlatform;
    type Metadata = GenericMetadata;
    type Error = SlugignoreError;

    fn detect(&self, context: DetectContext<Self>) -> libcnb::Result<DetectResult, Self::Error> {
        if has_slugignore(&context.app_dir) {
            DetectResultBuilder::pass().build()
        } else {
            println!("No .slugignore in the app.");
            DetectResultBuilder::fail().build()
        }
    }

    fn build(&self, context: BuildContext<Self>) -> libcnb::Result<BuildResult, Self::Error> {
        apply(&context.app_dir, false).map_err(libcnb::Error::BuildpackError)?;
        BuildResultBuilder::new().build()
    }

    fn on_error(&self, error: libcnb::Error<Self::Error>) {
        buildkit::classic::on_error("Slipway .slugignore", error);
    }
}

fn main() {
    buildkit::classic::main(
        &Classic {
            name: "Slipway .slugignore",
            detect: &|app| has_slugignore(app) || excludes(app).map_or(true, |e| !e.is_empty()),
            nothing_to_do:
                "the app has no .slugignore (and no [io.buildpacks] exclude in project.toml)",
            compile: &|build_dir, _, _| Ok(apply(build_dir, true)?),
            release: &buildkit::classic::no_release,
        },
        &SlugignoreBuildpack,
    );
}
