use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum SlugError {
    #[error(".slugignore:{line}: `{pattern}`: negation with `!` is not supported by Heroku's .slugignore\nhelp: remove the line, and narrow the patterns above it so they do not match what you want to keep")]
    Negation { line: usize, pattern: String },
    #[error(".slugignore:{line}: `{pattern}` reaches outside the app (`..`)\nhelp: patterns are relative to the app root; remove the `..` segment")]
    OutsideApp { line: usize, pattern: String },
    #[error(".slugignore:{line}: `{pattern}` is not a valid pattern: {why}\nhelp: patterns use `*`, `?`, `[...]` and `**`; escape a literal `[` as `[[]`")]
    BadPattern {
        line: usize,
        pattern: String,
        why: String,
    },
    #[error(".slugignore is not valid UTF-8 at line {line}\nhelp: save it as UTF-8 text, one pattern per line")]
    NotText { line: usize },
    #[error(
        "project.toml [io.buildpacks] exclude: `{pattern}` is not a valid gitignore pattern: {why}"
    )]
    BadExclude { pattern: String, why: String },
    /// A slug size limit (`SLUG_SIZE_LIMIT`, `[_.metadata.slipway.slug] size-limit`, ...).
    #[error("{setting}: {why}")]
    Limit { setting: String, why: String },
    #[error(transparent)]
    Project(#[from] slipway_data::TomlError),
    #[error("{path}: {source}\nNothing outside the matched paths was changed.")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}
