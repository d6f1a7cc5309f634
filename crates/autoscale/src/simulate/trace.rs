//! The trace CSV (see the module above for its columns), with its limits.

use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub t: f64,
    pub(crate) rps: f64,
    pub(crate) service_ms: f64,
    pub(crate) job_ms: f64,
    /// Time every request waits on a dependency (a slow database or API),
    /// holding its dyno (gunicorn's sync workers): a latency floor more
    /// dynos do not lower. Reported by the heartbeat as time inside the dyno.
    pub(crate) dep_ms: f64,
    pub(crate) queues: BTreeMap<String, f64>,
}

/// The largest values a trace may hold: beyond them the model's clock and
/// latencies would leave what time types can represent.
pub(super) const MAX_T: f64 = 315_360_000.0;
pub(super) const MAX_RPS: f64 = 1e7;
pub(super) const MAX_MS: f64 = 3_600_000.0;
pub(super) const MAX_DEPTH: f64 = 1e12;

/// A trace that cannot be read: the file, the line (1-based; 0 for the
/// whole file) and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{}{message}", if *line > 0 { format!("{line}: ") } else { " ".to_string() })]
pub struct TraceError {
    pub(crate) file: String,
    pub(crate) line: usize,
    pub(crate) message: String,
}

impl TraceError {
    fn at(line: usize, message: String) -> Self {
        Self {
            file: String::new(),
            line,
            message,
        }
    }
}

/// The trace in `text`, read from `file` (the name its errors give).
pub fn parse_trace(file: &str, text: &str) -> Result<Vec<Row>, TraceError> {
    rows(text).map_err(|e| TraceError {
        file: file.to_string(),
        ..e
    })
}

fn rows(text: &str) -> Result<Vec<Row>, TraceError> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'));
    let (_, header) = lines.next().ok_or_else(|| {
        TraceError::at(
            0,
            "empty: expected a header `t,rps,service_ms[,q:<queue>...][,job_ms][,dep_ms]`".into(),
        )
    })?;
    let cols: Vec<&str> = header.split(',').map(str::trim).collect();
    for need in ["t", "rps", "service_ms"] {
        if !cols.contains(&need) {
            return Err(TraceError::at(
                1,
                format!("no `{need}` column (header: {header})"),
            ));
        }
    }
    let mut rows: Vec<Row> = Vec::new();
    for (i, line) in lines {
        let cells: Vec<&str> = line.split(',').map(str::trim).collect();
        if cells.len() != cols.len() {
            return Err(TraceError::at(
                i + 1,
                format!("{} values for {} columns", cells.len(), cols.len()),
            ));
        }
        let mut row = Row {
            t: 0.0,
            rps: 0.0,
            service_ms: 100.0,
            job_ms: 1000.0,
            dep_ms: 0.0,
            queues: BTreeMap::new(),
        };
        for (c, v) in cols.iter().zip(&cells) {
            let x: f64 = v
                .parse()
                .ok()
                .filter(|x: &f64| x.is_finite() && *x >= 0.0)
                .ok_or_else(|| {
                    TraceError::at(
                        i + 1,
                        format!("`{v}` in column {c} is not a non-negative number"),
                    )
                })?;
            let limit = match *c {
                "t" => MAX_T,
                "rps" => MAX_RPS,
                "service_ms" | "job_ms" | "dep_ms" => MAX_MS,
                _ => MAX_DEPTH,
            };
            if x > limit {
                return Err(TraceError::at(i + 1, format!(
                    "`{v}` in column {c} is over the limit of {limit} (t: ten years of seconds; rps: 10 million; service_ms, job_ms, dep_ms: one hour; queue depths: a trillion)"
                )));
            }
            match *c {
                "t" => row.t = x,
                "rps" => row.rps = x,
                "service_ms" => row.service_ms = x.max(0.001),
                "job_ms" => row.job_ms = x.max(0.001),
                "dep_ms" => row.dep_ms = x,
                q => {
                    if let Some(name) = q.strip_prefix("q:") {
                        row.queues.insert(name.to_string(), x);
                    } else {
                        return Err(TraceError::at(1, format!("unknown column `{q}`")));
                    }
                }
            }
        }
        if rows.last().is_some_and(|r| r.t >= row.t) {
            return Err(TraceError::at(i + 1, "t must increase".into()));
        }
        rows.push(row);
    }
    if rows.len() < 2 {
        return Err(TraceError::at(
            0,
            "needs at least two rows (the last row's t is the end)".into(),
        ));
    }
    Ok(rows)
}
