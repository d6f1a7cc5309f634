//! Formation metadata: dyno size and scaling bounds per process type.

use serde::{Deserialize, Serialize};

/// Heroku dyno sizes (Cedar, Private and Shield spaces), lowercase as the
/// Platform API accepts them case-insensitively.
pub(crate) const KNOWN_SIZES: &[&str] = &[
    "eco",
    "basic",
    "standard-1x",
    "standard-2x",
    "performance-m",
    "performance-l",
    "performance-l-ram",
    "performance-xl",
    "performance-2xl",
    "private-s",
    "private-m",
    "private-l",
    "private-l-ram",
    "private-xl",
    "private-2xl",
    "shield-s",
    "shield-m",
    "shield-l",
    "shield-l-ram",
    "shield-xl",
    "shield-2xl",
];

pub(crate) const DEFAULT_SIZE: &str = "standard-1x";

pub(crate) fn is_known_size(size: &str) -> bool {
    KNOWN_SIZES.iter().any(|s| s.eq_ignore_ascii_case(size))
}

/// Where a process type's formation came from, so the table can explain itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FormationOrigin {
    /// Platform defaults (web 1, others 0).
    Default,
    /// The reference layout's recommendation.
    Reference,
    /// The user's `[_.metadata.slipway.formation.<type>]`.
    ProjectToml,
}

/// How many dynos of one process type, of which size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Formation {
    pub size: String,
    /// The quantity to start with (app.json `quantity`).
    pub quantity: u32,
    /// Lower bound an autoscaler may go to. 0 is a valid minimum for workers.
    pub min: u32,
    /// Upper bound, when one is set. A singleton's is 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<u32>,
    /// Exactly one dyno, always: never scaled by Slipway.
    pub singleton: bool,
    pub origin: FormationOrigin,
    /// Why this formation, in words (shown in build output).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

impl Formation {
    /// Heroku's own defaults when a Procfile is first deployed: one web dyno, no others.
    pub fn platform_default(type_name: &str) -> Self {
        let web = type_name == "web";
        Self {
            size: DEFAULT_SIZE.to_string(),
            quantity: u32::from(web),
            min: u32::from(web),
            max: None,
            singleton: false,
            origin: FormationOrigin::Default,
            note: String::new(),
        }
    }

    #[must_use]
    pub fn singleton(mut self, note: &str) -> Self {
        self.singleton = true;
        self.quantity = 1;
        self.min = 1;
        self.max = Some(1);
        if self.note.is_empty() {
            self.note = note.to_string();
        }
        self
    }

    /// `1..=2`, `0..`, `1 (singleton)`.
    pub(crate) fn bounds_text(&self) -> String {
        if self.singleton {
            return "1 (singleton)".to_string();
        }
        match self.max {
            Some(max) if max == self.min => format!("{max}"),
            Some(max) => format!("{}..={max}", self.min),
            None => format!("{}..", self.min),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_read_as_a_range_a_single_number_when_fixed_and_singleton_when_one() {
        let mut f = Formation::platform_default("worker");
        f.min = 2;
        f.max = Some(2);
        assert_eq!(f.bounds_text(), "2", "min = max: one number");
        f.max = Some(5);
        assert_eq!(f.bounds_text(), "2..=5");
        f.max = None;
        assert_eq!(f.bounds_text(), "2..");
        assert_eq!(f.singleton("beat").bounds_text(), "1 (singleton)");
    }
}
