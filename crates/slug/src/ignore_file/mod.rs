//! `.slugignore`: what Heroku removes from the app before any buildpack runs.
//!
//! One pattern per line (never split on whitespace, unlike the old slug
//! compiler); text from an unescaped `#` on is a comment; blank lines are
//! skipped. A leading `/` anchors at the app root, and so does any other `/`
//! in the pattern (a trailing one included: `tests/` is the root's `tests`
//! directory); a pattern without `/` matches at any depth. `*` and `?` stay
//! within one path segment, `[...]` is a class, `**` spans directories. `!`
//! negation does not exist on Heroku and is an error, as is `..`.
//!
//! Removal walks the app without following symlinks, never leaves it, and
//! removes a matching symlink itself, never its target.

use crate::error::SlugError;
use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use std::path::{Path, PathBuf};
use walkdir::WalkDir;

/// The longest pattern accepted: longer ones could never match a path
/// (Linux paths end at 4096 bytes) and would only make the glob engine's
/// automaton huge.
pub(crate) const MAX_PATTERN_BYTES: usize = 4096;

/// Past this many patterns, a warning: the automaton grows about 8 KB for
/// each pattern with a directory part or `**` (plain names and `*.ext` far
/// less), and every file of the app is matched against it. Heroku sets no
/// limit, so neither do we; real `.slugignore` files hold a few dozen.
pub(crate) const MANY_PATTERNS: usize = 10_000;

#[derive(Debug, Clone)]
pub(crate) struct Pattern {
    /// 1-based line in `.slugignore`.
    pub(crate) line: usize,
    /// The pattern as written (comment and surrounding blanks removed).
    pub(crate) text: String,
    dir_only: bool,
    matcher: Matcher,
}

/// globset compiles to a bytes regex, so its `?` and `[...]` match one *byte*:
/// `?` would not match `ü`. Heroku's globs match characters. Patterns with
/// `?` or `[` use the rust-lang `glob` crate's character matcher; the rest
/// (the common `*.psd`, `/tests`, `**/node_modules`), where bytes and
/// characters agree, use globset.
///
/// A byte-exact pattern keeps only its `Glob` (its text, parsed): it is
/// matched inside the set's one automaton, never compiled on its own. (A
/// compiled matcher per pattern cost about 14 KB each: 20,000 patterns
/// took 292 MB, 664 MB in an earlier build.)
#[derive(Debug, Clone)]
enum Matcher {
    Bytes(globset::Glob),
    Chars(glob::Pattern),
}

const CHAR_OPTIONS: glob::MatchOptions = glob::MatchOptions {
    case_sensitive: true,
    require_literal_separator: true,
    require_literal_leading_dot: false,
};

/// Heroku's slug compiler treats braces literally: `{a,b}` is no alternation
/// there (`/{{cookiecutter.slug}}` names a directory called that). globset
/// expands them, so they are escaped for it (outside `[...]` classes, where
/// they are literal anyway). The `glob` crate has no alternation.
fn literal_braces(glob_text: &str) -> String {
    let mut out = String::with_capacity(glob_text.len());
    let mut in_class = false;
    let mut escaped = false;
    for c in glob_text.chars() {
        match c {
            _ if escaped => {
                escaped = false;
                out.push(c);
            }
            '\\' => {
                escaped = true;
                out.push(c);
            }
            '[' if !in_class => {
                in_class = true;
                out.push(c);
            }
            ']' if in_class => {
                in_class = false;
                out.push(c);
            }
            '{' | '}' if !in_class => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

impl Matcher {
    fn new(glob_text: &str) -> Result<Self, String> {
        // Validate with globset either way: it rejects malformed classes like `[z-a`.
        let bytes = GlobBuilder::new(&literal_braces(glob_text))
            .literal_separator(true)
            .backslash_escape(true)
            .build()
            .map_err(|e| e.kind().to_string())?;
        if glob_text.contains(['?', '[']) {
            glob::Pattern::new(glob_text)
                .map(Matcher::Chars)
                .map_err(|e| e.msg.to_string())
        } else {
            Ok(Matcher::Bytes(bytes))
        }
    }

    /// Character-exact patterns only (byte-exact ones are matched in the sets).
    fn is_char_match(&self, rel: &Path) -> bool {
        match self {
            Matcher::Bytes(_) => false,
            Matcher::Chars(p) => p.matches_with(&rel.to_string_lossy(), CHAR_OPTIONS),
        }
    }
}

/// The parsed rules: `.slugignore` patterns, plus (classic builds) project.toml excludes.
#[derive(Debug, Clone, Default)]
pub struct SlugIgnore {
    pub(crate) patterns: Vec<Pattern>,
    excludes: Option<ignore::gitignore::Gitignore>,
    /// The byte-exact patterns in one automaton each (any entry / directories only): the hot path.
    any_set: GlobSet,
    dir_set: GlobSet,
    /// Which pattern each glob of `any_set` / `dir_set` is (its index in `patterns`).
    any_of: Vec<usize>,
    dir_of: Vec<usize>,
    /// Indexes of the character-exact patterns (with `?` or `[...]`), checked one by one.
    chars: Vec<usize>,
}

fn strip_comment(line: &str) -> String {
    let mut out = String::new();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'#') => {
                out.push('#');
                chars.next();
            }
            '#' => break,
            c => out.push(c),
        }
    }
    out
}

impl SlugIgnore {
    /// Parse `.slugignore` bytes.
    pub fn parse(bytes: &[u8]) -> Result<Self, SlugError> {
        let mut patterns = Vec::new();
        for (i, raw) in bytes.split(|b| *b == b'\n').enumerate() {
            let line = i + 1;
            let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
            let text = std::str::from_utf8(raw).map_err(|_| SlugError::NotText { line })?;
            let text = strip_comment(text);
            let text = text.trim();
            if text.is_empty() {
                continue;
            }
            if text.len() > MAX_PATTERN_BYTES {
                return Err(SlugError::BadPattern {
                    line,
                    pattern: format!("{}…", text.chars().take(40).collect::<String>()),
                    why: format!(
                        "longer than {MAX_PATTERN_BYTES} bytes: no path is that long (was the wrong file saved as .slugignore?)"
                    ),
                });
            }
            if text.starts_with('!') {
                return Err(SlugError::Negation {
                    line,
                    pattern: text.to_string(),
                });
            }
            if text.split('/').any(|seg| seg == "..") {
                return Err(SlugError::OutsideApp {
                    line,
                    pattern: text.to_string(),
                });
            }
            let anchored = text.contains('/');
            let dir_only = text.ends_with('/');
            let body = text.trim_start_matches('/').trim_end_matches('/');
            if body.is_empty() {
                continue; // `/` alone would be the app itself: Heroku never removes the app.
            }
            let glob = if anchored {
                body.to_string()
            } else {
                format!("**/{body}")
            };
            let matcher = Matcher::new(&glob).map_err(|why| SlugError::BadPattern {
                line,
                pattern: text.to_string(),
                why,
            })?;
            patterns.push(Pattern {
                line,
                text: text.to_string(),
                dir_only,
                matcher,
            });
        }
        let (mut any, mut dirs, mut chars) =
            (GlobSetBuilder::new(), GlobSetBuilder::new(), Vec::new());
        let (mut any_of, mut dir_of) = (Vec::new(), Vec::new());
        for (i, p) in patterns.iter().enumerate() {
            match &p.matcher {
                Matcher::Bytes(glob) if p.dir_only => {
                    dirs.add(glob.clone());
                    dir_of.push(i);
                }
                Matcher::Bytes(glob) => {
                    any.add(glob.clone());
                    any_of.push(i);
                }
                Matcher::Chars(_) => chars.push(i),
            }
        }
        let build = |b: GlobSetBuilder| {
            b.build().map_err(|e| SlugError::BadPattern {
                line: 0,
                pattern: String::new(),
                why: e.to_string(),
            })
        };
        Ok(Self {
            any_set: build(any)?,
            dir_set: build(dirs)?,
            any_of,
            dir_of,
            chars,
            patterns,
            excludes: None,
        })
    }

    /// Whether anything matches `rel`: the fast check used while walking.
    pub(crate) fn is_match(&self, rel: &Path, is_dir: bool) -> bool {
        let candidate = globset::Candidate::new(rel);
        self.any_set.is_match_candidate(&candidate)
            || (is_dir && self.dir_set.is_match_candidate(&candidate))
            || self.chars.iter().any(|i| {
                let p = &self.patterns[*i];
                (!p.dir_only || is_dir) && p.matcher.is_char_match(rel)
            })
            || self
                .excludes
                .as_ref()
                .is_some_and(|g| g.matched(rel, is_dir).is_ignore())
    }

    /// Add project.toml `[io.buildpacks] exclude` patterns (gitignore syntax,
    /// `!` allowed). Applied in classic builds, where no CNB platform does it.
    pub fn with_excludes(mut self, app_dir: &Path, excludes: &[String]) -> Result<Self, SlugError> {
        let mut builder = ignore::gitignore::GitignoreBuilder::new(app_dir);
        for p in excludes {
            builder
                .add_line(None, p)
                .map_err(|e| SlugError::BadExclude {
                    pattern: p.clone(),
                    why: e.to_string(),
                })?;
        }
        self.excludes = Some(builder.build().map_err(|e| SlugError::BadExclude {
            pattern: excludes.join(", "),
            why: e.to_string(),
        })?);
        Ok(self)
    }

    /// What to tell the user about the rules themselves (too many of them).
    pub fn warning(&self) -> Option<String> {
        (self.patterns.len() > MANY_PATTERNS).then(|| {
            format!(
                ".slugignore has {} patterns, over {MANY_PATTERNS}: matching takes memory and time for each (about 8 KB per pattern with a `/` or `**`); a few directory patterns (`/tests/`, `node_modules/`) usually say the same",
                self.patterns.len()
            )
        })
    }

    #[cfg(test)]
    fn is_empty(&self) -> bool {
        self.patterns.is_empty() && self.excludes.as_ref().is_none_or(|g| g.num_ignores() == 0)
    }

    /// The first rule matching `rel` (relative to the app root, `/`-separated).
    pub fn matching(&self, rel: &Path, is_dir: bool) -> Option<String> {
        let candidate = globset::Candidate::new(rel);
        let from_sets = self
            .any_set
            .matches_candidate(&candidate)
            .into_iter()
            .map(|g| self.any_of[g])
            .chain(
                if is_dir {
                    self.dir_set.matches_candidate(&candidate)
                } else {
                    Vec::new()
                }
                .into_iter()
                .map(|g| self.dir_of[g]),
            );
        let from_chars = self.chars.iter().copied().filter(|i| {
            let p = &self.patterns[*i];
            (!p.dir_only || is_dir) && p.matcher.is_char_match(rel)
        });
        if let Some(p) = from_sets.chain(from_chars).min().map(|i| &self.patterns[i]) {
            return Some(format!(".slugignore:{} `{}`", p.line, p.text));
        }
        match self.excludes.as_ref().map(|g| g.matched(rel, is_dir)) {
            Some(ignore::Match::Ignore(glob)) => {
                Some(format!("project.toml exclude `{}`", glob.original()))
            }
            _ => None,
        }
    }
}

/// What was removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Removal {
    /// Matched paths (relative), each removed whole.
    pub paths: Vec<PathBuf>,
    /// Regular files removed, counting those inside removed directories.
    pub files: u64,
    /// Symlinks removed (never their targets).
    pub links: u64,
    /// Bytes of the regular files removed.
    pub bytes: u64,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SlugError + '_ {
    move |source| SlugError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Find every match first (an unreadable directory stops everything before
/// anything is removed), then remove them. The walk runs on every core and
/// applies none of the `ignore` crate's own filters (hidden files, .gitignore).
pub fn apply(app_dir: &Path, rules: &SlugIgnore) -> Result<Removal, SlugError> {
    apply_with(
        app_dir,
        rules,
        &Races {
            on_visit: &|_| {},
            after_walk: &|| {},
            before_remove: &|_| {},
        },
    )
}

/// Points where tests change the tree the way a concurrent process could:
/// `on_visit` for each entry the walk visits (a directory's entries are
/// already listed then, not yet opened), `after_walk` between the walk and
/// the removal, `before_remove` before each removal (its path relative to
/// the app).
pub(crate) struct Races<'a> {
    pub(crate) on_visit: &'a (dyn Fn(&Path) + Sync),
    pub(crate) after_walk: &'a dyn Fn(),
    pub(crate) before_remove: &'a dyn Fn(&Path),
}

/// [`apply`], with the tree changed at the [`Races`] points.
pub(crate) fn apply_with(
    app_dir: &Path,
    rules: &SlugIgnore,
    races: &Races<'_>,
) -> Result<Removal, SlugError> {
    use ignore::WalkState;
    use std::sync::Mutex;
    /// Matched (path, is_dir) pairs, and the first walk error.
    type Found = (Vec<(PathBuf, bool)>, Option<SlugError>);
    // A missing app is an error, never "nothing matched".
    if !app_dir.is_dir() {
        return Err(SlugError::Io {
            path: app_dir.to_path_buf(),
            source: std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "no such directory (the app to apply .slugignore to)",
            ),
        });
    }
    // The app's directory, opened once (no link followed at its last
    // component): every removal is resolved beneath this handle, so an app
    // directory replaced (by a link elsewhere) while the rules are applied
    // never redirects a removal out of it.
    let root = beneath::open_root(app_dir).map_err(io(app_dir))?;
    let found: Mutex<Found> = Mutex::new((Vec::new(), None));
    let on_visit = races.on_visit;
    ignore::WalkBuilder::new(app_dir)
        .standard_filters(false)
        .follow_links(false)
        .threads(std::thread::available_parallelism().map_or(2, std::num::NonZero::get))
        .build_parallel()
        .run(|| {
            let found = &found;
            Box::new(move |entry| {
                let entry = match entry {
                    Ok(e) => e,
                    // Vanished while we walked: nothing to remove there.
                    Err(e)
                        if e.io_error()
                            .is_some_and(|io| io.kind() == std::io::ErrorKind::NotFound) =>
                    {
                        return WalkState::Continue
                    }
                    Err(e) => {
                        let mut f = found.lock().expect("walk results");
                        let path = walk_error_path(&e).unwrap_or_else(|| app_dir.to_path_buf());
                        f.1.get_or_insert(SlugError::Io {
                            path,
                            source: e
                                .into_io_error()
                                .unwrap_or_else(|| std::io::Error::other("unreadable entry")),
                        });
                        return WalkState::Quit;
                    }
                };
                on_visit(entry.path());
                if entry.depth() == 0 {
                    return WalkState::Continue;
                }
                let rel = entry
                    .path()
                    .strip_prefix(app_dir)
                    .expect("walk stays under the app");
                let is_dir = entry.file_type().is_some_and(|t| t.is_dir());
                if rules.is_match(rel, is_dir) {
                    found
                        .lock()
                        .expect("walk results")
                        .0
                        .push((rel.to_path_buf(), is_dir));
                    return WalkState::Skip;
                }
                WalkState::Continue
            })
        });
    let (mut matched, error) = found.into_inner().expect("walk results");
    if let Some(e) = error {
        return Err(e);
    }
    (races.after_walk)();
    // Replaced while we walked: what the walk listed may be another
    // directory's; nothing is removed.
    beneath::still_at(&root, app_dir).map_err(io(app_dir))?;
    matched.sort();
    let mut removal = Removal::default();
    for (rel, is_dir) in matched {
        (races.before_remove)(&rel);
        let path = app_dir.join(&rel);
        if is_dir {
            for e in WalkDir::new(&path)
                .follow_links(false)
                .into_iter()
                .filter_map(Result::ok)
            {
                count(
                    &mut removal,
                    e.file_type(),
                    e.metadata().map_or(0, |m| m.len()),
                );
            }
            beneath::remove(&root, &rel).map_err(io(&path))?;
        } else {
            let meta = match std::fs::symlink_metadata(&path) {
                Ok(m) => m,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io(&path)(e)),
            };
            count(&mut removal, meta.file_type(), meta.len());
            beneath::remove(&root, &rel).map_err(io(&path))?;
        }
        removal.paths.push(rel);
    }
    Ok(removal)
}

/// Removal that cannot be redirected out of the app: every directory on the
/// way is opened relative to its parent's handle with `O_NOFOLLOW`, and
/// entries are unlinked relative to their directory's handle (`unlinkat`),
/// so a directory swapped for a symlink after the walk is never followed
/// (removal stops with an error instead), and a symlink is removed itself.
mod beneath {
    use nix::dir::Dir;
    use nix::errno::Errno;
    use nix::fcntl::OFlag;
    use nix::sys::stat::Mode;
    use nix::unistd::{unlinkat, UnlinkatFlags};
    use std::ffi::{OsStr, OsString};
    use std::os::unix::ffi::OsStrExt;
    use std::path::{Component, Path};

    fn dir_flags() -> OFlag {
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC
    }

    fn refused(name: &OsStr, e: Errno) -> std::io::Error {
        if matches!(e, Errno::ELOOP | Errno::ENOTDIR) {
            std::io::Error::other(format!(
                "`{}` stopped being a directory (a symlink now?) while .slugignore was applied: nothing was removed through it",
                name.to_string_lossy()
            ))
        } else {
            std::io::Error::from(e)
        }
    }

    /// The app's directory, canonical (a link to the app given by the user
    /// is resolved once, here), opened with `O_NOFOLLOW`.
    pub(super) fn open_root(app: &Path) -> std::io::Result<Dir> {
        let canonical = std::fs::canonicalize(app)?;
        Dir::open(&canonical, dir_flags(), Mode::empty()).map_err(|e| refused(app.as_os_str(), e))
    }

    /// Fails when the path `app` no longer names the directory `root` is
    /// (it was replaced, by a link or another directory).
    pub(super) fn still_at(root: &Dir, app: &Path) -> std::io::Result<()> {
        use std::os::unix::fs::MetadataExt;
        let held = nix::sys::stat::fstat(root)?;
        let now = std::fs::metadata(app)?;
        if now.dev() == held.st_dev && now.ino() == held.st_ino {
            Ok(())
        } else {
            Err(std::io::Error::other(
                "the app directory was replaced (by a link or another directory) while .slugignore was applied: nothing was removed",
            ))
        }
    }

    /// Remove `rel` (relative, no `..`) beneath the app's handle `root`; a
    /// vanished entry is fine.
    pub(super) fn remove(root: &Dir, rel: &Path) -> std::io::Result<()> {
        let parts: Vec<&OsStr> = rel
            .components()
            .map(|c| match c {
                Component::Normal(s) => Ok(s),
                _ => Err(std::io::Error::other("not a plain relative path")),
            })
            .collect::<std::io::Result<_>>()?;
        let Some((last, parents)) = parts.split_last() else {
            return Ok(());
        };
        let mut held: Option<Dir> = None;
        for p in parents {
            let parent = held.as_ref().unwrap_or(root);
            held = Some(match Dir::openat(parent, *p, dir_flags(), Mode::empty()) {
                Ok(d) => d,
                Err(Errno::ENOENT) => return Ok(()),
                Err(e) => return Err(refused(p, e)),
            });
        }
        remove_entry(held.as_ref().unwrap_or(root), last)
    }

    fn remove_entry(parent: &Dir, name: &OsStr) -> std::io::Result<()> {
        match unlinkat(parent, name, UnlinkatFlags::NoRemoveDir) {
            Ok(()) | Err(Errno::ENOENT) => return Ok(()),
            Err(Errno::EISDIR | Errno::EPERM) => {}
            Err(e) => return Err(e.into()),
        }
        let mut sub = match Dir::openat(parent, name, dir_flags(), Mode::empty()) {
            Ok(d) => d,
            Err(Errno::ENOENT) => return Ok(()),
            Err(e) => return Err(refused(name, e)),
        };
        let children: Vec<OsString> = sub
            .iter()
            .filter_map(Result::ok)
            .map(|e| OsStr::from_bytes(e.file_name().to_bytes()).to_os_string())
            .filter(|n| n != "." && n != "..")
            .collect();
        for child in children {
            remove_entry(&sub, &child)?;
        }
        match unlinkat(parent, name, UnlinkatFlags::RemoveDir) {
            Ok(()) | Err(Errno::ENOENT) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

fn walk_error_path(e: &ignore::Error) -> Option<PathBuf> {
    match e {
        ignore::Error::WithPath { path, .. } => Some(path.clone()),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            walk_error_path(err)
        }
        _ => None,
    }
}

fn count(removal: &mut Removal, ft: std::fs::FileType, len: u64) {
    if ft.is_symlink() {
        removal.links += 1;
    } else if ft.is_file() {
        removal.files += 1;
        removal.bytes += len;
    }
}

#[cfg(test)]
mod tests;
