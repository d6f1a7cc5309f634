//! Heroku's classic build-output style as text, written in one place: a step
//! is `-----> title`, its details are indented by the arrow's width. The
//! buildpacks' output ([`crate::output`] in classic mode), the classic
//! runner's own lines, the release phase and the slug tool all use it.

/// What starts a step's line.
pub(crate) const STEP: &str = "-----> ";
/// The indent of a step's details: the width of [`STEP`].
pub(crate) const INDENT: &str = "       ";

/// `-----> title`.
pub fn step(title: &str) -> String {
    format!("{STEP}{title}")
}

/// Each line of `text` under a step.
pub fn detail(text: &str) -> String {
    text.lines()
        .map(|l| format!("{INDENT}{l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_step_and_its_details_line_up() {
        assert_eq!(
            format!(
                "{}\n{}",
                super::step("Compressing..."),
                super::detail("Done: 1 MB\n2 files")
            ),
            "-----> Compressing...\n       Done: 1 MB\n       2 files"
        );
    }
}
