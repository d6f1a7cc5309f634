//! What a tick decides and says: decisions, notifications, the per-type report.

use super::{fmt, Settings};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub process_type: String,
    pub from: u32,
    pub to: u32,
    /// The rule that fired, for the log.
    pub rule: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notification {
    /// More than `threshold` dynos of change within the period (the seed's pair of settings).
    ScaleDiffExceeded {
        diff: u32,
        threshold: u32,
        minutes: u64,
    },
    /// Too slow (or too much queued) at the max.
    NeedsExceedMax {
        process_type: String,
        needed: u32,
        max: u32,
    },
    /// Too fast at the min.
    NeedsBelowMin {
        process_type: String,
        min: u32,
    },
    ScaleFailed {
        process_type: String,
        to: u32,
        error: String,
    },
    /// A measurement failed: holding.
    Unknown {
        what: String,
        why: String,
    },
    FlapBudgetSpent {
        process_type: String,
        reversals: u32,
    },
    DynoHourCapReached {
        used: u32,
        cap: u32,
    },
    /// The heartbeat's time inside the dyno (its reported service time) is
    /// over the target: latency more dynos do not lower.
    SlowInsideDyno {
        process_type: String,
        inside_ms: u64,
        target_ms: u64,
    },
}

impl Notification {
    /// Whether the seed's settings ask for it to be sent (the log gets all).
    pub fn wanted(&self, s: &Settings) -> bool {
        match self {
            Notification::NeedsExceedMax { .. } => s.notify_needs_exceed_max,
            Notification::NeedsBelowMin { .. } => s.notify_needs_below_min,
            Notification::ScaleFailed { .. } => s.notify_on_scale_fails,
            _ => true,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Notification::ScaleDiffExceeded { .. } => "scale_diff_exceeded",
            Notification::NeedsExceedMax { .. } => "needs_exceed_max",
            Notification::NeedsBelowMin { .. } => "needs_below_min",
            Notification::ScaleFailed { .. } => "scale_failed",
            Notification::Unknown { .. } => "measurement_unknown",
            Notification::FlapBudgetSpent { .. } => "flap_budget_spent",
            Notification::DynoHourCapReached { .. } => "dyno_hour_cap_reached",
            Notification::SlowInsideDyno { .. } => "slow_inside_dyno",
        }
    }
}

impl fmt::Display for Notification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Notification::ScaleDiffExceeded { diff, threshold, minutes } => write!(f, "scaled by {diff} dynos within {minutes} min (threshold {threshold})"),
            Notification::NeedsExceedMax { process_type, needed, max } => write!(f, "{process_type} needs {needed} dynos but its max is {max}: raise the max if this persists"),
            Notification::NeedsBelowMin { process_type, min } => write!(f, "{process_type} is fast at its min of {min}: the min may be higher than needed"),
            Notification::ScaleFailed { process_type, to, error } => write!(f, "scaling {process_type} to {to} failed: {error}"),
            Notification::Unknown { what, why } => write!(f, "{what} is unknown ({why}): holding"),
            Notification::FlapBudgetSpent { process_type, reversals } => write!(f, "{process_type} reversed direction {reversals} times recently: holding its scale-downs (increases go ahead)"),
            Notification::DynoHourCapReached { used, cap } => write!(f, "{used} dyno-hours used today, cap {cap}: no scale-ups until midnight"),
            Notification::SlowInsideDyno { process_type, inside_ms, target_ms } => write!(f, "{process_type}'s heartbeat spent {inside_ms} ms inside the dyno, over the {target_ms} ms target: more dynos cannot lower that (a slow dependency or slow code), so {process_type} is scaled by the time requests wait for a dyno only"),
        }
    }
}

/// One type's view this tick, for the structured log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeReport {
    pub process_type: String,
    pub current: u32,
    pub min: u32,
    pub max: u32,
    pub rule: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tick {
    pub decisions: Vec<Decision>,
    pub notifications: Vec<Notification>,
    /// Every scaled type's view, when the policy explains (empty otherwise).
    pub report: Vec<TypeReport>,
}
