use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a buildpack: {why}\nPass the directory that holds buildpack.toml (for libcnb buildpacks: the output of `cargo libcnb package`, see scripts/package).")]
    NotABuildpack { path: PathBuf, why: String },
    #[error("{buildpack} declares Buildpack API {api}; this runner implements 0.10 (as libcnb 0.30 does)\nUse a buildpack built for API 0.10.")]
    UnsupportedApi { buildpack: String, api: String },
    #[error("{file} is not valid TOML: {message}")]
    Toml { file: PathBuf, message: String },
    #[error("--env {0}: expected KEY=VALUE or KEY (to pass KEY from this environment)")]
    BadEnvArg(String),
    #[error("{file}: {message}\nFix the line, or remove .env if the app does not need it.")]
    DotEnv { file: PathBuf, message: String },
    #[error("detect of {buildpack} failed with exit code {code} (an error, not a \"does not apply\": that is exit code 100)\n{output}")]
    DetectError {
        buildpack: String,
        code: i32,
        output: String,
    },
    #[error("no buildpack group passed detection:\n{report}\nEach buildpack above must pass detect for this app, or be left out of --buildpack.")]
    NoGroupPassed { report: String },
    #[error("the build plan cannot be resolved: {0}\nA buildpack requires something no earlier buildpack provides (or provides something nothing requires). Add the providing buildpack before it.")]
    PlanUnresolved(String),
    #[error("build of {buildpack} failed with exit code {code}; its output is above")]
    BuildFailed { buildpack: String, code: i32 },
    #[error("compile of classic buildpack {buildpack} failed with exit code {code}; its output is above")]
    CompileFailed { buildpack: String, code: i32 },
    #[error("bin/release of classic buildpack {buildpack} printed invalid YAML: {message}")]
    BadRelease { buildpack: String, message: String },
    #[error("{0}")]
    Procfile(String),
    #[error("{image} holds no built image (no layers/config/metadata.toml)\nRun `slipway build APP --buildpack ... --out {image}` first.")]
    NoImage { image: PathBuf },
    #[error("the image has no process type `{wanted}`; it has: {available}")]
    UnknownProcess { wanted: String, available: String },
    #[error("formation: {message}\nGive types and counts like `slipway local web=2,worker_general=1`, or none for one of each.")]
    Formation { message: String },
    #[error("the image has no default process; name one of: {available}")]
    NoDefaultProcess { available: String },
    #[error("{dir} does not hold the official CNB lifecycle: {why}\nPass the directory with `lifecycle`, its phase links (detector, builder, ...) and `launcher`: scripts/official-cnb-tools builds them and prints LIFECYCLE_DIR.")]
    NoOfficialLifecycle { dir: PathBuf, why: String },
    #[error("the official lifecycle's {phase} failed with exit code {code}; its output is above\n(exit codes: https://github.com/buildpacks/spec/blob/main/platform.md#platform-api-compatibility; 20 = no buildpack group passed detection)")]
    OfficialPhase { phase: String, code: i32 },
    #[error("no buildpack for {id}@{version}: it is referenced by the order but not among the buildpacks given (known: {known})\nPass its directory with --buildpack, or --map {id}=DIR (e.g. a contract double or an unpacked .cnb).")]
    UnresolvedReference {
        id: String,
        version: String,
        known: String,
    },
    #[error("--out {out}: refusing to build there: {why}\nChoose a new or empty directory outside the app (default: .slipway/image), or one an earlier `slipway build` made.")]
    BadOutDir { out: PathBuf, why: String },
    #[error("order: {0}")]
    Order(String),
    #[error("no buildpacks: pass --buildpack DIR (repeatable), or give the app a project.toml [[io.buildpacks.group]]")]
    NoBuildpacks,
    #[error("stopped by signal {signal}: the buildpack's processes were stopped (SIGTERM, then SIGKILL after {grace_s}s) and the previous image is unchanged")]
    Interrupted { signal: i32, grace_s: u64 },
    #[error("could not start `{program}`: {source}")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },
}

pub(crate) type Result<T> = std::result::Result<T, LifecycleError>;

pub(crate) trait IoContext<T> {
    fn at(self, path: impl Into<PathBuf>) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn at(self, path: impl Into<PathBuf>) -> Result<T> {
        self.map_err(|source| LifecycleError::Io {
            path: path.into(),
            source,
        })
    }
}

impl From<buildkit::fs::FsError> for LifecycleError {
    fn from(e: buildkit::fs::FsError) -> Self {
        LifecycleError::Io {
            path: e.path,
            source: e.source,
        }
    }
}
