//! Secrets never reach the release log: values of `*_KEY`, `*_TOKEN`,
//! `*_SECRET`, `*_PASSWORD` variables and passwords inside URLs (any
//! `scheme://user:password@host`) are replaced, in our messages and in the
//! output of every step.

use std::borrow::Cow;

pub const MASK: &str = "[REDACTED]";

/// Shorter values are not worth masking (and would mask too much).
const MIN_SECRET_LEN: usize = 4;

#[derive(Debug, Clone, Default)]
pub struct Redactor {
    secrets: Vec<String>,
}

fn is_secret_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    ["_KEY", "_TOKEN", "_SECRET", "_PASSWORD", "_PASS"]
        .iter()
        .any(|s| upper.ends_with(s))
        || ["SECRET_KEY", "PASSWORD", "TOKEN", "API_KEY"].contains(&upper.as_str())
}

impl Redactor {
    pub fn from_env<I: IntoIterator<Item = (String, String)>>(vars: I) -> Self {
        let mut secrets = Vec::new();
        for (name, value) in vars {
            if is_secret_name(&name) && value.len() >= MIN_SECRET_LEN {
                secrets.push(value.clone());
            }
            if let Some(password) = url_password(&value) {
                if password.len() >= MIN_SECRET_LEN {
                    secrets.push(password.to_string());
                    // A program that parses the URL prints the decoded form
                    // (`S3cr3t%40Pw` is `S3cr3t@Pw`): mask that too.
                    let decoded = percent_decode(password);
                    if decoded != password && decoded.len() >= MIN_SECRET_LEN {
                        secrets.push(decoded);
                    }
                }
            }
        }
        // Longest first, so a secret containing another is masked whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        secrets.dedup();
        Self { secrets }
    }

    pub fn from_process_env() -> Self {
        Self::from_env(
            std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))),
        )
    }

    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        let mut out = Cow::Borrowed(text);
        for s in &self.secrets {
            if out.contains(s.as_str()) {
                out = Cow::Owned(out.replace(s.as_str(), MASK));
            }
        }
        match mask_url_passwords(&out) {
            Some(masked) => Cow::Owned(masked),
            None => out,
        }
    }
}

/// `%XX` sequences decoded, as URL parsers decode userinfo.
fn percent_decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

/// The password of `scheme://user:password@host...`, if the text is such a URL.
pub fn url_password(text: &str) -> Option<&str> {
    let rest = &text[text.find("://")? + 3..];
    let userinfo = &rest[..rest.find('@')?];
    if userinfo.contains('/') {
        return None;
    }
    userinfo
        .split_once(':')
        .map(|(_, p)| p)
        .filter(|p| !p.is_empty())
}

/// Mask every `://user:password@` in free text. None when there is none.
fn mask_url_passwords(text: &str) -> Option<String> {
    let mut out = String::new();
    let mut rest = text;
    let mut changed = false;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let end = tail
            .find(|c: char| c.is_whitespace() || c == '/' || c == '"' || c == '\'')
            .unwrap_or(tail.len());
        let authority = &tail[..end];
        match (authority.rfind('@'), authority.find(':')) {
            (Some(at), Some(colon)) if colon < at && at > colon + 1 => {
                out.push_str(&authority[..=colon]);
                out.push_str(MASK);
                out.push_str(&authority[at..]);
                changed = true;
            }
            _ => out.push_str(authority),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    changed.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_percent_encoded_url_password_is_masked_decoded_too() {
        let red = Redactor::from_env([(
            "DATABASE_URL".to_string(),
            "postgres://u:S3cr3t%40Pw@db:5432/app".to_string(),
        )]);
        assert_eq!(
            red.redact("connecting with S3cr3t@Pw and S3cr3t%40Pw"),
            format!("connecting with {MASK} and {MASK}")
        );
        assert_eq!(percent_decode("a%2Fb%zz%4"), "a/b%zz%4");
    }

    fn r(vars: &[(&str, &str)]) -> Redactor {
        Redactor::from_env(
            vars.iter()
                .map(|(k, v)| ((*k).to_string(), (*v).to_string())),
        )
    }

    #[test]
    fn secret_named_values_and_url_passwords_are_masked() {
        let red = r(&[
            ("DATABASE_URL", "postgres://u:hunter22@db.example:5432/app"),
            ("AUTOSCALE_HEROKU_API_KEY", "abcd-1234-efgh"),
            ("GITHUB_TOKEN", "ghp_x1y2z3"),
            ("PORT", "5000"),
        ]);
        let text = "connect postgres://u:hunter22@db.example:5432/app key=abcd-1234-efgh tok ghp_x1y2z3 port 5000 pw hunter22";
        let out = red.redact(text);
        assert!(
            !out.contains("hunter22")
                && !out.contains("abcd-1234-efgh")
                && !out.contains("ghp_x1y2z3"),
            "{out}"
        );
        assert!(
            out.contains("db.example:5432") && out.contains("port 5000"),
            "{out}"
        );
    }

    #[test]
    fn urls_with_passwords_are_masked_even_when_not_in_the_env() {
        let out = Redactor::default()
            .redact("broker amqp://guest:s3cr3t@rabbit:5672// and https://example.com/a:b@c");
        assert_eq!(
            out,
            "broker amqp://guest:[REDACTED]@rabbit:5672// and https://example.com/a:b@c"
        );
    }

    #[test]
    fn text_without_secrets_is_not_copied() {
        assert!(matches!(
            Redactor::default().redact("plain line"),
            Cow::Borrowed(_)
        ));
    }
}
