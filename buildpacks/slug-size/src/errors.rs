//! Every error `slipway/slug-size` shows its user, in one place: a headline,
//! then why and what to do. The snapshots below are what the build log
//! shows under `ERROR: Slipway slug size`.

use std::fmt;

#[derive(Debug)]
pub(crate) enum SlugSizeError {
    /// project.toml could not be read (it may set the limits).
    Project(slipway_data::ReadError),
    /// A limit setting that does not read (`SLUG_SIZE_LIMIT`, `[_.metadata.slipway.slug]`).
    Limits(slug::SlugError),
    /// The app or a launch layer could not be read to measure it.
    Measure(slug::SlugError),
    /// Over the hard limit: Heroku's own words, then what to do.
    TooLarge { compressed: String, limit: String },
}

impl fmt::Display for SlugSizeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Project(e) => write!(f, "Could not read project.toml's slug limits\n\n{e}"),
            Self::Limits(e) => write!(f, "A slug size limit does not read\n\n{e}"),
            Self::Measure(e) => write!(f, "Could not measure the slug\n\n{e}"),
            Self::TooLarge { compressed, limit } => write!(
                f,
                "Compiled slug size: {compressed} is too large (max is {limit}).\n\
                 See: http://devcenter.heroku.com/articles/slug-size\n\n\
                 Cut what the report above lists (add the lines to .slugignore), or raise the limit\n\
                 with SLUG_SIZE_LIMIT / [_.metadata.slipway.slug] size-limit if your platform allows more."
            ),
        }
    }
}

impl std::error::Error for SlugSizeError {}

#[cfg(test)]
mod tests {
    use super::SlugSizeError;

    #[test]
    fn over_the_hard_limit() {
        insta::assert_snapshot!(SlugSizeError::TooLarge {
            compressed: "1.2 GB".into(),
            limit: "1.0 GB".into()
        }
        .to_string());
    }

    #[test]
    fn a_limit_that_does_not_read() {
        let e = slug::Limits::load(None, &|k| {
            (k == "SLUG_SIZE_LIMIT").then(|| "a lot".to_string())
        })
        .expect_err("not a size");
        insta::assert_snapshot!(SlugSizeError::Limits(e).to_string());
    }

    #[test]
    fn a_file_that_cannot_be_read() {
        insta::assert_snapshot!(SlugSizeError::Measure(slug::SlugError::Io {
            path: "static/app.css".into(),
            source: std::io::Error::from(std::io::ErrorKind::PermissionDenied)
        })
        .to_string());
    }

    #[test]
    fn a_project_toml_syntax_error() {
        let e = slipway_data::Project::parse("project.toml", "[_.metadata.slipway.slug\n")
            .expect_err("not TOML");
        insta::assert_snapshot!(
            SlugSizeError::Project(slipway_data::ReadError::Toml(e)).to_string()
        );
    }
}
