//! The slug as the platform stores it: a gzip'd tar with the app under
//! `./app`, written deterministically (sorted entries, owner 0:0, a fixed
//! mtime, modes and symlinks kept) and streamed: no file is ever held in
//! memory whole, and measuring writes nothing at all.

use crate::error::SlugError;
use crate::pargz::{Counter, GzOptions, GzStats, ParGz};
use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use walkdir::WalkDir;

/// 1980-01-01T00:00:00Z, the reproducible-builds convention CNB images use too.
pub(crate) const FIXED_MTIME: u64 = 315_532_800;

/// A directory and where it goes in the slug (`./app`, or `./layers/<bp>/<layer>`).
#[derive(Debug, Clone)]
pub struct Source {
    pub dir: PathBuf,
    pub prefix: String,
}

impl Source {
    pub fn app(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
            prefix: "./app".to_string(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SlugStats {
    pub files: u64,
    pub dirs: u64,
    pub links: u64,
    /// Bytes of regular files (what `du --apparent-size` would say).
    pub file_bytes: u64,
    pub gz: GzStats,
    /// Written in place, through the path (a device or a link such as
    /// `/dev/stdout`, where the slug may be the output stream), not renamed
    /// into place as a new file. Always false for a measure.
    pub in_place: bool,
}

fn io_at(path: &Path) -> impl FnOnce(io::Error) -> SlugError + '_ {
    move |source| SlugError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn header(kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(mode & 0o7777);
    h.set_size(size);
    h.set_mtime(FIXED_MTIME);
    h.set_uid(0);
    h.set_gid(0);
    let _ = h.set_username("");
    let _ = h.set_groupname("");
    h
}

/// GNU long-name ('L') or long-link ('K') record for a value over 100 bytes,
/// then the value in the header field (truncated, as GNU tar does).
fn append_raw<W: Write>(
    builder: &mut tar::Builder<W>,
    mut h: tar::Header,
    name: &[u8],
    link: Option<&[u8]>,
    data: impl io::Read,
) -> io::Result<()> {
    for (kind, value) in [
        (tar::EntryType::GNULongName, Some(name)),
        (tar::EntryType::GNULongLink, link),
    ] {
        let Some(value) = value.filter(|v| v.len() > 100) else {
            continue;
        };
        let mut long = header(kind, 0o644, value.len() as u64 + 1);
        long.as_old_mut().name[..13].copy_from_slice(b"././@LongLink");
        long.set_cksum();
        builder.append(&long, [value, b"\0"].concat().as_slice())?;
    }
    let field = &mut h.as_old_mut().name;
    let n = name.len().min(100);
    field[..n].copy_from_slice(&name[..n]);
    if let Some(link) = link {
        let field = &mut h.as_old_mut().linkname;
        let n = link.len().min(100);
        field[..n].copy_from_slice(&link[..n]);
    }
    h.set_cksum();
    builder.append(&h, data)
}

/// A file's bytes, exactly `left` of them: a file that shrinks while it is
/// read is an error, never a short entry that corrupts the rest of the slug
/// (bytes it grew by after its size was taken are not read).
struct Exact<R> {
    inner: R,
    left: u64,
}

impl<R: io::Read> io::Read for Exact<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            return Ok(0);
        }
        let want = usize::try_from(self.left)
            .unwrap_or(usize::MAX)
            .min(buf.len());
        let n = self.inner.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the file shrank while it was read (is something writing it?); nothing was written: pack again once it is stable",
            ));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// Whether a file's size or modification (content or inode change) time
/// moved between two looks.
fn changed(before: &std::fs::Metadata, after: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    before.len() != after.len()
        || (before.mtime(), before.mtime_nsec()) != (after.mtime(), after.mtime_nsec())
        || (before.ctime(), before.ctime_nsec()) != (after.ctime(), after.ctime_nsec())
}

/// Counts the bytes of the tar stream, so entries know where they are.
struct Offset<W> {
    inner: W,
    at: u64,
}

impl<W: Write> Write for Offset<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(data)?;
        self.at += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Told where each entry lands in the tar stream (for the size report).
pub trait Tracker {
    /// `name` is the path in the slug (`./app/...`), `[start, end)` its bytes
    /// in the tar stream (headers included), `size` its file size (0 for others).
    fn entry(&mut self, name: &[u8], start: u64, end: u64, size: u64);
}

impl Tracker for () {
    fn entry(&mut self, _: &[u8], _: u64, _: u64, _: u64) {}
}

/// Write the tar stream of `sources` into `out`, telling `tracker` where
/// every entry went.
pub(crate) fn write_tar_tracked<W: Write>(
    sources: &[Source],
    out: W,
    tracker: &mut dyn Tracker,
) -> Result<(W, SlugStats), SlugError> {
    write_tar_excluding(sources, out, tracker, &[])
}

/// The directory a source's walk starts from: a symlinked app is the
/// directory it points to (packed as that directory, never as a link); a
/// missing one is an error, never an empty slug.
fn source_root(dir: &Path) -> Result<PathBuf, SlugError> {
    let root = std::fs::canonicalize(dir).map_err(io_at(dir))?;
    if !root.is_dir() {
        return Err(SlugError::Io {
            path: dir.to_path_buf(),
            source: io::Error::other("not a directory"),
        });
    }
    Ok(root)
}

/// [`write_tar_tracked`], leaving out `exclude` (the slug being written, when
/// it is inside the app).
fn write_tar_excluding<W: Write>(
    sources: &[Source],
    out: W,
    tracker: &mut dyn Tracker,
    exclude: &[PathBuf],
) -> Result<(W, SlugStats), SlugError> {
    let mut stats = SlugStats::default();
    let mut builder = tar::Builder::new(Offset { inner: out, at: 0 });
    for source in sources {
        let root = source_root(&source.dir)?;
        let walk = WalkDir::new(&root)
            .follow_links(false)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| !exclude.iter().any(|x| x == e.path()));
        for entry in walk {
            let entry = match entry {
                Ok(e) => e,
                Err(e)
                    if e.io_error()
                        .is_some_and(|io| io.kind() == io::ErrorKind::NotFound) =>
                {
                    continue
                }
                Err(e) => {
                    let path = e.path().map_or_else(|| root.clone(), Path::to_path_buf);
                    return Err(SlugError::Io {
                        path,
                        source: e
                            .into_io_error()
                            .unwrap_or_else(|| io::Error::other("filesystem loop")),
                    });
                }
            };
            let rel = entry.path().strip_prefix(&root).expect("under the source");
            // Raw bytes, `./` kept: the tar crate's path setters would drop it.
            let mut name = source.prefix.as_bytes().to_vec();
            if !rel.as_os_str().is_empty() {
                name.push(b'/');
                name.extend_from_slice(rel.as_os_str().as_encoded_bytes());
            }
            // The walk's d_type says what the entry is, so each entry costs one path
            // lookup: files are opened (never through a link) and fstat'ed.
            let ft = entry.file_type();
            let start = builder.get_ref().at;
            let mut size = 0;
            if ft.is_dir() {
                let meta = match entry.path().symlink_metadata() {
                    Ok(m) => m,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(io_at(entry.path())(e)),
                };
                name.push(b'/');
                append_raw(
                    &mut builder,
                    header(tar::EntryType::Directory, meta.permissions().mode(), 0),
                    &name,
                    None,
                    io::empty(),
                )
                .map_err(io_at(entry.path()))?;
                stats.dirs += 1;
            } else if ft.is_symlink() {
                let target = match std::fs::read_link(entry.path()) {
                    Ok(t) => t,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(io_at(entry.path())(e)),
                };
                // Symlink modes are always 0777 on Linux.
                append_raw(
                    &mut builder,
                    header(tar::EntryType::Symlink, 0o777, 0),
                    &name,
                    Some(target.as_os_str().as_encoded_bytes()),
                    io::empty(),
                )
                .map_err(io_at(entry.path()))?;
                stats.links += 1;
            } else if ft.is_file() {
                let file = match std::fs::OpenOptions::new()
                    .read(true)
                    .custom_flags(nix::libc::O_NOFOLLOW)
                    .open(entry.path())
                {
                    Ok(f) => f,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(io_at(entry.path())(e)),
                };
                let meta = file.metadata().map_err(io_at(entry.path()))?;
                size = meta.len();
                append_raw(
                    &mut builder,
                    header(tar::EntryType::Regular, meta.permissions().mode(), size),
                    &name,
                    None,
                    Exact {
                        inner: &file,
                        left: size,
                    },
                )
                .map_err(io_at(entry.path()))?;
                // Written to while we read it (GNU tar: "file changed as we
                // read it"): the slug would hold a torn copy. Fail; the
                // partial slug is removed by the caller.
                let after = file.metadata().map_err(io_at(entry.path()))?;
                if changed(&meta, &after) {
                    return Err(io_at(entry.path())(io::Error::other(
                        "changed while it was packed (something is writing it): the slug would hold a torn copy, so nothing was written. Stop the writer and pack again, or add the file to .slugignore",
                    )));
                }
                stats.files += 1;
                stats.file_bytes += size;
            }
            // Sockets, FIFOs and devices have no place in a slug: skipped.
            let end = builder.get_ref().at;
            if end > start {
                tracker.entry(&name, start, end, size);
            }
        }
    }
    let out = builder
        .into_inner()
        .map_err(io_at(Path::new("(tar stream)")))?;
    Ok((out.inner, stats))
}

fn gz_error(e: io::Error) -> SlugError {
    SlugError::Io {
        path: PathBuf::from("(compression)"),
        source: e,
    }
}

/// The exact compressed size of the slug, computed without writing it,
/// telling `tracker` where every entry went.
pub fn measure_tracked(
    sources: &[Source],
    opts: GzOptions,
    tracker: &mut dyn Tracker,
) -> Result<SlugStats, SlugError> {
    let gz = ParGz::new(Counter, opts).map_err(gz_error)?;
    let (gz, mut stats) = write_tar_tracked(sources, gz, tracker)?;
    stats.gz = gz.finish().map_err(gz_error)?.1;
    Ok(stats)
}

/// Write the slug to `dest`, telling `tracker` where every entry went: to a
/// temporary file beside it, renamed into place only when complete, so a
/// failure (unreadable file, full disk) never leaves a partial slug behind.
///
/// An output that exists and is not a regular file (`/dev/null`, a FIFO,
/// `/dev/stdout` and other links) is written in place, through the path:
/// never replaced by a file renamed over it. A directory is refused.
pub fn pack_tracked(
    sources: &[Source],
    dest: &Path,
    opts: GzOptions,
    tracker: &mut dyn Tracker,
) -> Result<SlugStats, SlugError> {
    match std::fs::symlink_metadata(dest) {
        Ok(m) if m.is_dir() => Err(SlugError::Io {
            path: dest.to_path_buf(),
            source: io::Error::new(
                io::ErrorKind::IsADirectory,
                "is a directory: give the slug's file name, e.g. slug.tgz",
            ),
        }),
        Ok(m) if !m.is_file() => pack_in_place(sources, dest, opts, tracker),
        _ => pack_beside(sources, dest, opts, tracker),
    }
}

fn pack_in_place(
    sources: &[Source],
    dest: &Path,
    opts: GzOptions,
    tracker: &mut dyn Tracker,
) -> Result<SlugStats, SlugError> {
    // What the path leads to never goes into the slug (a link into the app).
    let exclude: Vec<PathBuf> = std::fs::canonicalize(dest).into_iter().collect();
    let file = std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(dest)
        .map_err(io_at(dest))?;
    let gz = ParGz::new(io::BufWriter::with_capacity(1 << 20, file), opts).map_err(io_at(dest))?;
    let (gz, mut stats) = write_tar_excluding(sources, gz, tracker, &exclude)?;
    let (writer, gz_stats) = gz.finish().map_err(io_at(dest))?;
    writer
        .into_inner()
        .map_err(|e| io_at(dest)(e.into_error()))?;
    stats.gz = gz_stats;
    stats.in_place = true;
    Ok(stats)
}

fn pack_beside(
    sources: &[Source],
    dest: &Path,
    opts: GzOptions,
    tracker: &mut dyn Tracker,
) -> Result<SlugStats, SlugError> {
    let dir = dest
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = partial_path(dir, dest);
    // The slug being written (and the one it replaces) never go into itself.
    let dir_abs = std::fs::canonicalize(dir).map_err(io_at(dir))?;
    let mut exclude: Vec<PathBuf> = [&tmp, dest]
        .iter()
        .filter_map(|p| p.file_name().map(|n| dir_abs.join(n)))
        .collect();
    // Partial slugs of earlier packs into the same path (a pack killed with
    // SIGKILL cannot remove its own) never go in; a dead pack's is removed.
    exclude.extend(stale_partials(&dir_abs, dest));
    let result = (|| {
        let file = File::create(&tmp).map_err(io_at(&tmp))?;
        let gz =
            ParGz::new(io::BufWriter::with_capacity(1 << 20, file), opts).map_err(io_at(&tmp))?;
        let (gz, mut stats) = write_tar_excluding(sources, gz, tracker, &exclude)?;
        let (writer, gz_stats) = gz.finish().map_err(io_at(&tmp))?;
        let file = writer
            .into_inner()
            .map_err(|e| io_at(&tmp)(e.into_error()))?;
        file.sync_all().map_err(io_at(&tmp))?;
        stats.gz = gz_stats;
        std::fs::rename(&tmp, dest).map_err(io_at(dest))?;
        Ok(stats)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Where [`pack`] writes before renaming into `dest` (the CLI removes it on SIGTERM).
pub fn partial_path_for(dest: &Path) -> PathBuf {
    let dir = dest
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    partial_path(dir, dest)
}

/// `.NAME.partial-PID` files beside `dest` left by other packs: all of them
/// are returned (to keep out of the slug); the ones whose pack is dead are
/// removed.
fn stale_partials(dir: &Path, dest: &Path) -> Vec<PathBuf> {
    let Some(name) = dest.file_name().map(|n| n.to_string_lossy().into_owned()) else {
        return Vec::new();
    };
    let prefix = format!(".{name}.partial-");
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let file = e.file_name().to_string_lossy().into_owned();
            let pid: i32 = file.strip_prefix(&prefix)?.parse().ok()?;
            let path = dir.join(&file);
            let dead = pid != i32::try_from(std::process::id()).unwrap_or(0)
                && nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None)
                    == Err(nix::errno::Errno::ESRCH);
            if dead {
                let _ = std::fs::remove_file(&path);
            }
            Some(path)
        })
        .collect()
}

fn partial_path(dir: &Path, dest: &Path) -> PathBuf {
    let name = dest
        .file_name()
        .map_or_else(|| "slug.tgz".into(), |n| n.to_string_lossy().into_owned());
    dir.join(format!(".{name}.partial-{}", std::process::id()))
}

#[cfg(test)]
mod tests;
