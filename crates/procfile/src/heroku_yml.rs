//! The `run:` and `release:` sections of `heroku.yml` (Heroku's container stack manifest).

use crate::diagnostic::Diagnostic;
use serde_yaml_ng::Value;

/// Process types from `run:`, in file order, plus `release:`'s command.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HerokuYml {
    pub run: Vec<(String, String)>,
    pub release: Option<String>,
    pub diagnostics: Vec<Diagnostic>,
}

pub fn parse(file: &str, text: &str) -> HerokuYml {
    let mut out = HerokuYml::default();
    let doc: Value = match serde_yaml_ng::from_str(text) {
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
        match run.as_mapping() {
            Some(run) => {
                for (k, v) in run {
                    let name = k.as_str().map_or_else(|| format!("{k:?}"), str::to_string);
                    let line = find_key_line(text, &name);
                    match command_of(v) {
                        Some(cmd) if !cmd.trim().is_empty() => out.run.push((name, cmd)),
                        _ => out.diagnostics.push(
                            Diagnostic::error(file, line, line_text(text, line), format!("`run.{name}` has no command"))
                                .label("expected a string or `command: [...]`")
                                .help(format!("write `{name}: <command>` or `{name}: {{command: [\"<command>\"], image: web}}`")),
                        ),
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
    if let Some(release) = map.get("release") {
        out.release = command_of(release);
    }
    out
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
    text.lines()
        .position(|l| {
            let t = l.trim_start();
            t.strip_prefix(key)
                .is_some_and(|r| r.trim_start().starts_with(':'))
                || t.strip_prefix(&format!("\"{key}\""))
                    .is_some_and(|r| r.trim_start().starts_with(':'))
        })
        .map_or(0, |i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_accepts_strings_and_command_maps() {
        let y = parse(
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
    fn invalid_yaml_names_the_line() {
        let y = parse("heroku.yml", "run:\n  web: ok\n bad: [unclosed\n");
        let d = &y.diagnostics[0];
        assert!(d.is_error());
        assert!(d.line >= 2, "{d:?}");
        assert!(d.message.starts_with("heroku.yml is not valid YAML"));
    }

    #[test]
    fn a_run_entry_without_a_command_names_its_line() {
        let y = parse("heroku.yml", "run:\n  web: ok\n  worker:\n    image: web\n");
        assert_eq!(y.diagnostics[0].location(), "heroku.yml:3");
    }
}
