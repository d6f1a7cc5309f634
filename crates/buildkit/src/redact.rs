//! Secrets never reach the release log: the values of variables whose
//! names say they are secrets (`*_KEY`, `*_KEYS`, `*_TOKEN`, `*_SECRET`,
//! `*_PASSWORD`, `*_PASSWD`, `*_PWD`, `*_CREDENTIALS`, a `SECRET`/`KEY`/
//! `TOKEN` word anywhere, as in `SECRET_KEY_BASE`; `PGPASSWORD`) and
//! passwords inside URLs (any `scheme://user:password@host`) are replaced,
//! in our messages and in the output of every step. Each is masked in the
//! shapes a program prints it in: as written, each line of a multi-line value
//! (a PEM key), percent-encoded and -decoded, JSON-escaped, hex, and base64
//! (standard and URL-safe, at any offset: inside `user:password` of a Basic
//! auth header too). [`StreamRedactor`] masks one that straddles two pieces
//! of a long line.

use base64::Engine as _;
use std::borrow::Cow;
use std::fmt::Write as _;

pub(crate) const MASK: &str = "[REDACTED]";

/// Shorter values are not worth masking (and would mask too much).
const MIN_SECRET_LEN: usize = 4;
/// Encoded forms shorter than this are left alone: a few base64 characters
/// match unrelated text.
const MIN_ENCODED_LEN: usize = 8;

#[derive(Debug, Clone, Default)]
pub struct Redactor {
    /// Every form of every secret, longest first.
    secrets: Vec<String>,
    /// The base64 cores of every secret, longest first: where one is found,
    /// the whole base64 word around it is masked (a Basic auth header's value).
    encoded: Vec<String>,
}

/// Whether a variable's name says its value is a secret.
fn is_secret_name(name: &str) -> bool {
    const WORDS: [&str; 11] = [
        "KEY",
        "KEYS",
        "TOKEN",
        "TOKENS",
        "SECRET",
        "SECRETS",
        "PASSWORD",
        "PASSWD",
        "PASS",
        "PWD",
        "CREDENTIALS",
    ];
    let upper = name.to_ascii_uppercase();
    // The shell's working directories, not passwords.
    if ["PWD", "OLDPWD"].contains(&upper.as_str()) {
        return false;
    }
    upper.split('_').any(|w| WORDS.contains(&w))
        || ["PASSWORD", "PASSWD"].iter().any(|s| upper.ends_with(s))
}

/// The base64 characters that encode `secret` whatever its offset in the
/// encoded text (0, 1 or 2 bytes into a 3-byte group): for each offset, the
/// groups made of the secret's bytes alone. A Basic auth header encodes
/// `user:password`, so the password sits at the user's length + 1.
fn base64_cores(secret: &[u8], engine: &base64::engine::GeneralPurpose) -> Vec<String> {
    let mut cores = Vec::new();
    for offset in 0..3 {
        let mut bytes = vec![0u8; offset];
        bytes.extend_from_slice(secret);
        let first = offset.div_ceil(3);
        let last = bytes.len() / 3;
        if last <= first {
            continue;
        }
        let encoded = engine.encode(&bytes[..last * 3]);
        cores.push(encoded[first * 4..].to_string());
    }
    cores
}

/// Every shape of `secret` a program could print: the plain ones, and the
/// base64 cores.
fn forms(secret: &str) -> (Vec<String>, Vec<String>) {
    let mut out = vec![secret.to_string()];
    // Each line of a multi-line value (a PEM key), and the value with its
    // line ends as a log shows them (`\r\n` escaped).
    if secret.contains(['\n', '\r']) {
        out.extend(
            secret
                .split(['\n', '\r'])
                .map(str::trim)
                .filter(|l| l.len() >= MIN_SECRET_LEN)
                .map(String::from),
        );
    }
    let escaped: String = secret.escape_debug().collect();
    let json = serde_escape(secret);
    let encoded = percent_encoding::utf8_percent_encode(secret, percent_encoding::NON_ALPHANUMERIC)
        .to_string();
    out.extend([escaped, json, encoded]);
    let bytes = secret.as_bytes();
    if bytes.len() >= MIN_ENCODED_LEN / 2 {
        let hex = bytes.iter().fold(String::new(), |mut h, b| {
            let _ = write!(h, "{b:02x}");
            h
        });
        out.push(hex.to_ascii_uppercase());
        out.push(hex);
    }
    let mut encoded = Vec::new();
    for engine in [
        &base64::engine::general_purpose::STANDARD_NO_PAD,
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
    ] {
        encoded.extend(base64_cores(bytes, engine));
    }
    out.retain(|f| f == secret || f.len() >= MIN_ENCODED_LEN);
    encoded.retain(|f| f.len() >= MIN_ENCODED_LEN);
    (out, encoded)
}

/// A base64 (standard or URL-safe) character, padding included.
fn is_base64_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '-' | '_' | '=')
}

/// Mask the whole base64 word around every occurrence of `core`.
fn mask_base64_words(text: &str, core: &str) -> Option<String> {
    let first = text.find(core)?;
    let mut out = String::with_capacity(text.len());
    let mut done = 0;
    let mut from = first;
    while let Some(found) = text.get(from..).and_then(|t| t.find(core)) {
        let at = from + found;
        let start = text[done..at]
            .char_indices()
            .rev()
            .take_while(|(_, c)| is_base64_char(*c))
            .last()
            .map_or(at, |(i, _)| done + i);
        let end = text[at..]
            .char_indices()
            .find(|(_, c)| !is_base64_char(*c))
            .map_or(text.len(), |(i, _)| at + i);
        out.push_str(&text[done..start]);
        out.push_str(MASK);
        done = end;
        from = end;
    }
    out.push_str(&text[done..]);
    Some(out)
}

/// The text as a JSON string's contents (quotes, backslashes, control
/// characters escaped), as JSON logs print a value.
fn serde_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

impl Redactor {
    pub fn from_env<I: IntoIterator<Item = (String, String)>>(vars: I) -> Self {
        let mut secrets = Vec::new();
        let mut encoded = Vec::new();
        let mut add = |(plain, cores): (Vec<String>, Vec<String>)| {
            secrets.extend(plain);
            encoded.extend(cores);
        };
        for (name, value) in vars {
            if is_secret_name(&name) && value.trim().len() >= MIN_SECRET_LEN {
                add(forms(&value));
            }
            if let Some(password) = url_password(&value) {
                if password.len() >= MIN_SECRET_LEN {
                    add(forms(password));
                    // A program that parses the URL prints the decoded form
                    // (`S3cr3t%40Pw` is `S3cr3t@Pw`): mask that too.
                    let decoded = percent_decode(password);
                    if decoded != password && decoded.len() >= MIN_SECRET_LEN {
                        add(forms(&decoded));
                    }
                }
            }
        }
        // Longest first, so a secret containing another is masked whole.
        for list in [&mut secrets, &mut encoded] {
            list.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
            list.dedup();
        }
        Self { secrets, encoded }
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
        for core in &self.encoded {
            if let Some(masked) = mask_base64_words(&out, core) {
                out = Cow::Owned(masked);
            }
        }
        match mask_url_passwords(&out) {
            Some(masked) => Cow::Owned(masked),
            None => out,
        }
    }

    /// The longest form of any secret, in bytes.
    fn longest(&self) -> usize {
        let first = |list: &[String]| list.first().map_or(0, String::len);
        first(&self.secrets).max(first(&self.encoded))
    }

    /// Where a piece of a long line may be cut so that no secret straddles
    /// the cut: at `at` (a char boundary at most), or after the end of a
    /// secret that covers it.
    fn safe_cut(&self, text: &str, mut at: usize) -> usize {
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        loop {
            let from = at.saturating_sub(self.longest());
            let mut moved = at;
            for s in self.secrets.iter().chain(&self.encoded) {
                let mut i = from;
                while let Some(found) = text.get(i..).and_then(|t| t.find(s.as_str())) {
                    let start = i + found;
                    if start >= at {
                        break;
                    }
                    if start + s.len() > moved {
                        moved = start + s.len();
                    }
                    i = start + 1;
                    while !text.is_char_boundary(i) {
                        i += 1;
                    }
                }
            }
            if moved == at {
                return at;
            }
            at = moved;
        }
    }
}

/// A redactor over a stream cut in pieces (a long line comes in bounded
/// pieces, see `process::lines`): the end of a piece that could hold the
/// start of a secret is kept back and redacted with the next piece, so a
/// secret across a cut is masked whole. One per stream.
#[derive(Debug)]
pub struct StreamRedactor {
    redactor: Redactor,
    carry: Vec<u8>,
}

impl StreamRedactor {
    pub fn new(redactor: Redactor) -> Self {
        Self {
            redactor,
            carry: Vec::new(),
        }
    }

    /// Redact the next piece; what it returns is safe to print. A piece that
    /// ends a line (`\n` or `\r`) is passed on whole with what was kept back.
    pub fn piece(&mut self, bytes: &[u8]) -> String {
        self.carry.extend_from_slice(bytes);
        let raw = std::mem::take(&mut self.carry);
        if matches!(raw.last(), Some(b'\n' | b'\r')) {
            return self
                .redactor
                .redact(&String::from_utf8_lossy(&raw))
                .into_owned();
        }
        // A cut inside a UTF-8 sequence waits for the rest of it; other
        // invalid bytes are printed as the replacement character, nothing kept.
        let text = match std::str::from_utf8(&raw) {
            Ok(text) => text,
            Err(e) if e.error_len().is_none() => {
                std::str::from_utf8(&raw[..e.valid_up_to()]).unwrap_or_default()
            }
            Err(_) => {
                return self
                    .redactor
                    .redact(&String::from_utf8_lossy(&raw))
                    .into_owned()
            }
        };
        let keep = self.redactor.longest().saturating_sub(1);
        let cut = self
            .redactor
            .safe_cut(text, text.len().saturating_sub(keep));
        let out = self.redactor.redact(&text[..cut]).into_owned();
        self.carry = raw[cut..].to_vec();
        out
    }

    /// What is still kept back, redacted (at the end of the stream).
    pub fn finish(&mut self) -> String {
        let raw = std::mem::take(&mut self.carry);
        self.redactor
            .redact(&String::from_utf8_lossy(&raw))
            .into_owned()
    }
}

/// `%XX` sequences decoded, as URL parsers decode userinfo.
fn percent_decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

/// The password of `scheme://user:password@host...`, if the text is such a URL.
pub(crate) fn url_password(text: &str) -> Option<&str> {
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

    const PASSWORD: &str = "Tr0ub4dor-and-3-horses";

    #[test]
    fn a_password_is_masked_in_base64_basic_auth_url_safe_base64_and_hex() {
        use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
        let red = r(&[(
            "DATABASE_URL",
            &format!("postgres://app:{PASSWORD}@db:5432/app"),
        )]);
        let printed = [
            STANDARD.encode(PASSWORD),
            format!(
                "Authorization: Basic {}",
                STANDARD.encode(format!("app:{PASSWORD}"))
            ),
            format!(
                "Basic {}",
                STANDARD.encode(format!("someone-else:{PASSWORD}"))
            ),
            URL_SAFE_NO_PAD.encode(format!("x{PASSWORD}")),
            "547230756234646f722d616e642d332d686f72736573".to_string(),
            "547230756234646F722D616E642D332D686F72736573".to_string(),
        ];
        assert_eq!(
            red.redact(&format!(
                "> Authorization: Basic {}\r\n",
                STANDARD.encode(format!("app:{PASSWORD}"))
            )),
            format!("> Authorization: Basic {MASK}\r\n"),
            "the whole header value"
        );
        for line in printed {
            let out = red.redact(&line);
            assert!(out.contains(MASK), "{line} printed as {out}");
            let b64 = STANDARD.encode(PASSWORD);
            assert!(!out.contains(b64.trim_end_matches('=')), "{out}");
        }
    }

    #[test]
    fn every_line_of_a_multi_line_value_and_a_value_with_a_line_break_are_masked() {
        let pem = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\n-----END PRIVATE KEY-----\n";
        let red = r(&[
            ("PRIVATE_KEY", pem),
            ("AUTOSCALE_HEROKU_API_TOKEN", "tok-1234\r\nX-Evil: 1"),
        ]);
        let out = red
            .redact("key MIIEvQIBADANBgkqhkiG9w0BAQEFAASC then BKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj");
        assert_eq!(out, format!("key {MASK} then {MASK}"));
        let out = red.redact("bad header value \"tok-1234\\r\\nX-Evil: 1\"");
        assert!(!out.contains("tok-1234"), "{out}");
        assert!(!red.redact("tok-1234").contains("tok-1234"));
    }

    #[test]
    fn common_secret_names_outside_the_suffix_rules_are_masked_and_working_directories_are_not() {
        for name in [
            "SECRET_KEY_BASE",
            "PGPASSWORD",
            "DB_PASSWD",
            "API_KEYS",
            "MYSQL_PWD",
            "GOOGLE_CREDENTIALS",
        ] {
            let red = r(&[(name, "value-of-the-secret")]);
            assert_eq!(red.redact("value-of-the-secret"), MASK, "{name}");
        }
        let red = r(&[("PWD", "/app"), ("OLDPWD", "/tmp/build"), ("PORT", "5000")]);
        assert_eq!(red.redact("/app /tmp/build 5000"), "/app /tmp/build 5000");
    }

    #[test]
    fn a_secret_across_two_pieces_of_a_long_line_is_masked_whole() {
        let red = r(&[("API_TOKEN", PASSWORD)]);
        for split in 1..PASSWORD.len() {
            let line = format!("{}{PASSWORD}{}", "x".repeat(100), "y".repeat(50));
            let cut = 100 + split;
            let mut stream = StreamRedactor::new(red.clone());
            let mut out = stream.piece(&line.as_bytes()[..cut]);
            out.push_str(&stream.piece(&line.as_bytes()[cut..]));
            out.push_str(&stream.finish());
            assert_eq!(
                out,
                format!("{}{MASK}{}", "x".repeat(100), "y".repeat(50)),
                "cut at {split}"
            );
        }
        // A line end passes everything on; a UTF-8 character cut in two waits for its end.
        let mut stream = StreamRedactor::new(red);
        let bytes = "é".as_bytes();
        assert_eq!(stream.piece(&bytes[..1]), "");
        assert_eq!(stream.piece(&[bytes[1], b'\n']), "é\n");
    }
}
