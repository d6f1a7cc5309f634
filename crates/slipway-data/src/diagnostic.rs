//! Diagnostics that point at a line of a user's file, rendered in the
//! annotate-snippets style rustc uses.

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};
use std::fmt;

/// How serious a diagnostic is. Warnings never stop a build (Heroku accepts
/// the input), errors do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Severity {
    Warning,
    Error,
}

/// One finding about one line of one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub(crate) severity: Severity,
    /// The file as the user knows it, relative to the app root (`Procfile`).
    pub(crate) file: String,
    /// 1-based line number; 0 when the finding is about the whole file.
    pub line: usize,
    /// The text of that line (truncated for display when very long).
    pub source_line: String,
    /// What is wrong, in one sentence.
    pub message: String,
    /// Short label under the offending part of the line.
    pub(crate) label: String,
    /// The offending part, as a byte range of `source_line`; the whole line when None.
    pub(crate) span: Option<std::ops::Range<usize>>,
    /// What to do about it.
    pub help: String,
}

/// How much of a line is shown in a snippet. A 10 MB line must not become a
/// 10 MB error message.
const MAX_SHOWN: usize = 160;

impl Diagnostic {
    pub fn error(file: &str, line: usize, source_line: &str, message: impl Into<String>) -> Self {
        Self::new(Severity::Error, file, line, source_line, message)
    }

    pub fn warning(file: &str, line: usize, source_line: &str, message: impl Into<String>) -> Self {
        Self::new(Severity::Warning, file, line, source_line, message)
    }

    fn new(
        severity: Severity,
        file: &str,
        line: usize,
        source_line: &str,
        message: impl Into<String>,
    ) -> Self {
        Self {
            severity,
            file: file.to_string(),
            line,
            source_line: shorten(source_line),
            message: message.into(),
            label: String::new(),
            span: None,
            help: String::new(),
        }
    }

    /// A TOML syntax or schema error (read by `slipway-data`), pointing at its line.
    pub fn from_toml(e: &crate::TomlError) -> Self {
        Diagnostic::error(
            &e.file,
            e.line,
            &e.source_line,
            format!("{}: {}", e.file, e.message),
        )
        .label("here")
    }

    #[must_use]
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = label.into();
        self
    }

    /// Point at `part` of the line (its first occurrence) instead of the whole line.
    #[must_use]
    pub fn pointing_at(mut self, part: &str) -> Self {
        if let Some(start) = self.source_line.find(part).filter(|_| !part.is_empty()) {
            self.span = Some(start..start + part.len());
        }
        self
    }

    #[must_use]
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = help.into();
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// Render as plain text (no colour), e.g.
    ///
    /// ```text
    /// error: duplicate process type `web`
    ///  --> Procfile:3
    ///   |
    /// 3 | web: gunicorn app.wsgi
    ///   | ^^^^^^^^^^^^^^^^^^^^^^ ...
    /// ```
    pub fn render(&self) -> String {
        let level = match self.severity {
            Severity::Warning => Level::WARNING,
            Severity::Error => Level::ERROR,
        };
        let mut group = Group::with_title(level.primary_title(&self.message));
        if self.line > 0 {
            let source = if self.source_line.is_empty() {
                " "
            } else {
                self.source_line.as_str()
            };
            let span = self.span.clone().unwrap_or(0..source.len());
            group = group.element(
                Snippet::source(source)
                    .line_start(self.line)
                    .path(self.file.as_str())
                    .fold(false)
                    .annotation(AnnotationKind::Primary.span(span).label(&self.label)),
            );
        }
        let help = format!("{} (in {})", self.help, self.location());
        if !self.help.is_empty() {
            group = group.element(Level::HELP.message(&help));
        }
        Renderer::plain().render(&[group]).clone()
    }

    /// `Procfile:3`, or `Procfile` for whole-file findings.
    pub fn location(&self) -> String {
        if self.line > 0 {
            format!("{}:{}", self.file, self.line)
        } else {
            self.file.clone()
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render())
    }
}

fn shorten(line: &str) -> String {
    if line.len() <= MAX_SHOWN {
        return line.to_string();
    }
    let mut end = MAX_SHOWN;
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes in all)", &line[..end], line.len())
}

/// Render a list of diagnostics, one after the other.
pub fn render_all(diagnostics: &[Diagnostic]) -> String {
    diagnostics
        .iter()
        .map(Diagnostic::render)
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_file_line_and_help() {
        let d = Diagnostic::error("Procfile", 3, "web gunicorn", "line has no `:`")
            .label("expected `<type>: <command>`")
            .help("write `web: gunicorn`");
        let text = d.render();
        assert!(text.contains("error: line has no `:`"), "{text}");
        assert!(text.contains("Procfile:3"), "{text}");
        assert!(text.contains("3 | web gunicorn"), "{text}");
        assert!(text.contains("help: write `web: gunicorn`"), "{text}");
    }

    #[test]
    fn pointing_at_a_part_underlines_just_that_part_and_an_empty_part_the_whole_line() {
        let d =
            Diagnostic::error("Procfile", 2, "web: gunicorn app.wsgi", "x").pointing_at("gunicorn");
        let text = d.render();
        let carets = text.lines().find(|l| l.contains('^')).unwrap();
        let column = carets.find('^').unwrap() - carets.find('|').unwrap() - 2;
        assert_eq!((column, carets.matches('^').count()), (5, 8), "{text}");
        let whole = Diagnostic::error("Procfile", 2, "web: x", "x").pointing_at("");
        assert_eq!(whole.span, None);
        let missing = Diagnostic::error("Procfile", 2, "web: x", "x").pointing_at("nowhere");
        assert_eq!(missing.span, None);
    }

    #[test]
    fn a_whole_file_finding_shows_no_line_and_is_located_at_the_file() {
        let d = Diagnostic::error("heroku.yml", 0, "", "must be a mapping").help("see the docs");
        assert_eq!(d.location(), "heroku.yml");
        let text = d.render();
        assert!(
            !text.contains(" | ") && !text.contains("heroku.yml:0"),
            "{text}"
        );
        assert!(
            text.contains("help: see the docs (in heroku.yml)"),
            "{text}"
        );
        let one = Diagnostic::error("heroku.yml", 1, "run: 3", "bad");
        assert_eq!(one.location(), "heroku.yml:1");
        assert!(one.render().contains("1 | run: 3"), "{}", one.render());
    }

    #[test]
    fn displaying_a_diagnostic_is_rendering_it() {
        let d = Diagnostic::warning("Procfile", 1, "web: x", "a warning").help("h");
        assert_eq!(d.to_string(), d.render());
        assert!(d.to_string().starts_with("warning: a warning"));
    }

    #[test]
    fn a_long_line_of_multibyte_characters_is_cut_at_a_character() {
        let line = "é".repeat(MAX_SHOWN); // 2 bytes each: MAX_SHOWN falls inside none
        let cut = shorten(&format!("a{line}"));
        let kept = cut.split('…').next().unwrap();
        assert_eq!(
            kept,
            format!("a{}", "é".repeat(MAX_SHOWN / 2 - 1)),
            "cut back to a character, never past the limit"
        );
        assert!(
            cut.ends_with(&format!("… ({} bytes in all)", 1 + 2 * MAX_SHOWN)),
            "{cut}"
        );
        assert_eq!(shorten("short"), "short");
        assert_eq!(
            shorten(&"x".repeat(MAX_SHOWN)),
            "x".repeat(MAX_SHOWN),
            "at the limit: whole"
        );
    }

    #[test]
    fn a_huge_line_is_shortened_for_display() {
        let line = "x".repeat(10 * 1024 * 1024);
        let d = Diagnostic::error("Procfile", 1, &line, "too long");
        assert!(d.render().len() < 1000);
        assert!(d.source_line.contains("10485760 bytes in all"));
    }
}
