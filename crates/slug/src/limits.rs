//! Slug size limits. Heroku warns above 300 MB (soft limit) and refuses above
//! its hard limit, 1 GB by default since 2026 (it was 500 MB): both are
//! configurable, because refusing what the platform accepts is a bug.
//! Sizes are compressed sizes, in MiB as Heroku prints them (`346.4M`).

use crate::error::SlugError;
use slipway_data::Project;

pub const MIB: u64 = 1024 * 1024;
pub(crate) const DEFAULT_SOFT: u64 = 300 * MIB;
pub(crate) const DEFAULT_HARD: u64 = 1024 * MIB;
pub(crate) const LIMIT_ENV: &str = "SLUG_SIZE_LIMIT";
pub(crate) const SOFT_LIMIT_ENV: &str = "SLUG_SIZE_SOFT_LIMIT";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub soft: u64,
    pub hard: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            soft: DEFAULT_SOFT,
            hard: DEFAULT_HARD,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Ok,
    OverSoft,
    OverHard,
}

impl Limits {
    pub fn judge(&self, compressed: u64) -> Verdict {
        if compressed > self.hard {
            Verdict::OverHard
        } else if compressed > self.soft {
            Verdict::OverSoft
        } else {
            Verdict::Ok
        }
    }

    /// project.toml `[_.metadata.slipway.slug] size-limit` / `soft-limit`, then
    /// the env vars (which win).
    pub fn load(
        project: Option<&Project>,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, SlugError> {
        let limit = |setting: &str| {
            let setting = setting.to_string();
            move |e: SizeError| SlugError::Limit { setting, why: e.0 }
        };
        let mut limits = Self::default();
        if let Some(project) = project {
            let table = project.slug()?;
            if let Some(v) = table.size_limit {
                limits.hard = parse_size(&v)
                    .map_err(limit("project.toml [_.metadata.slipway.slug] size-limit"))?;
            }
            if let Some(v) = table.soft_limit {
                limits.soft = parse_size(&v)
                    .map_err(limit("project.toml [_.metadata.slipway.slug] soft-limit"))?;
            }
        }
        if let Some(v) = env(LIMIT_ENV).filter(|v| !v.is_empty()) {
            limits.hard = parse_size(&v).map_err(limit(LIMIT_ENV))?;
        }
        if let Some(v) = env(SOFT_LIMIT_ENV).filter(|v| !v.is_empty()) {
            limits.soft = parse_size(&v).map_err(limit(SOFT_LIMIT_ENV))?;
        }
        Ok(limits)
    }
}

/// A size that does not read: why, and the forms that do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub(crate) struct SizeError(pub String);

/// `500M`, `1G`, `1024MB`, `300 MiB`, or plain bytes.
pub(crate) fn parse_size(text: &str) -> Result<u64, SizeError> {
    let t = text.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| SizeError(format!("`{text}` is not a size; use e.g. 500M or 1G")))?;
    let mult = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "K" | "KB" | "KIB" => 1024,
        "M" | "MB" | "MIB" => MIB,
        "G" | "GB" | "GIB" => 1024 * MIB,
        other => {
            return Err(SizeError(format!(
                "unknown unit `{other}` in `{text}`; use K, M or G"
            )))
        }
    };
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    Ok((n * mult as f64) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(text: &str) -> Project {
        Project::parse("project.toml", text).unwrap()
    }

    #[test]
    fn defaults_are_herokus_300m_soft_and_1g_hard() {
        let l = Limits::load(None, &|_| None).unwrap();
        assert_eq!((l.soft, l.hard), (300 * MIB, 1024 * MIB));
        assert_eq!(l.judge(300 * MIB), Verdict::Ok);
        assert_eq!(l.judge(300 * MIB + 1), Verdict::OverSoft);
        assert_eq!(
            l.judge(1024 * MIB),
            Verdict::OverSoft,
            "exactly the limit is within it"
        );
        assert_eq!(l.judge(1024 * MIB + 1), Verdict::OverHard);
    }

    #[test]
    fn the_env_wins_over_project_toml() {
        let toml = "[_.metadata.slipway.slug]\nsize-limit = \"500M\"\n";
        assert_eq!(
            Limits::load(Some(&project(toml)), &|_| None).unwrap().hard,
            500 * MIB
        );
        assert_eq!(
            Limits::load(Some(&project(toml)), &|k| (k == LIMIT_ENV)
                .then(|| "2G".into()))
            .unwrap()
            .hard,
            2048 * MIB
        );
        assert!(Limits::load(
            Some(&project("[_.metadata.slipway.slug]\nsize-limt = 1\n")),
            &|_| { None }
        )
        .unwrap_err()
        .to_string()
        .starts_with("project.toml:2"));
        assert!(
            Limits::load(None, &|k| (k == LIMIT_ENV).then(|| "lots".into()))
                .unwrap_err()
                .to_string()
                .contains("SLUG_SIZE_LIMIT")
        );
    }

    #[test]
    fn sizes_parse_in_herokus_units() {
        assert_eq!(parse_size("1.5G").unwrap(), 1536 * MIB);
        assert_eq!(parse_size("300 MB").unwrap(), 300 * MIB);
        assert_eq!(parse_size("4096").unwrap(), 4096);
        assert!(parse_size("10T").is_err());
    }
}
