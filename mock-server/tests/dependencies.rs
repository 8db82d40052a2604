//! The library's own dependencies: a crate that uses the mock in its tests, with
//! `default-features = false`, must not compile the binary's command-line stack.

use std::process::Command;
use std::sync::mpsc;
use std::time::Duration;

/// What only the `mock-server` binary needs, behind the `cli` feature.
const CLI_ONLY: [&str; 4] = ["clap", "toml", "tracing-subscriber", "anyhow"];

/// How long `cargo tree` may take; it reads the lock file and the downloaded manifests only.
const LIMIT: Duration = Duration::from_secs(120);

/// The names of the packages `mock-server`'s normal (not dev, not build) dependencies pull
/// in, with the features `features` selects, as `cargo tree` lists them.
fn normal_dependencies(features: &[&str]) -> Vec<String> {
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
    let mut command = Command::new(env!("CARGO"));
    command
        .args([
            "tree",
            "--offline",
            "--manifest-path",
            manifest,
            "-p",
            "mock-server",
        ])
        .args(["-e", "normal", "--prefix", "none", "--format", "{p}"])
        .args(features);
    let (sent, done) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = sent.send(command.output());
    });
    let output = done
        .recv_timeout(LIMIT)
        .unwrap_or_else(|_| panic!("cargo tree did not finish within {LIMIT:?}"))
        .expect("cargo runs");
    assert!(
        output.status.success(),
        "cargo tree: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

#[test]
fn without_default_features_the_library_pulls_in_no_cli_crate() {
    let names = normal_dependencies(&["--no-default-features"]);
    assert!(names.iter().any(|name| name == "serde"), "{names:?}");
    for cli in CLI_ONLY {
        assert!(!names.iter().any(|name| name == cli), "{cli} in {names:?}");
    }
}

/// The check above would pass on a listing that shows nothing; this one shows that the same
/// listing does name the CLI's crates when the binary is built.
#[test]
fn with_the_cli_feature_the_listing_names_the_cli_crates() {
    let names = normal_dependencies(&[]);
    for cli in CLI_ONLY {
        assert!(
            names.iter().any(|name| name == cli),
            "{cli} not in {names:?}"
        );
    }
}
