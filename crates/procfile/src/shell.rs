//! Which shell a command needs.
//!
//! Heroku runs a Procfile command with `/bin/bash -l -c` (and CNB images
//! built by Slipway with `bash -c`), but the container stack runs a
//! heroku.yml command with the image's `/bin/sh -l -c` unless the image has
//! an `ENTRYPOINT` (Heroku's runtime team in heroku/cli#930, 2018-07-09).
//! On Debian-based images `/bin/sh` is dash, which has no `[[`: the AnyCable
//! line `[[ "$ANYCABLE_DEPLOYMENT" == "true" ]] && A || B` then prints
//! "[[: not found" and runs `B` on every app. [`bash_only`] finds such
//! syntax so a heroku.yml can run the line through bash, as written.

/// The first piece of bash-only syntax in `command` (outside quotes and
/// comments), as written: `[[`, `]]`, process substitution `<(`/`>(`,
/// `&>`, `|&`, ANSI-C quoting `$'`, or the `source`/`function` keywords in
/// command position. `None` when POSIX sh runs it the same.
pub(crate) fn bash_only(command: &str) -> Option<&'static str> {
    let bytes = command.as_bytes();
    let (mut i, mut command_position) = (0, true);
    while i < bytes.len() {
        let c = bytes[i];
        let next = bytes.get(i + 1).copied();
        match c {
            b'\'' => {
                i = skip_past(bytes, i + 1, b'\'');
                command_position = false;
                continue;
            }
            b'"' => {
                i = skip_double_quoted(bytes, i + 1);
                command_position = false;
                continue;
            }
            b'\\' => {
                i += 2;
                command_position = false;
                continue;
            }
            b'#' if i == 0 || bytes[i - 1].is_ascii_whitespace() => return None,
            b'$' if next == Some(b'\'') => return Some("$'"),
            b'<' | b'>' if next == Some(b'(') => return Some(if c == b'<' { "<(" } else { ">(" }),
            b'&' if next == Some(b'>') => return Some("&>"),
            b'|' if next == Some(b'&') => return Some("|&"),
            b'[' | b']' if next == Some(c) && word_bounded(bytes, i, 2) => {
                return Some(if c == b'[' { "[[" } else { "]]" });
            }
            b';' | b'&' | b'|' | b'(' | b'{' | b'\n' => {
                command_position = true;
                i += 1;
                continue;
            }
            _ if c.is_ascii_whitespace() => {
                i += 1;
                continue;
            }
            _ => {}
        }
        // A plain word: a keyword only where a command starts.
        let end = bytes[i..]
            .iter()
            .position(|b| b.is_ascii_whitespace() || b";&|()<>'\"".contains(b))
            .map_or(bytes.len(), |n| i + n);
        let word = &command[i..end];
        if command_position && matches!(word, "source" | "function") {
            return Some(if word == "source" {
                "source"
            } else {
                "function"
            });
        }
        // `VAR=value cmd`: the command still starts after the assignment.
        command_position = command_position && word.contains('=') && !word.starts_with('=');
        i = end.max(i + 1);
    }
    None
}

/// Whether the `len` bytes at `at` stand as a word of their own.
fn word_bounded(bytes: &[u8], at: usize, len: usize) -> bool {
    let before =
        at == 0 || bytes[at - 1].is_ascii_whitespace() || b";&|(!".contains(&bytes[at - 1]);
    let after = bytes
        .get(at + len)
        .is_none_or(|b| b.is_ascii_whitespace() || b";&|)".contains(b));
    before && after
}

fn skip_past(bytes: &[u8], from: usize, quote: u8) -> usize {
    bytes[from..]
        .iter()
        .position(|&b| b == quote)
        .map_or(bytes.len(), |n| from + n + 1)
}

fn skip_double_quoted(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// `command` as one POSIX-shell word in single quotes (`'` written `'\''`).
pub(crate) fn single_quoted(command: &str) -> String {
    format!("'{}'", command.replace('\'', r"'\''"))
}

/// `command` as the container stack should be given it: unchanged when
/// `/bin/sh` runs it as bash would, else `bash -c '<command>'`.
pub(crate) fn for_container_stack(command: &str) -> String {
    if bash_only(command).is_some() {
        format!("bash -c {}", single_quoted(command))
    } else {
        command.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_anycable_line_needs_bash_for_its_double_brackets() {
        let line = r#"[[ "$ANYCABLE_DEPLOYMENT" == "true" ]] && bundle exec anycable --server-command="anycable-go" || bundle exec rails server -p $PORT -b 0.0.0.0"#;
        assert_eq!(bash_only(line), Some("[["));
    }

    #[test]
    fn posix_lines_need_no_bash() {
        for line in [
            "gunicorn refapp.wsgi --bind 0.0.0.0:$PORT --log-file -",
            "REMAP_SIGTERM=SIGQUIT celery -A refapp worker -Q a,b -n w@%h",
            r#"[ "$X" = "true" ] && echo a || echo b"#,
            "echo '[[ quoted ]]' \"$(date) [[\" # [[ in a comment",
            "bin/start --flag=[[x]]",
            "echo a >out 2>&1",
            "test -f x && . ./env.sh",
        ] {
            assert_eq!(bash_only(line), None, "{line}");
        }
    }

    #[test]
    fn each_bash_construct_is_named() {
        for (line, construct) in [
            ("diff <(a) <(b)", "<("),
            ("tee >(logger)", ">("),
            ("run &> log", "&>"),
            ("run |& tee log", "|&"),
            ("echo $'a\\tb'", "$'"),
            ("source .env && exec web", "source"),
            ("X=1 source .env", "source"),
            ("true; function f { :; }", "function"),
            ("if [[ -n $X ]]; then a; fi", "[["),
        ] {
            assert_eq!(bash_only(line), Some(construct), "{line}");
        }
    }

    #[test]
    fn source_as_an_argument_is_not_a_keyword() {
        assert_eq!(bash_only("bin/fetch source"), None);
    }

    #[test]
    fn the_container_stack_gets_bash_only_lines_through_bash() {
        assert_eq!(
            for_container_stack(r#"[[ "$A" == "it's" ]] && a || b"#),
            r#"bash -c '[[ "$A" == "it'\''s" ]] && a || b'"#
        );
        assert_eq!(for_container_stack("gunicorn x"), "gunicorn x");
    }
}
