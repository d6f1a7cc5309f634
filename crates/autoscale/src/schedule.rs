//! Bounds: a number, or a time-of-day schedule (`{"0:00": 2, "9:00": 5,
//! "17:00": 2}`) in an IANA zone.
//!
//! Rules (the seed left them undefined):
//! - An entry takes effect at the first instant its local time is reached and
//!   stays in force until the next entry takes effect.
//! - Before the day's first entry, the previous day's last entry is in force.
//! - An entry inside a skipped hour (spring forward) takes effect when the
//!   clock jumps past it (at the end of the gap).
//! - In a repeated hour (fall back), an entry takes effect the first time its
//!   local time is reached and is *not* undone when the clock repeats the hour.
//! - 0 is a value like any other (the seed treated it as "unset").

use chrono::{DateTime, Duration, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bound {
    Fixed(u32),
    /// Sorted by time of day, no duplicate times, at least one entry.
    Schedule(Vec<(NaiveTime, u32)>),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub(crate) struct ScheduleError(pub String);

impl fmt::Display for Bound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Bound::Fixed(n) => write!(f, "{n}"),
            Bound::Schedule(entries) => {
                write!(f, "{{")?;
                for (i, (t, n)) in entries.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "\"{}\": {n}", t.format("%-H:%M"))?;
                }
                write!(f, "}}")
            }
        }
    }
}

impl Bound {
    /// `5`, or `{"0:00": 2, "9:00": 5}` (the seed's README writes `"0:00" = 2`:
    /// accepted too, as are single quotes and a trailing comma).
    pub(crate) fn parse(text: &str) -> Result<Self, ScheduleError> {
        let text = text.trim();
        if let Ok(n) = text.parse::<u32>() {
            return Ok(Bound::Fixed(n));
        }
        let inner = text
            .strip_prefix('{')
            .and_then(|t| t.strip_suffix('}'))
            .ok_or_else(|| {
                ScheduleError(format!(
                    "`{text}` is neither a whole number nor a schedule like {{\"0:00\": 2, \"9:00\": 5}}"
                ))
            })?;
        let mut entries = Vec::new();
        for part in inner.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (time, value) = split_entry(part)
                .ok_or_else(|| ScheduleError(format!("`{part}`: expected \"H:MM\": N")))?;
            let time_text = time.trim();
            let t = NaiveTime::parse_from_str(time_text, "%H:%M").map_err(|_| {
                ScheduleError(format!(
                    "`{time_text}` is not a time of day (H:MM, 0:00 to 23:59)"
                ))
            })?;
            let n = value.trim().parse::<u32>().map_err(|_| {
                ScheduleError(format!(
                    "`{}` (at {time_text}) is not a whole number of dynos",
                    value.trim()
                ))
            })?;
            if entries.iter().any(|(e, _)| *e == t) {
                return Err(ScheduleError(format!("{time_text} appears twice")));
            }
            entries.push((t, n));
        }
        if entries.is_empty() {
            return Err(ScheduleError(
                "an empty schedule: give at least one \"H:MM\": N".into(),
            ));
        }
        entries.sort();
        Ok(Bound::Schedule(entries))
    }

    /// The value in force at `now`, in `tz`.
    pub(crate) fn at(&self, now: DateTime<Utc>, tz: Tz) -> u32 {
        match self {
            Bound::Fixed(n) => *n,
            Bound::Schedule(entries) => {
                let today = now.with_timezone(&tz).date_naive();
                let mut best: Option<(DateTime<Utc>, u32)> = None;
                for day in [today.pred_opt(), Some(today)].into_iter().flatten() {
                    for (t, n) in entries {
                        let effective = first_instant(tz, day, *t);
                        if effective <= now && best.is_none_or(|(b, _)| effective >= b) {
                            best = Some((effective, *n));
                        }
                    }
                }
                // Yesterday's last entry always precedes now, so `best` is set;
                // fall back to the last entry for safety.
                best.map_or(entries[entries.len() - 1].1, |(_, n)| n)
            }
        }
    }

    /// The instants within `[from, to)` where the value changes (the DST tests' view).
    #[cfg(test)]
    fn changes(&self, from: DateTime<Utc>, to: DateTime<Utc>, tz: Tz) -> Vec<(DateTime<Utc>, u32)> {
        let Bound::Schedule(entries) = self else {
            return Vec::new();
        };
        let mut out = Vec::new();
        let mut day = from.with_timezone(&tz).date_naive();
        let last = to.with_timezone(&tz).date_naive();
        let mut previous = self.at(from, tz);
        while day <= last {
            for (t, _) in entries {
                let at = first_instant(tz, day, *t);
                if at >= from && at < to {
                    let v = self.at(at, tz);
                    if v != previous {
                        out.push((at, v));
                        previous = v;
                    }
                }
            }
            day = day.succ_opt().expect("date in range");
        }
        out
    }
}

/// `"9:00": 5`, `'9:00' = 5`, `9:00 = 5` -> ("9:00", "5").
fn split_entry(part: &str) -> Option<(&str, &str)> {
    if let Some(q) = part.chars().next().filter(|c| *c == '"' || *c == '\'') {
        let close = part[1..].find(q)? + 1;
        let rest = part[close + 1..].trim_start();
        let value = rest.strip_prefix(':').or_else(|| rest.strip_prefix('='))?;
        return Some((&part[1..close], value));
    }
    part.split_once('=').or_else(|| part.rsplit_once(':'))
}

/// The first instant whose local time in `tz` on `day` is `t` or, when `t` is
/// skipped by a DST gap, the end of the gap.
/// The first instant of a local day (midnight, or the end of a DST gap at midnight).
pub(crate) fn start_of_day(tz: Tz, day: NaiveDate) -> DateTime<Utc> {
    first_instant(tz, day, NaiveTime::MIN)
}

fn first_instant(tz: Tz, day: NaiveDate, t: NaiveTime) -> DateTime<Utc> {
    let mut local = day.and_time(t);
    for _ in 0..=(26 * 60) {
        match tz.from_local_datetime(&local) {
            LocalResult::Single(x) => return x.with_timezone(&Utc),
            LocalResult::Ambiguous(a, b) => return a.min(b).with_timezone(&Utc),
            LocalResult::None => local += Duration::minutes(1),
        }
    }
    Utc.from_utc_datetime(&day.and_time(t))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::America::Vancouver;
    use chrono_tz::Europe::London;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn parses_numbers_and_the_seeds_schedule_forms() {
        assert_eq!(Bound::parse(" 5 ").unwrap(), Bound::Fixed(5));
        assert_eq!(
            Bound::parse("0").unwrap(),
            Bound::Fixed(0),
            "0 is a value, not 'unset'"
        );
        let json = Bound::parse(r#"{"0:00": 2, "9:00": 5, "17:00": 2}"#).unwrap();
        let seed = Bound::parse(r#"{ "0:00" = 2, "9:00" = 5, "17:00" = 2, }"#).unwrap();
        assert_eq!(json, seed);
        assert_eq!(json.to_string(), r#"{"0:00": 2, "9:00": 5, "17:00": 2}"#);
        assert_eq!(
            Bound::parse("{'17:00': 1, '8:30': 3}").unwrap().to_string(),
            r#"{"8:30": 3, "17:00": 1}"#
        );
    }

    #[test]
    fn bad_schedules_say_what_is_wrong() {
        for (text, want) in [
            ("five", "neither a whole number nor a schedule"),
            ("{}", "empty schedule"),
            (r#"{"25:00": 2}"#, "`25:00` is not a time of day"),
            (r#"{"9:00": -1}"#, "`-1` (at 9:00) is not a whole number"),
            (r#"{"9:00": 1, "09:00": 2}"#, "09:00 appears twice"),
        ] {
            let e = Bound::parse(text).unwrap_err().to_string();
            assert!(e.contains(want), "{text}: {e}");
        }
    }

    #[test]
    fn the_entry_in_force_and_the_previous_days_last_before_the_first() {
        let b = Bound::parse(r#"{"9:00": 5, "17:00": 2}"#).unwrap();
        // Vancouver is UTC-8 in January.
        assert_eq!(
            b.at(utc("2026-01-15T16:59:59Z"), Vancouver),
            2,
            "08:59 local: yesterday's 17:00 entry"
        );
        assert_eq!(
            b.at(utc("2026-01-15T17:00:00Z"), Vancouver),
            5,
            "09:00 local"
        );
        assert_eq!(
            b.at(utc("2026-01-16T00:59:00Z"), Vancouver),
            5,
            "16:59 local"
        );
        assert_eq!(
            b.at(utc("2026-01-16T01:00:00Z"), Vancouver),
            2,
            "17:00 local"
        );
        assert_eq!(b.at(utc("2026-01-15T12:00:00Z"), chrono_tz::UTC), 5);
    }

    #[test]
    fn an_entry_in_the_spring_forward_gap_takes_effect_when_the_clock_jumps_past_it() {
        // London, 2026-03-29: 01:00 GMT jumps to 02:00 BST; 01:30 never happens.
        let b = Bound::parse(r#"{"0:00": 1, "1:30": 4}"#).unwrap();
        assert_eq!(b.at(utc("2026-03-29T00:59:59Z"), London), 1);
        assert_eq!(
            b.at(utc("2026-03-29T01:00:00Z"), London),
            4,
            "02:00 BST, the end of the gap"
        );
        assert_eq!(
            b.changes(
                utc("2026-03-28T12:00:00Z"),
                utc("2026-03-29T12:00:00Z"),
                London
            ),
            [
                (utc("2026-03-29T00:00:00Z"), 1),
                (utc("2026-03-29T01:00:00Z"), 4)
            ]
        );
    }

    #[test]
    fn an_entry_in_the_repeated_hour_holds_through_the_repeat() {
        // London, 2026-10-25: 02:00 BST falls back to 01:00 GMT; 01:00-02:00 happens twice.
        let b = Bound::parse(r#"{"0:00": 1, "1:30": 4, "3:00": 2}"#).unwrap();
        assert_eq!(b.at(utc("2026-10-25T00:29:00Z"), London), 1, "01:29 BST");
        assert_eq!(
            b.at(utc("2026-10-25T00:30:00Z"), London),
            4,
            "01:30 BST: first pass"
        );
        assert_eq!(
            b.at(utc("2026-10-25T01:10:00Z"), London),
            4,
            "01:10 GMT: the repeat does not undo it"
        );
        assert_eq!(b.at(utc("2026-10-25T01:40:00Z"), London), 4, "01:40 GMT");
        assert_eq!(b.at(utc("2026-10-25T03:00:00Z"), London), 2, "03:00 GMT");
    }
}
