//! Replays the fuzz target over its committed seeds and regressions (`fuzz/`), so that every
//! crash the fuzzer ever found stays fixed, without the fuzzer installed.

use std::path::Path;

#[test]
fn every_committed_fuzz_input_gets_well_formed_replies() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let mut replayed = 0;
    for dir in ["corpus/request", "regressions/request"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        for entry in entries {
            let path = entry.expect("a directory entry").path();
            if path.is_file() && path.file_name().is_some_and(|n| n != ".gitkeep") {
                let data = std::fs::read(&path).expect("readable");
                mock_server::socketless::exercise(&data);
                replayed += 1;
            }
        }
    }
    assert!(
        replayed >= 10,
        "only {replayed} fuzz inputs found under {}",
        root.display()
    );
}
