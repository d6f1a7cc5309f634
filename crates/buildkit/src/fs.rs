//! File trees the way an image build treats them: links copied as links
//! (never followed), modes kept, absent paths fine to remove.

use std::path::{Path, PathBuf};
use walkdir::WalkDir;

/// A filesystem operation failed on `path`.
#[derive(Debug, thiserror::Error)]
#[error("{}: {source}", path.display())]
pub struct FsError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

fn at(path: &Path) -> impl FnOnce(std::io::Error) -> FsError + '_ {
    move |source| FsError {
        path: path.to_path_buf(),
        source,
    }
}

/// Remove a file, link or tree; absent is fine.
pub fn remove(path: &Path) -> Result<(), FsError> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(path).map_err(at(path)),
        Ok(_) => std::fs::remove_file(path).map_err(at(path)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(at(path)(e)),
    }
}

/// Copy a file, link or tree to `to` (created), never following links,
/// directory modes kept. `skip` (a path inside `from`, e.g. an output
/// directory) is left out.
pub fn copy_tree(from: &Path, to: &Path, skip: Option<&Path>) -> Result<(), FsError> {
    let walker = WalkDir::new(from).follow_links(false).into_iter();
    for entry in walker.filter_entry(|e| skip != Some(e.path())) {
        let entry = entry.map_err(|e| FsError {
            path: e.path().unwrap_or(from).to_path_buf(),
            source: e
                .into_io_error()
                .unwrap_or_else(|| std::io::Error::other("filesystem loop")),
        })?;
        let rel = entry
            .path()
            .strip_prefix(from)
            .expect("walkdir stays under its root");
        let dest = if rel.as_os_str().is_empty() {
            to.to_path_buf()
        } else {
            to.join(rel)
        };
        copy_entry(entry.path(), &dest, entry.file_type())?;
        if entry.file_type().is_dir() {
            let mode = entry
                .metadata()
                .map_err(|e| at(entry.path())(e.into()))?
                .permissions();
            std::fs::set_permissions(&dest, mode).map_err(at(&dest))?;
        }
    }
    Ok(())
}

/// Copy one entry to `dest` (its parent created), replacing what is there.
pub fn copy_entry(src: &Path, dest: &Path, ft: std::fs::FileType) -> Result<(), FsError> {
    if let Some(parent) = dest.parent() {
        std::fs::create_dir_all(parent).map_err(at(parent))?;
    }
    if ft.is_dir() {
        std::fs::create_dir_all(dest).map_err(at(dest))?;
    } else if ft.is_symlink() {
        let target = std::fs::read_link(src).map_err(at(src))?;
        remove(dest)?;
        std::os::unix::fs::symlink(target, dest).map_err(at(dest))?;
    } else if ft.is_file() {
        if std::fs::symlink_metadata(dest).is_ok_and(|m| m.file_type().is_symlink()) {
            remove(dest)?;
        }
        let meta = std::fs::metadata(src).map_err(at(src))?;
        if is_sparse(&meta) {
            copy_sparse(src, dest, &meta)?;
        } else {
            std::fs::copy(src, dest).map_err(at(src))?;
        }
    }
    Ok(())
}

/// Fewer blocks allocated than its length needs: the file has holes.
fn is_sparse(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    meta.blocks().saturating_mul(512) < meta.len()
}

/// Copy a file with holes as one: only its data ranges (`SEEK_DATA` /
/// `SEEK_HOLE`) are written, the rest stays holes, so an 8 GB sparse file
/// costs its data, not 8 GB of zeros. Permissions as `std::fs::copy` keeps them.
fn copy_sparse(src: &Path, dest: &Path, meta: &std::fs::Metadata) -> Result<(), FsError> {
    use nix::unistd::{lseek, Whence};
    use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
    let mut from = std::fs::File::open(src).map_err(at(src))?;
    let mut to = std::fs::File::create(dest).map_err(at(dest))?;
    to.set_len(meta.len()).map_err(at(dest))?;
    let len = i64::try_from(meta.len()).unwrap_or(i64::MAX);
    let mut offset = 0i64;
    let mut buf = vec![0u8; 1 << 20];
    while offset < len {
        let data = match lseek(&from, offset, Whence::SeekData) {
            Ok(d) => d,
            // No data past `offset`: the rest is a hole.
            Err(nix::errno::Errno::ENXIO) => break,
            Err(e) => return Err(at(src)(e.into())),
        };
        let hole = lseek(&from, data, Whence::SeekHole).map_err(|e| at(src)(e.into()))?;
        let start = u64::try_from(data).unwrap_or(0);
        from.seek(SeekFrom::Start(start)).map_err(at(src))?;
        to.seek(SeekFrom::Start(start)).map_err(at(dest))?;
        let mut left = u64::try_from(hole - data).unwrap_or(0);
        while left > 0 {
            let want = usize::try_from(left.min(buf.len() as u64)).unwrap_or(buf.len());
            let n = from.read(&mut buf[..want]).map_err(at(src))?;
            if n == 0 {
                break; // shrank meanwhile: what is there is copied
            }
            to.write_all(&buf[..n]).map_err(at(dest))?;
            left -= n as u64;
        }
        offset = hole;
    }
    std::fs::set_permissions(dest, meta.permissions()).map_err(at(dest))?;
    Ok(())
}

/// Bytes as lowercase hex (a sha256 digest as OCI and npm print it).
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// A digest of a tree's state: every entry's path, type, mode, size,
/// modification and change times (links: their target), never the
/// contents. Equal digests mean nothing in the tree was written, created,
/// removed, renamed or re-moded in between: `ctime` moves on every such
/// change and no program can set it back. The root's own times are left
/// out, so renaming the whole tree elsewhere keeps its digest (a copy does
/// not: every child gets a new `ctime`). Costs one `lstat` per entry, where
/// a copy to compare against would cost the contents.
pub fn tree_fingerprint(root: &Path) -> Result<String, FsError> {
    use sha2::{Digest, Sha256};
    use std::os::unix::fs::MetadataExt;
    let mut hash = Sha256::new();
    let walker = WalkDir::new(root).follow_links(false).sort_by_file_name();
    for entry in walker {
        let entry = entry.map_err(|e| FsError {
            path: e.path().unwrap_or(root).to_path_buf(),
            source: e
                .into_io_error()
                .unwrap_or_else(|| std::io::Error::other("walk")),
        })?;
        let m = entry.metadata().map_err(|e| FsError {
            path: entry.path().to_path_buf(),
            source: e
                .into_io_error()
                .unwrap_or_else(|| std::io::Error::other("stat")),
        })?;
        let rel = entry.path().strip_prefix(root).unwrap_or(entry.path());
        hash.update(rel.as_os_str().as_encoded_bytes());
        hash.update([0]);
        let times = if entry.depth() == 0 {
            [0; 4]
        } else {
            [m.mtime(), m.mtime_nsec(), m.ctime(), m.ctime_nsec()]
        };
        for n in [
            i64::from(m.mode()),
            i64::try_from(m.size()).unwrap_or(i64::MAX),
        ]
        .into_iter()
        .chain(times)
        {
            hash.update(n.to_le_bytes());
        }
        if m.file_type().is_symlink() {
            let target = std::fs::read_link(entry.path()).map_err(at(entry.path()))?;
            hash.update(target.as_os_str().as_encoded_bytes());
            hash.update([0]);
        }
    }
    Ok(hex(&hash.finalize()))
}

/// Move a tree: a rename when both sides share a filesystem, else copy and delete.
pub fn move_tree(from: &Path, to: &Path) -> Result<(), FsError> {
    remove(to)?;
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent).map_err(at(parent))?;
    }
    if std::fs::rename(from, to).is_ok() {
        return Ok(());
    }
    copy_tree(from, to, None)?;
    remove(from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn a_tree_is_copied_with_links_as_links_and_modes_kept_leaving_out_skip() {
        let d = tempfile::tempdir().unwrap();
        let from = d.path().join("from");
        std::fs::create_dir_all(from.join("sub/out")).unwrap();
        std::fs::write(from.join("sub/a.txt"), "a").unwrap();
        std::fs::write(from.join("sub/out/old"), "x").unwrap();
        std::os::unix::fs::symlink("/etc/passwd", from.join("link")).unwrap();
        std::fs::set_permissions(from.join("sub"), std::fs::Permissions::from_mode(0o700)).unwrap();
        let to = d.path().join("to");
        copy_tree(&from, &to, Some(&from.join("sub/out"))).unwrap();
        assert_eq!(std::fs::read_to_string(to.join("sub/a.txt")).unwrap(), "a");
        assert_eq!(
            std::fs::read_link(to.join("link")).unwrap(),
            Path::new("/etc/passwd")
        );
        assert_eq!(
            std::fs::metadata(to.join("sub"))
                .unwrap()
                .permissions()
                .mode()
                & 0o777,
            0o700
        );
        assert!(!to.join("sub/out").exists());
    }

    #[test]
    fn removing_an_absent_path_is_fine_and_a_link_is_removed_not_followed() {
        let d = tempfile::tempdir().unwrap();
        remove(&d.path().join("nothing")).unwrap();
        let target = d.path().join("keep");
        std::fs::create_dir(&target).unwrap();
        std::os::unix::fs::symlink(&target, d.path().join("link")).unwrap();
        remove(&d.path().join("link")).unwrap();
        assert!(target.is_dir());
    }

    #[test]
    fn a_tree_keeps_its_fingerprint_when_renamed_and_loses_it_on_any_change() {
        let d = tempfile::tempdir().unwrap();
        let a = d.path().join("a");
        std::fs::create_dir_all(a.join("sub")).unwrap();
        std::fs::write(a.join("sub/f"), "1234").unwrap();
        std::os::unix::fs::symlink("f", a.join("sub/l")).unwrap();
        let before = tree_fingerprint(&a).unwrap();
        assert_eq!(tree_fingerprint(&a).unwrap(), before, "stable");
        let b = d.path().join("b");
        std::fs::rename(&a, &b).unwrap();
        assert_eq!(tree_fingerprint(&b).unwrap(), before, "a rename keeps it");

        // Rewritten in place with the same size and its old mtime put back:
        // the change time still moves.
        let old = std::fs::metadata(b.join("sub/f"))
            .unwrap()
            .modified()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(b.join("sub/f"), "5678").unwrap();
        std::fs::File::options()
            .write(true)
            .open(b.join("sub/f"))
            .unwrap()
            .set_modified(old)
            .unwrap();
        assert_ne!(
            tree_fingerprint(&b).unwrap(),
            before,
            "same size, same mtime"
        );

        let c = d.path().join("c");
        copy_tree(&b, &c, None).unwrap();
        let copied = tree_fingerprint(&c).unwrap();
        std::fs::create_dir(c.join("new")).unwrap();
        assert_ne!(tree_fingerprint(&c).unwrap(), copied, "an entry added");
    }

    #[test]
    fn a_moved_tree_replaces_what_was_at_the_destination() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("a/x")).unwrap();
        std::fs::create_dir_all(d.path().join("b/old")).unwrap();
        move_tree(&d.path().join("a"), &d.path().join("b")).unwrap();
        assert!(d.path().join("b/x").is_dir());
        assert!(!d.path().join("b/old").exists());
        assert!(!d.path().join("a").exists());
    }

    #[test]
    fn a_sparse_file_is_copied_with_its_holes_and_its_data_intact() {
        use std::io::{Seek as _, SeekFrom, Write as _};
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("sparse.img");
        let mut f = std::fs::File::create(&src).unwrap();
        f.write_all(b"head").unwrap();
        f.seek(SeekFrom::Start(1 << 30)).unwrap();
        f.write_all(b"tail").unwrap();
        drop(f);
        let meta = std::fs::metadata(&src).unwrap();
        assert!(is_sparse(&meta), "the filesystem here keeps holes");
        let dest = dir.path().join("copy/sparse.img");
        copy_entry(&src, &dest, meta.file_type()).unwrap();
        let copied = std::fs::metadata(&dest).unwrap();
        assert_eq!(copied.len(), meta.len());
        assert!(
            copied.blocks() * 512 < 16 << 20,
            "1 GiB of holes copied as {} bytes of blocks",
            copied.blocks() * 512
        );
        let mut copy = std::fs::File::open(&dest).unwrap();
        let mut head = [0u8; 4];
        std::io::Read::read_exact(&mut copy, &mut head).unwrap();
        assert_eq!(&head, b"head");
        copy.seek(SeekFrom::Start(1 << 30)).unwrap();
        let mut tail = Vec::new();
        std::io::Read::read_to_end(&mut copy, &mut tail).unwrap();
        assert_eq!(tail, b"tail");
    }
}
