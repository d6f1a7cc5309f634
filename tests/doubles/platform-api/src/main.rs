//! `fake-platform-api APP TYPE=QUANTITY...`: serve the fake Platform API (for
//! benchmarks and demos); the token comes from $FAKE_PLATFORM_API_TOKEN.
//! Prints its base URL, then serves until killed.

// One package, several targets: the package's dependencies serve all of them.
#![allow(unused_crate_dependencies)]

use fake_platform_api::FakeApi;

fn main() {
    let mut args = std::env::args().skip(1);
    let app = args.next().unwrap_or_else(|| {
        eprintln!(
            "usage: fake-platform-api APP TYPE=QUANTITY...  (token: $FAKE_PLATFORM_API_TOKEN)"
        );
        std::process::exit(2);
    });
    let token = std::env::var("FAKE_PLATFORM_API_TOKEN").unwrap_or_default();
    let formation: Vec<(String, u32)> = args
        .filter_map(|a| {
            let (t, q) = a.split_once('=')?;
            Some((t.to_string(), q.parse().ok()?))
        })
        .collect();
    let refs: Vec<(&str, u32)> = formation.iter().map(|(t, q)| (t.as_str(), *q)).collect();
    let api = FakeApi::start(&app, &token, &refs);
    println!("{}", api.url());
    loop {
        std::thread::park();
    }
}
