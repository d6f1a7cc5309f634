//! The heartbeat endpoint (`python/heroku_autoscale`, a Django app that
//! stands in for django-heroku-autoscale's), compiled into this buildpack and
//! written where the app's Python finds it.

use std::path::Path;

/// The package's files, as shipped.
const FILES: &[(&str, &str)] = &[
    (
        "__init__.py",
        include_str!("../python/heroku_autoscale/__init__.py"),
    ),
    (
        "apps.py",
        include_str!("../python/heroku_autoscale/apps.py"),
    ),
    (
        "urls.py",
        include_str!("../python/heroku_autoscale/urls.py"),
    ),
    (
        "views.py",
        include_str!("../python/heroku_autoscale/views.py"),
    ),
];

/// Write the package under `dir` (`dir/heroku_autoscale/...`): `dir` goes on PYTHONPATH.
pub(crate) fn install(dir: &Path) -> std::io::Result<()> {
    let package = dir.join("heroku_autoscale");
    std::fs::create_dir_all(&package)?;
    for (name, text) in FILES {
        std::fs::write(package.join(name), text)?;
    }
    Ok(())
}
