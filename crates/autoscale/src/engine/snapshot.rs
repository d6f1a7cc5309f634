//! What survives the worker's restarts.

use super::{BTreeMap, DateTime, Direction, Duration, NaiveDate, Policy, State, Utc, Verdict};

/// What must survive the worker's restarts (every release restarts it, and
/// the platform cycles dynos daily): per type, what we last set and the
/// reversals the flap budget counts; the heartbeat streak; the service time
/// and the fastest beats of the day; the freeze; today's dyno-seconds.
/// Times are Unix milliseconds, durations microseconds.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Snapshot {
    pub(crate) version: u32,
    pub types: BTreeMap<String, TypeSnapshot>,
    pub(crate) history: Vec<String>,
    pub(crate) fastest: Vec<(i64, u64)>,
    pub(crate) service_from_change_us: Option<u64>,
    pub(crate) last_external_change_ms: Option<i64>,
    pub(crate) day: Option<NaiveDate>,
    pub(crate) dyno_seconds_today: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TypeSnapshot {
    pub(crate) last_set: Option<u32>,
    pub(crate) last_direction_up: Option<bool>,
    pub(crate) reversals_ms: Vec<i64>,
    pub(crate) watched_since_ms: Option<i64>,
}

pub(super) const SNAPSHOT_VERSION: u32 = 1;

pub(super) fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

pub(super) fn at_ms(ms: i64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ms)
}

impl State {
    pub fn snapshot(&self) -> Snapshot {
        let verdict = |v: &Verdict| match v {
            Verdict::Slow => "slow",
            Verdict::Fast => "fast",
            Verdict::Ok => "ok",
            Verdict::Unknown => "unknown",
        };
        Snapshot {
            version: SNAPSHOT_VERSION,
            types: self
                .index
                .names
                .iter()
                .zip(&self.slots)
                .map(|(name, slot)| {
                    (
                        name.clone(),
                        TypeSnapshot {
                            last_set: slot.last_set,
                            last_direction_up: slot.last_direction.map(|d| d == Direction::Up),
                            reversals_ms: slot
                                .reversals
                                .iter()
                                .map(DateTime::timestamp_millis)
                                .collect(),
                            watched_since_ms: slot.watched_since.map(|w| w.timestamp_millis()),
                        },
                    )
                })
                .collect(),
            history: self
                .history
                .iter()
                .map(|v| verdict(v).to_string())
                .collect(),
            fastest: self
                .fastest
                .iter()
                .map(|(at, d)| (at.timestamp_millis(), micros(*d)))
                .collect(),
            service_from_change_us: self.service_from_change.map(micros),
            last_external_change_ms: self.last_external_change.map(|c| c.timestamp_millis()),
            day: self.day.map(|(d, _, _)| d),
            dyno_seconds_today: self.dyno_seconds_today,
        }
    }

    /// Take a snapshot back (after [`State::layout`] or on a fresh state):
    /// types the policy no longer scales are ignored; a snapshot of another
    /// version is ignored whole (false).
    pub fn restore(&mut self, policy: &Policy, snap: &Snapshot) -> bool {
        if snap.version != SNAPSHOT_VERSION {
            return false;
        }
        self.fit(policy);
        for (name, t) in &snap.types {
            let Some(i) = self.slot_of(name) else {
                continue;
            };
            let slot = &mut self.slots[i];
            slot.last_set = t.last_set;
            slot.last_direction =
                t.last_direction_up
                    .map(|up| if up { Direction::Up } else { Direction::Down });
            slot.reversals = t.reversals_ms.iter().filter_map(|ms| at_ms(*ms)).collect();
            slot.watched_since = t.watched_since_ms.and_then(at_ms);
        }
        self.history = snap
            .history
            .iter()
            .map(|v| match v.as_str() {
                "slow" => Verdict::Slow,
                "fast" => Verdict::Fast,
                "ok" => Verdict::Ok,
                _ => Verdict::Unknown,
            })
            .collect();
        self.fastest = snap
            .fastest
            .iter()
            .filter_map(|(ms, us)| Some((at_ms(*ms)?, Duration::from_micros(*us))))
            .collect();
        self.service_from_change = snap.service_from_change_us.map(Duration::from_micros);
        self.last_external_change = snap.last_external_change_ms.and_then(at_ms);
        if let Some(d) = snap.day {
            // Its bounds are worked out again at the next tick; the same day keeps its count.
            let epoch = DateTime::<Utc>::UNIX_EPOCH;
            self.day = Some((d, epoch, epoch));
            self.dyno_seconds_today = snap.dyno_seconds_today;
        }
        true
    }
}
