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
use globset::{GlobBuilder, GlobMatcher};
use std::path::{Path, PathBuf};
use walkdir::WalkDir;

#[derive(Debug, Clone)]
pub struct Pattern {
    /// 1-based line in `.slugignore`.
    pub line: usize,
    /// The pattern as written (comment and surrounding blanks removed).
    pub text: String,
    dir_only: bool,
    matcher: Matcher,
}

/// globset compiles to a bytes regex, so its `?` and `[...]` match one *byte*:
/// `?` would not match `ü`. Heroku's globs match characters. Patterns with
/// `?` or `[` use the rust-lang `glob` crate's character matcher; the rest
/// (the common `*.psd`, `/tests`, `**/node_modules`), where bytes and
/// characters agree, use globset.
#[derive(Debug, Clone)]
enum Matcher {
    Bytes(GlobMatcher),
    Chars(glob::Pattern),
}

const CHAR_OPTIONS: glob::MatchOptions = glob::MatchOptions {
    case_sensitive: true,
    require_literal_separator: true,
    require_literal_leading_dot: false,
};

impl Matcher {
    fn new(glob_text: &str) -> Result<Self, String> {
        // Validate with globset either way: it rejects malformed classes like `[z-a`.
        let bytes = GlobBuilder::new(glob_text)
            .literal_separator(true)
            .backslash_escape(true)
            .build()
            .map_err(|e| e.kind().to_string())?;
        if glob_text.contains(['?', '[']) {
            glob::Pattern::new(glob_text)
                .map(Matcher::Chars)
                .map_err(|e| e.msg.to_string())
        } else {
            Ok(Matcher::Bytes(bytes.compile_matcher()))
        }
    }

    fn is_match(&self, rel: &Path) -> bool {
        match self {
            Matcher::Bytes(m) => m.is_match(rel),
            Matcher::Chars(p) => p.matches_with(&rel.to_string_lossy(), CHAR_OPTIONS),
        }
    }
}

/// The parsed rules: `.slugignore` patterns, plus (classic builds) project.toml excludes.
#[derive(Debug, Clone, Default)]
pub struct SlugIgnore {
    pub patterns: Vec<Pattern>,
    excludes: Option<ignore::gitignore::Gitignore>,
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
        Ok(Self {
            patterns,
            excludes: None,
        })
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

    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty() && self.excludes.as_ref().is_none_or(|g| g.num_ignores() == 0)
    }

    /// The first rule matching `rel` (relative to the app root, `/`-separated).
    pub fn matching(&self, rel: &Path, is_dir: bool) -> Option<String> {
        if let Some(p) = self
            .patterns
            .iter()
            .find(|p| (!p.dir_only || is_dir) && p.matcher.is_match(rel))
        {
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
/// anything is removed), then remove them.
pub fn apply(app_dir: &Path, rules: &SlugIgnore) -> Result<Removal, SlugError> {
    let mut matched: Vec<(PathBuf, bool)> = Vec::new();
    let mut walker = WalkDir::new(app_dir)
        .follow_links(false)
        .min_depth(1)
        .sort_by_file_name()
        .into_iter();
    while let Some(entry) = walker.next() {
        let entry = match entry {
            Ok(e) => e,
            // Vanished while we walked: nothing to remove there.
            Err(e)
                if e.io_error()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::NotFound) =>
            {
                continue
            }
            Err(e) => {
                let path = e
                    .path()
                    .map_or_else(|| app_dir.to_path_buf(), Path::to_path_buf);
                return Err(SlugError::Io {
                    path,
                    source: e
                        .into_io_error()
                        .unwrap_or_else(|| std::io::Error::other("filesystem loop")),
                });
            }
        };
        let rel = entry
            .path()
            .strip_prefix(app_dir)
            .expect("walk stays under the app")
            .to_path_buf();
        let is_dir = entry.file_type().is_dir();
        if rules.matching(&rel, is_dir).is_some() {
            if is_dir {
                walker.skip_current_dir();
            }
            matched.push((rel, is_dir));
        }
    }
    let mut removal = Removal::default();
    for (rel, is_dir) in matched {
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
            match std::fs::remove_dir_all(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(&path)(e)),
                _ => {}
            }
        } else {
            let meta = match std::fs::symlink_metadata(&path) {
                Ok(m) => m,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io(&path)(e)),
            };
            count(&mut removal, meta.file_type(), meta.len());
            match std::fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(&path)(e)),
                _ => {}
            }
        }
        removal.paths.push(rel);
    }
    Ok(removal)
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
mod tests {
    use super::*;

    fn m(rules: &str, path: &str, is_dir: bool) -> bool {
        SlugIgnore::parse(rules.as_bytes())
            .unwrap()
            .matching(Path::new(path), is_dir)
            .is_some()
    }

    #[test]
    fn unanchored_patterns_match_at_any_depth() {
        assert!(m("*.psd", "art.psd", false));
        assert!(m("*.psd", "assets/img/art.psd", false));
        assert!(m("node_modules", "frontend/node_modules", true));
        assert!(!m("*.psd", "art.psd.txt", false));
    }

    #[test]
    fn a_slash_anywhere_anchors_at_the_root() {
        assert!(m("/tests", "tests", true));
        assert!(!m("/tests", "app/tests", true));
        assert!(m("docs/build", "docs/build", true));
        assert!(!m("docs/build", "x/docs/build", true));
        assert!(
            m("tests/", "tests", true),
            "a trailing slash anchors too (Heroku)"
        );
        assert!(!m("tests/", "tests", false), "and matches directories only");
        assert!(!m("tests/", "app/tests", true));
    }

    #[test]
    fn star_stays_in_a_segment_and_double_star_spans_directories() {
        assert!(!m("/src/*.map", "src/js/app.js.map", false));
        assert!(m("/src/**/*.map", "src/js/app.js.map", false));
        assert!(m("/src/**/*.map", "src/app.js.map", false));
        assert!(m("fixture?.json", "a/fixture1.json", false));
        assert!(m("[ab].txt", "b.txt", false));
        assert!(
            m("?", "ü", false) && m("[üx]-?", "ü-é", false),
            "classes and ? match characters, not bytes"
        );
    }

    #[test]
    fn comments_blank_lines_and_crlf() {
        let rules =
            SlugIgnore::parse(b"# build junk\r\n\r\n*.log   # logs\r\n  /tmp  \r\nname\\#1\n")
                .unwrap();
        let texts: Vec<_> = rules
            .patterns
            .iter()
            .map(|p| (p.line, p.text.as_str()))
            .collect();
        assert_eq!(texts, [(3, "*.log"), (4, "/tmp"), (5, "name#1")]);
    }

    #[test]
    fn a_line_is_one_pattern_even_with_spaces() {
        assert!(m("My Documents", "My Documents", true));
        assert!(!m("My Documents", "My", true));
    }

    #[test]
    fn negation_and_parent_segments_are_errors_naming_the_line() {
        let e = SlugIgnore::parse(b"*.log\n!keep.log\n").unwrap_err();
        assert!(matches!(e, SlugError::Negation { line: 2, .. }), "{e}");
        assert!(e.to_string().starts_with(".slugignore:2: `!keep.log`"));
        let e = SlugIgnore::parse(b"../secrets\n").unwrap_err();
        assert!(matches!(e, SlugError::OutsideApp { line: 1, .. }));
        let e = SlugIgnore::parse(b"ok\n[z-a\n").unwrap_err();
        assert!(matches!(e, SlugError::BadPattern { line: 2, .. }), "{e}");
        assert!(matches!(
            SlugIgnore::parse(b"ok\n\xff\n").unwrap_err(),
            SlugError::NotText { line: 2 }
        ));
    }

    #[test]
    fn project_toml_excludes_use_gitignore_rules() {
        let rules = SlugIgnore::parse(b"")
            .unwrap()
            .with_excludes(
                Path::new("/app"),
                &["docs".into(), "*.md".into(), "!README.md".into()],
            )
            .unwrap();
        assert!(rules.matching(Path::new("docs"), true).is_some());
        assert!(rules.matching(Path::new("CHANGES.md"), false).is_some());
        assert!(rules.matching(Path::new("README.md"), false).is_none());
    }
}
