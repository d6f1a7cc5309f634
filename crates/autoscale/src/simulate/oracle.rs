//! The perfect-foresight bounds reports are measured against: web's schedule
//! from the whole trace known in advance, under the model's boot delay.
//!
//! Two bounds. The free one follows the load at every step: no policy keeps
//! the latency under the target with fewer web dyno-hours. The budgeted one
//! also keeps the flap budget's daily count of direction reversals (an
//! increase after a decrease or the reverse): no policy that keeps the budget
//! does better. On a load that rises and falls more often than the budget
//! allows (a push every 90 minutes) the free bound is out of every such
//! policy's reach, and the budgeted one is the distance that means something.

use super::Row;
use crate::engine::Policy;
use chrono::{DateTime, Utc};

/// The fewest web dynos that keep `row`'s latency under the target in the
/// model (`(service + dep) / (1 - utilization)`, no backlog), or, where no
/// quantity can (the time inside the dyno alone is over it), the fewest that
/// keep it under that floor plus the target: more lower it less and less.
fn web_needs(row: &Row, target_ms: f64) -> u32 {
    let inside_ms = row.service_ms + row.dep_ms;
    let work = row.rps * inside_ms / 1000.0;
    let max_utilization = if target_ms > inside_ms {
        (1.0 - inside_ms / target_ms).min(0.95)
    } else {
        target_ms / (inside_ms + target_ms)
    };
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let n = (work / max_utilization - 1e-9).ceil().max(0.0) as u32;
    n
}

/// What web must have at `t` (what the next boot delay's worst row needs: a
/// dyno needed then must be booting now) and its max, within its bounds.
pub(super) fn web_floor(
    policy: &Policy,
    trace: &[Row],
    row_i: usize,
    t: f64,
    boot: f64,
    now: DateTime<Utc>,
) -> (u32, u32) {
    let target_ms = policy.settings.max_response.as_secs_f64() * 1000.0;
    // The row in force now, and every row that starts within the boot delay.
    let need = std::iter::once(&trace[row_i])
        .chain(trace[row_i + 1..].iter().take_while(|r| r.t <= t + boot))
        .map(|r| web_needs(r, target_ms))
        .max()
        .unwrap_or(0);
    let web = policy.web_type.as_deref().unwrap_or("web");
    let (min, max) = policy.bounds(web, now).unwrap_or((1, u32::MAX));
    let max = max.max(1);
    (need.clamp(min.max(1), max), max)
}

/// No state came here (a back-pointer).
const NONE: u32 = u32::MAX;

/// Direction of the last change in the bounded schedule.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Dir {
    None = 0,
    Up = 1,
    Down = 2,
}

/// The cheapest schedule (fewest dyno-ticks) with every tick at or above its
/// floor and under its max, starting from `from`, with at most `reversals`
/// direction reversals; `floors[k]` is `(floor, max)` at tick `k`.
///
/// Dynamic programming over runs of ticks with the same floor and max (an
/// optimal schedule changes only where they do): per run, per quantity, per
/// last direction, per reversals spent, the cheapest cost so far.
pub(super) fn budgeted(floors: &[(u32, u32)], from: u32, reversals: u32) -> Vec<u32> {
    // Runs of equal (floor, max): (floor, max, ticks).
    let mut runs: Vec<(u32, u32, u64)> = Vec::new();
    for &(f, m) in floors {
        match runs.last_mut() {
            Some((rf, rm, n)) if *rf == f && *rm == m => *n += 1,
            _ => runs.push((f, m, 1)),
        }
    }
    let top = floors.iter().map(|&(_, m)| m).max().unwrap_or(1).max(from) as usize;
    let r_len = reversals as usize + 1;
    // State index: (quantity, direction, reversals spent).
    let idx = |q: usize, d: usize, r: usize| (q * 3 + d) * r_len + r;
    let states = (top + 1) * 3 * r_len;
    let mut cost = vec![u64::MAX; states];
    cost[idx(from as usize, Dir::None as usize, 0)] = 0;
    // Per run, the state each state came from.
    let mut back: Vec<Vec<u32>> = Vec::with_capacity(runs.len());
    for &(floor, max, ticks) in &runs {
        let mut next = vec![u64::MAX; states];
        let mut from_state = vec![NONE; states];
        for q in 0..=top {
            for d in 0..3 {
                for r in 0..r_len {
                    let c = cost[idx(q, d, r)];
                    if c == u64::MAX {
                        continue;
                    }
                    for q2 in floor as usize..=max as usize {
                        let (d2, r2) = match q2.cmp(&q) {
                            std::cmp::Ordering::Equal => (d, r),
                            std::cmp::Ordering::Greater => {
                                (Dir::Up as usize, r + usize::from(d == Dir::Down as usize))
                            }
                            std::cmp::Ordering::Less => {
                                (Dir::Down as usize, r + usize::from(d == Dir::Up as usize))
                            }
                        };
                        if r2 >= r_len {
                            continue;
                        }
                        let c2 = c + q2 as u64 * ticks;
                        let to = idx(q2, d2, r2);
                        if c2 < next[to] {
                            next[to] = c2;
                            #[allow(clippy::cast_possible_truncation)]
                            let s = idx(q, d, r) as u32;
                            from_state[to] = s;
                        }
                    }
                }
            }
        }
        cost = next;
        back.push(from_state);
    }
    // The cheapest end, then back through the runs.
    let mut at = (0..states).min_by_key(|&s| cost[s]).unwrap_or(0);
    let mut per_run = vec![0u32; runs.len()];
    for (k, b) in back.iter().enumerate().rev() {
        #[allow(clippy::cast_possible_truncation)]
        let q = (at / (3 * r_len)) as u32;
        per_run[k] = q;
        at = b[at] as usize;
    }
    runs.iter()
        .zip(per_run)
        .flat_map(|(&(_, _, ticks), q)| std::iter::repeat_n(q, usize::try_from(ticks).unwrap_or(0)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::budgeted;

    /// Direction reversals of a schedule that starts from `from`.
    fn reversals(from: u32, s: &[u32]) -> u32 {
        let s: Vec<u32> = std::iter::once(from).chain(s.iter().copied()).collect();
        let mut last = 0i8;
        let mut n = 0;
        for w in s.windows(2) {
            let d = match w[1].cmp(&w[0]) {
                std::cmp::Ordering::Greater => 1,
                std::cmp::Ordering::Less => -1,
                std::cmp::Ordering::Equal => continue,
            };
            if last != 0 && last != d {
                n += 1;
            }
            last = d;
        }
        n
    }

    /// Three pushes, floors 1 between them and 5 during: with room for every
    /// reversal the schedule is the floor itself; with two, it drops in the
    /// longer gap only and holds 5 through the shorter one.
    #[test]
    fn the_budget_spends_its_reversals_on_the_longest_gaps() {
        let mut floors = Vec::new();
        for (push, gap) in [(2, 3), (2, 9), (2, 0)] {
            floors.extend(std::iter::repeat_n((5, 10), push));
            floors.extend(std::iter::repeat_n((1, 10), gap));
        }
        let free: Vec<u32> = floors.iter().map(|f| f.0).collect();
        assert_eq!(budgeted(&floors, 1, 10), free);
        let two = budgeted(&floors, 1, 2);
        assert_eq!(reversals(1, &two), 2);
        assert_eq!(two, [5, 5, 5, 5, 5, 5, 5, 1, 1, 1, 1, 1, 1, 1, 1, 1, 5, 5]);
        // No reversal at all: up once, and held there.
        let none = budgeted(&floors, 1, 0);
        assert_eq!(reversals(1, &none), 0);
        assert!(none.iter().zip(&floors).all(|(q, f)| *q >= f.0));
        assert_eq!(none.iter().map(|&q| u64::from(q)).sum::<u64>(), 5 * 18);
    }

    /// Starting above the floor, going down first is no reversal, nor is a
    /// second decrease after it.
    #[test]
    fn a_first_decrease_is_no_reversal() {
        let floors = [(1, 10), (1, 10), (4, 10), (1, 10)];
        assert_eq!(budgeted(&floors, 6, 0), [4, 4, 4, 1]);
        assert_eq!(budgeted(&floors, 6, 1), [1, 1, 4, 4]);
        assert_eq!(budgeted(&floors, 6, 2), [1, 1, 4, 1]);
    }
}
