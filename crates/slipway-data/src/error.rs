//! The one error of this crate: a TOML file we could not read as its type.

use std::ops::Range;

/// A TOML syntax error, a misspelt key or a wrong type, at its line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {message}", self.location())]
pub struct TomlError {
    /// The file as the user knows it (`project.toml`, or a path).
    pub(crate) file: String,
    /// 1-based; 0 when the parser gave no position.
    pub line: usize,
    /// Byte range in the text, for an annotated snippet.
    pub(crate) span: Option<Range<usize>>,
    /// The parser's message, trimmed.
    pub message: String,
    /// The text of that line (empty when unknown), for a snippet.
    pub(crate) source_line: String,
}

impl TomlError {
    pub(crate) fn new(file: &str, text: &str, e: &toml::de::Error) -> Self {
        let span = e.span();
        let line = span.as_ref().map_or(0, |s| line_of(text, s.start));
        Self {
            file: file.to_string(),
            line,
            span,
            message: e.message().trim().to_string(),
            source_line: text
                .lines()
                .nth(line.saturating_sub(1))
                .filter(|_| line > 0)
                .unwrap_or("")
                .to_string(),
        }
    }

    /// `file:line`, or the file alone when the line is unknown.
    pub fn location(&self) -> String {
        if self.line > 0 {
            format!("{}:{}", self.file, self.line)
        } else {
            self.file.clone()
        }
    }
}

/// The 1-based line of byte `offset` in `text`.
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// Read `text` (from `file`) as `T`, reporting an error at its line.
pub fn from_str<T: serde::de::DeserializeOwned>(file: &str, text: &str) -> Result<T, TomlError> {
    toml::from_str(text).map_err(|e| TomlError::new(file, text, &e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_syntax_error_names_its_line() {
        let e = from_str::<toml::Table>("project.toml", "a = 1\n[b\n").unwrap_err();
        assert_eq!(e.location(), "project.toml:2");
        assert!(e.to_string().starts_with("project.toml:2: "), "{e}");
    }
}
