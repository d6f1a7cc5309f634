//! The release plan: what runs on every release, in order.
//!
//! 1. `[[com.heroku.phase.release]]` entries of `project.toml` (`command`,
//!    `args`): heroku/buildpacks-release-phase's format, so apps switch unchanged;
//! 2. commands other buildpacks asked for through the build plan
//!    (`requires "release-phase"`), stored at build time in the file named by
//!    `$SLIPWAY_RELEASE_COMMANDS`;
//! 3. the migration: `[_.metadata.slipway.release] migrate`, or, when nothing
//!    is configured, auto-detected (Django `manage.py`, Rails `bin/rails`).
//!
//! The formats are specified in `SPEC.md` beside this crate.

use crate::error::ReleaseError;
use slipway_data::CommandsFile;
use slipway_data::TomlError;
pub(crate) use slipway_data::{CommandEntry, COMMANDS_ENV};
use slipway_data::{Migrate, Project, ReadError};
use std::fmt;
use std::path::Path;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StepSource {
    /// `[[com.heroku.phase.release]]` entry number (1-based).
    ProjectToml(usize),
    /// A buildpack's build-plan requirement.
    BuildPlan(String),
    /// The migration, configured or detected.
    Migration(&'static str),
}

impl fmt::Display for StepSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StepSource::ProjectToml(n) => {
                write!(f, "project.toml [[com.heroku.phase.release]] #{n}")
            }
            StepSource::BuildPlan(bp) => write!(f, "requested by {bp}"),
            StepSource::Migration(why) => write!(f, "{why}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub(crate) argv: Vec<String>,
    pub(crate) source: StepSource,
}

impl Step {
    pub(crate) fn display(&self) -> String {
        match self.argv.as_slice() {
            [bash, c, script] if bash == "bash" && c == "-c" => script.clone(),
            argv => argv.join(" "),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Settings {
    /// Advisory lock name (hashed to the key); app name by default.
    pub(crate) lock_name: String,
    pub(crate) lock_timeout: Duration,
    pub(crate) step_timeout: Duration,
    pub(crate) database_wait: Duration,
    /// Between SIGTERM and SIGKILL when a step is stopped.
    pub(crate) grace: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub(crate) steps: Vec<Step>,
    /// `skip-when`: (config var, value) pairs; the release phase is skipped
    /// when every one matches.
    pub(crate) skip_when: Vec<(String, String)>,
    pub(crate) settings: Settings,
    /// Warnings found while loading (printed by `run` and `check`).
    pub warnings: Vec<String>,
}

/// The platform's release-phase limit: one hour, not extendable.
pub(crate) const PLATFORM_LIMIT: Duration = Duration::from_hours(1);

fn toml_error(e: &TomlError) -> ReleaseError {
    ReleaseError::Config {
        location: e.location(),
        message: e.message.clone(),
        help: "fix the value; the tables are described in crates/release-phase/SPEC.md".to_string(),
    }
}

/// Load the plan for the app in `app_dir`. `env` gives `HEROKU_APP_NAME` and
/// `SLIPWAY_RELEASE_COMMANDS`.
pub fn load(app_dir: &Path, env: &dyn Fn(&str) -> Option<String>) -> Result<Plan, ReleaseError> {
    if !app_dir.is_dir() {
        return Err(ReleaseError::Config {
            location: app_dir.display().to_string(),
            message: "not a directory".into(),
            help: "give the app's directory with --app-dir (default: the current directory)".into(),
        });
    }
    let project = match Project::read(app_dir) {
        Ok(p) => p.unwrap_or_default(),
        Err(ReadError::Toml(e)) => return Err(toml_error(&e)),
        Err(ReadError::AppFile(e)) => {
            return Err(ReleaseError::Io {
                what: "project.toml".into(),
                source: std::io::Error::other(e.to_string()),
            })
        }
    };
    let table = project
        .release()
        .map_err(|e| toml_error(&e))?
        .unwrap_or_default();
    let release_commands = project.release_commands().map_err(|e| toml_error(&e))?;
    let mut steps = Vec::new();
    let mut warnings = Vec::new();

    for (i, entry) in release_commands.iter().enumerate() {
        steps.push(step_from(
            entry,
            StepSource::ProjectToml(i + 1),
            "project.toml",
        )?);
    }
    if let Some(file) = env(COMMANDS_ENV).filter(|f| !f.is_empty()) {
        let text = std::fs::read_to_string(&file).map_err(|e| ReleaseError::Io {
            what: file.clone(),
            source: e,
        })?;
        let commands: CommandsFile =
            slipway_data::from_str(&file, &text).map_err(|e| toml_error(&e))?;
        for entry in &commands.release {
            let source = StepSource::BuildPlan(
                entry
                    .source
                    .clone()
                    .unwrap_or_else(|| "a buildpack".to_string()),
            );
            steps.push(step_from(entry, source, &file)?);
        }
    }
    let user_steps = !release_commands.is_empty();
    match &table.migrate {
        Some(Migrate::Enabled(false)) => {}
        Some(Migrate::Command(cmd)) if cmd.trim().is_empty() => {
            return Err(ReleaseError::Config {
                location: "project.toml [_.metadata.slipway.release]".into(),
                message: "`migrate` is an empty command".into(),
                help: "set `migrate = \"<command>\"`, `migrate = false` to run none, or remove it to auto-detect".into(),
            });
        }
        Some(Migrate::Command(cmd)) => steps.push(Step {
            argv: vec!["bash".into(), "-c".into(), cmd.clone()],
            source: StepSource::Migration("migration from project.toml"),
        }),
        Some(Migrate::Enabled(true)) | None => {
            let explicit = matches!(table.migrate, Some(Migrate::Enabled(true)));
            if !user_steps || explicit {
                if let Some(step) = detect_migration(app_dir) {
                    steps.push(step);
                } else if explicit {
                    warnings.push("`migrate = true` but no Django manage.py or Rails bin/rails was found: no migration runs".to_string());
                }
            }
        }
    }

    // No program can be given a NUL: refused here, by `check` too, not at exec.
    if let Some(step) = steps
        .iter()
        .find(|s| s.argv.iter().any(|a| a.contains('\0')))
    {
        return Err(ReleaseError::Config {
            location: step.source.to_string(),
            message: "the command has a NUL byte (\\0 or \\u0000), which no program can be given"
                .into(),
            help: "remove it: a NUL ends an argument in every exec".into(),
        });
    }
    let secs = |v: Option<u64>, default: u64| Duration::from_secs(v.unwrap_or(default));
    let settings = Settings {
        lock_name: table
            .lock_key
            .clone()
            .or_else(|| env("HEROKU_APP_NAME").filter(|s| !s.is_empty()))
            .or(project.id().map_err(|e| toml_error(&e))?)
            .unwrap_or_else(|| "default".to_string()),
        lock_timeout: secs(table.lock_timeout, 600),
        step_timeout: secs(table.step_timeout, 55 * 60),
        database_wait: secs(table.database_wait, 60),
        grace: secs(table.grace, 25),
    };
    if settings.step_timeout.is_zero() {
        return Err(ReleaseError::Config {
            location: "project.toml [_.metadata.slipway.release]".into(),
            message: "`step-timeout = 0` would stop every step at once".into(),
            help: "give the step time in seconds (default 3300, 55 minutes)".into(),
        });
    }
    if settings.step_timeout >= PLATFORM_LIMIT {
        warnings.push(format!(
            "step-timeout = {}s is not below the platform's 1-hour release limit: the platform will kill the release before release-phase can stop it cleanly",
            settings.step_timeout.as_secs()
        ));
    }
    let skip_when = skip_conditions(&table)?;
    Ok(Plan {
        steps,
        skip_when,
        settings,
        warnings,
    })
}

/// `skip-when`'s (config var, value) pairs, names checked.
fn skip_conditions(
    table: &slipway_data::ReleaseTable,
) -> Result<Vec<(String, String)>, ReleaseError> {
    let skip_when: Vec<(String, String)> = table
        .skip_when
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.to_string()))
        .collect();
    if let Some((name, _)) = skip_when
        .iter()
        .find(|(k, _)| k.is_empty() || k.contains(['=', '\0']))
    {
        return Err(ReleaseError::Config {
            location: "project.toml [_.metadata.slipway.release] skip-when".into(),
            message: format!("{name:?} is not a config var name"),
            help: "write `skip-when = { ANYCABLE_DEPLOYMENT = \"true\" }`".into(),
        });
    }
    Ok(skip_when)
}

/// Why the release phase is skipped in this environment (`skip-when`: every
/// listed config var has its value), or None when it runs.
pub(crate) fn skipped_by(plan: &Plan, env: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    if plan.skip_when.is_empty() {
        return None;
    }
    plan.skip_when
        .iter()
        .all(|(k, v)| env(k).as_deref() == Some(v.as_str()))
        .then(|| {
            plan.skip_when
                .iter()
                .map(|(k, v)| format!("{k} is {v:?}"))
                .collect::<Vec<_>>()
                .join(" and ")
        })
}

fn step_from(entry: &CommandEntry, source: StepSource, file: &str) -> Result<Step, ReleaseError> {
    if entry.command.trim().is_empty() {
        return Err(ReleaseError::Config {
            location: format!("{file} ({source})"),
            message: "a release command has an empty `command`".into(),
            help: "set `command` to the program to run, e.g. command = \"bash\", args = [\"-c\", \"./release.sh\"]".into(),
        });
    }
    let mut argv = vec![entry.command.clone()];
    argv.extend(entry.args.iter().cloned());
    Ok(Step { argv, source })
}

/// Django (`manage.py` in the app root) or Rails (`bin/rails`).
pub fn detect_migration(app_dir: &Path) -> Option<Step> {
    if app_dir.join("manage.py").is_file() {
        return Some(Step {
            argv: vec![
                "python".into(),
                "manage.py".into(),
                "migrate".into(),
                "--noinput".into(),
            ],
            source: StepSource::Migration("auto-detected Django (manage.py)"),
        });
    }
    if app_dir.join("bin/rails").is_file() {
        return Some(Step {
            argv: vec!["bin/rails".into(), "db:migrate".into()],
            source: StepSource::Migration("auto-detected Rails (bin/rails)"),
        });
    }
    None
}

/// The plan as lines of text (used by `check`, `run` and the buildpack).
pub fn describe(plan: &Plan) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    if plan.steps.is_empty() {
        out.push_str("(no steps: nothing to run on release)\n");
    }
    for (i, step) in plan.steps.iter().enumerate() {
        let _ = writeln!(out, "{}. {}  ({})", i + 1, step.display(), step.source);
    }
    if !plan.skip_when.is_empty() {
        let _ = writeln!(
            out,
            "skipped when {} (skip-when)",
            plan.skip_when
                .iter()
                .map(|(k, v)| format!("{k} = {v:?}"))
                .collect::<Vec<_>>()
                .join(" and ")
        );
    }
    let s = &plan.settings;
    let _ = writeln!(
        out,
        "lock \"{}\" (wait up to {}s), step timeout {}s, database wait {}s, grace {}s",
        s.lock_name,
        s.lock_timeout.as_secs(),
        s.step_timeout.as_secs(),
        s.database_wait.as_secs(),
        s.grace.as_secs()
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(files: &[(&str, &str)]) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        for (n, t) in files {
            let p = d.path().join(n);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, t).unwrap();
        }
        d
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn a_django_app_with_nothing_configured_migrates() {
        let d = app(&[("manage.py", "")]);
        let plan = load(d.path(), &no_env).unwrap();
        assert_eq!(plan.steps.len(), 1);
        assert_eq!(
            plan.steps[0].argv,
            ["python", "manage.py", "migrate", "--noinput"]
        );
        assert_eq!(plan.settings.step_timeout, Duration::from_mins(55));
        assert_eq!(plan.settings.lock_name, "default");
    }

    #[test]
    fn heroku_release_phase_entries_replace_auto_detection_and_run_in_order() {
        let d = app(&[
            ("manage.py", ""),
            ("project.toml", "[[com.heroku.phase.release]]\ncommand = \"bash\"\nargs = [\"-c\", \"./a.sh\"]\n[[com.heroku.phase.release]]\ncommand = \"python\"\nargs = [\"manage.py\", \"migrate\"]\n"),
        ]);
        let plan = load(d.path(), &no_env).unwrap();
        let shown: Vec<_> = plan.steps.iter().map(Step::display).collect();
        assert_eq!(shown, ["./a.sh", "python manage.py migrate"]);
    }

    #[test]
    fn build_plan_commands_come_after_project_toml_and_before_the_migration() {
        let d = app(&[
            ("bin/rails", ""),
            (
                "cmds.toml",
                "[[release]]\ncommand = \"deploy-assets\"\nsource = \"slipway/static-assets\"\n",
            ),
        ]);
        let file = d.path().join("cmds.toml").display().to_string();
        let plan = load(d.path(), &|k| (k == COMMANDS_ENV).then(|| file.clone())).unwrap();
        assert_eq!(plan.steps[0].argv, ["deploy-assets"]);
        assert_eq!(
            plan.steps[0].source.to_string(),
            "requested by slipway/static-assets"
        );
        assert_eq!(plan.steps[1].argv, ["bin/rails", "db:migrate"]);
    }

    #[test]
    fn slipway_settings_configure_migration_lock_and_timeouts() {
        let d = app(&[
            ("manage.py", ""),
            ("project.toml", "[_]\nid = \"refapp\"\n[_.metadata.slipway.release]\nmigrate = \"python manage.py migrate --noinput --database primary\"\nstep-timeout = 600\nlock-timeout = 30\n"),
        ]);
        let plan = load(d.path(), &no_env).unwrap();
        assert_eq!(
            plan.steps[0].display(),
            "python manage.py migrate --noinput --database primary"
        );
        assert_eq!(plan.settings.lock_name, "refapp");
        assert_eq!(plan.settings.step_timeout, Duration::from_mins(10));
        let plan = load(d.path(), &|k| {
            (k == "HEROKU_APP_NAME").then(|| "my-app".to_string())
        })
        .unwrap();
        assert_eq!(
            plan.settings.lock_name, "my-app",
            "the app name (dyno metadata) comes before the project id"
        );
    }

    #[test]
    fn migrate_false_runs_no_migration_and_the_app_name_names_the_lock() {
        let d = app(&[
            ("manage.py", ""),
            (
                "project.toml",
                "[_.metadata.slipway.release]\nmigrate = false\n",
            ),
        ]);
        let plan = load(d.path(), &|k| {
            (k == "HEROKU_APP_NAME").then(|| "my-app".to_string())
        })
        .unwrap();
        assert!(plan.steps.is_empty());
        assert_eq!(plan.settings.lock_name, "my-app");
    }

    #[test]
    fn config_errors_name_the_file_and_line() {
        let d = app(&[(
            "project.toml",
            "[_.metadata.slipway.release]\nmigrate = true\nstep-timeot = 5\n",
        )]);
        let e = load(d.path(), &no_env).unwrap_err().to_string();
        assert!(
            e.contains("project.toml:3") && e.contains("unknown field `step-timeot`"),
            "{e}"
        );
        let d = app(&[(
            "project.toml",
            "[[com.heroku.phase.release]]\ncommand = \"\"\n",
        )]);
        assert!(load(d.path(), &no_env)
            .unwrap_err()
            .to_string()
            .contains("empty `command`"));
        let d = app(&[
            (
                "project.toml",
                "[_.metadata.slipway.release]\nstep-timeout = 4000\n",
            ),
            ("manage.py", ""),
        ]);
        assert!(load(d.path(), &no_env).unwrap().warnings[0].contains("1-hour release limit"));
    }
}
