//! The timeline as CSV and as an SVG plot.

// Plot coordinates as f64: no precision is at stake.
#![allow(clippy::cast_precision_loss)]

use super::Sample;
use std::fmt::Write as _;

pub fn timeline_csv(samples: &[Sample]) -> String {
    let types: Vec<String> = samples
        .first()
        .map(|s| s.dynos.keys().cloned().collect())
        .unwrap_or_default();
    let queues: Vec<String> = samples
        .last()
        .map(|s| s.depths.keys().cloned().collect())
        .unwrap_or_default();
    let mut out = String::from("t,rps,latency_ms");
    for t in &types {
        let _ = write!(out, ",dynos:{t}");
    }
    for q in &queues {
        let _ = write!(out, ",depth:{q}");
    }
    out.push('\n');
    for s in samples {
        let _ = write!(out, "{:.0},{:.2},{:.1}", s.t, s.rps, s.latency_ms);
        for t in &types {
            let _ = write!(out, ",{}", s.dynos.get(t).copied().unwrap_or(0));
        }
        for q in &queues {
            let _ = write!(out, ",{:.0}", s.depths.get(q).copied().unwrap_or(0.0));
        }
        out.push('\n');
    }
    out
}

/// Three stacked panels: load, latency (with the target), dynos per type.
pub fn svg(samples: &[Sample], target_ms: f64, title: &str) -> String {
    let (w, ph, pad, right) = (1000.0, 150.0, 40.0, 150.0);
    let h = pad + 4.0 * (ph + pad);
    let t0 = samples.first().map_or(0.0, |s| s.t);
    let t1 = samples.last().map_or(1.0, |s| s.t).max(t0 + 1.0);
    let x = |t: f64| pad + (t - t0) / (t1 - t0) * (w - pad - right);
    let mut out = format!("<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" font-family=\"sans-serif\" font-size=\"11\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n<text x=\"{pad}\" y=\"20\" font-size=\"14\">{}</text>\n", escape(title));
    // The time of day under every panel: a tick each hour, labelled every few
    // (the trace's t is seconds from midnight).
    let span_h = (t1 - t0) / 3600.0;
    let label_every = if span_h > 12.0 {
        3.0
    } else if span_h > 4.0 {
        1.0
    } else {
        0.5
    };
    let time_axis = |out: &mut String, bottom: f64| {
        let mut hour = (t0 / 3600.0).ceil();
        while hour * 3600.0 <= t1 {
            let xt = x(hour * 3600.0);
            let _ = writeln!(
                out,
                "<line x1=\"{xt:.1}\" x2=\"{xt:.1}\" y1=\"{bottom}\" y2=\"{}\" stroke=\"#999\"/>",
                bottom + 4.0
            );
            if (hour / label_every).fract().abs() < 1e-9 {
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                let (hh, mm) = ((hour as u64) % 24, ((hour.fract() * 60.0).round()) as u64);
                let _ = writeln!(out, "<text x=\"{xt:.1}\" y=\"{}\" text-anchor=\"middle\" fill=\"#555\">{hh:02}:{mm:02}</text>", bottom + 15.0);
            }
            hour += if label_every < 1.0 { 0.5 } else { 1.0 };
        }
    };
    let colors = [
        "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf",
    ];
    let mut panel = |i: usize, label: &str, series: Vec<(String, Vec<f64>)>, line: Option<f64>| {
        let top = pad + i as f64 * (ph + pad);
        let max = series
            .iter()
            .flat_map(|(_, v)| v.iter().copied())
            .chain(line)
            .fold(1.0f64, f64::max)
            * 1.1;
        let y = |v: f64| top + ph - v / max * ph;
        let _ = writeln!(out, "<rect x=\"{pad}\" y=\"{top}\" width=\"{}\" height=\"{ph}\" fill=\"none\" stroke=\"#999\"/>", w - pad - right);
        // Y ticks at 0, half and the top of the data.
        for v in [0.0, max / 1.1 / 2.0, max / 1.1] {
            let _ = writeln!(out, "<line x1=\"{}\" x2=\"{pad}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"#999\"/><text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\" fill=\"#555\">{}</text>", pad - 4.0, y(v), y(v), pad - 6.0, y(v) + 4.0, short(v));
        }
        time_axis(&mut out, top + ph);
        let _ = writeln!(
            out,
            "<text x=\"{pad}\" y=\"{}\">{} (max {:.0})</text>",
            top - 4.0,
            escape(label),
            max / 1.1
        );
        if let Some(l) = line {
            let _ = writeln!(out, "<line x1=\"{pad}\" x2=\"{}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"#d62728\" stroke-dasharray=\"4 3\"/>", w - right, y(l), y(l));
        }
        for (k, (name, values)) in series.iter().enumerate() {
            let pts: Vec<String> = samples
                .iter()
                .zip(values)
                .map(|(s, v)| format!("{:.1},{:.1}", x(s.t), y(*v)))
                .collect();
            let c = colors[k % colors.len()];
            let _ = writeln!(
                out,
                "<polyline fill=\"none\" stroke=\"{c}\" stroke-width=\"1.5\" points=\"{}\"/>",
                pts.join(" ")
            );
            let _ = writeln!(
                out,
                "<text x=\"{:.0}\" y=\"{:.0}\" fill=\"{c}\">{}</text>",
                w - right + 6.0,
                top + 12.0 + 12.0 * k as f64,
                escape(name)
            );
        }
    };
    panel(
        0,
        "load (requests/s)",
        vec![("rps".into(), samples.iter().map(|s| s.rps).collect())],
        None,
    );
    panel(
        1,
        "heartbeat latency (ms), target dashed",
        vec![(
            "latency".into(),
            samples
                .iter()
                .map(|s| s.latency_ms.min(target_ms * 10.0))
                .collect(),
        )],
        Some(target_ms),
    );
    let types: Vec<String> = samples
        .first()
        .map(|s| s.dynos.keys().cloned().collect())
        .unwrap_or_default();
    let dynos = series(samples, &types, |s, t| {
        f64::from(s.dynos.get(t).copied().unwrap_or(0))
    });
    panel(2, "dynos per type", dynos, None);
    let queues: Vec<String> = samples
        .last()
        .map(|s| s.depths.keys().cloned().collect())
        .unwrap_or_default();
    let depths = series(samples, &queues, |s, q| {
        s.depths.get(q).copied().unwrap_or(0.0)
    });
    panel(3, "jobs waiting per queue", depths, None);
    out.push_str("</svg>\n");
    out
}

/// One line per name, its value in every sample.
fn series(
    samples: &[Sample],
    names: &[String],
    value: impl Fn(&Sample, &str) -> f64,
) -> Vec<(String, Vec<f64>)> {
    names
        .iter()
        .map(|n| (n.clone(), samples.iter().map(|s| value(s, n)).collect()))
        .collect()
}

/// An axis label: `950`, `12k`, `1.6M`.
pub(super) fn short(v: f64) -> String {
    if v >= 1e6 {
        format!("{:.1}M", v / 1e6)
    } else if v >= 1e4 {
        format!("{:.0}k", v / 1e3)
    } else if v >= 10.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

pub(super) fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
