//! Build-time stand-ins found in the settings: the config vars a Django
//! settings module reads at import with no default (`os.environ["NAME"]`,
//! django-environ's `env("NAME")` / `env.db("NAME")` ..., python-decouple's
//! `config("NAME")`). collectstatic imports the settings at build time, when
//! only build-time variables exist; a harmless value of the right shape lets
//! it run. Values are exported build-only, where unset, never in the image;
//! the build log names them, never their values.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The settings files of a Django app: `settings.py` and the modules of a
/// `settings/` package, within depth 3 (where `detect::django_project` looks).
fn settings_files(app: &Path) -> Vec<PathBuf> {
    walkdir::WalkDir::new(app)
        .max_depth(4)
        .into_iter()
        .filter_entry(|e| {
            let name = e.file_name().to_string_lossy();
            e.depth() == 0
                || !(e.file_type().is_dir()
                    && (name == "node_modules" || name.starts_with('.') || name == "staticfiles"))
        })
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(walkdir::DirEntry::into_path)
        .filter(|p| {
            p.extension().is_some_and(|x| x == "py")
                && (p.file_name().is_some_and(|n| n == "settings.py")
                    || p.parent()
                        .and_then(Path::file_name)
                        .is_some_and(|d| d == "settings"))
        })
        .collect()
}

/// How a value is read, which decides the shape of its stand-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Text,
    Bool,
    Number,
    List,
    Database,
    Cache,
}

/// The first string literal argument of a call starting at `rest` (after the
/// opening parenthesis or bracket), and whether the call passes a default.
fn first_literal(rest: &str, close: char) -> Option<(String, bool)> {
    let rest = rest.trim_start();
    let quote = rest.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let body = &rest[1..];
    let end = body.find(quote)?;
    let name = &body[..end];
    let tail = &body[end + 1..];
    let call = &tail[..tail.find(close).unwrap_or(tail.len())];
    let has_default = call.contains("default");
    Some((name.to_string(), has_default))
}

/// Whether `name` reads as a config var name (`SECRET_KEY`; not
/// `collectstatic`, the KeyError Django raises first whenever the settings
/// fail to import). The diagnosis of collectstatic's failures uses it too.
pub(crate) fn variable_like(name: &str) -> bool {
    !name.is_empty()
        && name.chars().any(|c| c.is_ascii_uppercase())
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// The config vars a settings file reads without a default, with their shape.
fn required_reads(text: &str) -> Vec<(String, Shape)> {
    let mut found = Vec::new();
    for line in text.lines() {
        let code = line.split('#').next().unwrap_or("");
        // os.environ["NAME"] (a KeyError at import when unset).
        for (i, _) in code.match_indices("environ[") {
            if let Some((name, _)) = first_literal(&code[i + "environ[".len()..], ']') {
                found.push((name, Shape::Text));
            }
        }
        // django-environ (env(...), env.str(...), env.db(...) ...) and
        // python-decouple (config(...)): ImproperlyConfigured /
        // UndefinedValueError when unset and no default is given.
        for (prefix, shape) in [
            ("env(", Shape::Text),
            ("env.str(", Shape::Text),
            ("env.bool(", Shape::Bool),
            ("env.int(", Shape::Number),
            ("env.float(", Shape::Number),
            ("env.list(", Shape::List),
            ("env.tuple(", Shape::List),
            ("env.url(", Shape::Text),
            ("env.db(", Shape::Database),
            ("env.db_url(", Shape::Database),
            ("env.cache(", Shape::Cache),
            ("env.cache_url(", Shape::Cache),
            ("config(", Shape::Text),
        ] {
            for (i, _) in code.match_indices(prefix) {
                let before = code[..i].chars().next_back();
                if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.') {
                    continue; // some_env(, self.config(, os.env(...
                }
                if let Some((name, has_default)) = first_literal(&code[i + prefix.len()..], ')') {
                    let shape = if prefix == "config(" && code[i..].contains("cast=bool") {
                        Shape::Bool
                    } else if prefix == "config(" && code[i..].contains("cast=int") {
                        Shape::Number
                    } else {
                        shape
                    };
                    if !has_default {
                        found.push((name, shape));
                    }
                }
            }
        }
    }
    found.retain(|(name, _)| variable_like(name));
    found
}

/// A harmless value of the shape the settings expect.
fn stand_in(name: &str, shape: Shape) -> String {
    let url = |scheme: &str| format!("{scheme}://build:build@127.0.0.1:1/build");
    match shape {
        Shape::Bool => "False".into(),
        Shape::Number => "0".into(),
        Shape::List => String::new(),
        Shape::Database => url("postgres"),
        Shape::Cache => "redis://127.0.0.1:1/0".into(),
        Shape::Text if name.contains("DATABASE") => url("postgres"),
        Shape::Text if name.contains("REDIS") => "redis://127.0.0.1:1/0".into(),
        Shape::Text if name.contains("AMQP") || name.contains("BROKER") => url("amqp"),
        Shape::Text if name.ends_with("_URL") => "http://127.0.0.1:1/".into(),
        Shape::Text => "build-time-stand-in-not-a-secret".into(),
    }
}

/// Stand-ins for every config var the app's settings read at import without
/// a default, by name: `SECRET_KEY = os.environ["SECRET_KEY"]` gives
/// `SECRET_KEY`. Values are only for names the build does not set.
pub(crate) fn from_settings(app: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for file in settings_files(app) {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        for (name, shape) in required_reads(&text) {
            out.entry(name.clone())
                .or_insert_with(|| stand_in(&name, shape));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_without_a_default_are_found_by_name_with_a_value_of_their_shape() {
        let settings = r#"
import os, environ
from decouple import config
env = environ.Env()
SECRET_KEY = os.environ["SECRET_KEY"]
DATABASES = {"default": env.db("DATABASE_URL")}
CACHES = {"default": env.cache("REDIS_URL")}
DEBUG = env.bool("DEBUG")
WORKERS = config("WEB_CONCURRENCY", cast=int)
SENTRY_DSN = config('SENTRY_DSN')
ALLOWED = env.list("ALLOWED_HOSTS")
"#;
        let got: BTreeMap<String, String> = required_reads(settings)
            .into_iter()
            .map(|(n, s)| (n.clone(), stand_in(&n, s)))
            .collect();
        assert_eq!(got["SECRET_KEY"], "build-time-stand-in-not-a-secret");
        assert!(got["DATABASE_URL"].starts_with("postgres://"));
        assert!(got["REDIS_URL"].starts_with("redis://"));
        assert_eq!(got["DEBUG"], "False");
        assert_eq!(got["WEB_CONCURRENCY"], "0");
        assert_eq!(got["SENTRY_DSN"], "build-time-stand-in-not-a-secret");
        assert_eq!(got["ALLOWED_HOSTS"], "");
        assert_eq!(got.len(), 7, "{got:?}");
    }

    #[test]
    fn reads_with_a_default_or_through_get_and_comments_are_not_stand_ins() {
        let settings = r#"
import os
DEBUG = os.environ.get("DEBUG", "") == "1"
KEY = os.getenv("KEY")
SECRET_KEY = env("SECRET_KEY", default="dev")
PORT = config("PORT", default=8000, cast=int)
# TOKEN = os.environ["TOKEN"]
lower = os.environ["not_a_var"]
"#;
        assert_eq!(required_reads(settings), []);
    }

    #[test]
    fn the_settings_package_and_settings_py_are_read_and_node_modules_is_not() {
        let app = tempfile::tempdir().unwrap();
        for (path, text) in [
            ("shop/settings.py", "A = os.environ['ONE']\n"),
            ("conf/settings/base.py", "B = os.environ['TWO']\n"),
            ("node_modules/x/settings.py", "C = os.environ['THREE']\n"),
            ("shop/views.py", "D = os.environ['FOUR']\n"),
        ] {
            let p = app.path().join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        let names: Vec<String> = from_settings(app.path()).into_keys().collect();
        assert_eq!(names, ["ONE", "TWO"]);
    }
}
