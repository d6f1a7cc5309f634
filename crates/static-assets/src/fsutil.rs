//! Moving and copying trees between the app and the cache (links kept as links).

use crate::error::{io_at, AssetsError};
use std::path::Path;

/// Remove a file, link or tree; absent is fine.
pub fn remove(path: &Path) -> Result<(), AssetsError> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(path).map_err(io_at(path)),
        Ok(_) => std::fs::remove_file(path).map_err(io_at(path)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_at(path)(e)),
    }
}

/// Move a tree: a rename when both sides share a filesystem, else copy and delete.
pub fn move_tree(from: &Path, to: &Path) -> Result<(), AssetsError> {
    remove(to)?;
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent).map_err(io_at(parent))?;
    }
    if std::fs::rename(from, to).is_ok() {
        return Ok(());
    }
    copy_tree(from, to)?;
    remove(from)
}

/// Copy a file, link or tree (modes kept; links copied as links, never followed).
pub fn copy_tree(from: &Path, to: &Path) -> Result<(), AssetsError> {
    for entry in walkdir::WalkDir::new(from).follow_links(false) {
        let entry = entry.map_err(|e| AssetsError::Io {
            path: e.path().unwrap_or(from).to_path_buf(),
            source: e
                .into_io_error()
                .unwrap_or_else(|| std::io::Error::other("walk")),
        })?;
        let rel = entry.path().strip_prefix(from).expect("under the root");
        let dest = if rel.as_os_str().is_empty() {
            to.to_path_buf()
        } else {
            to.join(rel)
        };
        copy_entry(entry.path(), &dest, entry.file_type())?;
    }
    Ok(())
}

/// Copy one entry to `dest` (its parent created), replacing what is there.
pub fn copy_entry(src: &Path, dest: &Path, ft: std::fs::FileType) -> Result<(), AssetsError> {
    if let Some(parent) = dest.parent() {
        std::fs::create_dir_all(parent).map_err(io_at(parent))?;
    }
    if ft.is_dir() {
        std::fs::create_dir_all(dest).map_err(io_at(dest))?;
    } else if ft.is_symlink() {
        let target = std::fs::read_link(src).map_err(io_at(src))?;
        remove(dest)?;
        std::os::unix::fs::symlink(target, dest).map_err(io_at(dest))?;
    } else if ft.is_file() {
        if std::fs::symlink_metadata(dest).is_ok_and(|m| m.file_type().is_symlink()) {
            remove(dest)?;
        }
        std::fs::copy(src, dest).map_err(io_at(src))?;
    }
    Ok(())
}
