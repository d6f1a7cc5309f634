//! The Procfile format (see `SPEC.md` beside this crate).

use crate::name::{check_name, NameProblem};
use crate::Diagnostic;

/// Linux refuses a single `execve` argument longer than this (`MAX_ARG_STRLEN`),
/// and every process runs as `bash -c <command>`, so a longer command can never start.
pub(crate) const MAX_COMMAND_BYTES: usize = 131_072;

/// One `<type>: <command>` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    pub command: String,
    /// 1-based line in the file.
    pub(crate) line: usize,
}

/// What a Procfile says, plus everything worth telling the user about it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parsed {
    /// In file order; a type defined twice keeps its first position and its last command.
    pub entries: Vec<Entry>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Parsed {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Parse Procfile bytes. Never panics; problems become diagnostics naming `file` and the line.
pub fn parse(file: &str, bytes: &[u8]) -> Parsed {
    let mut parsed = Parsed::default();
    // Each type's position in `entries`: a duplicate is found in O(1), so a
    // Procfile of 100,000 types parses in linear time (issue 17).
    let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for (index, raw) in bytes.split(|b| *b == b'\n').enumerate() {
        let number = index + 1;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let Ok(line) = std::str::from_utf8(raw) else {
            let shown = String::from_utf8_lossy(raw);
            parsed.diagnostics.push(
                Diagnostic::error(file, number, &shown, "this line is not valid UTF-8 text")
                    .label("binary data or another encoding")
                    .help(format!(
                        "save {file} as UTF-8 text; it must hold only `<type>: <command>` lines"
                    )),
            );
            continue;
        };
        if line.contains('\0') {
            parsed.diagnostics.push(
                Diagnostic::error(
                    file,
                    number,
                    &line.replace('\0', "\\0"),
                    "this line contains a NUL byte",
                )
                .label("NUL bytes cannot be part of a command")
                .help(format!(
                    "{file} looks like binary data; save it as plain text"
                )),
            );
            continue;
        }
        parse_line(file, number, line, &mut parsed, &mut seen);
    }
    parsed
}

fn parse_line(
    file: &str,
    number: usize,
    line: &str,
    parsed: &mut Parsed,
    seen: &mut std::collections::HashMap<String, usize>,
) {
    let trimmed = line.trim();
    if trimmed.is_empty() || trimmed.starts_with('#') {
        return;
    }
    let Some((name, command)) = trimmed.split_once(':') else {
        parsed.diagnostics.push(
            Diagnostic::error(file, number, line, "this line has no `:` between a process type and its command")
                .label("expected `<type>: <command>`")
                .help("write each process as `web: gunicorn app.wsgi`, or start the line with `#` to make it a comment"),
        );
        return;
    };
    let name = name.trim();
    let command = command.trim();
    match check_name(name) {
        Ok(()) => {}
        Err(problem) => {
            parsed
                .diagnostics
                .push(name_diagnostic(file, number, line, name, &problem));
            return;
        }
    }
    if name.contains('.') {
        parsed.diagnostics.push(
            Diagnostic::warning(file, number, line, format!("process type `{name}` contains `.`"))
                .pointing_at(name)
                .label("allowed by CNB, but not by the Heroku Platform API")
                .help("Heroku formation types match `^[-\\w]{1,128}$`: this type can run, but cannot be scaled through the API or by the autoscaler; prefer `_` or `-`"),
        );
    }
    if command.is_empty() {
        parsed.diagnostics.push(
            Diagnostic::error(
                file,
                number,
                line,
                format!("process type `{name}` has an empty command"),
            )
            .label("nothing after `:`")
            .help(format!(
                "give `{name}` a command, e.g. `{name}: python manage.py ...`, or delete the line"
            )),
        );
        return;
    }
    if command.len() > MAX_COMMAND_BYTES {
        parsed.diagnostics.push(
            Diagnostic::error(
                file,
                number,
                line,
                format!(
                    "the command of `{name}` is {} bytes; Linux cannot start a command longer than {MAX_COMMAND_BYTES} bytes",
                    command.len()
                ),
            )
            .label("too long to pass to `bash -c`")
            .help("move the command into a script in your app (e.g. bin/start-worker) and call that script here"),
        );
        return;
    }
    if let Some(previous) = seen.get(name).map(|&i| &mut parsed.entries[i]) {
        parsed.diagnostics.push(
            Diagnostic::warning(
                file,
                number,
                line,
                format!("process type `{name}` is defined twice (first on line {}); the last definition wins, as on Heroku", previous.line),
            )
            .label("this definition is used")
            .help(format!("delete one of the two `{name}:` lines so the Procfile says what runs")),
        );
        previous.command = command.to_string();
        previous.line = number;
        return;
    }
    seen.insert(name.to_string(), parsed.entries.len());
    parsed.entries.push(Entry {
        name: name.to_string(),
        command: command.to_string(),
        line: number,
    });
}

fn name_diagnostic(
    file: &str,
    number: usize,
    line: &str,
    name: &str,
    problem: &NameProblem,
) -> Diagnostic {
    let (message, label) = match problem {
        NameProblem::Empty => (
            "the process type before `:` is empty".to_string(),
            "no process type".to_string(),
        ),
        NameProblem::BadChar(c) => (
            format!("process type `{name}` contains {}", describe_char(*c)),
            "process types may use only letters, digits, `.`, `_` and `-` (the CNB rule)"
                .to_string(),
        ),
        NameProblem::TooLong(n) => (
            format!(
                "process type `{}…` is {n} characters long",
                &name[..name.char_indices().nth(20).map_or(name.len(), |(i, _)| i)]
            ),
            format!(
                "at most {} characters (the Heroku Platform API's limit)",
                crate::name::MAX_NAME_LEN
            ),
        ),
    };
    Diagnostic::error(file, number, line, message)
        .pointing_at(name)
        .label(label)
        .help("rename the process type, e.g. `worker_import` instead of `worker import`")
}

fn describe_char(c: char) -> String {
    match c {
        ' ' => "a space".to_string(),
        '\t' => "a tab".to_string(),
        c if c.is_control() => format!("the control character U+{:04X}", c as u32),
        c => format!("`{c}`"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> Vec<(String, String)> {
        let p = parse("Procfile", text.as_bytes());
        assert!(
            !p.has_errors(),
            "{}",
            slipway_data::render_all(&p.diagnostics)
        );
        p.entries.into_iter().map(|e| (e.name, e.command)).collect()
    }

    fn first_error(text: &[u8]) -> Diagnostic {
        let p = parse("Procfile", text);
        p.diagnostics
            .into_iter()
            .find(Diagnostic::is_error)
            .expect("an error")
    }

    #[test]
    fn types_and_commands_are_kept_exactly_as_written() {
        assert_eq!(
            ok("web: gunicorn app.wsgi --bind 0.0.0.0:$PORT\nworker_high_memory: celery -A app worker -Q high_memory\n"),
            vec![
                ("web".into(), "gunicorn app.wsgi --bind 0.0.0.0:$PORT".into()),
                ("worker_high_memory".into(), "celery -A app worker -Q high_memory".into()),
            ]
        );
    }

    #[test]
    fn blank_lines_comments_and_crlf_are_tolerated() {
        assert_eq!(
            ok("# processes\r\n\r\n  web: a\r\n   # indented comment\r\nbeat: b\r\n"),
            vec![("web".into(), "a".into()), ("beat".into(), "b".into())]
        );
    }

    #[test]
    fn env_assignment_prefixes_stay_part_of_the_command() {
        assert_eq!(
            ok("worker: REMAP_SIGTERM=SIGQUIT celery -A app worker\n"),
            vec![(
                "worker".into(),
                "REMAP_SIGTERM=SIGQUIT celery -A app worker".into()
            )]
        );
    }

    #[test]
    fn only_the_first_colon_separates_type_from_command() {
        assert_eq!(
            ok("web: echo a:b:c"),
            vec![("web".into(), "echo a:b:c".into())]
        );
    }

    #[test]
    fn a_duplicate_type_warns_and_the_last_definition_wins() {
        let p = parse("Procfile", b"web: one\nworker: w\nweb: two\n");
        assert!(!p.has_errors());
        assert_eq!(p.entries[0].command, "two");
        assert_eq!(p.entries[0].line, 3);
        let w = &p.diagnostics[0];
        assert!(
            w.message.contains("defined twice (first on line 1)"),
            "{}",
            w.message
        );
        assert_eq!(w.location(), "Procfile:3");
    }

    #[test]
    fn a_name_with_a_space_names_the_cnb_rule_and_the_line() {
        let d = first_error(b"web: ok\nworker import: x\n");
        assert_eq!(d.location(), "Procfile:2");
        assert!(d.message.contains("contains a space"), "{}", d.message);
        assert!(d.render().contains("letters, digits, `.`, `_` and `-`"));
    }

    #[test]
    fn an_empty_command_is_an_error_on_its_line() {
        let d = first_error(b"\n\nbeat:   \n");
        assert_eq!(d.location(), "Procfile:3");
        assert!(d.message.contains("empty command"));
    }

    #[test]
    fn a_line_without_a_colon_is_an_error() {
        let d = first_error(b"web gunicorn\n");
        assert!(d.message.contains("no `:`"));
    }

    #[test]
    fn binary_garbage_is_reported_not_panicked_on() {
        let d = first_error(b"web: ok\n\xff\xfe\x00\x01garbage\n");
        assert_eq!(d.location(), "Procfile:2");
        assert!(d.message.contains("UTF-8"));
        let d = first_error(b"web: a\0b\n");
        assert!(d.message.contains("NUL"));
    }

    #[test]
    fn a_ten_megabyte_line_is_an_error_with_a_short_message() {
        let mut text = b"web: ".to_vec();
        text.extend(std::iter::repeat_n(b'x', 10 * 1024 * 1024));
        let d = first_error(&text);
        assert!(
            d.message.contains("longer than 131072 bytes"),
            "{}",
            d.message
        );
        assert!(d.render().len() < 2000);
    }

    #[test]
    fn a_dot_in_a_type_is_allowed_with_a_warning() {
        let p = parse("Procfile", b"web.v2: x\n");
        assert!(!p.has_errors());
        assert!(p.diagnostics[0].help.contains("cannot be scaled"));
    }
}
