//! The reference layout: the seven dyno types of a Django + Celery app in the
//! shape of EveryVoter (`shared/seeds/000_02fa5b52a089c3c4.txt`, "Dyno Types"
//! and "HireFire"). Generated when a project declares
//! `[_.metadata.slipway.celery] app = "<module>"`; explicit Procfile lines win.

use crate::formation::{Formation, FormationOrigin};

/// One generated type.
pub(crate) struct ReferenceType {
    pub(crate) name: &'static str,
    /// Queues consumed; empty for `web`.
    pub(crate) queues: &'static [&'static str],
    pub(crate) embeds_beat: bool,
    pub(crate) size: &'static str,
    pub(crate) min: u32,
    pub(crate) max: u32,
    pub(crate) note: &'static str,
}

/// The seed's six queues: default, bulk, bulk_priority, user_import, high_memory, feedback.
pub(crate) const REFERENCE: &[ReferenceType] = &[
    ReferenceType {
        name: "web",
        queues: &[],
        embeds_beat: false,
        size: "standard-1x",
        min: 1,
        max: 2,
        note: "one or two 1X web dynos",
    },
    ReferenceType {
        name: "beat",
        queues: &["default", "bulk", "user_import", "high_memory", "feedback"],
        embeds_beat: true,
        size: "standard-2x",
        min: 1,
        max: 1,
        note: "scheduler plus general/import/high-memory worker; never more than one",
    },
    ReferenceType {
        name: "worker_high_memory",
        queues: &["high_memory"],
        embeds_beat: false,
        size: "standard-2x",
        min: 0,
        max: 2,
        note: "kept at 0 unless high_memory outgrows beat",
    },
    ReferenceType {
        name: "worker_primary",
        queues: &[
            "default",
            "bulk",
            "bulk_priority",
            "feedback",
            "user_import",
        ],
        embeds_beat: false,
        size: "standard-1x",
        min: 1,
        max: 1,
        note: "all non-2X tasks plus user imports; run exactly one",
    },
    ReferenceType {
        name: "worker_general",
        queues: &["default", "bulk", "bulk_priority", "feedback"],
        embeds_beat: false,
        size: "standard-1x",
        min: 0,
        max: 10,
        note: "all non-2X tasks except imports; scale as needed",
    },
    ReferenceType {
        name: "worker_import",
        queues: &["user_import"],
        embeds_beat: false,
        size: "standard-1x",
        min: 0,
        max: 2,
        note: "user imports only; geocoding is rate-limited, so one or two at most",
    },
    ReferenceType {
        name: "worker_priority",
        queues: &["bulk_priority"],
        embeds_beat: false,
        size: "standard-2x",
        min: 0,
        max: 10,
        note: "bulk email sending; 0 by default, scaled up for the daily send",
    },
];

impl ReferenceType {
    pub(crate) fn command(&self, app: &str, wsgi: &str) -> String {
        if self.queues.is_empty() {
            return format!("gunicorn {wsgi} --bind 0.0.0.0:$PORT --log-file -");
        }
        let beat = if self.embeds_beat { " -B" } else { "" };
        format!(
            "celery -A {app} worker{beat} -Q {} -n {}@%h --loglevel=info",
            self.queues.join(","),
            self.name
        )
    }

    pub(crate) fn formation(&self) -> Formation {
        let f = Formation {
            size: self.size.to_string(),
            quantity: self.min,
            min: self.min,
            max: Some(self.max),
            singleton: false,
            origin: FormationOrigin::Reference,
            note: self.note.to_string(),
        };
        if self.embeds_beat {
            f.singleton(self.note)
        } else {
            f
        }
    }
}
