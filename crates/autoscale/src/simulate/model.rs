//! The queueing model a trace is replayed against.

// Small counts as f64: no precision is at stake.
#![allow(clippy::cast_precision_loss)]

use super::{Row, Sample, Summary};
use crate::engine::Policy;
use std::collections::BTreeMap;

/// The queueing model: dynos per type (by position), the web backlog, and
/// every trace queue's depth.
pub(super) struct Model {
    pub(super) names: Vec<String>,
    pub(super) qnames: Vec<String>,
    pub(super) quantity: Vec<u32>,
    pub(super) web_i: usize,
    /// Types whose dyno-hours count (web and the scaled worker types).
    pub(super) counted: Vec<bool>,
    /// Per consuming type: its position, the trace queues it consumes, and
    /// how many queues share its capacity.
    pub(super) consumers: Vec<(usize, Vec<usize>, usize)>,
    /// Each row's arrival rate per trace queue.
    pub(super) rates: Vec<Vec<f64>>,
    pub(super) depths: Vec<f64>,
    pub(super) served: Vec<f64>,
    pub(super) backlog: f64,
    /// Dynos serving, per type (`quantity` is what the formation says and
    /// what is billed: it includes dynos still booting).
    pub(super) active: Vec<u32>,
    /// Dynos booting: (when they serve, type, how many), in request order.
    pub(super) booting: Vec<(f64, usize, u32)>,
    pub(super) boot_seconds: f64,
    /// Per trace queue, (time, jobs arrived so far) at each step's end, kept
    /// when the policy reads job ages (some type has a max wait): the queue
    /// is served first in, first out, so its oldest waiting job arrived when
    /// the arrivals stood at today's minus its depth.
    pub(super) arrivals: Option<Vec<Vec<(f64, f64)>>>,
}

impl Model {
    pub(super) fn new(
        policy: &Policy,
        trace: &[Row],
        initial: &BTreeMap<String, u32>,
        consumers: &BTreeMap<String, Vec<String>>,
    ) -> Self {
        let web = policy.web_type.clone().unwrap_or_else(|| "web".into());
        // Positions instead of names in the loop: types, the trace's queues, each row's rates.
        let mut names: Vec<String> = initial.keys().cloned().collect();
        for t in std::iter::once(&web)
            .chain(policy.workers.keys())
            .chain(consumers.keys())
        {
            if !names.contains(t) {
                names.push(t.clone());
            }
        }
        // The trace's queues (sorted, as the rows hold them).
        let qnames: Vec<String> = trace[0].queues.keys().cloned().collect();
        let quantity: Vec<u32> = names
            .iter()
            .map(|n| initial.get(n).copied().unwrap_or(0))
            .collect();
        let web_i = names.iter().position(|n| *n == web).expect("added");
        let counted = names
            .iter()
            .map(|n| *n == web || policy.workers.contains_key(n))
            .collect();
        let consumers = consumers
            .iter()
            .map(|(t, queues)| {
                (
                    names.iter().position(|n| n == t).expect("added"),
                    queues
                        .iter()
                        .filter_map(|q| qnames.iter().position(|x| x == q))
                        .collect(),
                    queues.len().max(1),
                )
            })
            .collect();
        let qnames_len = qnames.len();
        let rates = trace
            .iter()
            .map(|r| {
                qnames
                    .iter()
                    .map(|q| r.queues.get(q).copied().unwrap_or(0.0))
                    .collect()
            })
            .collect();
        Self {
            depths: vec![0.0; qnames.len()],
            served: vec![0.0; qnames.len()],
            active: quantity.clone(),
            booting: Vec::new(),
            boot_seconds: 0.0,
            names,
            qnames,
            quantity,
            web_i,
            counted,
            consumers,
            rates,
            backlog: 0.0,
            arrivals: policy
                .workers
                .values()
                .any(|r| r.max_wait.is_some())
                .then(|| vec![Vec::new(); qnames_len]),
        }
    }

    /// The age of each trace queue's oldest waiting job at `t` (`None`: less
    /// than one job waits, or ages are not kept).
    pub(super) fn oldest_ages(&self, t: f64, out: &mut [Option<std::time::Duration>]) {
        let Some(arrivals) = &self.arrivals else {
            out.fill(None);
            return;
        };
        for ((slot, history), depth) in out.iter_mut().zip(arrivals).zip(&self.depths) {
            *slot = match history.last() {
                Some(&(_, total)) if *depth >= 1.0 => {
                    // The first moment the arrivals passed `total - depth`.
                    let mark = total - depth;
                    let i = history.partition_point(|&(_, a)| a < mark);
                    history
                        .get(i)
                        .map(|&(at, _)| std::time::Duration::from_secs_f64((t - at).max(0.0)))
                }
                _ => None,
            };
        }
    }

    /// A new quantity for type `i` at time `t`: more dynos serve after the
    /// boot delay; fewer stop at once (booting ones first).
    pub(super) fn set(&mut self, i: usize, to: u32, t: f64) {
        let from = std::mem::replace(&mut self.quantity[i], to);
        if to > from {
            self.booting.push((t + self.boot_seconds, i, to - from));
            self.boot(t);
            return;
        }
        let mut stop = from - to;
        for (_, ty, n) in self.booting.iter_mut().rev() {
            if *ty == i && stop > 0 {
                let k = stop.min(*n);
                *n -= k;
                stop -= k;
            }
        }
        self.booting.retain(|(_, _, n)| *n > 0);
        self.active[i] = self.active[i].saturating_sub(stop);
    }

    /// Dynos whose boot is over serve from `t`.
    pub(super) fn boot(&mut self, t: f64) {
        let active = &mut self.active;
        self.booting.retain(|(ready, ty, n)| {
            let done = *ready <= t;
            if done {
                active[*ty] += n;
            }
            !done
        });
    }

    /// Advance `interval` seconds under `row`: the web latency (ms), queue
    /// depths, and the summary's dyno-hours and waiting job-hours.
    pub(super) fn step(
        &mut self,
        row_i: usize,
        row: &Row,
        t: f64,
        interval: f64,
        summary: &mut Summary,
    ) -> f64 {
        // Web: a fluid queue over n dynos, each serving 1000/(service_ms +
        // dep_ms) requests per second.
        let n = f64::from(self.active[self.web_i]);
        let inside_ms = row.service_ms + row.dep_ms;
        let capacity = n * 1000.0 / inside_ms;
        self.backlog = (self.backlog + (row.rps - capacity) * interval).max(0.0);
        let rho = if capacity > 0.0 {
            (row.rps / capacity).min(0.95)
        } else {
            0.95
        };
        let latency_ms = if capacity > 0.0 {
            inside_ms / (1.0 - rho) + self.backlog / capacity * 1000.0
        } else {
            60_000.0
        };
        // Workers: each type's capacity shared among the queues it consumes.
        self.served.fill(0.0);
        for (ty, qs, n_queues) in &self.consumers {
            let per_queue = f64::from(self.active[*ty]) * 1000.0 / row.job_ms / *n_queues as f64;
            for q in qs {
                self.served[*q] += per_queue;
            }
        }
        for ((d, rate), serve) in self
            .depths
            .iter_mut()
            .zip(&self.rates[row_i])
            .zip(&self.served)
        {
            *d = (*d + (rate - serve) * interval).max(0.0);
            summary.job_hours_waiting += *d * interval / 3600.0;
            summary.peak_depth = summary.peak_depth.max(*d);
        }
        if let Some(arrivals) = &mut self.arrivals {
            for (history, rate) in arrivals.iter_mut().zip(&self.rates[row_i]) {
                let total = history.last().map_or(0.0, |&(_, a)| a) + rate * interval;
                history.push((t, total));
            }
        }
        for (q, c) in self.quantity.iter().zip(&self.counted) {
            if *c {
                summary.dyno_hours += f64::from(*q) * interval / 3600.0;
            }
        }
        latency_ms
    }

    pub(super) fn sample(&self, t: f64, rps: f64, latency_ms: f64) -> Sample {
        Sample {
            t,
            rps,
            latency_ms,
            dynos: self
                .names
                .iter()
                .cloned()
                .zip(self.quantity.iter().copied())
                .collect(),
            depths: self
                .qnames
                .iter()
                .cloned()
                .zip(self.depths.iter().copied())
                .collect(),
        }
    }
}
