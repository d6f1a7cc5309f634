//! What to cut: the largest directories and files of the slug with their
//! estimated compressed size, and the `.slugignore` lines that would remove
//! the usual suspects. Compressed sizes are attributed from the real
//! compression: each deflated block's bytes are shared among the entries it
//! covers, in proportion to their bytes in that block. Memory stays bounded:
//! entries are aggregated into directories (depth 1 to 3), extensions and
//! files of 512 KiB or more, as contiguous byte ranges (tar order is depth-first).

use crate::pack::{SlugStats, Tracker};
use std::collections::HashMap;
use std::fmt::Write as _;

const BIG_FILE: u64 = 512 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Kind {
    Dir,
    File,
    Extension,
}

#[derive(Debug, Default)]
struct Agg {
    raw: u64,
    ranges: Vec<(u64, u64)>,
}

/// Collects entry positions during `measure_tracked`.
#[derive(Debug, Default)]
pub struct SizeTracker {
    keys: HashMap<(Kind, String), Agg>,
}

impl SizeTracker {
    fn add(&mut self, kind: Kind, key: String, start: u64, end: u64, size: u64) {
        let agg = self.keys.entry((kind, key)).or_default();
        agg.raw += size;
        match agg.ranges.last_mut() {
            Some(last) if last.1 == start => last.1 = end,
            _ => agg.ranges.push((start, end)),
        }
    }
}

impl Tracker for SizeTracker {
    fn entry(&mut self, name: &[u8], start: u64, end: u64, size: u64) {
        let name = String::from_utf8_lossy(name);
        let name = name.trim_end_matches('/');
        // The root entries themselves (`./app/`) are not offenders.
        let Some(rel) = name
            .strip_prefix("./app/")
            .or_else(|| name.strip_prefix("./").filter(|r| *r != "app"))
        else {
            return;
        };
        let parts: Vec<&str> = rel.split('/').collect();
        let dirs = if size == 0 && parts.len() <= 3 {
            parts.len()
        } else {
            parts.len() - 1
        };
        for depth in 1..=dirs.min(3) {
            self.add(Kind::Dir, parts[..depth].join("/"), start, end, size);
        }
        if size > 0 {
            if size >= BIG_FILE {
                self.add(Kind::File, rel.to_string(), start, end, size);
            }
            if let Some((_, ext)) = parts
                .last()
                .and_then(|f| f.rsplit_once('.'))
                .filter(|(stem, ext)| !stem.is_empty() && ext.len() <= 8)
            {
                self.add(Kind::Extension, ext.to_ascii_lowercase(), start, end, size);
            }
        }
    }
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offender {
    pub(crate) kind: Kind,
    pub path: String,
    pub raw: u64,
    pub compressed: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suggestion {
    /// The `.slugignore` line.
    pub line: String,
    pub compressed: u64,
    pub why: &'static str,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub dirs: Vec<Offender>,
    pub files: Vec<Offender>,
    pub suggestions: Vec<Suggestion>,
}

/// The usual suspects: (matches a directory name or extension, .slugignore line, why).
const SUSPECTS: &[(Kind, &str, &str, &str)] = &[
    (
        Kind::Dir,
        ".git",
        ".git",
        "version control history is never needed at runtime",
    ),
    (
        Kind::Dir,
        "tests",
        "/tests",
        "test suites do not run on dynos (but keep them if you use Heroku CI)",
    ),
    (
        Kind::Dir,
        "test",
        "/test",
        "test suites do not run on dynos (but keep them if you use Heroku CI)",
    ),
    (
        Kind::Dir,
        "spec",
        "/spec",
        "test suites do not run on dynos (but keep them if you use Heroku CI)",
    ),
    (
        Kind::Dir,
        "docs",
        "/docs",
        "documentation is not served by the app",
    ),
    (
        Kind::Dir,
        "doc",
        "/doc",
        "documentation is not served by the app",
    ),
    (
        Kind::Dir,
        "node_modules",
        "node_modules",
        "build tools: once assets are compiled, a Django app does not need them at runtime",
    ),
    (
        Kind::Dir,
        "__pycache__",
        "__pycache__",
        "bytecode caches are rebuilt on the dyno",
    ),
    (Kind::Dir, ".cache", ".cache", "build caches"),
    (Kind::Dir, "coverage", "/coverage", "test coverage output"),
    (Kind::Dir, "tmp", "/tmp", "scratch files"),
    (Kind::Dir, "log", "/log", "log files"),
    (Kind::Extension, "psd", "*.psd", "design sources"),
    (
        Kind::Extension,
        "pdf",
        "*.pdf",
        "documents rarely served from the slug",
    ),
    (Kind::Extension, "sql", "*.sql", "database dumps"),
    (Kind::Extension, "dump", "*.dump", "database dumps"),
    (Kind::Extension, "zip", "*.zip", "archives"),
    (
        Kind::Extension,
        "mp4",
        "*.mp4",
        "videos belong on a CDN or object storage",
    ),
    (
        Kind::Extension,
        "mov",
        "*.mov",
        "videos belong on a CDN or object storage",
    ),
    (Kind::Extension, "log", "*.log", "log files"),
];

impl SizeTracker {
    /// Attribute compressed bytes and pick the top `n` of each kind.
    pub fn report(&self, stats: &SlugStats, block_size: usize, n: usize) -> Report {
        let block = block_size as u64;
        let compressed_of = |ranges: &[(u64, u64)]| -> u64 {
            let mut total = 0.0f64;
            for &(s, e) in ranges {
                let (first, last) = (s / block, (e.saturating_sub(1)) / block);
                for i in first..=last {
                    let Some(&deflated) = stats
                        .gz
                        .block_deflated
                        .get(usize::try_from(i).unwrap_or(usize::MAX))
                    else {
                        break;
                    };
                    let (bs, be) = (i * block, ((i + 1) * block).min(stats.gz.uncompressed));
                    let overlap = e.min(be).saturating_sub(s.max(bs));
                    #[allow(clippy::cast_precision_loss)]
                    if be > bs {
                        total += deflated as f64 * overlap as f64 / (be - bs) as f64;
                    }
                }
            }
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let rounded = total.round() as u64;
            rounded
        };
        let mut all: Vec<Offender> = self
            .keys
            .iter()
            .map(|((kind, path), agg)| Offender {
                kind: *kind,
                path: path.clone(),
                raw: agg.raw,
                compressed: compressed_of(&agg.ranges),
            })
            .collect();
        all.sort_by(|a, b| {
            b.compressed
                .cmp(&a.compressed)
                .then_with(|| a.path.cmp(&b.path))
        });
        let top = |kind: Kind| {
            all.iter()
                .filter(|o| o.kind == kind)
                .take(n)
                .cloned()
                .collect::<Vec<_>>()
        };
        let mut suggestions = Vec::new();
        for (kind, name, line, why) in SUSPECTS {
            let compressed: u64 = all
                .iter()
                .filter(|o| {
                    o.kind == *kind
                        && (o.path == *name
                            || (*kind == Kind::Dir
                                && o.path.ends_with(&format!("/{name}"))
                                && !line.starts_with('/')))
                })
                .map(|o| o.compressed)
                .sum();
            if compressed > 0 && !suggestions.iter().any(|s: &Suggestion| s.line == *line) {
                suggestions.push(Suggestion {
                    line: (*line).to_string(),
                    compressed,
                    why,
                });
            }
        }
        suggestions.sort_by_key(|s| std::cmp::Reverse(s.compressed));
        Report {
            dirs: top(Kind::Dir),
            files: top(Kind::File),
            suggestions,
        }
    }
}

/// `346.4M`, Heroku's way of printing slug sizes.
pub fn human(bytes: u64) -> String {
    #[allow(clippy::cast_precision_loss)]
    let b = bytes as f64;
    if b >= 1024.0 * 1024.0 * 1024.0 {
        format!("{:.1}G", b / 1024.0 / 1024.0 / 1024.0)
    } else if b >= 1024.0 * 1024.0 {
        format!("{:.1}M", b / 1024.0 / 1024.0)
    } else if b >= 1024.0 {
        format!("{:.1}K", b / 1024.0)
    } else {
        format!("{bytes}B")
    }
}

impl Report {
    pub fn render(&self) -> String {
        let mut out = String::new();
        let rows = |out: &mut String, title: &str, rows: &[Offender]| {
            if rows.is_empty() {
                return;
            }
            let _ = writeln!(out, "{title} (compressed ~ raw):");
            for o in rows {
                let _ = writeln!(
                    out,
                    "  {:>8} ~ {:>8}  {}",
                    human(o.compressed),
                    human(o.raw),
                    o.path
                );
            }
        };
        rows(&mut out, "Largest directories", &self.dirs);
        rows(&mut out, "Largest files", &self.files);
        if !self.suggestions.is_empty() {
            let _ = writeln!(
                out,
                "Add to .slugignore to cut (estimated compressed savings):"
            );
            for s in &self.suggestions {
                let _ = writeln!(
                    out,
                    "  {:<16} # -{}  {}",
                    s.line,
                    human(s.compressed),
                    s.why
                );
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::human;

    /// Heroku's slug sizes: one decimal in the largest unit that is at least
    /// one, in 1024s (`Done: 346.4M`, `max is 1.0G`); bytes as they are.
    #[test]
    fn sizes_are_printed_the_way_heroku_prints_slug_sizes() {
        let (k, m, g) = (1024, 1024 * 1024, 1024 * 1024 * 1024);
        assert_eq!(human(0), "0B");
        assert_eq!(human(1023), "1023B");
        assert_eq!(human(k), "1.0K");
        assert_eq!(human(m - 1), "1024.0K");
        assert_eq!(human(m), "1.0M");
        assert_eq!(human(346 * m + 4 * m / 10), "346.4M");
        assert_eq!(human(g - 1), "1024.0M");
        assert_eq!(human(g), "1.0G");
        assert_eq!(human(5 * g / 2), "2.5G");
    }
}
