//! Every committed input of every fuzz target, replayed through the
//! target's body: the seed corpus (`fuzz/corpus/TARGET/`) and the inputs of
//! crashes found and fixed (`fuzz/regressions/TARGET/`). Every target has a
//! corpus and a cargo-fuzz target file, and every corpus a target.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use assure_fuzzing::TARGETS;

fn fuzz_dir() -> PathBuf {
    assure_fuzzing::seeds::root().join("fuzz")
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| entries.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    files.sort();
    files
}

fn names(dir: &Path) -> BTreeSet<String> {
    files(dir)
        .iter()
        .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn every_corpus_and_regression_input_passes_its_target() {
    let mut failures = Vec::new();
    let mut replayed = 0;
    for (name, body) in TARGETS {
        let corpus = files(&fuzz_dir().join("corpus").join(name));
        assert!(!corpus.is_empty(), "fuzz/corpus/{name} holds no seed");
        let regressions = files(&fuzz_dir().join("regressions").join(name));
        for file in corpus.iter().chain(&regressions) {
            let data = std::fs::read(file).unwrap();
            if catch_unwind(AssertUnwindSafe(|| body(&data))).is_err() {
                failures.push(file.display().to_string());
            }
            replayed += 1;
        }
    }
    assert!(failures.is_empty(), "inputs that fail: {failures:#?}");
    println!("{replayed} inputs replayed");
}

#[test]
fn every_target_has_a_fuzz_target_and_a_corpus_and_nothing_else_does() {
    let targets: BTreeSet<String> = TARGETS.iter().map(|(n, _)| (*n).to_owned()).collect();
    assert_eq!(names(&fuzz_dir().join("fuzz_targets")), targets);
    assert_eq!(names(&fuzz_dir().join("corpus")), targets);
    assert!(names(&fuzz_dir().join("regressions")).is_subset(&targets));
}

/// The seed corpus holds every seed the generator makes: a change to an
/// encoder shows up as a new seed to commit.
#[test]
fn the_committed_corpus_holds_every_current_seed() {
    let mut missing = Vec::new();
    for (target, bytes) in assure_fuzzing::seeds::seeds() {
        let dir = fuzz_dir().join("corpus").join(target);
        let held = files(&dir)
            .iter()
            .any(|f| std::fs::read(f).unwrap() == bytes);
        if !held {
            missing.push(target);
        }
    }
    assert!(
        missing.is_empty(),
        "seeds not in fuzz/corpus (run `cargo run -p assure-fuzzing --example seeds`): {missing:?}"
    );
}
