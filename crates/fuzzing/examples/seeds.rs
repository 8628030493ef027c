//! Writes the seed corpus, `fuzz/corpus/TARGET/<digest>`, from the example
//! files and the node's own encoders (see `assure_fuzzing::seeds`). Files
//! already there are kept: the fuzzer adds its finds beside them.
#![allow(clippy::unwrap_used)]

fn main() {
    let corpus = assure_fuzzing::seeds::root().join("fuzz/corpus");
    for (target, bytes) in assure_fuzzing::seeds::seeds() {
        let dir = corpus.join(target);
        std::fs::create_dir_all(&dir).unwrap();
        let name = blake3::hash(&bytes).to_hex()[..16].to_owned();
        std::fs::write(dir.join(name), &bytes).unwrap();
    }
}
