//! The `release-phase` binary this buildpack installs into its launch layer.

fn main() -> std::process::ExitCode {
    release_phase::cli::main()
}
