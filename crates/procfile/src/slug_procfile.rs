//! Process types into the slug's `Procfile`, for classic Heroku.
//!
//! On classic Heroku the release's process types come from the slug's
//! `Procfile` and from the *last* buildpack's `bin/release`
//! `default_process_types` only (heroku-buildpack-multi keeps the last
//! `last_pack_release.out`; native multiple buildpacks use the last
//! buildpack's defaults), and the Procfile wins type by type. A Slipway
//! buildpack anywhere but last would lose its types; written into the
//! slug's Procfile they reach the release whatever the order. A line the
//! user wrote is never changed: only types the Procfile does not declare
//! are appended, after a comment saying who added them.

use crate::parse;
use std::io::Write as _;
use std::path::Path;

/// The comment above appended lines (Heroku's Procfile parser skips it).
pub(crate) const MARKER: &str =
    "# Added by Slipway's classic buildpacks (types not in this Procfile):";

/// Append each `(type, command)` the slug's Procfile does not declare yet
/// (creating the Procfile if there is none). Returns what was appended.
pub fn append_missing(
    app_dir: &Path,
    wanted: &[(String, String)],
) -> std::io::Result<Vec<(String, String)>> {
    let path = app_dir.join("Procfile");
    let existing = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(e),
    };
    let declared: Vec<String> = parse::parse("Procfile", &existing)
        .entries
        .into_iter()
        .map(|e| e.name)
        .collect();
    let mut added: Vec<(String, String)> = Vec::new();
    for (name, command) in wanted {
        if !declared.contains(name) && !added.iter().any(|(n, _)| n == name) {
            added.push((name.clone(), command.clone()));
        }
    }
    if added.is_empty() {
        return Ok(added);
    }
    let mut text = String::new();
    if !existing.is_empty() && !existing.ends_with(b"\n") {
        text.push('\n');
    }
    if !String::from_utf8_lossy(&existing).contains(MARKER) {
        text.push_str(MARKER);
        text.push('\n');
    }
    for (name, command) in &added {
        text.push_str(&format!("{name}: {command}\n"));
    }
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)?
        .write_all(text.as_bytes())?;
    Ok(added)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(n: &str, c: &str) -> (String, String) {
        (n.to_string(), c.to_string())
    }

    #[test]
    fn only_undeclared_types_are_appended_and_user_lines_stay_byte_for_byte() {
        let dir = tempfile::tempdir().unwrap();
        let user = "web: gunicorn app.wsgi\r\nrelease: ./my-release.sh";
        std::fs::write(dir.path().join("Procfile"), user).unwrap();
        let added = append_missing(
            dir.path(),
            &[
                pair("release", "release-phase run"),
                pair("autoscale", "release-phase autoscale"),
            ],
        )
        .unwrap();
        assert_eq!(added, [pair("autoscale", "release-phase autoscale")]);
        let text = std::fs::read_to_string(dir.path().join("Procfile")).unwrap();
        assert!(text.starts_with(user), "{text}");
        assert!(text.ends_with(&format!("\n{MARKER}\nautoscale: release-phase autoscale\n")));
        let names: Vec<_> = parse::parse("Procfile", text.as_bytes())
            .entries
            .into_iter()
            .map(|e| e.name)
            .collect();
        assert_eq!(names, ["web", "release", "autoscale"]);
    }

    #[test]
    fn a_second_buildpack_appends_under_the_same_comment_and_nothing_twice() {
        let dir = tempfile::tempdir().unwrap();
        append_missing(dir.path(), &[pair("web", "a")]).unwrap();
        assert!(append_missing(dir.path(), &[pair("web", "b")])
            .unwrap()
            .is_empty());
        append_missing(dir.path(), &[pair("release", "r")]).unwrap();
        let text = std::fs::read_to_string(dir.path().join("Procfile")).unwrap();
        assert_eq!(text, format!("{MARKER}\nweb: a\nrelease: r\n"));
    }
}
