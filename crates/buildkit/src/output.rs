//! Build output in the style of Heroku's CNBs:
//!
//! ```text
//! ## Slipway process table
//!
//! - Reading Procfile, project.toml
//!   - web  standard-1x x1 [1..=2]
//! - Done (0.01s)
//! ```
//!
//! The CNB style is Heroku's own output library, `bullet_stream` (the one
//! heroku/nodejs and heroku/python print with): coloured headers, warnings
//! and errors, background timer dots on long silent steps, and one ordered
//! stream (stdout, warnings and errors included, so they stay in place).
//!
//! Classic buildpacks (`bin/compile`) print in Heroku's classic style
//! instead, once [`use_classic_style`] is called:
//!
//! ```text
//! -----> Slipway process table
//!        Reading Procfile, project.toml
//!          web  standard-1x x1 [1..=2]
//!  !     Warning text
//! ```

use bullet_stream::global::print;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Once;
use std::time::{Duration, Instant};

static CLASSIC: AtomicBool = AtomicBool::new(false);

/// Print the rest of this process's output in Heroku's classic style:
/// `-----> ` headers, 7-space indents, ` !     ` for warnings and errors.
#[cfg(feature = "classic")]
pub(crate) fn use_classic_style() {
    CLASSIC.store(true, Ordering::Relaxed);
}

fn classic() -> bool {
    CLASSIC.load(Ordering::Relaxed)
}

/// CNB style: bullet_stream's global printer, writing to stdout (once set)
/// through anstream: colour where it is seen (a terminal), plain text into a
/// file or a pipe and whenever `NO_COLOR` is set; `CLICOLOR_FORCE=1` keeps it.
fn cnb() {
    static STDOUT: Once = Once::new();
    STDOUT.call_once(|| bullet_stream::global::set_writer(anstream::stdout()));
}

/// One line of a command's output under the current step, as it came
/// (colour codes kept only where colour is shown, as [`cnb`] decides).
pub fn command_line(text: &str) {
    let _ = writeln!(anstream::stdout().lock(), "      {text}");
}

use crate::style::INDENT;

pub fn header(title: &str) {
    if classic() {
        println!("{}", crate::style::step(title));
    } else {
        cnb();
        print::h2(title);
    }
}

pub fn bullet(text: &str) {
    if classic() {
        print_prefixed(INDENT, INDENT, text);
    } else {
        cnb();
        print::bullet(text);
    }
}

pub fn sub_bullet(text: &str) {
    if classic() {
        print_prefixed("         ", "         ", text);
    } else {
        cnb();
        print::sub_bullet(text);
    }
}

/// Indented verbatim text under a bullet (a table, a command's output).
pub fn block(text: &str) {
    if classic() {
        for line in text.lines() {
            println!("         {line}");
        }
    } else {
        cnb();
        for line in text.lines() {
            print::plain(format!("      {line}"));
        }
    }
}

pub fn warning(text: &str) {
    if !classic() {
        cnb();
        print::warning(text);
        return;
    }
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err);
    let prefix = if classic() { " !     " } else { "! " };
    for line in text.lines() {
        let _ = writeln!(err, "{prefix}{line}");
    }
    let _ = writeln!(err);
}

pub fn error(title: &str, text: &str) {
    if !classic() {
        cnb();
        print::error(format!("ERROR: {title}\n\n{text}"));
        return;
    }
    let mut err = std::io::stderr().lock();
    if classic() {
        let _ = writeln!(err, "\n !     ERROR: {title}\n !");
    } else {
        let _ = writeln!(err, "\n! ERROR: {title}\n!");
    }
    let prefix = if classic() { " !     " } else { "! " };
    for line in text.lines() {
        let _ = writeln!(err, "{prefix}{line}");
    }
    let _ = writeln!(err);
}

fn print_prefixed(first: &str, rest: &str, text: &str) {
    let mut out = std::io::stdout().lock();
    for (i, line) in text.lines().enumerate() {
        let _ = writeln!(out, "{}{line}", if i == 0 { first } else { rest });
    }
    let _ = out.flush();
}

/// A long step with no output of its own: `  - Compressing . . . (12.3s)`,
/// a dot a second while it runs (bullet_stream's timer) in the CNB style.
pub fn with_dots<T>(what: &str, f: impl FnOnce() -> T) -> T {
    if classic() {
        let start = Instant::now();
        let out = f();
        sub_bullet(&format!("{what} ({})", human_duration(start.elapsed())));
        return out;
    }
    cnb();
    let timer = print::sub_start_timer(what);
    let out = f();
    timer.done();
    out
}

/// A step that prints how long it took when it ends: `- Compiling (3.2s)`.
pub struct Timer {
    what: String,
    start: Instant,
}

impl Timer {
    pub fn start(what: &str) -> Self {
        bullet(&format!("{what} ..."));
        Self {
            what: what.to_string(),
            start: Instant::now(),
        }
    }

    pub fn done(self) -> Duration {
        let elapsed = self.start.elapsed();
        sub_bullet(&format!(
            "Done {} ({})",
            self.what.to_lowercase(),
            human_duration(elapsed)
        ));
        elapsed
    }
}

/// `text` without terminal escape sequences: colours (`ESC [ ... m`) and
/// the rest of CSI, and OSC strings such as the hyperlinks npm prints
/// (`ESC ] 8 ; ; URL ESC \ text ESC ] 8 ; ; ESC \` keeps `text`): what a user
/// reads, for diagnosis and for tests. anstream's parser, the one that
/// decides what reaches a pipe.
pub fn strip_ansi(text: &str) -> String {
    anstream::adapter::strip_str(text).to_string()
}

/// `0.01s`, `3.2s`, `2m 05s`.
pub(crate) fn human_duration(d: Duration) -> String {
    let secs = d.as_secs_f64();
    if secs < 10.0 {
        format!("{secs:.2}s")
    } else if secs < 60.0 {
        format!("{secs:.1}s")
    } else {
        format!("{}m {:02}s", d.as_secs() / 60, d.as_secs() % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stripping_keeps_the_text_of_colours_and_hyperlinks() {
        assert_eq!(strip_ansi("\u{1b}[1;35m## Slipway\u{1b}[0m"), "## Slipway");
        // OSC 8, as npm prints `npm help` links, ended by ST or by BEL.
        assert_eq!(
            strip_ansi(
                "see \u{1b}]8;;https://docs.npmjs.com/\u{1b}\\the docs\u{1b}]8;;\u{1b}\\ now"
            ),
            "see the docs now"
        );
        assert_eq!(
            strip_ansi("\u{1b}]8;;https://x.test/\u{7}link\u{1b}]8;;\u{7}"),
            "link"
        );
        assert_eq!(strip_ansi("plain: 100% done"), "plain: 100% done");
    }

    #[test]
    fn durations_read_like_heroku_timers() {
        assert_eq!(human_duration(Duration::from_millis(12)), "0.01s");
        assert_eq!(human_duration(Duration::from_millis(12_340)), "12.3s");
        assert_eq!(human_duration(Duration::from_secs(125)), "2m 05s");
    }
}
