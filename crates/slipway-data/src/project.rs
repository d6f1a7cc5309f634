//! The app's `project.toml` (the CNB project descriptor), as far as Slipway
//! reads it. Each accessor reads one table and nothing else, so a mistake in
//! one table fails only its owner; all of them report a TOML error (syntax,
//! a misspelt key, a wrong type) at its line. Absent tables are defaults.
//!
//! | table | accessor | owner (its SPEC) |
//! |---|---|---|
//! | `[_] id` | [`Project::id`] | release-phase (the lock's name) |
//! | `[io.buildpacks] exclude` | [`Project::exclude`] | slug |
//! | `[[io.buildpacks.group]]` | [`Project::group`] | local-lifecycle |
//! | `[[com.heroku.phase.release]]` | [`Project::release_commands`] | release-phase |
//! | `[_.metadata.slipway.celery]` | [`Project::celery`] | procfile |
//! | `[_.metadata.slipway.formation.<type>]` | [`Project::formation`] | procfile |
//! | `[_.metadata.slipway.release]` | [`Project::release`] | release-phase |
//! | `[_.metadata.slipway.autoscale]` | [`Project::autoscale`] | autoscale-worker |
//! | `[_.metadata.slipway.slug]` | [`Project::slug`] | slug |
//! | `[_.metadata.slipway.assets]` | [`Project::assets`] | static-assets |

use crate::error::{from_str, TomlError};
use crate::release::CommandEntry;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// The file's name in the app.
pub const PROJECT_FILE: &str = "project.toml";

/// A project.toml's text, read table by table.
#[derive(Debug, Clone)]
pub struct Project {
    file: String,
    text: String,
}

/// Reading the app's project.toml failed.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Refused (a link out of the app, not a file) or unreadable.
    #[error(transparent)]
    AppFile(#[from] app_files::AppFileError),
    #[error(transparent)]
    Toml(#[from] TomlError),
}

/// An empty descriptor: what an app without a project.toml declares.
impl Default for Project {
    fn default() -> Self {
        Self {
            file: PROJECT_FILE.to_string(),
            text: String::new(),
        }
    }
}

impl Project {
    /// The app's project.toml, read safely (never through a link out of the
    /// app); `None` when there is none. A TOML syntax error is reported here.
    pub fn read(app_dir: &Path) -> Result<Option<Self>, ReadError> {
        match app_files::read_to_string(app_dir, PROJECT_FILE)? {
            Some(text) => Ok(Some(Self::parse(PROJECT_FILE, &text)?)),
            None => Ok(None),
        }
    }

    /// `text` read from `file` (named in errors). Checks the TOML syntax.
    pub fn parse(file: &str, text: &str) -> Result<Self, TomlError> {
        from_str::<serde::de::IgnoredAny>(file, text)?;
        Ok(Self {
            file: file.to_string(),
            text: text.to_string(),
        })
    }

    pub fn file(&self) -> &str {
        &self.file
    }

    /// The file's text, for pointing at a line in a diagnostic.
    pub fn text(&self) -> &str {
        &self.text
    }

    fn view<T: DeserializeOwned>(&self) -> Result<T, TomlError> {
        from_str(&self.file, &self.text)
    }

    fn slipway<T: DeserializeOwned + Default>(&self) -> Result<T, TomlError> {
        self.view::<Underscore<T>>()
            .map(|d| d.underscore.metadata.slipway)
    }

    /// `[_] id`.
    pub fn id(&self) -> Result<Option<String>, TomlError> {
        #[derive(Deserialize, Default)]
        struct Id {
            id: Option<String>,
        }
        #[derive(Deserialize)]
        struct D {
            #[serde(rename = "_", default)]
            underscore: Id,
        }
        self.view::<D>().map(|d| d.underscore.id)
    }

    /// `[io.buildpacks] exclude`: gitignore-style patterns.
    pub fn exclude(&self) -> Result<Vec<String>, TomlError> {
        self.io_buildpacks().map(|b| b.exclude)
    }

    /// `[[io.buildpacks.group]]`.
    pub fn group(&self) -> Result<Vec<GroupEntry>, TomlError> {
        self.io_buildpacks().map(|b| b.group)
    }

    fn io_buildpacks(&self) -> Result<IoBuildpacks, TomlError> {
        #[derive(Deserialize, Default)]
        struct Io {
            #[serde(default)]
            buildpacks: IoBuildpacks,
        }
        #[derive(Deserialize)]
        struct D {
            #[serde(default)]
            io: Io,
        }
        self.view::<D>().map(|d| d.io.buildpacks)
    }

    /// `[[com.heroku.phase.release]]`, in order.
    pub fn release_commands(&self) -> Result<Vec<CommandEntry>, TomlError> {
        #[derive(Deserialize, Default)]
        struct Phase {
            #[serde(default)]
            release: Vec<CommandEntry>,
        }
        #[derive(Deserialize, Default)]
        struct Heroku {
            #[serde(default)]
            phase: Phase,
        }
        #[derive(Deserialize, Default)]
        struct Com {
            #[serde(default)]
            heroku: Heroku,
        }
        #[derive(Deserialize)]
        struct D {
            #[serde(default)]
            com: Com,
        }
        self.view::<D>().map(|d| d.com.heroku.phase.release)
    }

    /// `[_.metadata.slipway.celery]`.
    pub fn celery(&self) -> Result<Option<CeleryTable>, TomlError> {
        #[derive(Deserialize, Default)]
        struct S {
            celery: Option<CeleryTable>,
        }
        self.slipway::<S>().map(|s| s.celery)
    }

    /// `[_.metadata.slipway.formation.<type>]`, by type.
    pub fn formation(&self) -> Result<BTreeMap<String, FormationTable>, TomlError> {
        #[derive(Deserialize, Default)]
        struct S {
            #[serde(default)]
            formation: BTreeMap<String, FormationTable>,
        }
        self.slipway::<S>().map(|s| s.formation)
    }

    /// `[_.metadata.slipway.release]`, `None` when absent.
    pub fn release(&self) -> Result<Option<ReleaseTable>, TomlError> {
        #[derive(Deserialize, Default)]
        struct S {
            release: Option<ReleaseTable>,
        }
        self.slipway::<S>().map(|s| s.release)
    }

    /// `[_.metadata.slipway.autoscale]`.
    pub fn autoscale(&self) -> Result<AutoscaleTable, TomlError> {
        #[derive(Deserialize, Default)]
        struct S {
            #[serde(default)]
            autoscale: AutoscaleTable,
        }
        self.slipway::<S>().map(|s| s.autoscale)
    }

    /// `[_.metadata.slipway.slug]`.
    pub fn slug(&self) -> Result<SlugTable, TomlError> {
        #[derive(Deserialize, Default)]
        struct S {
            #[serde(default)]
            slug: SlugTable,
        }
        self.slipway::<S>().map(|s| s.slug)
    }

    /// `[_.metadata.slipway.assets]`.
    pub fn assets(&self) -> Result<AssetsTable, TomlError> {
        #[derive(Deserialize, Default)]
        struct S {
            #[serde(default)]
            assets: AssetsTable,
        }
        self.slipway::<S>().map(|s| s.assets)
    }

    /// The 1-based line where `needle` first appears (0: nowhere), for
    /// diagnostics about a table that parsed but names something wrong.
    pub fn line_of(&self, needle: &str) -> (usize, &str) {
        self.text
            .lines()
            .enumerate()
            .find(|(_, l)| l.contains(needle))
            .map_or((0, ""), |(i, l)| (i + 1, l))
    }
}

// project.toml down to `[_.metadata.slipway]`; every level may be absent,
// and tables other than the one asked for are left alone.
#[derive(Deserialize)]
struct Underscore<S: Default> {
    #[serde(rename = "_", default)]
    underscore: Metadata<S>,
}

#[derive(Deserialize, Default)]
struct Metadata<S: Default> {
    #[serde(default)]
    metadata: Slipway<S>,
}

#[derive(Deserialize, Default)]
struct Slipway<S: Default> {
    #[serde(default)]
    slipway: S,
}

#[derive(Debug, Clone, Default, Deserialize)]
struct IoBuildpacks {
    #[serde(default)]
    exclude: Vec<String>,
    #[serde(default)]
    group: Vec<GroupEntry>,
}

/// One `[[io.buildpacks.group]]` entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct GroupEntry {
    pub id: Option<String>,
    pub version: Option<String>,
    /// A local directory (relative to the app) or a URL.
    pub uri: Option<String>,
}

/// `[_.metadata.slipway.celery]`: declares a Celery app in the reference layout.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CeleryTable {
    /// The Celery app module (`celery -A <app>`).
    pub app: String,
    /// The WSGI callable for the generated `web` type; default `<app>.wsgi`.
    pub(crate) wsgi: Option<String>,
}

impl CeleryTable {
    pub fn wsgi(&self) -> String {
        self.wsgi
            .clone()
            .unwrap_or_else(|| format!("{}.wsgi", self.app))
    }
}

/// One `[_.metadata.slipway.formation.<type>]` table, as the user wrote it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormationTable {
    pub size: Option<String>,
    pub quantity: Option<u32>,
    pub min: Option<u32>,
    pub max: Option<u32>,
    pub singleton: Option<bool>,
}

/// `[_.metadata.slipway.release]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ReleaseTable {
    pub migrate: Option<Migrate>,
    pub lock_key: Option<String>,
    pub lock_timeout: Option<u64>,
    pub step_timeout: Option<u64>,
    pub database_wait: Option<u64>,
    pub grace: Option<u64>,
    /// Skip the whole release phase when every listed config var has the
    /// listed value at release time (two apps from one repository: the
    /// second sets `ANYCABLE_DEPLOYMENT=true` and migrates nothing).
    pub skip_when: Option<std::collections::BTreeMap<String, ConfigValue>>,
}

/// A config var's value as project.toml may write it: `"true"`, `true`, `1`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum ConfigValue {
    Text(String),
    Bool(bool),
    Integer(i64),
}

impl std::fmt::Display for ConfigValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Text(s) => f.write_str(s),
            Self::Bool(b) => write!(f, "{b}"),
            Self::Integer(i) => write!(f, "{i}"),
        }
    }
}

/// `migrate = true | false | "<command>"`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Migrate {
    Enabled(bool),
    Command(String),
}

/// `[_.metadata.slipway.autoscale]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct AutoscaleTable {
    /// Waiting jobs one worker dyno is expected to keep up with (default 10).
    pub jobs_per_dyno: Option<u32>,
    pub freeze_seconds: Option<u64>,
    pub scale_down_delay_seconds: Option<u64>,
    pub flap_budget_per_hour: Option<u32>,
    pub flap_budget_per_day: Option<u32>,
    pub daily_dyno_hour_cap: Option<u32>,
    /// `"capacity"` (default) or `"seed"`.
    pub web_policy: Option<String>,
    /// The max of a Celery worker type that declares none (default 5).
    pub worker_max: Option<u32>,
    /// The longest a worker type's oldest waiting job may wait before the
    /// type grows (off by default; measured on Redis brokers).
    pub max_wait_seconds: Option<u64>,
    /// A URL to POST notifications to (JSON).
    pub webhook: Option<String>,
    #[serde(default)]
    pub types: BTreeMap<String, AutoscaleTypeTable>,
}

/// `[_.metadata.slipway.autoscale.types.<type>]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct AutoscaleTypeTable {
    /// Override the queues inferred from the type's `-Q` list.
    pub queues: Option<Vec<String>>,
    pub jobs_per_dyno: Option<u32>,
    /// This type's max wait (instead of `max-wait-seconds`).
    pub max_wait_seconds: Option<u64>,
    /// This type's max (instead of its formation's or `worker-max`).
    pub max: Option<u32>,
    /// `false`: never scale this type.
    pub enabled: Option<bool>,
}

/// `[_.metadata.slipway.slug]`: sizes as written (`500M`, `1G`, bytes).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SlugTable {
    pub size_limit: Option<String>,
    pub soft_limit: Option<String>,
}

/// `[_.metadata.slipway.assets]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct AssetsTable {
    /// Build-time stand-ins for settings that demand runtime secrets.
    #[serde(default)]
    pub build_env: BTreeMap<String, String>,
    /// Globs (gitignore-style, relative to the app) of the files whose content
    /// decides whether assets are rebuilt. Default: every file of the app but
    /// node_modules, .git and Python bytecode.
    #[serde(default)]
    pub inputs: Vec<String>,
    #[serde(default)]
    pub collectstatic: Collectstatic,
}

/// When collectstatic runs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Collectstatic {
    /// During the build (the default): the slug carries the collected files.
    #[default]
    Build,
    /// On every release, through slipway/release-phase: for storages that need
    /// runtime config vars (S3 and the like).
    Release,
    /// Never.
    Off,
}

#[cfg(test)]
mod tests {
    use super::*;

    const REFAPP: &str = r#"[_]
id = "refapp"
schema-version = "0.2"

[io.buildpacks]
exclude = ["docs"]

[[io.buildpacks.group]]
uri = "buildpacks/x"

[[com.heroku.phase.release]]
command = "bash"
args = ["-c", "./a.sh"]

[_.metadata.slipway.celery]
app = "refapp"

[_.metadata.slipway.formation.worker_general]
size = "standard-2x"
max = 4

[_.metadata.slipway.release]
migrate = false
lock-timeout = 30

[_.metadata.slipway.autoscale]
worker-max = 3

[_.metadata.slipway.slug]
size-limit = "500M"

[_.metadata.slipway.assets]
collectstatic = "release"

[_.metadata.slipway.someone-elses]
anything = 1
"#;

    #[test]
    fn every_table_reads_as_its_type_and_other_tables_are_left_alone() {
        let p = Project::parse(PROJECT_FILE, REFAPP).unwrap();
        assert_eq!(p.id().unwrap().as_deref(), Some("refapp"));
        assert_eq!(p.exclude().unwrap(), ["docs"]);
        assert_eq!(p.group().unwrap()[0].uri.as_deref(), Some("buildpacks/x"));
        assert_eq!(p.release_commands().unwrap()[0].args, ["-c", "./a.sh"]);
        assert_eq!(p.celery().unwrap().unwrap().wsgi(), "refapp.wsgi");
        assert_eq!(p.formation().unwrap()["worker_general"].max, Some(4));
        let release = p.release().unwrap().unwrap();
        assert_eq!(release.migrate, Some(Migrate::Enabled(false)));
        assert_eq!(release.lock_timeout, Some(30));
        assert_eq!(p.autoscale().unwrap().worker_max, Some(3));
        assert_eq!(p.slug().unwrap().size_limit.as_deref(), Some("500M"));
        assert_eq!(p.assets().unwrap().collectstatic, Collectstatic::Release);
    }

    #[test]
    fn an_empty_descriptor_gives_every_default() {
        let p = Project::default();
        assert_eq!(p.id().unwrap(), None);
        assert!(p.exclude().unwrap().is_empty());
        assert!(p.release_commands().unwrap().is_empty());
        assert_eq!(p.release().unwrap(), None);
        assert_eq!(p.autoscale().unwrap(), AutoscaleTable::default());
    }

    #[test]
    fn a_misspelt_key_fails_only_its_own_table_and_names_its_line() {
        let p = Project::parse(
            PROJECT_FILE,
            "[_.metadata.slipway.release]\nstep-timeot = 5\n[_.metadata.slipway.slug]\nsize-limit = \"1G\"\n",
        )
        .unwrap();
        let e = p.release().unwrap_err();
        assert_eq!(e.location(), "project.toml:2");
        assert!(e.message.contains("unknown field `step-timeot`"), "{e}");
        assert_eq!(p.slug().unwrap().size_limit.as_deref(), Some("1G"));
    }

    #[test]
    fn a_syntax_error_is_reported_when_the_file_is_read() {
        let e = Project::parse(
            PROJECT_FILE,
            "[_]\nschema-version = \"0.2\"\n[_.metadata.slipway.celery\n",
        )
        .unwrap_err();
        assert_eq!(e.line, 3);
    }
}

#[cfg(test)]
mod limits {
    use super::*;

    #[test]
    fn a_number_past_what_toml_calls_an_integer_still_reads_where_our_type_holds_it() {
        let p = Project::parse(
            PROJECT_FILE,
            "[_.metadata.slipway.release]\nstep-timeout = 18446744073709551615\n",
        )
        .unwrap();
        assert_eq!(p.release().unwrap().unwrap().step_timeout, Some(u64::MAX));
    }
}
