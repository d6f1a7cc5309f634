//! After `apply`: exactly the paths the rules match are gone (checked against
//! an independent matcher), nothing outside the app changed, and no symlink
//! was followed.

// An integration test is a crate of its own: it uses some of the dev-dependencies
// its neighbours share, and an unwrap in a test helper is an assertion.
#![allow(unused_crate_dependencies, clippy::unwrap_used)]

use proptest::prelude::*;
use slug::{apply, SlugIgnore};
use std::collections::BTreeMap;
use std::os::unix::fs::symlink;
use std::path::Path;

const SEGMENTS: &[&str] = &["a", "b", "c.log", "d.psd", ".hidden", "x y", "ü", "n\nl"];
const PATTERN_SEGMENTS: &[&str] = &[
    "a", "b", "c.log", "d.psd", ".hidden", "x y", "ü", "*", "*.log", "?", "*.psd", "*a*",
];

#[derive(Debug, Clone)]
enum Node {
    File(Vec<u8>),
    /// Mode 000: removing it needs no read access.
    Unreadable(Vec<u8>),
    /// 6 GiB, sparse.
    Huge,
    Dir,
    LinkOutside,
    LinkParent,
}

fn tree() -> impl Strategy<Value = BTreeMap<Vec<usize>, Node>> {
    let path = proptest::collection::vec(0..SEGMENTS.len(), 1..4);
    let node = prop_oneof![
        4 => proptest::collection::vec(any::<u8>(), 0..64).prop_map(Node::File),
        1 => proptest::collection::vec(any::<u8>(), 0..16).prop_map(Node::Unreadable),
        1 => Just(Node::Huge),
        2 => Just(Node::Dir),
        1 => Just(Node::LinkOutside),
        1 => Just(Node::LinkParent),
    ];
    proptest::collection::btree_map(path, node, 1..24)
}

fn pattern() -> impl Strategy<Value = String> {
    (
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        proptest::collection::vec(0..PATTERN_SEGMENTS.len(), 1..3),
    )
        .prop_map(|(lead, dstar, trail, segs)| {
            let mut parts: Vec<&str> = segs.into_iter().map(|i| PATTERN_SEGMENTS[i]).collect();
            if dstar && parts.len() > 1 {
                parts.insert(1, "**");
            }
            let mut p = parts.join("/");
            if lead {
                p.insert(0, '/');
            }
            if trail {
                p.push('/');
            }
            p
        })
}

/// Build the tree: a node under a file (or link) path is skipped.
fn materialise(root: &Path, outside: &Path, tree: &BTreeMap<Vec<usize>, Node>) {
    for (path, node) in tree {
        let rel: std::path::PathBuf = path.iter().map(|i| SEGMENTS[*i]).collect();
        let full = root.join(&rel);
        if full
            .parent()
            .is_some_and(|p| std::fs::create_dir_all(p).is_err())
            || std::fs::symlink_metadata(&full).is_ok()
        {
            continue;
        }
        let _ = match node {
            Node::File(bytes) => std::fs::write(&full, bytes),
            Node::Unreadable(bytes) => std::fs::write(&full, bytes).and_then(|()| {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&full, std::fs::Permissions::from_mode(0o000))
            }),
            Node::Huge => std::fs::File::create(&full).and_then(|f| f.set_len(6 << 30)),
            Node::Dir => std::fs::create_dir_all(&full),
            Node::LinkOutside => symlink(outside, &full),
            Node::LinkParent => symlink("..", &full),
        };
    }
}

/// Every path under `root`, not following links: relative path -> (is_dir, contents or link target).
fn snapshot(root: &Path) -> BTreeMap<String, (bool, Vec<u8>)> {
    walkdir::WalkDir::new(root)
        .follow_links(false)
        .min_depth(1)
        .into_iter()
        .map(|e| {
            let e = e.unwrap();
            let rel = e
                .path()
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let ft = e.file_type();
            let content = if ft.is_symlink() {
                std::fs::read_link(e.path())
                    .unwrap()
                    .to_string_lossy()
                    .into_owned()
                    .into_bytes()
            } else if ft.is_file() {
                // Huge or unreadable files are compared by size and mode, small ones by content.
                let meta = e.metadata().unwrap();
                let small = meta.len() <= 1 << 20;
                small
                    .then(|| std::fs::read(e.path()).ok())
                    .flatten()
                    .unwrap_or_else(|| {
                        format!(
                            "size {} mode {:o}",
                            meta.len(),
                            std::os::unix::fs::PermissionsExt::mode(&meta.permissions())
                        )
                        .into_bytes()
                    })
            } else {
                Vec::new()
            };
            (rel, (ft.is_dir(), content))
        })
        .collect()
}

fn seg_match(p: &[char], s: &[char]) -> bool {
    match p.split_first() {
        None => s.is_empty(),
        Some(('*', rest)) => (0..=s.len()).any(|i| seg_match(rest, &s[i..])),
        Some(('?', rest)) => !s.is_empty() && seg_match(rest, &s[1..]),
        Some((c, rest)) => s.first() == Some(c) && seg_match(rest, &s[1..]),
    }
}

fn path_match(pats: &[&str], segs: &[&str]) -> bool {
    match pats.split_first() {
        None => segs.is_empty(),
        Some((&"**", rest)) => (0..=segs.len()).any(|i| path_match(rest, &segs[i..])),
        Some((p, rest)) => {
            !segs.is_empty()
                && seg_match(
                    &p.chars().collect::<Vec<_>>(),
                    &segs[0].chars().collect::<Vec<_>>(),
                )
                && path_match(rest, &segs[1..])
        }
    }
}

/// The oracle: Heroku's rules, written independently of globset.
fn oracle(pattern: &str, rel: &str, is_dir: bool) -> bool {
    let anchored = pattern.contains('/');
    if pattern.ends_with('/') && !is_dir {
        return false;
    }
    let body = pattern.trim_matches('/');
    let mut pats: Vec<&str> = body.split('/').collect();
    if !anchored {
        pats.insert(0, "**");
    }
    path_match(&pats, &rel.split('/').collect::<Vec<_>>())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn exactly_the_matching_paths_go_and_nothing_outside_changes(t in tree(), patterns in proptest::collection::vec(pattern(), 1..4)) {
        let base = tempfile::tempdir().unwrap();
        let (app, outside) = (base.path().join("app"), base.path().join("outside"));
        std::fs::create_dir_all(outside.join("d")).unwrap();
        std::fs::write(outside.join("c.log"), b"outside").unwrap();
        std::fs::write(outside.join("d/a"), b"outside too").unwrap();
        std::fs::create_dir_all(&app).unwrap();
        materialise(&app, &outside, &t);

        let before = snapshot(&app);
        let outside_before = snapshot(&outside);
        let rules = SlugIgnore::parse(patterns.join("\n").as_bytes()).unwrap();
        apply(&app, &rules).unwrap();

        // Expected survivors: paths not matched and not under a matched directory.
        let mut gone: Vec<String> = Vec::new();
        let mut expected = BTreeMap::new();
        for (rel, value) in &before {
            if gone.iter().any(|g| rel.starts_with(&format!("{g}/"))) {
                continue;
            }
            if patterns.iter().any(|p| oracle(p, rel, value.0)) {
                gone.push(rel.clone());
            } else {
                expected.insert(rel.clone(), value.clone());
            }
        }
        prop_assert_eq!(snapshot(&app), expected);
        prop_assert_eq!(snapshot(&outside), outside_before);
    }
}
