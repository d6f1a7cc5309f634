//! Process type names.
//!
//! The CNB spec allows letters, digits, `.`, `_` and `-`. We keep names
//! exactly as written: `worker_high_memory` stays `worker_high_memory`
//! (heroku/procfile's CNB would rewrite `_` to `-`, and then the formation
//! type the autoscaler PATCHes would no longer match the Procfile).

/// The Heroku Platform API's formation type limit (`^[-\w]{1,128}$`).
pub(crate) const MAX_NAME_LEN: usize = 128;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum NameProblem {
    Empty,
    BadChar(char),
    TooLong(usize),
}

pub(crate) fn check_name(name: &str) -> Result<(), NameProblem> {
    if name.is_empty() {
        return Err(NameProblem::Empty);
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(NameProblem::BadChar(c));
    }
    let len = name.chars().count();
    if len > MAX_NAME_LEN {
        return Err(NameProblem::TooLong(len));
    }
    Ok(())
}

/// Types that must run as exactly one dyno: two Celery beat schedulers or two
/// clock processes run every scheduled job twice.
pub(crate) fn is_scheduler_type(name: &str) -> bool {
    name == "beat" || name == "clock" || name.starts_with("clock_") || name.starts_with("clock-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_app_names_are_valid() {
        for n in [
            "web",
            "beat",
            "worker_high_memory",
            "worker-import",
            "v1.web",
            "Worker2",
        ] {
            assert_eq!(check_name(n), Ok(()), "{n}");
        }
    }

    #[test]
    fn invalid_names_say_which_character() {
        assert_eq!(check_name("a b"), Err(NameProblem::BadChar(' ')));
        assert_eq!(check_name("wörker"), Err(NameProblem::BadChar('ö')));
        assert_eq!(check_name(""), Err(NameProblem::Empty));
        assert_eq!(check_name(&"a".repeat(129)), Err(NameProblem::TooLong(129)));
    }

    #[test]
    fn beat_and_clock_types_are_schedulers() {
        assert!(is_scheduler_type("beat"));
        assert!(is_scheduler_type("clock"));
        assert!(is_scheduler_type("clock_reports"));
        assert!(!is_scheduler_type("worker_primary"));
        assert!(!is_scheduler_type("clockwork"));
    }
}
