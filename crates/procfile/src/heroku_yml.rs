//! The `run:` and `release:` sections of `heroku.yml` (Heroku's container stack manifest).

use crate::Diagnostic;
use yaml_serde::Value;

/// Process types from `run:`, in file order, plus `release:`'s command.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HerokuYml {
    pub run: Vec<(String, String)>,
    pub release: Option<String>,
    pub diagnostics: Vec<Diagnostic>,
}

/// The deepest flow nesting (`[` / `{`) read: the YAML parser's own
/// recursion limit (yaml_serde stops at 128 levels), checked before it
/// runs. libyaml rescans its stack of possible keys on every token inside
/// flow collections, so deep nesting is quadratic there (a 200 KB file of
/// `[[[...]]]` took 45 s); this scan is linear and fails the same files at
/// once. No heroku.yml needs more than a few levels.
pub(crate) const MAX_FLOW_DEPTH: usize = 128;

/// The first line where flow collections nest deeper than [`MAX_FLOW_DEPTH`]:
/// brackets and braces that open a flow node, outside quotes and comments.
/// In block context a bracket opens a flow node only where a node starts
/// (a line's start, or after `: `, `- `, `? `); inside a flow collection
/// every one counts.
fn too_deep(text: &str) -> Option<usize> {
    let (mut depth, mut line) = (0usize, 1usize);
    let (mut quote, mut escaped, mut comment) = (None::<char>, false, false);
    let (mut node_start, mut prev) = (true, '\n');
    for c in text.chars() {
        if c == '\n' {
            line += 1;
            comment = false;
            node_start = node_start || depth == 0;
        } else if comment {
        } else if let Some(q) = quote {
            if q == '"' && escaped {
                escaped = false;
            } else if q == '"' && c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
        } else if c.is_whitespace() {
            node_start = node_start || matches!(prev, ':' | '-' | '?');
        } else if c == '#' && prev.is_whitespace() {
            comment = true;
        } else if matches!(c, '[' | '{') && (node_start || depth > 0) {
            depth += 1;
            if depth > MAX_FLOW_DEPTH {
                return Some(line);
            }
            node_start = true;
        } else if matches!(c, ']' | '}') && depth > 0 {
            depth -= 1;
            node_start = false;
        } else if c == ',' && depth > 0 {
            node_start = true;
        } else if matches!(c, '"' | '\'') && node_start {
            quote = Some(c);
            node_start = false;
        } else {
            node_start = false;
        }
        prev = c;
    }
    None
}

/// The most values a heroku.yml may hold once its aliases are expanded. A
/// real one holds a few dozen; aliases repeat a node wherever they stand, so
/// a small file of them can stand for billions (a 10 KB file of 2,000
/// aliases to a 2,000-item list took 422 MB and 12 s to build, a 100 KB one
/// over 5 GB). The YAML parser's own limit counts alias uses, not what they
/// expand to, so the values are counted here first, as they are expanded,
/// and the count stops at the bound: time and memory stay linear in it.
pub(crate) const MAX_VALUES: usize = 100_000;

/// Counts the values of a YAML document as a deserializer expands them
/// (aliases included), failing past [`MAX_VALUES`].
struct Budget<'a>(&'a std::cell::Cell<usize>);

impl Budget<'_> {
    fn spend<E: serde::de::Error>(&self) -> Result<(), E> {
        let n = self.0.get() + 1;
        self.0.set(n);
        if n > MAX_VALUES {
            return Err(E::custom(format!(
                "more than {MAX_VALUES} values once its aliases (`*name`) are expanded"
            )));
        }
        Ok(())
    }
}

impl<'de> serde::de::DeserializeSeed<'de> for Budget<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

macro_rules! spend_on {
    ($($name:ident: $t:ty),*) => {$(
        fn $name<E: serde::de::Error>(self, _: $t) -> Result<(), E> {
            self.spend()
        }
    )*};
}

impl<'de> serde::de::Visitor<'de> for Budget<'_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any YAML value")
    }
    spend_on!(visit_bool: bool, visit_i64: i64, visit_u64: u64, visit_i128: i128, visit_u128: u128, visit_f64: f64, visit_str: &str, visit_bytes: &[u8]);
    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        self.spend()
    }
    fn visit_none<E: serde::de::Error>(self) -> Result<(), E> {
        self.spend()
    }
    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
    fn visit_newtype_struct<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.spend()?;
        while seq.next_element_seed(Budget(self.0))?.is_some() {}
        Ok(())
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        self.spend()?;
        while map.next_key_seed(Budget(self.0))?.is_some() {
            map.next_value_seed(Budget(self.0))?;
        }
        Ok(())
    }
    fn visit_enum<A: serde::de::EnumAccess<'de>>(self, data: A) -> Result<(), A::Error> {
        use serde::de::VariantAccess as _;
        self.spend()?;
        let ((), variant) = data.variant_seed(Budget(self.0))?;
        variant.newtype_variant_seed(Budget(self.0))
    }
}

/// Whether `text`'s values, aliases expanded, stay within [`MAX_VALUES`]:
/// the YAML error (with its place) when they do not, or when it is not YAML.
fn within_budget(text: &str) -> Result<(), yaml_serde::Error> {
    use serde::de::DeserializeSeed as _;
    let count = std::cell::Cell::new(0);
    for document in yaml_serde::Deserializer::from_str(text) {
        Budget(&count).deserialize(document)?;
    }
    Ok(())
}

/// The line of the first alias (`*name` where a node starts), if any.
fn first_alias_line(text: &str) -> Option<usize> {
    text.lines()
        .position(|l| {
            let mut prev = ' ';
            l.chars().any(|c| {
                let alias = c == '*' && matches!(prev, ' ' | '\t' | '[' | ',' | '{' | ':' | '-');
                prev = c;
                alias
            })
        })
        .map(|i| i + 1)
}

impl HerokuYml {
    /// Read `text` (the file `file`); what it cannot accept becomes a
    /// diagnostic naming the line, never a panic.
    pub fn parse(file: &str, text: &str) -> Self {
        let mut out = HerokuYml::default();
        if let Some(line) = too_deep(text) {
            out.diagnostics.push(
                Diagnostic::error(
                    file,
                    line,
                    line_text(text, line),
                    format!("{file} nests `[` or `{{` more than {MAX_FLOW_DEPTH} levels deep"),
                )
                .label("this line goes past the limit")
                .help("`run:` maps a process type to a command: a string, a list of strings, or `{command: [...]}`"),
            );
            return out;
        }
        if let Err(e) = within_budget(text) {
            if e.to_string().contains("once its aliases") {
                // The place the parser reports is inside the anchored node being
                // replayed; the first alias is what the user wrote to cause it.
                let line = first_alias_line(text).unwrap_or(1);
                out.diagnostics.push(
                    Diagnostic::error(
                        file,
                        line,
                        line_text(text, line),
                        format!("{file} expands to more than {MAX_VALUES} values through its aliases (`*name`)"),
                    )
                    .label("aliases from here on repeat whole nodes")
                    .help("heroku.yml needs no aliases: write each `run:` command out, or repeat a short anchor a few times"),
                );
                return out;
            }
        }
        // Merge keys (`<<: *base`) as Ruby's YAML reads them, so as Heroku does.
        let doc: Value = match yaml_serde::from_str::<Value>(text).and_then(|mut v| {
            v.apply_merge()?;
            Ok(v)
        }) {
            Ok(v) => v,
            Err(e) => {
                let line = e.location().map_or(0, |l| l.line());
                let src = line_text(text, line);
                out.diagnostics.push(
                    Diagnostic::error(file, line, src, format!("{file} is not valid YAML: {e}"))
                        .label("the YAML parser stopped here")
                        .help("fix the YAML syntax (indentation uses spaces; `run:` maps a process type to a command)"),
                );
                return out;
            }
        };
        if doc.is_null() {
            return out;
        }
        let Some(map) = doc.as_mapping() else {
            out.diagnostics.push(
                Diagnostic::error(
                    file,
                    1,
                    line_text(text, 1),
                    format!("{file} must be a mapping with `build:`, `release:`, `run:` sections"),
                )
                .help("see https://devcenter.heroku.com/articles/build-docker-images-heroku-yml"),
            );
            return out;
        };
        if let Some(run) = map.get("run") {
            read_run(file, text, run, &mut out);
        }
        if let Some(release) = map.get("release") {
            out.release = command_of(release);
            if let Some((cmd, construct)) = out
                .release
                .as_deref()
                .and_then(|c| crate::shell::bash_only(c).map(|k| (c, k)))
            {
                let line = find_key_line(text, "release");
                out.diagnostics.push(needs_bash(
                    file,
                    line,
                    line_text(text, line),
                    "release.command",
                    cmd,
                    construct,
                ));
            }
        }
        out
    }
}

/// `run:`'s entries into `out`, with a diagnostic at the line of each bad one.
fn read_run(file: &str, text: &str, run: &Value, out: &mut HerokuYml) {
    match run.as_mapping() {
        Some(run) => {
            // Where each key is written: built once, and only for a diagnostic.
            let mut keys: Option<KeyLines> = None;
            for (k, v) in run {
                let name = k.as_str().map_or_else(|| format!("{k:?}"), str::to_string);
                match command_of(v) {
                    // As in a Procfile: Linux cannot start a longer command.
                    Some(cmd) if cmd.len() > crate::parse::MAX_COMMAND_BYTES => out.diagnostics.push({
                        let (line, source) = keys.get_or_insert_with(|| KeyLines::of_section(text, "run")).find(&name);
                        Diagnostic::error(file, line, source, format!(
                            "the command of `run.{name}` is {} bytes; Linux cannot start a command longer than {} bytes",
                            cmd.len(),
                            crate::parse::MAX_COMMAND_BYTES
                        ))
                        .label("too long to pass to `bash -c`")
                        .help("move the command into a script in your app (e.g. bin/start-worker) and call that script here")
                    }),
                    Some(cmd) if !cmd.trim().is_empty() => {
                        if let Some(construct) = crate::shell::bash_only(&cmd) {
                            let (line, source) = keys.get_or_insert_with(|| KeyLines::of_section(text, "run")).find(&name);
                            out.diagnostics.push(needs_bash(file, line, source, &format!("run.{name}"), &cmd, construct));
                        }
                        out.run.push((name, cmd));
                    }
                    _ => out.diagnostics.push({
                        let (line, source) = keys.get_or_insert_with(|| KeyLines::of_section(text, "run")).find(&name);
                        Diagnostic::error(file, line, source, format!("`run.{name}` has no command"))
                            .label("expected a string or `command: [...]`")
                            .help(format!("write `{name}: <command>` or `{name}: {{command: [\"<command>\"], image: web}}`"))
                    }),
                }
            }
        }
        None if run.is_null() => {}
        None => {
            let line = find_key_line(text, "run");
            out.diagnostics.push(
                Diagnostic::error(
                    file,
                    line,
                    line_text(text, line),
                    "`run:` must map process types to commands",
                )
                .help("write `run:` followed by indented `web: <command>` lines"),
            );
        }
    }
}

/// A heroku.yml command that uses bash syntax: the container stack runs it
/// with the image's `/bin/sh -l -c` (see [`crate::shell`]), where that syntax
/// may mean something else. Heroku accepts it, so this warns and keeps it.
fn needs_bash(
    file: &str,
    line: usize,
    source: &str,
    key: &str,
    cmd: &str,
    construct: &str,
) -> Diagnostic {
    Diagnostic::warning(
        file,
        line,
        source,
        format!(
            "`{key}` uses bash syntax (`{construct}`), but Heroku's container stack runs heroku.yml commands with the image's `/bin/sh -l -c`; where /bin/sh is not bash (dash on Debian-based images such as python:*-slim) this line does not run as written (`[[` is \"not found\", so `[[ ... ]] && a || b` runs `b` on every app)"
        ),
    )
    .pointing_at(construct)
    .label("bash-only")
    .help(format!(
        "run it through bash: `{}` (what `slipway processes --format heroku-yml` writes for such lines)",
        crate::shell::for_container_stack(cmd)
    ))
}

/// A command is a string, a list of strings (joined by spaces), or a map with `command:`.
fn command_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Sequence(items) => {
            let parts: Option<Vec<String>> = items
                .iter()
                .map(|i| i.as_str().map(str::to_string))
                .collect();
            parts.map(|p| p.join(" "))
        }
        Value::Mapping(m) => m.get("command").and_then(command_of),
        _ => None,
    }
}

fn line_text(text: &str, line: usize) -> &str {
    if line == 0 {
        return "";
    }
    text.lines().nth(line - 1).unwrap_or("")
}

fn find_key_line(text: &str, key: &str) -> usize {
    KeyLines::of(text).find(key).0
}

/// The first line each mapping key is written on (`key:` or `"key":` at the
/// start of a line, any indentation), with that line's text: one pass over
/// the file, so locating many keys stays linear (a scan per key was
/// quadratic: 8x the `run:` entries allocated 64x).
struct KeyLines<'a> {
    first: std::collections::HashMap<&'a str, (usize, &'a str)>,
}

impl<'a> KeyLines<'a> {
    fn of(text: &'a str) -> Self {
        Self::of_lines(text.lines().enumerate())
    }

    /// The keys inside one top-level section (`run:`): a `web:` under
    /// `build: docker:` is not `run.web`. The whole file when the section is
    /// not written at the start of a line.
    fn of_section(text: &'a str, section: &str) -> Self {
        let top_level = |l: &str| l.starts_with(|c: char| !c.is_whitespace() && c != '#');
        let lines = || text.lines().enumerate();
        let Some(start) = lines().find(|(_, l)| {
            top_level(l)
                && l.strip_prefix(section)
                    .or_else(|| l.strip_prefix(&format!("\"{section}\"")))
                    .is_some_and(|rest| rest.trim_start().starts_with(':'))
        }) else {
            return Self::of(text);
        };
        Self::of_lines(lines().skip(start.0 + 1).take_while(|(_, l)| !top_level(l)))
    }

    fn of_lines(lines: impl Iterator<Item = (usize, &'a str)>) -> Self {
        let mut first = std::collections::HashMap::new();
        for (i, l) in lines {
            let t = l.trim_start();
            let key = if let Some(quoted) = t.strip_prefix('"') {
                quoted
                    .split_once('"')
                    .filter(|(_, rest)| rest.trim_start().starts_with(':'))
                    .map(|(k, _)| k)
            } else {
                // A key ends at the first `:` that ends the line or is followed by a blank.
                t.match_indices(':')
                    .find(|(at, _)| t[at + 1..].chars().next().is_none_or(char::is_whitespace))
                    .map(|(at, _)| t[..at].trim_end())
            };
            if let Some(k) = key {
                first.entry(k).or_insert((i + 1, l));
            }
        }
        Self { first }
    }

    /// The key's line and text; line 0 (the whole file) when not found.
    fn find(&self, key: &str) -> (usize, &'a str) {
        self.first.get(key).copied().unwrap_or((0, ""))
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn aliases_that_expand_past_the_bound_are_refused_at_the_first_alias_and_small_ones_work() {
        let n = 2000;
        let bomb = format!(
            "base: &a [{}]\nrefs: [{}]\nrun:\n  web: echo hi\n",
            vec!["x"; n].join(","),
            vec!["*a"; n].join(",")
        );
        let y = HerokuYml::parse("heroku.yml", &bomb);
        assert!(y.run.is_empty());
        let d = &y.diagnostics[0];
        assert_eq!(d.line, 2, "{}", d.render());
        assert!(
            d.message
                .contains("expands to more than 100000 values through its aliases"),
            "{}",
            d.render()
        );
        // A merge key and a shared anchor, as people use them, still read.
        let y = HerokuYml::parse(
            "heroku.yml",
            "x-cmd: &cmd [gunicorn, app.wsgi]\nbase: &base {command: *cmd}\nrun:\n  web:\n    <<: *base\n  web2: *cmd\n",
        );
        assert!(
            y.diagnostics.iter().all(|d| !d.is_error()),
            "{:?}",
            y.diagnostics
        );
        assert_eq!(y.run.len(), 2, "{:?}", y.run);
    }

    use super::*;

    #[test]
    fn run_accepts_strings_and_command_maps() {
        let y = HerokuYml::parse(
            "heroku.yml",
            "build:\n  docker:\n    web: Dockerfile\nrelease:\n  image: web\n  command:\n    - release-phase run\nrun:\n  web: gunicorn app.wsgi\n  worker_import:\n    command:\n      - celery -A app worker -Q user_import\n    image: web\n",
        );
        assert!(y.diagnostics.is_empty(), "{:?}", y.diagnostics);
        assert_eq!(
            y.run,
            vec![
                ("web".to_string(), "gunicorn app.wsgi".to_string()),
                (
                    "worker_import".to_string(),
                    "celery -A app worker -Q user_import".to_string()
                )
            ]
        );
        assert_eq!(y.release.as_deref(), Some("release-phase run"));
    }

    #[test]
    fn nesting_past_the_parsers_limit_is_refused_at_once_naming_the_line() {
        let deep = format!(
            "run:\n  web: echo\n  worker: {}{}\n",
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        let t = std::time::Instant::now();
        let y = HerokuYml::parse("heroku.yml", &deep);
        assert!(
            t.elapsed() < std::time::Duration::from_secs(2),
            "linear: {:?}",
            t.elapsed()
        );
        assert_eq!(y.diagnostics.len(), 1, "{:?}", y.diagnostics);
        assert_eq!(y.diagnostics[0].line, 3);
        assert!(
            y.diagnostics[0].message.contains("more than 128 levels"),
            "{:?}",
            y.diagnostics
        );

        // At the limit it is the YAML parser's to judge; brackets that open
        // no flow node (inside a plain scalar, quotes or a comment) never count.
        let at = format!("run:\n  web: {}\"x\"{}\n", "[".repeat(100), "]".repeat(100));
        assert!(!HerokuYml::parse("heroku.yml", &at)
            .diagnostics
            .iter()
            .any(|d| d.message.contains("levels deep")));
        let text = format!(
            "run:\n  web: echo {0} '{0}' \"{0}\" # {0}\n",
            "[".repeat(300)
        );
        let y = HerokuYml::parse("heroku.yml", &text);
        assert!(y.diagnostics.is_empty(), "{:?}", y.diagnostics);
        assert_eq!(
            y.run[0].1,
            format!("echo {0} '{0}' \"{0}\"", "[".repeat(300))
        );
    }

    #[test]
    fn the_depth_scan_follows_quotes_escapes_and_lines_as_yaml_does() {
        let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        // An escaped quote does not end a double-quoted string: its brackets stay text.
        let text = format!("run:\n  web: [\"a\\\" {}\"]\n", deep(200));
        let y = HerokuYml::parse("heroku.yml", &text);
        assert!(y.diagnostics.is_empty(), "{:?}", y.diagnostics);
        assert_eq!(y.run[0].1, format!("a\" {}", deep(200)));
        // A flow list over several lines: a quoted item on the next line is still quoted.
        let text = format!("run:\n  web: [\n    '{}'\n  ]\n", deep(200));
        assert!(HerokuYml::parse("heroku.yml", &text).diagnostics.is_empty());
        // A new line in block context is a node start: brackets opening it count.
        let text = format!("run:\n  web: echo\n{}\n", deep(200));
        let y = HerokuYml::parse("heroku.yml", &text);
        assert_eq!(y.diagnostics.len(), 1, "{:?}", y.diagnostics);
        assert!(
            y.diagnostics[0].message.contains("levels deep"),
            "{:?}",
            y.diagnostics
        );
        assert_eq!(y.diagnostics[0].line, 3);
    }

    #[test]
    fn invalid_yaml_names_the_line() {
        let y = HerokuYml::parse("heroku.yml", "run:\n  web: ok\n bad: [unclosed\n");
        let d = &y.diagnostics[0];
        assert!(d.is_error());
        assert!(d.line >= 2, "{d:?}");
        assert!(d.message.starts_with("heroku.yml is not valid YAML"));
    }

    #[test]
    fn a_run_entry_without_a_command_names_its_line() {
        let y = HerokuYml::parse("heroku.yml", "run:\n  web: ok\n  worker:\n    image: web\n");
        assert_eq!(y.diagnostics[0].location(), "heroku.yml:3");
        assert_eq!(y.diagnostics[0].source_line, "  worker:");
        let y = HerokuYml::parse("heroku.yml", "run:\n  web: \"   \"\n");
        assert_eq!(
            y.diagnostics.len(),
            1,
            "a blank command is none: {:?}",
            y.diagnostics
        );
        assert!(y.diagnostics[0]
            .message
            .contains("`run.web` has no command"));
        assert_eq!(y.diagnostics[0].source_line, "  web: \"   \"");
        assert!(y.run.is_empty());
    }

    #[test]
    fn an_empty_run_is_nothing_and_a_run_that_is_no_mapping_is_an_error_at_its_line() {
        let y = HerokuYml::parse(
            "heroku.yml",
            "build:\n  docker:\n    web: Dockerfile\nrun:\n",
        );
        assert!(
            y.diagnostics.is_empty() && y.run.is_empty(),
            "{:?}",
            y.diagnostics
        );
        let y = HerokuYml::parse("heroku.yml", "# the app\nrun: 3\n");
        assert_eq!(y.diagnostics.len(), 1, "{:?}", y.diagnostics);
        assert_eq!(
            (y.diagnostics[0].line, y.diagnostics[0].source_line.as_str()),
            (2, "run: 3")
        );
        assert!(y.diagnostics[0].message.contains("must map process types"));
    }

    #[test]
    fn the_depth_limit_is_exact_and_closed_brackets_and_commas_are_followed() {
        let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        assert_eq!(too_deep(&format!("a: {}", deep(MAX_FLOW_DEPTH))), None);
        assert_eq!(
            too_deep(&format!("x: 1\na: {}", deep(MAX_FLOW_DEPTH + 1))),
            Some(2)
        );
        // Closed brackets give their level back: side by side, never deep.
        assert_eq!(too_deep(&format!("a: {}", "[]".repeat(500))), None);
        assert_eq!(too_deep(&format!("a: [{}]", "{}, ".repeat(500))), None);
        // After a comma in a flow list a quoted item starts: its brackets are text.
        assert_eq!(too_deep(&format!("a: [x, \"{}\"]", "[".repeat(300))), None);
        // A closing bracket in block context (plain text) takes nothing away.
        assert_eq!(
            too_deep(&format!("a: x]]]]\nb: {}", deep(MAX_FLOW_DEPTH + 1))),
            Some(2)
        );
        // A quoted string ends at its closing quote (a backslash escapes in
        // double quotes only): the brackets after it count.
        assert_eq!(
            too_deep(&format!("a: [\"x\", {}", "[".repeat(300))),
            Some(1)
        );
        assert_eq!(
            too_deep(&format!("a: ['x\\', {}", "[".repeat(300))),
            Some(1)
        );
        // A comma in block context is text: it starts no node.
        assert_eq!(too_deep(&format!("a: x, {}", "[".repeat(300))), None);
        // Brackets inside a plain scalar in block context open nothing.
        assert_eq!(too_deep(&format!("a: x{}", "[".repeat(300))), None);
        // A comment's brackets are text; `#` inside a word is not a comment.
        assert_eq!(too_deep(&format!("a: 1 # {}", "[".repeat(300))), None);
        assert_eq!(too_deep(&format!("a: [x#{}", "[".repeat(300))), Some(1));
    }

    #[test]
    fn a_command_longer_than_linux_can_start_is_refused_as_in_a_procfile() {
        let long = "x".repeat(crate::parse::MAX_COMMAND_BYTES + 1);
        let parsed = HerokuYml::parse(
            "heroku.yml",
            &format!("run:\n  web: {long}\n  worker: celery -A app worker\n"),
        );
        assert_eq!(parsed.run.len(), 1, "the short one is kept");
        let d = &parsed.diagnostics[0];
        assert!(
            d.message.contains("`run.web`") && d.message.contains("131072 bytes"),
            "{}",
            d.message
        );
        assert_eq!(d.line, 2);
    }
}
