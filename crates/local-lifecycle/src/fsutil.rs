//! Copying trees the way an image build does: symlinks kept as links, modes kept.

use crate::error::{IoContext, Result};
use std::path::Path;
use walkdir::WalkDir;

/// Copy `from` into `to` (created), never following symlinks. `skip` (an
/// absolute path inside `from`, e.g. an output dir) is left out.
pub fn copy_tree(from: &Path, to: &Path, skip: Option<&Path>) -> Result<()> {
    std::fs::create_dir_all(to).at(to)?;
    let walker = WalkDir::new(from)
        .follow_links(false)
        .min_depth(1)
        .into_iter();
    for entry in walker.filter_entry(|e| skip != Some(e.path())) {
        let entry = entry.map_err(|e| crate::error::LifecycleError::Io {
            path: e
                .path()
                .map_or_else(|| from.to_path_buf(), Path::to_path_buf),
            source: e
                .into_io_error()
                .unwrap_or_else(|| std::io::Error::other("filesystem loop")),
        })?;
        let rel = entry
            .path()
            .strip_prefix(from)
            .expect("walkdir stays under its root");
        let dest = to.join(rel);
        let ft = entry.file_type();
        if ft.is_symlink() {
            let target = std::fs::read_link(entry.path()).at(entry.path())?;
            std::os::unix::fs::symlink(&target, &dest).at(&dest)?;
        } else if ft.is_dir() {
            std::fs::create_dir_all(&dest).at(&dest)?;
            let mode = entry
                .metadata()
                .map_err(|e| crate::error::LifecycleError::Io {
                    path: entry.path().to_path_buf(),
                    source: e.into(),
                })?
                .permissions();
            std::fs::set_permissions(&dest, mode).at(&dest)?;
        } else if ft.is_file() {
            std::fs::copy(entry.path(), &dest).at(entry.path())?;
        }
    }
    Ok(())
}

/// Remove a path if it exists (file, link or tree).
pub fn remove(path: &Path) -> Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(path).at(path),
        Ok(_) => std::fs::remove_file(path).at(path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).at(path),
    }
}
