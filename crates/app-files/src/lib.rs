//! The app's configuration files, read safely. Every Slipway crate and
//! buildpack reads `Procfile`, `heroku.yml`, `project.toml` and
//! `.slugignore` through here:
//!
//! - a file that is a symlink whose target is outside the app is refused
//!   (its content is never read, so never echoed in an error);
//! - anything but a regular file (a FIFO, `/dev/zero` through a link) is
//!   refused, never read until memory runs out;
//! - a file over [`MAX_BYTES`] is refused, naming the limit.
//!
//! A missing file is `Ok(None)`: every caller has a default for it.

use std::io::Read;
use std::path::{Path, PathBuf};

/// The largest configuration file read (4 MiB: far above any real Procfile,
/// project.toml or .slugignore; reading stops there).
pub(crate) const MAX_BYTES: u64 = 4 << 20;

#[derive(Debug, thiserror::Error)]
pub enum AppFileError {
    #[error("{path}: refusing to read it: it is a symlink to {target}, outside the app\nReplace the link with the file itself: configuration is read from the app, never from outside it.")]
    OutsideApp { path: PathBuf, target: PathBuf },
    #[error("{path}: refusing to read it: it is {kind}, not a regular file\nMake it a plain file in the app.")]
    NotAFile { path: PathBuf, kind: &'static str },
    #[error("{path}: refusing to read it: it is over the {max}-byte limit for a configuration file\nA real one is far smaller: check that the right file is in the app.")]
    TooLarge { path: PathBuf, max: u64 },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn kind(ft: std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if ft.is_dir() {
        "a directory"
    } else if ft.is_fifo() {
        "a FIFO"
    } else if ft.is_char_device() || ft.is_block_device() {
        "a device"
    } else if ft.is_socket() {
        "a socket"
    } else {
        "not a file"
    }
}

/// `app_dir/name`'s bytes, or None when there is no such file.
pub fn read(app_dir: &Path, name: &str) -> Result<Option<Vec<u8>>, AppFileError> {
    read_with(app_dir, name, &|| {})
}

/// [`read`], with `before_open` run between the checks on the path and the
/// open (where a concurrent writer could swap the file): what is decided is
/// decided on the file actually opened, never on the path looked at first.
#[doc(hidden)]
pub(crate) fn read_with(
    app_dir: &Path,
    name: &str,
    before_open: &dyn Fn(),
) -> Result<Option<Vec<u8>>, AppFileError> {
    use std::os::unix::fs::OpenOptionsExt as _;
    use std::os::unix::io::AsRawFd as _;
    let path = app_dir.join(name);
    let io = |source| AppFileError::Io {
        path: path.clone(),
        source,
    };
    let app = std::fs::canonicalize(app_dir).map_err(io)?;
    match std::fs::symlink_metadata(&path) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(e)),
    }
    before_open();
    // O_NONBLOCK: a FIFO put there never blocks the open (it is refused below).
    let file = match std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NONBLOCK)
        .open(&path)
    {
        Ok(f) => f,
        // A dangling link (or a file gone meanwhile): as if there were no file.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(e)),
    };
    // Where the open actually led, as the kernel says it.
    let target = std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd()))
        .or_else(|_| std::fs::canonicalize(&path))
        .map_err(io)?;
    if !target.starts_with(&app) {
        return Err(AppFileError::OutsideApp { path, target });
    }
    let meta = file.metadata().map_err(io)?;
    if !meta.is_file() {
        return Err(AppFileError::NotAFile {
            path,
            kind: kind(meta.file_type()),
        });
    }
    if meta.len() > MAX_BYTES {
        return Err(AppFileError::TooLarge {
            path,
            max: MAX_BYTES,
        });
    }
    let mut bytes = Vec::new();
    file.take(MAX_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > MAX_BYTES {
        return Err(AppFileError::TooLarge {
            path,
            max: MAX_BYTES,
        });
    }
    Ok(Some(bytes))
}

/// [`read`], as UTF-8 text.
pub fn read_to_string(app_dir: &Path, name: &str) -> Result<Option<String>, AppFileError> {
    read(app_dir, name)?
        .map(|bytes| {
            String::from_utf8(bytes).map_err(|_| AppFileError::Io {
                path: app_dir.join(name),
                source: std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8 text"),
            })
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn a_plain_file_is_read_and_a_missing_one_is_none() {
        let app = tempfile::tempdir().unwrap();
        std::fs::write(app.path().join("Procfile"), "web: x\n").unwrap();
        assert_eq!(read(app.path(), "Procfile").unwrap().unwrap(), b"web: x\n");
        assert!(read(app.path(), "heroku.yml").unwrap().is_none());
    }

    #[test]
    fn a_link_inside_the_app_is_followed_and_one_leading_out_is_refused_unread() {
        let base = tempfile::tempdir().unwrap();
        let app = base.path().join("app");
        std::fs::create_dir_all(app.join("config")).unwrap();
        std::fs::write(app.join("config/Procfile"), "web: x\n").unwrap();
        symlink("config/Procfile", app.join("Procfile")).unwrap();
        assert!(read(&app, "Procfile").unwrap().is_some());

        std::fs::write(base.path().join("secrets.toml"), "password = \"hunter2\"").unwrap();
        symlink(base.path().join("secrets.toml"), app.join("project.toml")).unwrap();
        let e = read(&app, "project.toml").unwrap_err().to_string();
        assert!(
            e.contains("outside the app") && !e.contains("hunter2"),
            "{e}"
        );
    }

    #[test]
    fn a_device_a_fifo_and_a_directory_are_refused_without_reading() {
        let app = tempfile::tempdir().unwrap();
        symlink("/dev/zero", app.path().join(".slugignore")).unwrap();
        // /dev/zero is outside the app: refused before it is even looked at.
        assert!(read(app.path(), ".slugignore").is_err());
        std::fs::create_dir(app.path().join("Procfile")).unwrap();
        let e = read(app.path(), "Procfile").unwrap_err().to_string();
        assert!(e.contains("a directory"), "{e}");
        let fifo = app.path().join("heroku.yml");
        assert!(std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success());
        let e = read(app.path(), "heroku.yml").unwrap_err().to_string();
        assert!(e.contains("a FIFO"), "{e}");
    }

    #[test]
    fn a_file_over_the_limit_is_refused_naming_it() {
        let app = tempfile::tempdir().unwrap();
        let f = std::fs::File::create(app.path().join(".slugignore")).unwrap();
        f.set_len(MAX_BYTES + 1).unwrap();
        let e = read(app.path(), ".slugignore").unwrap_err().to_string();
        assert!(e.contains("over the 4194304-byte limit"), "{e}");
    }

    #[test]
    fn a_file_swapped_for_a_link_out_of_the_app_after_the_checks_is_refused_never_read() {
        let base = tempfile::tempdir().unwrap();
        let app = base.path().join("app");
        std::fs::create_dir(&app).unwrap();
        std::fs::write(base.path().join("secrets.toml"), "token = \"outside\"").unwrap();
        std::fs::write(app.join("project.toml"), "[_]\n").unwrap();
        let swap = || {
            std::fs::remove_file(app.join("project.toml")).unwrap();
            symlink(base.path().join("secrets.toml"), app.join("project.toml")).unwrap();
        };
        let e = read_with(&app, "project.toml", &swap).unwrap_err();
        assert!(matches!(e, AppFileError::OutsideApp { .. }), "{e}");
        assert!(!e.to_string().contains("outside\""), "{e}");
    }
}
