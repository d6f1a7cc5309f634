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
        "stamp.py",
        include_str!("../python/heroku_autoscale/stamp.py"),
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

#[cfg(test)]
mod tests {
    /// Every module of the package ships (apps.py imports stamp.py: a file
    /// left out would break the app's start, not this build).
    #[test]
    fn every_python_file_of_the_package_ships() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("python/heroku_autoscale");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| {
                std::path::Path::new(n)
                    .extension()
                    .is_some_and(|e| e == "py")
            })
            .collect();
        on_disk.sort();
        let shipped: Vec<&str> = super::FILES.iter().map(|(n, _)| *n).collect();
        assert_eq!(on_disk, shipped);
    }
}
