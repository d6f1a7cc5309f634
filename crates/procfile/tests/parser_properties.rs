//! Property tests: the Procfile parser never panics, and what it accepts round-trips.

// An integration test is a crate of its own: it uses some of the dev-dependencies
// its neighbours share, and an unwrap in a test helper is an assertion.
#![allow(unused_crate_dependencies, clippy::unwrap_used)]

use procfile::parse;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let parsed = parse("Procfile", &bytes);
        for d in &parsed.diagnostics {
            // Every finding names the file and a real line.
            prop_assert!(d.line >= 1);
            prop_assert!(!d.render().is_empty());
        }
    }

    #[test]
    fn valid_tables_round_trip(
        entries in proptest::collection::btree_map("[a-zA-Z0-9_][a-zA-Z0-9_.-]{0,20}", "[a-zA-Z0-9 $=_./:-]{0,60}[a-zA-Z0-9]", 1..12),
        crlf in any::<bool>(),
        comments in any::<bool>(),
    ) {
        let eol = if crlf { "\r\n" } else { "\n" };
        let mut text = String::new();
        for (name, command) in &entries {
            if comments { text.push_str(&format!("# {name}{eol}{eol}")); }
            text.push_str(&format!("{name}: {command}{eol}"));
        }
        let parsed = parse("Procfile", text.as_bytes());
        prop_assert!(!parsed.has_errors());
        let got: Vec<_> = parsed.entries.iter().map(|e| (e.name.clone(), e.command.clone())).collect();
        let want: Vec<_> = entries.into_iter().map(|(n, c)| (n, c.trim().to_string())).collect();
        prop_assert_eq!(got, want);
    }
}
