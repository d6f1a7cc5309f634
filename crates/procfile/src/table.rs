//! The process table of an app: Procfile (or heroku.yml `run:`), the
//! reference layout when declared, formation rules and Celery facts.

use crate::celery::{self, Celery};
use crate::formation::{is_known_size, Formation, FormationOrigin};
use crate::name::is_scheduler_type;
use crate::project::{self, SlipwayTables};
use crate::reference::REFERENCE;
use crate::Diagnostic;
use crate::{parse, HerokuYml, ProcfileError};
use serde::{Deserialize, Serialize};
use slipway_data::{FormationTable, Project};
use std::path::Path;

/// Where a process type's command came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Origin {
    Procfile {
        line: usize,
    },
    HerokuYml,
    /// Generated from `[_.metadata.slipway.celery]` (the reference layout).
    Reference,
}

impl Origin {
    pub fn describe(&self) -> String {
        match self {
            Origin::Procfile { line } => format!("Procfile:{line}"),
            Origin::HerokuYml => "heroku.yml".to_string(),
            Origin::Reference => "generated".to_string(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Process {
    /// Exactly as written: `worker_high_memory` keeps its underscores.
    pub name: String,
    pub command: String,
    pub origin: Origin,
    pub formation: Formation,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub celery: Option<Celery>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessTable {
    #[serde(rename = "processes")]
    pub processes: Vec<Process>,
}

impl ProcessTable {
    pub fn get(&self, name: &str) -> Option<&Process> {
        self.processes.iter().find(|p| p.name == name)
    }

    pub fn is_empty(&self) -> bool {
        self.processes.is_empty()
    }

    /// The default process: `web` when there is one, else the only type when there is
    /// exactly one (the heroku/procfile CNB's rule). `release` never is.
    pub fn default_process(&self) -> Option<&str> {
        if self.get("web").is_some() {
            return Some("web");
        }
        match self.processes.as_slice() {
            [only] if only.name != "release" => Some(&only.name),
            _ => None,
        }
    }
}

/// A loaded table plus the warnings worth printing.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    pub table: ProcessTable,
    pub warnings: Vec<Diagnostic>,
    /// Files the table was read from, for the build output.
    pub sources: Vec<String>,
}

/// What in an app dir could define processes (used by detect).
pub fn has_process_sources(app_dir: &Path) -> bool {
    // An unreadable or refused file passes: the build then reports it.
    let read = |name| app_files::read_to_string(app_dir, name);
    if !matches!(app_files::read(app_dir, "Procfile"), Ok(None)) {
        return true;
    }
    match read("heroku.yml") {
        Ok(Some(text)) if !HerokuYml::parse("heroku.yml", &text).run.is_empty() => return true,
        Err(_) => return true,
        _ => {}
    }
    match Project::read(app_dir) {
        Ok(Some(p)) => p.celery().is_ok_and(|c| c.is_some()),
        Ok(None) => false,
        Err(_) => true,
    }
}

/// The command the app itself declares for `name` (its Procfile, else
/// heroku.yml's `run:` or `release:`, as [`load`] reads them), with where:
/// what the buildpacks that add `release` and `autoscale` ask before adding
/// them, so a heroku.yml-only app is treated as a Procfile app. Types the
/// reference layout generates are not declared. When the table does not
/// load (its build reports why), the Procfile's readable lines still count:
/// a buildpack used without process-table must not override them. Read once
/// per build ([`declared`]), asked per type ([`Declared::command`]).
#[derive(Debug, Clone, Default)]
pub struct Declared(Vec<(String, String, Origin)>);

impl Declared {
    /// The command the app declares for `name`, with where.
    pub fn command(&self, name: &str) -> Option<(&str, &Origin)> {
        self.0
            .iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, c, o)| (c.as_str(), o))
    }
}

/// The app's own process types (see [`Declared`]).
pub fn declared(app_dir: &Path) -> Declared {
    if let Ok(loaded) = load(app_dir) {
        return Declared(
            loaded
                .table
                .processes
                .into_iter()
                .filter(|p| !matches!(p.origin, Origin::Reference))
                .map(|p| (p.name, p.command, p.origin))
                .collect(),
        );
    }
    let Ok(Some(bytes)) = app_files::read(app_dir, "Procfile") else {
        return Declared::default();
    };
    Declared(
        parse::parse("Procfile", &bytes)
            .entries
            .into_iter()
            .map(|e| (e.name, e.command, Origin::Procfile { line: e.line }))
            .collect(),
    )
}

fn read(app_dir: &Path, name: &str) -> Result<Option<Vec<u8>>, ProcfileError> {
    app_files::read(app_dir, name).map_err(ProcfileError::AppFile)
}

/// Load the process table of the app in `app_dir`.
pub fn load(app_dir: &Path) -> Result<Loaded, ProcfileError> {
    let mut loaded = Loaded::default();
    let mut errors = Vec::new();

    // project.toml through its one entry point (a link out of the app is refused there).
    let project = match Project::read(app_dir) {
        Ok(p) => p,
        Err(slipway_data::ReadError::AppFile(e)) => return Err(ProcfileError::AppFile(e)),
        Err(slipway_data::ReadError::Toml(e)) => {
            loaded.sources.push(slipway_data::PROJECT_FILE.into());
            errors.push(Diagnostic::from_toml(&e));
            None
        }
    };
    let project_text = project.as_ref().map(|p| p.text().to_string());
    let tables = match &project {
        Some(p) => {
            loaded.sources.push(slipway_data::PROJECT_FILE.into());
            project::parse(p).unwrap_or_else(|d| {
                errors.push(d);
                SlipwayTables::default()
            })
        }
        None => SlipwayTables::default(),
    };

    let procfile = read(app_dir, "Procfile")?.map(|bytes| parse::parse("Procfile", &bytes));
    let yml = read(app_dir, "heroku.yml")?
        .map(|bytes| HerokuYml::parse("heroku.yml", &String::from_utf8_lossy(&bytes)));

    let mut processes: Vec<Process> = Vec::new();
    if let Some(celery_config) = &tables.celery {
        let wsgi = celery_config.wsgi();
        for r in REFERENCE {
            let command = r.command(&celery_config.app, &wsgi);
            processes.push(Process {
                name: r.name.to_string(),
                celery: celery::analyze(&command),
                command,
                origin: Origin::Reference,
                formation: r.formation(),
            });
        }
    }

    let explicit = explicit_lines(procfile.as_ref(), yml.as_ref(), &mut loaded, &mut errors);

    // Each type's position: found in O(1) (a Procfile of 100,000 types loads in linear time).
    let mut position: std::collections::HashMap<String, usize> = processes
        .iter()
        .enumerate()
        .map(|(i, p)| (p.name.clone(), i))
        .collect();
    for (name, command, origin) in explicit {
        if crate::name::check_name(&name).is_err() {
            errors.push(
                Diagnostic::error(
                    "heroku.yml",
                    0,
                    "",
                    format!(
                        "process type `{name}` in heroku.yml `run:` is not a valid process type"
                    ),
                )
                .help("process types may use only letters, digits, `.`, `_` and `-`"),
            );
            continue;
        }
        let process = Process {
            formation: Formation::platform_default(&name),
            celery: celery::analyze(&command),
            name,
            command,
            origin,
        };
        // An explicit line wins over the generated one, but keeps the reference formation.
        if let Some(&i) = position.get(&process.name) {
            let existing = &mut processes[i];
            existing.command = process.command;
            existing.origin = process.origin;
            existing.celery = process.celery;
        } else {
            position.insert(process.name.clone(), processes.len());
            processes.push(process);
        }
    }

    for p in &mut processes {
        apply_scheduler_rule(p);
    }
    apply_formation_tables(
        &tables,
        project_text.as_deref().unwrap_or(""),
        &mut processes,
        &mut loaded,
        &mut errors,
    );

    if !errors.is_empty() {
        errors.extend(loaded.warnings);
        return Err(ProcfileError::Invalid {
            diagnostics: errors,
        });
    }
    loaded.table = ProcessTable { processes };
    Ok(loaded)
}

/// The Procfile's lines (heroku.yml's `run:` when there is no Procfile; a
/// disagreement between the two is a warning), with where each came from.
fn explicit_lines(
    procfile: Option<&parse::Parsed>,
    yml: Option<&HerokuYml>,
    loaded: &mut Loaded,
    errors: &mut Vec<Diagnostic>,
) -> Vec<(String, String, Origin)> {
    match (procfile, yml) {
        (Some(p), yml) => {
            loaded.sources.push("Procfile".into());
            split_diagnostics(&p.diagnostics, errors, &mut loaded.warnings);
            if let Some(y) = yml
                .as_ref()
                .filter(|y| !y.run.is_empty() && y.diagnostics.is_empty())
            {
                if let Some(w) = disagreement(p, y) {
                    loaded.warnings.push(w);
                }
            }
            p.entries
                .iter()
                .map(|e| {
                    (
                        e.name.clone(),
                        e.command.clone(),
                        Origin::Procfile { line: e.line },
                    )
                })
                .collect()
        }
        (None, Some(y)) => {
            if !y.run.is_empty() || !y.diagnostics.is_empty() {
                loaded.sources.push("heroku.yml".into());
            }
            split_diagnostics(&y.diagnostics, errors, &mut loaded.warnings);
            let mut v: Vec<_> = y
                .run
                .iter()
                .map(|(n, c)| (n.clone(), c.clone(), Origin::HerokuYml))
                .collect();
            if let Some(release) = &y.release {
                if !y.run.iter().any(|(n, _)| n == "release") {
                    v.push(("release".to_string(), release.clone(), Origin::HerokuYml));
                }
            }
            v
        }
        (None, None) => Vec::new(),
    }
}

/// `[_.metadata.slipway.formation.<type>]` tables onto the types they name;
/// their diagnostics point at the table's line.
fn apply_formation_tables(
    tables: &SlipwayTables,
    project_text: &str,
    processes: &mut [Process],
    loaded: &mut Loaded,
    errors: &mut Vec<Diagnostic>,
) {
    for (name, config) in &tables.formation {
        match processes.iter_mut().find(|p| &p.name == name) {
            Some(p) => {
                let (mut found, mut found_warnings) = (Vec::new(), Vec::new());
                apply_config(p, config, &mut found, &mut found_warnings);
                found.append(&mut found_warnings);
                let (line, src) = table_line(project_text, name);
                for d in &mut found {
                    d.line = line;
                    d.source_line = src.to_string();
                }
                let (errs, warns): (Vec<_>, Vec<_>) = found.into_iter().partition(Diagnostic::is_error);
                errors.extend(errs);
                loaded.warnings.extend(warns);
            }
            None => loaded.warnings.push(
                Diagnostic::warning("project.toml", table_line(project_text, name).0, table_line(project_text, name).1, format!("`[_.metadata.slipway.formation.{name}]` names a process type that does not exist"))
                    .help(format!("the process types are: {}; fix the name or remove the table", names(processes))),
            ),
        }
    }
}

/// The line of `[_.metadata.slipway.formation.<name>]` (or the dotted-key form) in project.toml.
fn table_line<'a>(text: &'a str, name: &str) -> (usize, &'a str) {
    let needle = format!("formation.{name}");
    text.lines()
        .enumerate()
        .find(|(_, l)| l.contains(&needle))
        .map_or((0, ""), |(i, l)| (i + 1, l))
}

fn names(processes: &[Process]) -> String {
    processes
        .iter()
        .map(|p| p.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn split_diagnostics(
    all: &[Diagnostic],
    errors: &mut Vec<Diagnostic>,
    warnings: &mut Vec<Diagnostic>,
) {
    for d in all {
        if d.is_error() {
            errors.push(d.clone());
        } else {
            warnings.push(d.clone());
        }
    }
}

/// beat/clock types and workers started with `-B` are singletons unless the user says otherwise.
fn apply_scheduler_rule(p: &mut Process) {
    if p.formation.singleton {
        return;
    }
    let scheduler = is_scheduler_type(&p.name) || p.celery.as_ref().is_some_and(Celery::schedules);
    if scheduler {
        let why = if is_scheduler_type(&p.name) {
            "a scheduler: two would run every scheduled job twice"
        } else {
            "runs Celery beat (-B): two would run every scheduled job twice"
        };
        p.formation = p.formation.clone().singleton(why);
    }
}

fn apply_config(
    p: &mut Process,
    c: &FormationTable,
    errors: &mut Vec<Diagnostic>,
    warnings: &mut Vec<Diagnostic>,
) {
    let table = format!("[_.metadata.slipway.formation.{}]", p.name);
    let f = &mut p.formation;
    f.origin = FormationOrigin::ProjectToml;
    if let Some(size) = &c.size {
        if !is_known_size(size) {
            warnings.push(
                Diagnostic::warning(
                    "project.toml",
                    0,
                    "",
                    format!("{table} size `{size}` is not a dyno size Slipway knows"),
                )
                .help(format!(
                    "known sizes: {}; the platform will refuse an unknown size when scaling",
                    crate::formation::KNOWN_SIZES.join(", ")
                )),
            );
        }
        f.size = size.to_ascii_lowercase();
    }
    match c.singleton {
        Some(false) if f.singleton => {
            warnings.push(
                Diagnostic::warning("project.toml", 0, "", format!("{table} sets singleton = false on a scheduler type"))
                    .help("every extra dyno of this type runs each scheduled job again; keep singleton unless its jobs are idempotent"),
            );
            f.singleton = false;
            f.max = None;
        }
        Some(true) if !f.singleton => {
            *f = f.clone().singleton("declared singleton in project.toml");
        }
        _ => {}
    }
    if f.singleton {
        if c.min.is_some_and(|m| m != 1)
            || c.max.is_some_and(|m| m != 1)
            || c.quantity.is_some_and(|q| q != 1)
        {
            errors.push(
                Diagnostic::error("project.toml", 0, "", format!("{table} asks for other than exactly one dyno of singleton type `{}`", p.name))
                    .help("a singleton runs as exactly one dyno; remove min/max/quantity, or set `singleton = false` if running several is safe"),
            );
        }
        return;
    }
    if let Some(min) = c.min {
        f.min = min;
    }
    if let Some(max) = c.max {
        f.max = Some(max);
    }
    f.quantity = c.quantity.unwrap_or(f.min);
    if let Some(max) = f.max {
        if f.min > max {
            errors.push(
                Diagnostic::error(
                    "project.toml",
                    0,
                    "",
                    format!("{table} has min = {} above max = {max}", f.min),
                )
                .help("make min less than or equal to max"),
            );
        } else {
            f.quantity = f.quantity.clamp(f.min, max);
        }
    }
}

fn disagreement(p: &parse::Parsed, y: &HerokuYml) -> Option<Diagnostic> {
    let mut differences = Vec::new();
    for e in &p.entries {
        // heroku.yml keeps `release` in `release:`, not `run:`.
        let theirs = y
            .run
            .iter()
            .find(|(n, _)| *n == e.name)
            .map(|(_, c)| c)
            .or(y.release.as_ref().filter(|_| e.name == "release"));
        match theirs {
            None => differences.push(format!("`{}` is only in Procfile", e.name)),
            // `bash -c '<line>'` is how heroku.yml runs a bash line as written.
            Some(c) if *c != e.command && *c != crate::shell::for_container_stack(&e.command) => {
                differences.push(format!(
                    "`{}` differs: Procfile `{}`, heroku.yml `{c}`",
                    e.name, e.command
                ));
            }
            _ => {}
        }
    }
    for (n, _) in &y.run {
        if !p.entries.iter().any(|e| e.name == *n) {
            differences.push(format!("`{n}` is only in heroku.yml"));
        }
    }
    if differences.is_empty() {
        return None;
    }
    Some(
        Diagnostic::warning("heroku.yml", 0, "", format!("Procfile and heroku.yml `run:` disagree: {}", differences.join("; ")))
            .help("buildpack builds use the Procfile, Docker (heroku.yml) builds use `run:`; make them the same so both deploys run the same processes"),
    )
}
