//! The Django side: `python manage.py collectstatic --noinput` with a
//! build-safe environment, and a diagnosis when it fails.

use crate::error::AssetsError;
use crate::run::{run_step, which, Env, Step};
use buildkit::redact::Redactor;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub(crate) const COLLECTSTATIC: &[&str] = &["manage.py", "collectstatic", "--noinput"];

/// Heroku's rule: set to anything but `0`, it disables collectstatic.
pub(crate) fn disabled_by_env(env: &Env) -> bool {
    env.get("DISABLE_COLLECTSTATIC")
        .is_some_and(|v| !v.is_empty() && v != "0")
}

pub(crate) fn python(env: &Env) -> Result<PathBuf, AssetsError> {
    which("python", env)
        .or_else(|| which("python3", env))
        .ok_or_else(|| AssetsError::ToolMissing {
            tool: "python".into(),
            why: "the app is a Django project using django.contrib.staticfiles (collectstatic)".into(),
            hint: "Add heroku/python before slipway/static-assets in your buildpack order, so Python and the app's requirements are installed first.".into(),
        })
}

/// Whether `python` can import Django (it is installed where this build runs).
pub(crate) fn importable(python: &Path, env: &Env) -> bool {
    std::process::Command::new(python)
        .args(["-c", "import django"])
        .env_clear()
        .envs(env)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The build environment plus the declared placeholders for variables that
/// are not set; returns the names that were filled in.
pub(crate) fn with_placeholders(
    env: &Env,
    placeholders: &BTreeMap<String, String>,
) -> (Env, Vec<String>) {
    let mut env = env.clone();
    let mut used = Vec::new();
    for (k, v) in placeholders {
        if !env.contains_key(k) {
            env.insert(k.clone(), v.clone());
            used.push(k.clone());
        }
    }
    (env, used)
}

pub(crate) fn collectstatic(
    app: &Path,
    python: &Path,
    env: &Env,
    redactor: &Redactor,
) -> Result<(), AssetsError> {
    let args: Vec<String> = COLLECTSTATIC.iter().map(|s| (*s).to_string()).collect();
    let step = Step {
        display: "python manage.py collectstatic --noinput",
        program: python,
        args: &args,
        tail: 12,
    };
    run_step(&step, app, env, redactor, |lines| {
        diagnose(&lines.join("\n"))
    })
}

const PLACEHOLDER_HINT: &str = "collectstatic imports your settings at build time, when only build-time variables exist. Declare a harmless stand-in in project.toml:\n\n    [_.metadata.slipway.assets]\n    build-env = { NAME = \"placeholder\" }\n\n(real values still come from config vars at runtime), or read the variable with a default in settings.py.";

/// The variable a settings import demanded, from a traceback's last exception
/// (`last_error`) or the messages of django-environ and Django.
fn missing_variable(text: &str, last_error: &str) -> Option<String> {
    // os.environ["NAME"] -> KeyError: 'NAME', as the chain's last exception.
    if let Some(rest) = last_error.strip_prefix("KeyError: ") {
        let name = rest.trim().trim_matches(|c| c == '\'' || c == '"');
        if crate::stand_ins::variable_like(name) {
            return Some(name.to_string());
        }
    }
    // django-environ: "Set the NAME environment variable"; Django: "The SECRET_KEY setting must not be empty.";
    for (start, end) in [
        ("Set the ", " environment variable"),
        ("The ", " setting must not be empty"),
        // python-decouple: "UndefinedValueError: NAME not found. Declare it as envvar ..."
        ("UndefinedValueError: ", " not found. Declare it as envvar"),
    ] {
        if let Some(i) = text.find(start) {
            let rest = &text[i + start.len()..];
            if let Some(j) = rest.find(end) {
                let name = &rest[..j];
                if !name.is_empty()
                    && name
                        .chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
                {
                    return Some(name.to_string());
                }
            }
        }
    }
    None
}

/// `File "path", line N` of the innermost frame (or a SyntaxError's location).
fn innermost_location(text: &str) -> Option<String> {
    text.lines().rev().find_map(|l| {
        let l = l.trim();
        let rest = l.strip_prefix("File \"")?;
        let (file, after) = rest.split_once('"')?;
        let line = after
            .trim_start_matches(", line ")
            .split(',')
            .next()?
            .trim();
        Some(format!("{file}:{line}"))
    })
}

/// Cause and advice from collectstatic's output (Heroku's classic buildpack
/// classifies the same families).
pub(crate) fn diagnose(text: &str) -> (String, String) {
    let last_error = text
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| {
            l.split_once(':').is_some_and(|(head, _)| {
                !head.contains(' ')
                    && (head.ends_with("Error")
                        || head.ends_with("Exception")
                        || head.ends_with("ImproperlyConfigured")
                        || head.ends_with("KeyError"))
            })
        })
        .unwrap_or("")
        .to_string();
    if text.contains("SyntaxError") || text.contains("IndentationError") {
        let at = innermost_location(text).unwrap_or_else(|| "a Python file".into());
        return (
            format!("a syntax error in {at}"),
            format!("Fix {at} ({last_error}); `python -m py_compile <file>` checks it locally."),
        );
    }
    if text.contains("STATIC_ROOT") && text.contains("ImproperlyConfigured") {
        return (
            "STATIC_ROOT is not set".into(),
            "Set STATIC_ROOT in settings.py, e.g. `STATIC_ROOT = BASE_DIR / \"staticfiles\"`: collectstatic writes the files there and whitenoise serves them from there.".into(),
        );
    }
    // The chain's last exception is the cause: a module the settings import
    // is missing (not a variable, whatever KeyError Django raised before it).
    if let Some(module) = last_error.strip_prefix("ModuleNotFoundError: No module named ") {
        let module = module.trim_matches('\'');
        return (
            format!("the Python module {module} is not installed"),
            format!("Add the package that provides `{module}` to requirements.txt (or, if it is there, let heroku/python install the requirements before collectstatic runs: in the suite it does; in your own order put heroku/python before slipway/static-assets)."),
        );
    }
    if let Some(name) = missing_variable(text, &last_error) {
        return (
            format!("your settings need the environment variable {name}, which is not set at build time"),
            PLACEHOLDER_HINT.replace("NAME", &name),
        );
    }
    if text.contains("The CSS file")
        || text.contains("could not be found with")
        || text.contains("MissingFileError")
    {
        let detail = text
            .lines()
            .rev()
            .find(|l| l.contains("could not be found") || l.contains("The CSS file"))
            .unwrap_or("")
            .trim();
        return (
            "a stylesheet or script references a file that does not exist".into(),
            format!("{detail}\nFix the reference (a url(...) in CSS, a sourceMappingURL in JS), or make sure the asset build produced that file before collectstatic."),
        );
    }
    if text.contains("ImproperlyConfigured") {
        return (
            "Django is improperly configured".into(),
            format!("{last_error}\nFix the setting named above; run `python manage.py collectstatic --noinput` locally with only build-time variables to reproduce."),
        );
    }
    if text.contains("OSError") || text.contains("PermissionError") {
        return (
            "a file could not be read or written".into(),
            format!("{last_error}\nCheck STATIC_ROOT and STATICFILES_DIRS point inside the app."),
        );
    }
    (
        "collectstatic failed".into(),
        format!("{last_error}\nRun `python manage.py collectstatic --noinput` locally with only build-time variables to reproduce. To skip it for now, set DISABLE_COLLECTSTATIC=1."),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Real tracebacks of `manage.py collectstatic` (Django 5.2 and 4.2 with
    /// django-environ 0.14 and python-decouple 3.8, Python 3.11), the app's
    /// path replaced by /workspace: the diagnosis names the cause.
    #[test]
    fn real_tracebacks_are_diagnosed_by_their_last_exception() {
        for (file, text, cause) in [
            (
                "settings-import-missing-module.django-5.2.txt",
                include_str!("testdata/settings-import-missing-module.django-5.2.txt"),
                "the Python module no_such_pkg is not installed",
            ),
            (
                "settings-import-os-environ.django-5.2.txt",
                include_str!("testdata/settings-import-os-environ.django-5.2.txt"),
                "your settings need the environment variable SECRET_KEY, which is not set at build time",
            ),
            (
                "settings-import-missing-module.django-4.2.txt",
                include_str!("testdata/settings-import-missing-module.django-4.2.txt"),
                "the Python module no_such_pkg is not installed",
            ),
            (
                "settings-import-os-environ.django-4.2.txt",
                include_str!("testdata/settings-import-os-environ.django-4.2.txt"),
                "your settings need the environment variable SECRET_KEY, which is not set at build time",
            ),
            (
                "settings-import-django-environ.django-4.2.txt",
                include_str!("testdata/settings-import-django-environ.django-4.2.txt"),
                "your settings need the environment variable DATABASE_URL, which is not set at build time",
            ),
            (
                "settings-import-decouple.django-4.2.txt",
                include_str!("testdata/settings-import-decouple.django-4.2.txt"),
                "your settings need the environment variable SECRET_KEY, which is not set at build time",
            ),
        ] {
            let (got, hint) = diagnose(text);
            assert_eq!(got, cause, "{file}");
            assert!(!hint.contains("collectstatic = "), "{file}: {hint}");
        }
    }

    #[test]
    fn a_key_error_that_is_no_variable_name_is_not_diagnosed_as_one() {
        let (cause, _) = diagnose("Traceback (most recent call last):\nKeyError: 'collectstatic'");
        assert_eq!(cause, "collectstatic failed");
    }

    const KEY_ERROR: &str = r#"Traceback (most recent call last):
  File "/workspace/manage.py", line 10, in <module>
    execute_from_command_line(sys.argv)
  File "/workspace/refapp/settings.py", line 8, in <module>
    SECRET_KEY = os.environ["SECRET_KEY"]
                 ~~~~~~~~~~^^^^^^^^^^^^^^
  File "<frozen os>", line 679, in __getitem__
KeyError: 'SECRET_KEY'"#;

    #[test]
    fn a_missing_environment_variable_is_named_with_the_placeholder_to_declare() {
        let (cause, hint) = diagnose(KEY_ERROR);
        assert_eq!(cause, "your settings need the environment variable SECRET_KEY, which is not set at build time");
        assert!(
            hint.contains("build-env = { SECRET_KEY = \"placeholder\" }"),
            "{hint}"
        );
        let (cause, _) = diagnose("django.core.exceptions.ImproperlyConfigured: Set the DATABASE_URL environment variable");
        assert!(cause.contains("DATABASE_URL"), "{cause}");
        let (cause, _) = diagnose("django.core.exceptions.ImproperlyConfigured: The SECRET_KEY setting must not be empty.");
        assert!(cause.contains("SECRET_KEY"), "{cause}");
    }

    #[test]
    fn missing_static_root_says_what_to_set() {
        let (cause, hint) = diagnose("django.core.exceptions.ImproperlyConfigured: You're using the staticfiles app without having set the required STATIC_ROOT setting to a filesystem path.");
        assert_eq!(cause, "STATIC_ROOT is not set");
        assert!(hint.contains("STATIC_ROOT = BASE_DIR"));
    }

    #[test]
    fn a_syntax_error_names_file_and_line() {
        let text = "Traceback (most recent call last):\n  File \"/workspace/manage.py\", line 22, in <module>\n  File \"/workspace/refapp/settings.py\", line 12\n    DEBUG = (\n            ^\nSyntaxError: '(' was never closed";
        let (cause, _) = diagnose(text);
        assert_eq!(cause, "a syntax error in /workspace/refapp/settings.py:12");
    }

    #[test]
    fn a_missing_referenced_asset_quotes_the_reference() {
        let text = "whitenoise.storage.MissingFileError: The file 'img/logo.png' could not be found with <whitenoise.storage.CompressedManifestStaticFilesStorage object at 0x7f>.\n\nThe CSS file 'dist/css/main.css' references a file which could not be found:\n  img/logo.png";
        let (cause, hint) = diagnose(text);
        assert_eq!(
            cause,
            "a stylesheet or script references a file that does not exist"
        );
        assert!(hint.contains("The CSS file 'dist/css/main.css'"), "{hint}");
    }

    #[test]
    fn a_missing_module_and_anything_else() {
        let (cause, _) = diagnose("ModuleNotFoundError: No module named 'whitenoise'");
        assert_eq!(cause, "the Python module whitenoise is not installed");
        let (cause, hint) = diagnose("RuntimeError: boom");
        assert_eq!(cause, "collectstatic failed");
        assert!(hint.starts_with("RuntimeError: boom"), "{hint}");
    }

    #[test]
    fn disable_collectstatic_follows_herokus_rule() {
        let env = |v: &str| Env::from([("DISABLE_COLLECTSTATIC".to_string(), v.to_string())]);
        assert!(disabled_by_env(&env("1")) && disabled_by_env(&env("yes")));
        assert!(!disabled_by_env(&env("0")) && !disabled_by_env(&Env::new()));
    }

    #[test]
    fn placeholders_never_override_real_values() {
        let env = Env::from([("SECRET_KEY".to_string(), "real".to_string())]);
        let declared = BTreeMap::from([
            ("SECRET_KEY".to_string(), "placeholder".to_string()),
            ("DATABASE_URL".to_string(), "sqlite:///:memory:".to_string()),
        ]);
        let (env, used) = with_placeholders(&env, &declared);
        assert_eq!(env["SECRET_KEY"], "real");
        assert_eq!(used, ["DATABASE_URL"]);
    }
}
