//! django-heroku-autoscale's settings: the same names, the same defaults
//! (our compatibility contract), read from the environment.

use crate::schedule::Bound;
use chrono_tz::Tz;
use std::time::Duration;

/// The seed's default heartbeat URL (relative: joined to the app's URL).
pub(crate) const DEFAULT_HEARTBEAT_URL: &str = "/heroku-autoscale/heartbeat/v1";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name}={value:?}: {why}")]
pub struct SettingError {
    pub(crate) name: String,
    /// The value as given (never a secret: the API key is not parsed here).
    pub(crate) value: String,
    pub(crate) why: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// `AUTOSCALE_HEROKU_APP_NAME` (required to run, not to decide).
    pub app_name: Option<String>,
    /// `AUTOSCALE_HEARTBEAT_INTERVAL_IN_SECONDS`, default 30.
    pub heartbeat_interval: Duration,
    /// `AUTOSCALE_HEARTBEAT_URL`, default `/heroku-autoscale/heartbeat/v1`.
    pub heartbeat_url: String,
    /// `AUTOSCALE_MAX_RESPONSE_TIME_IN_MS`, default 1000: slower is "too slow".
    pub max_response: Duration,
    /// `AUTOSCALE_MIN_RESPONSE_TIME_IN_MS`, default 200: faster is "too fast".
    pub min_response: Duration,
    /// `AUTOSCALE_NUMBER_OF_FAILS_TO_SCALE_UP_AFTER`, default 3.
    pub fails_to_scale_up: u32,
    /// `AUTOSCALE_NUMBER_OF_PASSES_TO_SCALE_DOWN_AFTER`, default 5.
    pub passes_to_scale_down: u32,
    /// `AUTOSCALE_MAX_DYNOS`, default 3 (a number or a schedule).
    pub max_dynos: Bound,
    /// `AUTOSCALE_MIN_DYNOS`, default 1 (a number or a schedule).
    pub min_dynos: Bound,
    /// `AUTOSCALE_INCREMENT`, default 1.
    pub increment: u32,
    /// `AUTOSCALE_NOTIFY_IF_SCALE_DIFF_EXCEEDS_THRESHOLD`, default none.
    pub notify_scale_diff_threshold: Option<u32>,
    /// `AUTOSCALE_NOTIFY_IF_SCALE_DIFF_EXCEEDS_PERIOD_IN_MINUTES`, default none.
    pub notify_scale_diff_period: Option<Duration>,
    /// `AUTOSCALE_NOTIFY_IF_NEEDS_EXCEED_MAX`, default true.
    pub notify_needs_exceed_max: bool,
    /// `AUTOSCALE_NOTIFY_IF_NEEDS_BELOW_MIN`, default false.
    pub notify_needs_below_min: bool,
    /// `AUTOSCALE_NOTIFY_ON_SCALE_FAILS`, default false.
    pub notify_on_scale_fails: bool,
    /// `TIME_ZONE` (Django's setting, which the seed's schedules used), default UTC.
    pub time_zone: Tz,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            app_name: None,
            heartbeat_interval: Duration::from_secs(30),
            heartbeat_url: DEFAULT_HEARTBEAT_URL.into(),
            max_response: Duration::from_secs(1),
            min_response: Duration::from_millis(200),
            fails_to_scale_up: 3,
            passes_to_scale_down: 5,
            max_dynos: Bound::Fixed(3),
            min_dynos: Bound::Fixed(1),
            increment: 1,
            notify_scale_diff_threshold: None,
            notify_scale_diff_period: None,
            notify_needs_exceed_max: true,
            notify_needs_below_min: false,
            notify_on_scale_fails: false,
            time_zone: chrono_tz::UTC,
        }
    }
}

/// Every setting this module reads, for `--help` and docs.
pub const NAMES: &[&str] = &[
    "AUTOSCALE_HEROKU_APP_NAME",
    "AUTOSCALE_HEROKU_API_KEY",
    "AUTOSCALE_HEARTBEAT_INTERVAL_IN_SECONDS",
    "AUTOSCALE_HEARTBEAT_URL",
    "AUTOSCALE_MAX_RESPONSE_TIME_IN_MS",
    "AUTOSCALE_MIN_RESPONSE_TIME_IN_MS",
    "AUTOSCALE_NUMBER_OF_FAILS_TO_SCALE_UP_AFTER",
    "AUTOSCALE_NUMBER_OF_PASSES_TO_SCALE_DOWN_AFTER",
    "AUTOSCALE_MAX_DYNOS",
    "AUTOSCALE_MIN_DYNOS",
    "AUTOSCALE_INCREMENT",
    "AUTOSCALE_NOTIFY_IF_SCALE_DIFF_EXCEEDS_THRESHOLD",
    "AUTOSCALE_NOTIFY_IF_SCALE_DIFF_EXCEEDS_PERIOD_IN_MINUTES",
    "AUTOSCALE_NOTIFY_IF_NEEDS_EXCEED_MAX",
    "AUTOSCALE_NOTIFY_IF_NEEDS_BELOW_MIN",
    "AUTOSCALE_NOTIFY_ON_SCALE_FAILS",
    "TIME_ZONE",
];

fn err(name: &str, value: &str, why: impl Into<String>) -> SettingError {
    SettingError {
        name: name.into(),
        value: value.into(),
        why: why.into(),
    }
}

fn parse_bool(name: &str, v: &str) -> Result<bool, SettingError> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" | "" | "none" => Ok(false),
        _ => Err(err(
            name,
            v,
            "expected true or false (also 1/0, yes/no, on/off; Python's True/False)",
        )),
    }
}

fn parse_count(name: &str, v: &str, min: u32) -> Result<u32, SettingError> {
    let n: u32 = v
        .trim()
        .parse()
        .map_err(|_| err(name, v, "expected a whole number"))?;
    if n < min {
        return Err(err(name, v, format!("must be at least {min}")));
    }
    Ok(n)
}

impl Settings {
    /// Read every `AUTOSCALE_*` setting (and `TIME_ZONE`); unset means the seed's default.
    pub fn from_env(get: &dyn Fn(&str) -> Option<String>) -> Result<Self, SettingError> {
        let mut s = Settings::default();
        let value = |name: &str| get(name).filter(|v| !v.trim().is_empty());
        if let Some(v) = value("AUTOSCALE_HEROKU_APP_NAME") {
            s.app_name = Some(v.trim().to_string());
        }
        if let Some(v) = value("AUTOSCALE_HEARTBEAT_INTERVAL_IN_SECONDS") {
            s.heartbeat_interval = Duration::from_secs(u64::from(parse_count(
                "AUTOSCALE_HEARTBEAT_INTERVAL_IN_SECONDS",
                &v,
                1,
            )?));
        }
        if let Some(v) = value("AUTOSCALE_HEARTBEAT_URL") {
            s.heartbeat_url = v.trim().to_string();
        }
        if let Some(v) = value("AUTOSCALE_MAX_RESPONSE_TIME_IN_MS") {
            s.max_response = Duration::from_millis(u64::from(parse_count(
                "AUTOSCALE_MAX_RESPONSE_TIME_IN_MS",
                &v,
                1,
            )?));
        }
        if let Some(v) = value("AUTOSCALE_MIN_RESPONSE_TIME_IN_MS") {
            s.min_response = Duration::from_millis(u64::from(parse_count(
                "AUTOSCALE_MIN_RESPONSE_TIME_IN_MS",
                &v,
                0,
            )?));
        }
        if s.min_response >= s.max_response {
            return Err(err(
                "AUTOSCALE_MIN_RESPONSE_TIME_IN_MS",
                &s.min_response.as_millis().to_string(),
                format!(
                    "must be below AUTOSCALE_MAX_RESPONSE_TIME_IN_MS ({} ms), or every heartbeat is both too fast and too slow",
                    s.max_response.as_millis()
                ),
            ));
        }
        if let Some(v) = value("AUTOSCALE_NUMBER_OF_FAILS_TO_SCALE_UP_AFTER") {
            s.fails_to_scale_up =
                parse_count("AUTOSCALE_NUMBER_OF_FAILS_TO_SCALE_UP_AFTER", &v, 1)?;
        }
        if let Some(v) = value("AUTOSCALE_NUMBER_OF_PASSES_TO_SCALE_DOWN_AFTER") {
            s.passes_to_scale_down =
                parse_count("AUTOSCALE_NUMBER_OF_PASSES_TO_SCALE_DOWN_AFTER", &v, 1)?;
        }
        for (name, slot) in [
            ("AUTOSCALE_MAX_DYNOS", &mut s.max_dynos),
            ("AUTOSCALE_MIN_DYNOS", &mut s.min_dynos),
        ] {
            if let Some(v) = value(name) {
                *slot = Bound::parse(&v).map_err(|e| err(name, &v, e.0))?;
            }
        }
        if let Some(v) = value("AUTOSCALE_INCREMENT") {
            s.increment = parse_count("AUTOSCALE_INCREMENT", &v, 1)?;
        }
        if let Some(v) = value("AUTOSCALE_NOTIFY_IF_SCALE_DIFF_EXCEEDS_THRESHOLD") {
            s.notify_scale_diff_threshold = Some(parse_count(
                "AUTOSCALE_NOTIFY_IF_SCALE_DIFF_EXCEEDS_THRESHOLD",
                &v,
                1,
            )?);
        }
        if let Some(v) = value("AUTOSCALE_NOTIFY_IF_SCALE_DIFF_EXCEEDS_PERIOD_IN_MINUTES") {
            let m = parse_count(
                "AUTOSCALE_NOTIFY_IF_SCALE_DIFF_EXCEEDS_PERIOD_IN_MINUTES",
                &v,
                1,
            )?;
            s.notify_scale_diff_period = Some(Duration::from_secs(u64::from(m) * 60));
        }
        if s.notify_scale_diff_threshold.is_some() != s.notify_scale_diff_period.is_some() {
            return Err(err(
                "AUTOSCALE_NOTIFY_IF_SCALE_DIFF_EXCEEDS_THRESHOLD",
                &s.notify_scale_diff_threshold.map_or_else(String::new, |t| t.to_string()),
                "set it together with AUTOSCALE_NOTIFY_IF_SCALE_DIFF_EXCEEDS_PERIOD_IN_MINUTES (the pair means \"more than N dynos of change within M minutes\")",
            ));
        }
        for (name, slot) in [
            (
                "AUTOSCALE_NOTIFY_IF_NEEDS_EXCEED_MAX",
                &mut s.notify_needs_exceed_max,
            ),
            (
                "AUTOSCALE_NOTIFY_IF_NEEDS_BELOW_MIN",
                &mut s.notify_needs_below_min,
            ),
            (
                "AUTOSCALE_NOTIFY_ON_SCALE_FAILS",
                &mut s.notify_on_scale_fails,
            ),
        ] {
            if let Some(v) = value(name) {
                *slot = parse_bool(name, &v)?;
            }
        }
        if let Some(v) = value("TIME_ZONE") {
            s.time_zone = v.trim().parse().map_err(|_| {
                err(
                    "TIME_ZONE",
                    &v,
                    "not an IANA time zone name (e.g. America/Vancouver, Europe/London, UTC)",
                )
            })?;
        }
        Ok(s)
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_count_may_be_its_minimum_and_not_below() {
        let with = |v: &str| {
            Settings::from_env(&|k| {
                (k == "AUTOSCALE_NUMBER_OF_FAILS_TO_SCALE_UP_AFTER").then(|| v.to_string())
            })
        };
        assert_eq!(with("1").unwrap().fails_to_scale_up, 1);
        let e = with("0").unwrap_err().to_string();
        assert!(e.contains("must be at least 1"), "{e}");
    }

    use super::*;
    use std::collections::HashMap;

    fn from(pairs: &[(&str, &str)]) -> Result<Settings, SettingError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).into(), (*v).into()))
            .collect();
        Settings::from_env(&|k| map.get(k).cloned())
    }

    #[test]
    fn unset_means_the_seeds_defaults() {
        let s = from(&[]).unwrap();
        assert_eq!(s.heartbeat_interval, Duration::from_secs(30));
        assert_eq!(s.heartbeat_url, "/heroku-autoscale/heartbeat/v1");
        assert_eq!(s.max_response, Duration::from_secs(1));
        assert_eq!(s.min_response, Duration::from_millis(200));
        assert_eq!((s.fails_to_scale_up, s.passes_to_scale_down), (3, 5));
        assert_eq!(
            (s.max_dynos.clone(), s.min_dynos.clone()),
            (Bound::Fixed(3), Bound::Fixed(1))
        );
        assert_eq!(s.increment, 1);
        assert_eq!(
            (s.notify_scale_diff_threshold, s.notify_scale_diff_period),
            (None, None)
        );
        assert!(s.notify_needs_exceed_max && !s.notify_needs_below_min && !s.notify_on_scale_fails);
        assert_eq!(s.time_zone, chrono_tz::UTC);
    }

    #[test]
    fn every_setting_is_read_under_the_seeds_name() {
        let s = from(&[
            ("AUTOSCALE_HEROKU_APP_NAME", "dancing-forest-1234"),
            ("AUTOSCALE_HEARTBEAT_INTERVAL_IN_SECONDS", "10"),
            ("AUTOSCALE_HEARTBEAT_URL", "https://example.com/hb"),
            ("AUTOSCALE_MAX_RESPONSE_TIME_IN_MS", "800"),
            ("AUTOSCALE_MIN_RESPONSE_TIME_IN_MS", "100"),
            ("AUTOSCALE_NUMBER_OF_FAILS_TO_SCALE_UP_AFTER", "2"),
            ("AUTOSCALE_NUMBER_OF_PASSES_TO_SCALE_DOWN_AFTER", "7"),
            (
                "AUTOSCALE_MAX_DYNOS",
                r#"{"0:00": 2, "9:00": 5, "17:00": 2}"#,
            ),
            ("AUTOSCALE_MIN_DYNOS", "0"),
            ("AUTOSCALE_INCREMENT", "2"),
            ("AUTOSCALE_NOTIFY_IF_SCALE_DIFF_EXCEEDS_THRESHOLD", "10"),
            (
                "AUTOSCALE_NOTIFY_IF_SCALE_DIFF_EXCEEDS_PERIOD_IN_MINUTES",
                "30",
            ),
            ("AUTOSCALE_NOTIFY_IF_NEEDS_EXCEED_MAX", "False"),
            ("AUTOSCALE_NOTIFY_IF_NEEDS_BELOW_MIN", "True"),
            ("AUTOSCALE_NOTIFY_ON_SCALE_FAILS", "1"),
            ("TIME_ZONE", "America/Vancouver"),
        ])
        .unwrap();
        assert_eq!(s.app_name.as_deref(), Some("dancing-forest-1234"));
        assert_eq!(s.heartbeat_interval, Duration::from_secs(10));
        assert_eq!(s.heartbeat_url, "https://example.com/hb");
        assert_eq!(
            (s.max_response, s.min_response),
            (Duration::from_millis(800), Duration::from_millis(100))
        );
        assert_eq!(
            (s.fails_to_scale_up, s.passes_to_scale_down, s.increment),
            (2, 7, 2)
        );
        assert!(matches!(s.max_dynos, Bound::Schedule(ref e) if e.len() == 3));
        assert_eq!(s.min_dynos, Bound::Fixed(0));
        assert_eq!(s.notify_scale_diff_threshold, Some(10));
        assert_eq!(s.notify_scale_diff_period, Some(Duration::from_mins(30)));
        assert!(!s.notify_needs_exceed_max && s.notify_needs_below_min && s.notify_on_scale_fails);
        assert_eq!(s.time_zone, chrono_tz::America::Vancouver);
    }

    #[test]
    fn bad_values_name_the_setting_and_say_why() {
        for (pairs, want) in [
            (
                vec![("AUTOSCALE_INCREMENT", "0")],
                "AUTOSCALE_INCREMENT=\"0\": must be at least 1",
            ),
            (
                vec![("AUTOSCALE_MAX_RESPONSE_TIME_IN_MS", "1s")],
                "expected a whole number",
            ),
            (
                vec![("AUTOSCALE_MIN_RESPONSE_TIME_IN_MS", "1500")],
                "must be below AUTOSCALE_MAX_RESPONSE_TIME_IN_MS (1000 ms)",
            ),
            (
                vec![("AUTOSCALE_MAX_DYNOS", "{\"9:00\" 5}")],
                "AUTOSCALE_MAX_DYNOS",
            ),
            (
                vec![("AUTOSCALE_NOTIFY_ON_SCALE_FAILS", "maybe")],
                "expected true or false",
            ),
            (vec![("TIME_ZONE", "Mars/Olympus")], "not an IANA time zone"),
            (
                vec![("AUTOSCALE_NOTIFY_IF_SCALE_DIFF_EXCEEDS_THRESHOLD", "10")],
                "set it together with",
            ),
        ] {
            let e = from(&pairs).unwrap_err().to_string();
            assert!(e.contains(want), "{pairs:?}: {e}");
        }
    }
}
