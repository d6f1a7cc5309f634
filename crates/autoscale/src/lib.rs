//! Slipway's autoscaler, the decision half: django-heroku-autoscale's
//! heartbeat algorithm (same settings, same defaults) made correct, plus
//! queue-depth scaling of Celery worker types. See SPEC.md.
//!
//! Nothing here does I/O or reads a clock: [`engine::tick`] takes what was
//! measured and the time, and returns decisions; the worker that measures and
//! calls the Platform API lives in release-phase.

// Dev-dependencies serve the integration tests (tests/), not the unit tests.
#![cfg_attr(test, allow(unused_crate_dependencies))]

mod engine;
mod schedule;
mod settings;
pub mod simulate;

pub use engine::{
    applied, tick, Decision, Measure, Notification, Observation, Policy, QueueRule, Snapshot,
    State, Tick, WebPolicy,
};
pub use schedule::Bound;
pub use settings::{SettingError, Settings, NAMES};
