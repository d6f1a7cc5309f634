//! Test support: the packaged buildpacks and the `slipway` binary, built once
//! per test process from this checkout, plus small helpers.

// The test files share this package's dependencies; this support library uses some.
#![allow(unused_crate_dependencies)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

pub fn fixture(name: &str) -> PathBuf {
    root().join("tests/fixtures").join(name)
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string())
}

/// What `scripts/<name> [args]` prints on stdout; its failure fails the
/// test, after its own error on stderr and `why` it was needed.
pub fn script_output(name: &str, args: &[&str], why: &str) -> String {
    let out = Command::new(root().join("scripts").join(name))
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|e| panic!("run scripts/{name}: {e}"));
    assert!(
        out.status.success(),
        "scripts/{name} failed (its error is above): {why}"
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

/// Every packaged buildpack (`scripts/package`, i.e. `cargo libcnb package`), once per process.
fn packaged_all() -> &'static Vec<PathBuf> {
    static DIRS: OnceLock<Vec<PathBuf>> = OnceLock::new();
    DIRS.get_or_init(|| {
        script_output(
            "package",
            &[],
            "the tests build with the packaged buildpacks",
        )
        .lines()
        .map(PathBuf::from)
        .collect()
    })
}

/// The packaged directory of `buildpacks/<name>` (id `slipway/<name>`).
pub fn packaged(name: &str) -> PathBuf {
    let suffix = format!("slipway_{name}");
    packaged_all()
        .iter()
        .find(|d| d.file_name().is_some_and(|f| f.to_string_lossy() == suffix))
        .unwrap_or_else(|| {
            panic!(
                "buildpack {name} was not packaged; packaged: {:?}",
                packaged_all()
            )
        })
        .clone()
}

/// The `slipway` binary of this checkout, built once per process.
pub fn slipway() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let status = Command::new(cargo())
            .args(["build", "-q", "-p", "slipway", "--bin", "slipway"])
            .current_dir(root())
            .status()
            .expect("cargo build");
        assert!(status.success(), "building slipway failed");
        let meta = Command::new(cargo())
            .args(["metadata", "--format-version", "1", "--no-deps"])
            .current_dir(root())
            .output()
            .expect("cargo metadata");
        let meta: serde_json::Value = serde_json::from_slice(&meta.stdout).expect("metadata json");
        PathBuf::from(meta["target_directory"].as_str().expect("target_directory"))
            .join("debug/slipway")
    })
    .clone()
}

/// The `release-phase` binary of this checkout (the buildpack crate's additional binary), built once.
pub fn release_phase() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let status = Command::new(cargo())
            .args([
                "build",
                "-q",
                "-p",
                "release-phase-buildpack",
                "--bin",
                "release-phase",
            ])
            .current_dir(root())
            .status()
            .expect("cargo build");
        assert!(status.success(), "building release-phase failed");
        slipway()
            .parent()
            .expect("target/debug")
            .join("release-phase")
    })
    .clone()
}

/// The official CNB tools at their pinned versions (scripts/official-cnb-tools).
pub struct OfficialTools {
    /// `lifecycle`, its phase links and `launcher`: `slipway build --lifecycle`'s DIR.
    pub lifecycle_dir: PathBuf,
    pub pack: PathBuf,
}

/// Builds (once, cached in /var/tmp/slipway-tools) or finds the official
/// lifecycle and pack. Fails the test, with the script's output, when Go or
/// the module proxy cannot provide them: these tests never skip.
pub fn official_tools() -> &'static OfficialTools {
    static TOOLS: OnceLock<OfficialTools> = OnceLock::new();
    TOOLS.get_or_init(|| {
        let out = Command::new(root().join("scripts/official-cnb-tools"))
            .stderr(Stdio::inherit())
            .output()
            .expect("run scripts/official-cnb-tools");
        assert!(
            out.status.success(),
            "scripts/official-cnb-tools failed (see its output above)"
        );
        let text = String::from_utf8(out.stdout).expect("utf-8");
        let value = |key: &str| {
            PathBuf::from(
                text.lines()
                    .find_map(|l| l.strip_prefix(key))
                    .unwrap_or_else(|| {
                        panic!("scripts/official-cnb-tools printed no {key}: {text}")
                    }),
            )
        };
        OfficialTools {
            lifecycle_dir: value("LIFECYCLE_DIR="),
            pack: value("PACK="),
        }
    })
}

/// The local PostgreSQL the tests use (trust auth). Absent, the test fails
/// with the command that starts it: tests never skip silently.
pub const PG_ADMIN: &str = "host=127.0.0.1 port=5432 user=postgres dbname=test";

pub fn require_postgres() -> postgres::Client {
    postgres::Client::connect(PG_ADMIN, postgres::NoTls).unwrap_or_else(|e| {
        panic!(
            "PostgreSQL is not reachable at 127.0.0.1:5432 ({e}); start it with \
             `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` (.ci/run does)"
        )
    })
}

/// A database of its own for one test, dropped afterwards.
pub struct TestDb {
    pub name: String,
}

impl TestDb {
    pub fn new(tag: &str) -> Self {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let name = format!(
            "slipway_{tag}_{}_{}",
            std::process::id(),
            N.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        );
        require_postgres()
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("create database");
        Self { name }
    }

    /// A URL with a password (trust auth ignores it), so tests can check it never leaks.
    pub fn url(&self) -> String {
        format!(
            "postgres://postgres:{}@127.0.0.1:5432/{}?sslmode=disable",
            SECRET_PASSWORD, self.name
        )
    }

    pub fn client(&self) -> postgres::Client {
        postgres::Client::connect(
            &format!(
                "host=127.0.0.1 port=5432 user=postgres dbname={}",
                self.name
            ),
            postgres::NoTls,
        )
        .expect("connect")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Ok(mut c) = postgres::Client::connect(PG_ADMIN, postgres::NoTls) {
            let _ = c.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

pub const SECRET_PASSWORD: &str = "Sup3r-s3cret-pw";

/// A finished command's exit code and output as text, as a user reads it:
/// terminal colour codes (bullet_stream colours headers, warnings and errors)
/// taken out, so the specifications speak of words, not escapes.
pub struct Ran {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Ran {
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// The PostgreSQL advisory-lock key of a Slipway lock, computed as the SPECs
/// give it (the first 8 bytes of SHA-256("<namespace>:<name>"), big-endian):
/// `slipway-release` for the release lock (crates/release-phase/SPEC.md,
/// `lock-key`), `slipway-autoscale` for the autoscaler's lease
/// (crates/autoscale/SPEC.md). An operator can compute it the same way.
pub fn advisory_key(namespace: &str, name: &str) -> i64 {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(format!("{namespace}:{name}"));
    i64::from_be_bytes(
        digest[..8]
            .try_into()
            .expect("a SHA-256 digest has 8 bytes and more"),
    )
}

pub fn ran(out: &Output) -> Ran {
    record(&out.stdout);
    record(&out.stderr);
    Ran {
        code: out.status.code().unwrap_or(-1),
        stdout: strip_ansi(&String::from_utf8_lossy(&out.stdout)),
        stderr: strip_ansi(&String::from_utf8_lossy(&out.stderr)),
    }
}

pub use buildkit::output::strip_ansi;

/// Keep what a program under test printed, byte for byte, for
/// `scripts/secrets-sweep` (which greps it for every secret the tests use,
/// in every encoding): appended to a file of this process's in the
/// directory `SLIPWAY_TEST_OUTPUT` names (`scripts/test` sets it).
pub fn record(bytes: &[u8]) {
    use std::io::Write as _;
    let Some(dir) = std::env::var_os("SLIPWAY_TEST_OUTPUT") else {
        return;
    };
    let file = Path::new(&dir).join(format!("e2e-{}.log", std::process::id()));
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&file)
    {
        let _ = f.write_all(bytes);
        let _ = f.write_all(b"\n");
    }
}

/// `slipway <args>`, waited for.
pub fn slipway_cmd(args: &[&str]) -> Ran {
    ran(&Command::new(slipway())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run slipway"))
}

/// [`build`], asserting success.
pub fn build_ok(app: &Path, buildpacks: &[PathBuf], out: &Path, extra: &[&str]) -> Ran {
    let r = build(app, buildpacks, out, extra);
    assert_eq!(r.code, 0, "slipway build failed:\n{}", r.all());
    r
}

/// `slipway build APP -b BP... --out OUT [extra]`, with [`mirror_flags`]: no
/// install in it reaches PyPI or the npm registry.
pub fn build(app: &Path, buildpacks: &[PathBuf], out: &Path, extra: &[&str]) -> Ran {
    let mut args: Vec<String> = vec![
        "build".into(),
        app.display().to_string(),
        "--out".into(),
        out.display().to_string(),
    ];
    for b in buildpacks {
        args.push("--buildpack".into());
        args.push(b.display().to_string());
    }
    args.extend(mirror_flags());
    args.extend(extra.iter().map(|s| (*s).to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    slipway_cmd(&args)
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// An HTTP client whose requests end within `timeout` as a whole.
pub fn http_agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .build()
        .new_agent()
}

/// GET a URL until it answers 200 or the deadline passes.
pub fn wait_for_http(url: &str, within: Duration, child: &mut Child) -> String {
    let deadline = Instant::now() + within;
    let agent = http_agent(Duration::from_secs(2));
    loop {
        if let Ok(resp) = agent.get(url).call() {
            return resp.into_body().read_to_string().expect("body");
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the process exited ({status}) before answering {url}");
        }
        assert!(
            Instant::now() < deadline,
            "{url} did not answer within {within:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Wait for a child to exit, with a bound.
pub fn wait_exit(child: &mut Child, within: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + within;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("process did not exit within {within:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub fn sigterm(child: &Child) {
    signal(child, nix::sys::signal::Signal::SIGTERM);
}

/// Send `sig` to `child`.
///
/// # Panics
/// When the signal cannot be sent (the process is not ours).
pub fn signal(child: &Child, sig: nix::sys::signal::Signal) {
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(child.id()).expect("pid")),
        sig,
    )
    .expect("kill");
}

/// The reference app needs Django, gunicorn and Celery. Missing modules fail
/// the test loudly with the install command: never a silent skip.
pub fn require_python_modules(modules: &[&str]) {
    let script = modules
        .iter()
        .map(|m| format!("import {m}"))
        .collect::<Vec<_>>()
        .join("; ");
    let ok = Command::new("python3")
        .args(["-c", &script])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "python3 cannot import {modules:?}: install the fixture's requirements with `pip install -r tests/fixtures/refapp/requirements.txt` (.ci/run does)"
    );
}

/// Write an executable file.
pub fn write_exec(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

/// A tiny real buildpack (Buildpack API 0.10) whose phases are bash scripts.
pub fn script_buildpack(parent: &Path, id: &str, detect: &str, build: &str) -> PathBuf {
    let dir = parent.join(id.replace('/', "_"));
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::write(dir.join("buildpack.toml"), format!("api = \"0.10\"\n[buildpack]\nid = \"{id}\"\nversion = \"1.0.0\"\n[[targets]]\nos = \"linux\"\n")).expect("write");
    write_exec(
        &dir.join("bin/detect"),
        &format!("#!/usr/bin/env bash\nset -euo pipefail\n{detect}\n"),
    );
    write_exec(
        &dir.join("bin/build"),
        &format!("#!/usr/bin/env bash\nset -euo pipefail\n{build}\n"),
    );
    dir
}

/// A writable copy of the reference app, without what a local run leaves behind.
pub fn refapp_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let status = Command::new("cp")
        .arg("-a")
        .arg(fixture("refapp").join("."))
        .arg(dir.path())
        .status()
        .expect("cp");
    assert!(status.success());
    for leftover in [
        "node_modules",
        "refapp/static/dist",
        "staticfiles",
        "db.sqlite3",
    ] {
        let _ = std::fs::remove_dir_all(dir.path().join(leftover));
        let _ = std::fs::remove_file(dir.path().join(leftover));
    }
    dir
}

/// `--map` arguments resolving the suite's Heroku members to their contract
/// doubles (tests/doubles: the real ones download runtimes). A build through
/// [`build`] also gets the machine's mirrors ([`mirror_flags`]); one run
/// otherwise adds them itself.
pub fn doubles() -> Vec<String> {
    let dir = root().join("tests/doubles");
    vec![
        "--map".into(),
        format!("heroku/nodejs={}", dir.join("heroku-nodejs").display()),
        "--map".into(),
        format!("heroku/python={}", dir.join("heroku-python").display()),
    ]
}

/// The wheelhouse `scripts/wheelhouse` keeps: every wheel the fixtures'
/// requirements.txt resolve to, downloaded once per machine, so no build in a
/// test reaches PyPI (a truncated index page once failed one).
pub fn wheelhouse() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        PathBuf::from(script_output("wheelhouse", &[], "the builds' pip installs from it").trim())
    })
}

/// The npm registry mirror `scripts/npm-mirror` runs on loopback (started
/// and filled once per machine with what the fixtures' npm and pnpm
/// lockfiles pin), so no npm or pnpm install in a test reaches the internet.
pub fn npm_mirror() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        script_output(
            "npm-mirror",
            &[],
            "the builds' npm and pnpm install from it",
        )
        .trim()
        .to_string()
    })
}

/// The build env that has the builds in the tests install from this
/// machine's mirrors alone: pip from [`wheelhouse`] (the Python doubles' pip
/// reads it as upstream's does: the platform env for heroku/python, the
/// process env for heroku-buildpack-python), npm and pnpm from
/// [`npm_mirror`] (heroku/nodejs and static-assets hand npm the platform env,
/// the classic buildpacks export the config vars).
pub fn mirror_env() -> [(&'static str, String); 3] {
    [
        ("PIP_NO_INDEX", "1".into()),
        ("PIP_FIND_LINKS", wheelhouse().display().to_string()),
        ("npm_config_registry", npm_mirror().to_string()),
    ]
}

/// [`mirror_env`] as `--env KEY=VALUE` flags, which `slipway build` and
/// `pack build` both take (pack hands them to buildpacks as the platform env).
pub fn mirror_flags() -> Vec<String> {
    mirror_env()
        .iter()
        .flat_map(|(key, value)| ["--env".to_string(), format!("{key}={value}")])
        .collect()
}

/// The process types an image released (`layers/config/metadata.toml`), sorted.
pub fn image_process_types(image: &Path) -> Vec<String> {
    // Sorted: the map's order.
    image_commands(image).into_keys().collect()
}

/// The command of each process type in a built image, as the launcher reads it.
pub fn image_commands(image: &Path) -> std::collections::BTreeMap<String, String> {
    let meta: toml::Table = toml::from_str(
        &std::fs::read_to_string(image.join("layers/config/metadata.toml"))
            .expect("the image's metadata.toml"),
    )
    .expect("metadata.toml is TOML");
    meta["processes"]
        .as_array()
        .expect("[[processes]]")
        .iter()
        .map(|p| {
            let words = |k: &str| {
                p.get(k)
                    .and_then(toml::Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(toml::Value::as_str)
                            .collect::<Vec<_>>()
                            .join(" ")
                    })
                    .unwrap_or_default()
            };
            let command = format!("{} {}", words("command"), words("args"));
            (
                p["type"].as_str().expect("type").to_string(),
                command.trim().to_string(),
            )
        })
        .collect()
}

/// The reference app's seven process types, as its Procfile writes them.
pub const REFERENCE_TYPES: [&str; 7] = [
    "web",
    "beat",
    "worker_high_memory",
    "worker_primary",
    "worker_general",
    "worker_import",
    "worker_priority",
];

/// The seven reference worker types plus `release` and `autoscale`, sorted:
/// what a Django + Celery app in the reference shape releases with Slipway.
/// The reference app's formation on the (fake) Platform API before the
/// autoscaler acts: one web, beat and primary worker, the rest scaled to 0.
pub const REFAPP_FORMATION: &[(&str, u32)] = &[
    ("web", 1),
    ("beat", 1),
    ("worker_high_memory", 0),
    ("worker_primary", 1),
    ("worker_general", 0),
    ("worker_import", 0),
    ("worker_priority", 0),
    ("autoscale", 1),
];

pub fn seven_types_release_and_autoscale() -> Vec<String> {
    let mut v: Vec<String> = REFERENCE_TYPES
        .iter()
        .chain(&["release", "autoscale"])
        .map(|s| (*s).to_string())
        .collect();
    v.sort();
    v
}

/// `cp -a SRC/. DST`: a writable copy of a fixture.
pub fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).expect("mkdir");
    let status = Command::new("cp")
        .arg("-a")
        .arg(src.join("."))
        .arg(dst)
        .status()
        .expect("cp");
    assert!(
        status.success(),
        "cp -a {} {}",
        src.display(),
        dst.display()
    );
}

/// GET `url` from a server `child` starts (within 30 s), then stop it with
/// SIGTERM; the body.
pub fn fetch_then_stop(mut child: Child, url: &str) -> String {
    let body = wait_for_http(url, Duration::from_secs(30), &mut child);
    sigterm(&child);
    wait_exit(&mut child, Duration::from_secs(20));
    body
}

/// Send `sig` to `child` (stdout and stderr piped) once its stdout has
/// printed a line containing each of `ready` (within `within`: readiness
/// the program says, not a guessed sleep), then wait up to `exit_within` for
/// it to exit; the status, what it printed, and how long the exit took after
/// the signal.
///
/// # Panics
/// When `ready` is not all printed in time, or the program does not exit.
pub fn signal_once_printed(
    mut child: Child,
    sig: nix::sys::signal::Signal,
    ready: &[&str],
    within: Duration,
    exit_within: Duration,
) -> (std::process::ExitStatus, Ran, Duration) {
    use std::io::{BufRead as _, Read as _};
    let (said, seen) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().expect("stdout piped");
    let mut stderr = child.stderr.take().expect("stderr piped");
    let mut waiting: Vec<String> = ready.iter().map(ToString::to_string).collect();
    let out_reader = std::thread::spawn(move || {
        let mut all = Vec::new();
        let mut lines = std::io::BufReader::new(stdout);
        let mut line = Vec::new();
        while lines.read_until(b'\n', &mut line).unwrap_or(0) > 0 {
            let text = String::from_utf8_lossy(&line).into_owned();
            let before = waiting.len();
            waiting.retain(|needle| !text.contains(needle.as_str()));
            if before > 0 && waiting.is_empty() {
                let _ = said.send(());
            }
            all.append(&mut line);
        }
        all
    });
    let err_reader = std::thread::spawn(move || {
        let mut all = Vec::new();
        let _ = stderr.read_to_end(&mut all);
        all
    });
    if seen.recv_timeout(within).is_err() {
        let _ = child.kill();
        let out = out_reader.join().unwrap_or_default();
        let err = err_reader.join().unwrap_or_default();
        panic!(
            "{ready:?} not all printed within {within:?}:\n{}{}",
            String::from_utf8_lossy(&out),
            String::from_utf8_lossy(&err)
        );
    }
    let asked = Instant::now();
    signal(&child, sig);
    let status = wait_exit(&mut child, exit_within);
    let took = asked.elapsed();
    let out = Output {
        status,
        stdout: out_reader.join().unwrap_or_default(),
        stderr: err_reader.join().unwrap_or_default(),
    };
    (status, ran(&out), took)
}

/// [`signal_once_printed`] with SIGTERM (the dyno manager's stop).
pub fn sigterm_once_printed(
    child: Child,
    ready: &str,
    within: Duration,
    exit_within: Duration,
) -> (std::process::ExitStatus, Ran, Duration) {
    signal_once_printed(
        child,
        nix::sys::signal::Signal::SIGTERM,
        &[ready],
        within,
        exit_within,
    )
}

/// Whether a Docker daemon answers where pack and the docker CLI look for one
/// (`DOCKER_HOST` when it names a unix socket, else `/var/run/docker.sock`):
/// its `/_ping` says `OK`. Tests whose tools behave differently with a daemon
/// ask this, so they hold with one running and without.
pub fn docker_daemon_answers() -> bool {
    use std::io::{Read as _, Write as _};
    let socket = match std::env::var("DOCKER_HOST") {
        Ok(host) => match host.strip_prefix("unix://") {
            Some(path) => PathBuf::from(path),
            None => return false,
        },
        Err(_) => PathBuf::from("/var/run/docker.sock"),
    };
    let Ok(mut stream) = std::os::unix::net::UnixStream::connect(&socket) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    if stream
        .write_all(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.starts_with("HTTP/1.") && answer.contains(" 200 ") && answer.ends_with("OK")
}

/// A RabbitMQ virtual host of the test's own (the broker is shared), removed afterwards.
pub struct Vhost {
    name: String,
}

impl Vhost {
    #[allow(
        clippy::new_without_default,
        reason = "it creates a vhost on the broker"
    )]
    pub fn new() -> Self {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        assert!(
            std::net::TcpStream::connect("127.0.0.1:15672").is_ok(),
            "RabbitMQ's management API is not on 127.0.0.1:15672: `rabbitmq-plugins enable rabbitmq_management` (scripts/services does)"
        );
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("slipway_e2e_{}_{n}", std::process::id());
        let api = "http://127.0.0.1:15672/api";
        let auth = "Basic Z3Vlc3Q6Z3Vlc3Q="; // guest:guest
        ureq::put(&format!("{api}/vhosts/{name}"))
            .header("Authorization", auth)
            .send_empty()
            .expect("create vhost");
        ureq::put(&format!("{api}/permissions/{name}/guest"))
            .header("Authorization", auth)
            .send_json(serde_json::json!({"configure": ".*", "write": ".*", "read": ".*"}))
            .expect("grant guest");
        Self { name }
    }

    pub fn amqp_url(&self) -> String {
        format!("amqp://guest:guest@127.0.0.1:5672/{}", self.name)
    }
}

impl Drop for Vhost {
    fn drop(&mut self) {
        let _ = ureq::delete(&format!("http://127.0.0.1:15672/api/vhosts/{}", self.name))
            .header("Authorization", "Basic Z3Vlc3Q6Z3Vlc3Q=")
            .call();
    }
}
