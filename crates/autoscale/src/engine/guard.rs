//! Guards on every proposal: the freeze after a release or an external
//! change, the dyno-hour cap, the flap budget.

use super::{
    once, since, DateTime, Decision, Direction, Duration, Notification, Policy, Proposal, Slot,
    State, Tick, TypeReport, Utc,
};

/// Guards: freeze, flap budget, dyno-hour cap (bound enforcement passes them
/// all); then each surviving change is a decision, and every type is reported.
pub(super) fn guard_and_report(
    policy: &Policy,
    state: &mut State,
    proposals: &mut Vec<Proposal>,
    now: DateTime<Utc>,
    out: &mut Tick,
) {
    let explain = policy.explain;
    let frozen_left = state
        .last_external_change
        .map(|c| policy.freeze.saturating_sub(since(now, c)))
        .filter(|left| !left.is_zero());
    let capped = policy
        .daily_dyno_hour_cap
        .filter(|cap| state.dyno_hours_today() >= f64::from(*cap));
    if let Some(cap) = capped {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let used = state.dyno_hours_today().floor() as u32;
        once(
            &mut state.notified.cap,
            || Notification::DynoHourCapReached { used, cap },
            &mut out.notifications,
        );
    }
    for p in proposals.drain(..) {
        let Proposal {
            slot: i,
            current,
            mut to,
            min,
            max,
            mut rule,
            bound,
            settles_at,
        } = p;
        let t = &state.index.names[i];
        let slot = &mut state.slots[i];
        if to != current && !bound {
            let dir = if to > current {
                Direction::Up
            } else {
                Direction::Down
            };
            if dir == Direction::Down {
                if let Some(left) = frozen_left {
                    rule = why!(explain, "{rule}; held: scale-down frozen {}s more after a release or formation change", left.as_secs());
                    to = current;
                }
            }
            if to != current && dir == Direction::Up && capped.is_some() {
                rule = why!(explain, "{rule}; held: daily dyno-hour cap reached");
                to = current;
            }
            // Only a decrease that reverses an increase is held: an increase is
            // never held for the budget's sake.
            if to != current && dir == Direction::Down && slot.last_direction == Some(Direction::Up)
            {
                // Most of the type idle: the room kept for a next increase
                // is not worth holding that many dynos for.
                let mostly_idle = settles_at.saturating_mul(2) <= current;
                if let Some(held) = flap_budget(policy, slot, t, mostly_idle, now, out) {
                    rule = why!(explain, "{rule}; held: {held}");
                    to = current;
                }
            }
        }
        if to != current {
            out.decisions.push(Decision {
                process_type: t.clone(),
                from: current,
                to,
                rule: if explain {
                    rule.clone()
                } else {
                    std::mem::take(&mut rule)
                },
            });
        }
        if explain {
            out.report.push(TypeReport {
                process_type: t.clone(),
                current,
                min,
                max,
                rule,
            });
        }
    }
}

/// What a decrease that reverses an increase needs left in a flap budget:
/// itself, and room for the increase that may follow it (not kept within the
/// hour when the type is mostly idle: `alone`).
pub(super) const fn room(alone: bool) -> u32 {
    if alone {
        1
    } else {
        2
    }
}

/// A reversal this tick would spend the type's flap budget: why it is held.
pub(super) fn flap_budget(
    policy: &Policy,
    slot: &mut Slot,
    t: &str,
    mostly_idle: bool,
    now: DateTime<Utc>,
    out: &mut Tick,
) -> Option<String> {
    let in_day = slot.reversals_in_day(now);
    let in_hour = slot
        .reversals
        .iter()
        .rev()
        .take_while(|at| since(now, **at) <= Duration::from_hours(1))
        .count();
    let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    let spent = |budget: Option<u32>, used: usize, hourly: bool| {
        budget.filter(|b| count(used) + room(hourly && mostly_idle) > *b)
    };
    let held = if let Some(b) = spent(policy.flap_budget_per_hour, in_hour, true) {
        Some((
            count(in_hour),
            format!("flap budget ({b} reversals/hour) spent"),
        ))
    } else {
        spent(policy.flap_budget_per_day, in_day, false).map(|b| {
            (
                count(in_day),
                format!("flap budget ({b} reversals/day) spent"),
            )
        })
    };
    if let Some((reversals, why)) = held {
        once(
            &mut slot.notified_flap,
            || Notification::FlapBudgetSpent {
                process_type: t.to_string(),
                reversals,
            },
            &mut out.notifications,
        );
        Some(why)
    } else {
        slot.notified_flap = false;
        None
    }
}
