//! `slipway local`: a formation of a built image's processes, as `heroku local`
//! (foreman) runs a Procfile: one process per dyno (`web.1`, `web.2`, ...),
//! `$PORT` per process (web first, from 5000), the app's `.env`, output
//! interleaved line by line with a coloured `HH:MM:SS name.N |` prefix.
//! Shutdown is the platform's contract: on Ctrl-C, SIGTERM, or when any
//! process exits, every process group gets SIGTERM, and SIGKILL after the
//! grace period (30 s on Heroku).

use crate::error::{LifecycleError, Result};
use crate::image::{Image, ImageMetadata};
use crate::launch::{prepare, RunOptions};
use buildkit::process::Group;
use buildkit::process::Stop;
use nix::sys::signal::Signal;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct LocalOptions {
    pub image: PathBuf,
    /// `type=count` entries (`all` or empty: the default formation).
    pub formation: Vec<String>,
    /// The first `$PORT`: web.1 gets it, each further process the next one up.
    pub port: u16,
    /// Config vars (`KEY=VALUE` or `KEY`), on top of the app's `.env`.
    pub env: Vec<String>,
    /// Between SIGTERM and SIGKILL.
    pub grace: Duration,
    /// Colour the prefixes (a terminal without `NO_COLOR`).
    pub color: bool,
}

/// One dyno to start: `web.1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Dyno {
    pub(crate) process_type: String,
    pub(crate) index: u32,
    pub(crate) port: u16,
}

impl Dyno {
    pub(crate) fn name(&self) -> String {
        format!("{}.{}", self.process_type, self.index)
    }
}

/// Types never started by default: `release` is one-off (it runs before a
/// release, not beside it); `autoscale` needs the Platform API configured.
fn default_excluded(process_type: &str, configured: &dyn Fn(&str) -> bool) -> Option<&'static str> {
    match process_type {
        "release" => Some("one-off: run it with `slipway run release`"),
        "autoscale" if !configured("AUTOSCALE_HEROKU_APP_NAME") => Some(
            "AUTOSCALE_HEROKU_APP_NAME is not set (see README: Autoscaling); name it to start it",
        ),
        _ => None,
    }
}

/// Types left out of a default formation, and why.
pub(crate) type Skipped = Vec<(String, &'static str)>;

/// The dynos of a formation, with their ports, and the types left out (and why).
pub(crate) fn plan(
    metadata: &ImageMetadata,
    formation: &[String],
    base_port: u16,
    configured: &dyn Fn(&str) -> bool,
) -> Result<(Vec<Dyno>, Skipped)> {
    let known: Vec<&str> = metadata.processes.iter().map(|p| p.kind.as_str()).collect();
    let mut wanted: Vec<(String, u32)> = Vec::new();
    let mut skipped = Vec::new();
    let explicit: Vec<&String> = formation.iter().filter(|f| f.as_str() != "all").collect();
    if explicit.is_empty() {
        for t in &known {
            match default_excluded(t, configured) {
                Some(why) => skipped.push(((*t).to_string(), why)),
                None => wanted.push(((*t).to_string(), 1)),
            }
        }
    } else {
        for entry in explicit {
            for part in entry.split(',').filter(|p| !p.trim().is_empty()) {
                let (t, n) = part.split_once('=').unwrap_or((part, "1"));
                let (t, n) = (t.trim(), n.trim());
                let n: u32 = n.parse().map_err(|_| LifecycleError::Formation {
                    message: format!("`{part}`: the count must be a number, e.g. {t}=2"),
                })?;
                if !known.contains(&t) {
                    return Err(LifecycleError::Formation {
                        message: format!(
                            "the image has no process type `{t}` (types: {})",
                            known.join(", ")
                        ),
                    });
                }
                wanted.retain(|(w, _)| w != t);
                wanted.push((t.to_string(), n));
            }
        }
    }
    // web first, so web.1 gets the base port, as `heroku local` does.
    wanted.sort_by_key(|(t, _)| t != "web");
    let mut dynos = Vec::new();
    let mut port = base_port;
    for (t, n) in wanted {
        for index in 1..=n {
            dynos.push(Dyno {
                process_type: t.clone(),
                index,
                port,
            });
            port = port
                .checked_add(1)
                .ok_or_else(|| LifecycleError::Formation {
                    message: format!("ran out of ports above {base_port}: use a lower --port"),
                })?;
        }
    }
    if dynos.is_empty() {
        return Err(LifecycleError::Formation {
            message: "nothing to start: every count is 0".into(),
        });
    }
    Ok((dynos, skipped))
}

const COLORS: [&str; 6] = ["36", "33", "32", "35", "34", "31"];

/// Writes whole lines under one lock, so processes' lines never interleave mid-line.
#[derive(Clone)]
struct Out {
    sink: Arc<Mutex<Box<dyn Write + Send>>>,
    width: usize,
    color: bool,
}

impl Out {
    fn line(&self, name: &str, color: &str, text: &str) {
        let now = chrono::Local::now().format("%H:%M:%S");
        let prefix = if self.color {
            format!("\x1b[{color}m{now} {name:<w$} |\x1b[0m", w = self.width)
        } else {
            format!("{now} {name:<w$} |", w = self.width)
        };
        let mut sink = self.sink.lock().expect("output lock");
        let _ = writeln!(sink, "{prefix} {text}");
        let _ = sink.flush();
    }
}

struct Running {
    dyno: Dyno,
    child: Child,
    color: &'static str,
}

/// Start the formation and supervise it until it stops. Returns the exit code:
/// that of the process whose exit stopped the formation, or 0 after Ctrl-C/SIGTERM.
pub fn local(opts: &LocalOptions, stop: &Stop, sink: Box<dyn Write + Send>) -> Result<i32> {
    let root = std::fs::canonicalize(&opts.image).map_err(|_| LifecycleError::NoImage {
        image: opts.image.clone(),
    })?;
    let root = crate::platform::runnable_root(&root);
    let metadata = Image::new(&root).read_metadata()?;
    let extra: Vec<String> = opts.env.clone();
    let configured = |k: &str| {
        std::env::var_os(k).is_some()
            || extra
                .iter()
                .any(|e| e.split_once('=').map_or(e.as_str(), |(k, _)| k) == k)
            || crate::platform::user_env(&root.join("workspace"), &[])
                .is_ok_and(|vars| vars.iter().any(|(name, _)| name == k))
    };
    let (dynos, skipped) = plan(&metadata, &opts.formation, opts.port, &configured)?;
    let width = dynos
        .iter()
        .map(|d| d.name().len())
        .max()
        .unwrap_or(6)
        .max(6);
    let out = Out {
        sink: Arc::new(Mutex::new(sink)),
        width,
        color: opts.color,
    };
    let system = "0";
    for (t, why) in &skipped {
        out.line("slipway", system, &format!("not starting {t}: {why}"));
    }

    let mut running: Vec<Running> = Vec::new();
    let mut readers = Vec::new();
    let mut start_error = None;
    for (i, dyno) in dynos.iter().enumerate() {
        match start(
            opts,
            &root,
            dyno,
            COLORS[i % COLORS.len()],
            &out,
            &mut readers,
        ) {
            Ok(r) => running.push(r),
            Err(e) => {
                start_error = Some(e);
                break;
            }
        }
    }
    let code = if start_error.is_none() {
        supervise(&mut running, stop, &out)
    } else {
        0
    };
    stop_all(&mut running, opts.grace, &out);
    for r in readers {
        let _ = r.join();
    }
    if let Some(e) = start_error {
        return Err(e);
    }
    Ok(code)
}

/// Start one dyno in its own process group, its output copied line by line
/// (prefixed with its name) by reader threads pushed onto `readers`.
fn start(
    opts: &LocalOptions,
    root: &std::path::Path,
    dyno: &Dyno,
    color: &'static str,
    out: &Out,
    readers: &mut Vec<std::thread::JoinHandle<()>>,
) -> Result<Running> {
    let mut env = opts.env.clone();
    env.push(format!("PORT={}", dyno.port));
    env.push(format!("DYNO={}", dyno.name()));
    let prepared = prepare(&RunOptions {
        image: root.to_path_buf(),
        process: Some(dyno.process_type.clone()),
        port: dyno.port,
        env,
        args: Vec::new(),
    })?;
    let mut cmd = Command::new(&prepared.program);
    cmd.args(&prepared.args)
        .env_clear()
        .envs(&prepared.env)
        .current_dir(&prepared.cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own group: a signal reaches the process's children too (gunicorn's workers, celery's pool).
        .process_group(0);
    let mut child = cmd.spawn().map_err(|source| LifecycleError::Spawn {
        program: prepared.program.clone(),
        source,
    })?;
    out.line(
        &dyno.name(),
        color,
        &format!(
            "started with pid {} (PORT={}): {}",
            child.id(),
            dyno.port,
            match prepared.process.command.as_slice() {
                // The launcher's `bash -c SCRIPT` form: the script is the command.
                [shell, flag, script, ..] if shell == "bash" && flag == "-c" => script.clone(),
                command => command.join(" "),
            }
        ),
    );
    let (lines, _) = buildkit::process::lines(&mut child);
    let name = dyno.name();
    let sink = out.clone();
    readers.push(std::thread::spawn(move || {
        for line in lines {
            sink.line(&name, color, &line.text());
        }
    }));
    Ok(Running {
        dyno: dyno.clone(),
        child,
        color,
    })
}

/// Until the first exit (its code) or a signal (0): either stops everything.
fn supervise(running: &mut [Running], stop: &Stop, out: &Out) -> i32 {
    loop {
        if stop.stopped() {
            out.line("slipway", "0", "stopping every process (SIGTERM)");
            return 0;
        }
        for r in running.iter_mut() {
            if let Ok(Some(status)) = r.child.try_wait() {
                let code = crate::exit_code(status);
                out.line(
                    &r.dyno.name(),
                    r.color,
                    &format!("exited with code {code}: stopping every process (SIGTERM)"),
                );
                return code;
            }
        }
        // Wakes at once on SIGTERM/SIGINT; children's exits are polled.
        stop.sleep(Duration::from_millis(50));
    }
}

/// SIGTERM every group, SIGKILL what still runs after the grace period, and
/// then any process left in a group (a child that ignored its parent's exit).
fn stop_all(running: &mut [Running], grace: Duration, out: &Out) {
    let group = |r: &Running| Group::of(&r.child);
    for r in running.iter() {
        group(r).signal(Signal::SIGTERM);
    }
    let deadline = Instant::now() + grace;
    loop {
        let mut left = 0;
        for r in running.iter_mut() {
            if matches!(r.child.try_wait(), Ok(None)) {
                left += 1;
            }
        }
        if left == 0 {
            break;
        }
        if Instant::now() >= deadline {
            for r in running.iter_mut() {
                if matches!(r.child.try_wait(), Ok(None)) {
                    out.line(
                        &r.dyno.name(),
                        r.color,
                        &format!("still running {}s after SIGTERM: SIGKILL", grace.as_secs()),
                    );
                    group(r).signal(Signal::SIGKILL);
                    let _ = r.child.wait();
                }
            }
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    for r in running.iter() {
        group(r).signal(Signal::SIGKILL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image::{Api, ImageProcess};

    fn image(types: &[&str]) -> ImageMetadata {
        ImageMetadata {
            default_process_type: None,
            api: Api::Cnb,
            buildpacks: Vec::new(),
            processes: types
                .iter()
                .map(|t| ImageProcess {
                    kind: (*t).to_string(),
                    command: vec!["true".into()],
                    args: Vec::new(),
                    default: *t == "web",
                    buildpack_id: String::new(),
                    working_dir: None,
                })
                .collect(),
        }
    }

    #[test]
    fn the_default_formation_is_one_of_each_type_but_release_web_first_from_the_base_port() {
        let m = image(&["beat", "release", "web", "worker_general", "autoscale"]);
        let (dynos, skipped) = plan(&m, &[], 5000, &|_| false).unwrap();
        let names: Vec<(String, u16)> = dynos.iter().map(|d| (d.name(), d.port)).collect();
        assert_eq!(
            names,
            [
                ("web.1", 5000),
                ("beat.1", 5001),
                ("worker_general.1", 5002)
            ]
            .map(|(n, p)| (n.to_string(), p))
        );
        let skipped: Vec<&str> = skipped.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(skipped, ["release", "autoscale"]);
        let (dynos, _) = plan(&m, &[], 5000, &|k| k == "AUTOSCALE_HEROKU_APP_NAME").unwrap();
        assert!(dynos.iter().any(|d| d.process_type == "autoscale"));
    }

    #[test]
    fn a_formation_names_counts_and_each_web_process_gets_its_own_port() {
        let m = image(&["web", "worker_general", "beat"]);
        let (dynos, _) = plan(&m, &["worker_general=2,web=2".into()], 5000, &|_| false).unwrap();
        let names: Vec<(String, u16)> = dynos.iter().map(|d| (d.name(), d.port)).collect();
        assert_eq!(
            names,
            [
                ("web.1", 5000),
                ("web.2", 5001),
                ("worker_general.1", 5002),
                ("worker_general.2", 5003)
            ]
            .map(|(n, p)| (n.to_string(), p))
        );
    }

    #[test]
    fn unknown_types_and_bad_counts_are_refused_with_the_types_there_are() {
        let m = image(&["web", "worker_general"]);
        let e = plan(&m, &["wrker=1".into()], 5000, &|_| false)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("`wrker`") && e.contains("web, worker_general"),
            "{e}"
        );
        let e = plan(&m, &["web=two".into()], 5000, &|_| false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("web=2"), "{e}");
        assert!(plan(&m, &["web=0".into()], 5000, &|_| false).is_err());
    }
}
