//! The example drafts under `config/records/` parse, issue and validate when
//! published by the organization their first line names, and name only the
//! demo organizations listed in their README.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use assure_model::{Catalog, Did, Draft, Keypair, Kind, issue, validate};
use jiff::Timestamp;

fn now() -> Timestamp {
    "2026-11-22T08:00:00Z".parse().unwrap()
}

fn records_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/records")
}

/// The demo organizations, by seed, as `config/records/README.md` lists them.
const ORGANIZATIONS: [&str; 6] = [
    "manufacturer",
    "tier-1 component supplier",
    "tier-2 supplier",
    "logistics provider",
    "certification body",
    "customs regulator",
];

fn demo_key(seed: u8) -> Keypair {
    Keypair::from_seed([seed; 32])
}

#[test]
fn readme_lists_the_did_of_every_demo_seed() {
    let readme = std::fs::read_to_string(records_dir().join("README.md")).unwrap();
    for (seed, organization) in (1u8..).zip(ORGANIZATIONS) {
        let did = demo_key(seed).did();
        let row = format!("| {seed} | {organization} |");
        let line = readme
            .lines()
            .find(|line| line.starts_with(&row))
            .unwrap_or_else(|| panic!("README has no row `{row}`"));
        assert!(
            line.contains(&did.to_string()),
            "row of seed {seed} lacks {did}"
        );
    }
}

/// The seed named by a first line `# publish as: <organization> (seed <n>)`.
fn publisher(path: &Path, text: &str) -> u8 {
    let first = text.lines().next().unwrap_or_default();
    let rest = first
        .strip_prefix("# publish as: ")
        .unwrap_or_else(|| panic!("{}: first line must be `# publish as: …`", path.display()));
    let (organization, seed) = rest
        .strip_suffix(')')
        .and_then(|rest| rest.split_once(" (seed "))
        .unwrap_or_else(|| panic!("{}: expected `<organization> (seed <n>)`", path.display()));
    let seed: u8 = seed.parse().unwrap();
    assert_eq!(
        ORGANIZATIONS.get(usize::from(seed) - 1),
        Some(&organization),
        "{}: seed {seed} is not the {organization}",
        path.display()
    );
    seed
}

#[test]
fn every_example_issues_and_validates() {
    let catalog = Catalog::builtin().clone();
    let demo_dids: BTreeSet<Did> = (1..=6).map(|seed| demo_key(seed).did()).collect();
    let mut kinds = BTreeSet::new();
    let mut files = 0;
    for entry in std::fs::read_dir(records_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|ext| ext != "toml") {
            continue;
        }
        files += 1;
        let name = path.display();
        let text = std::fs::read_to_string(&path).unwrap();
        // A mistyped DID can still be a valid key: every DID must be a demo one.
        let values = text
            .lines()
            .filter(|line| !line.trim_start().starts_with('#'));
        for word in
            values.flat_map(|line| line.split(|c: char| !(c.is_ascii_alphanumeric() || c == ':')))
        {
            if word.starts_with("did:key:z") {
                let did: Did = word.parse().unwrap_or_else(|e| panic!("{name}: {e}"));
                assert!(
                    demo_dids.contains(&did),
                    "{name}: {did} is not a demo organization"
                );
            }
        }
        let issuer = demo_key(publisher(&path, &text));
        let draft = Draft::from_toml(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let (subject, predicate) = draft
            .into_predicate(issuer.did(), now(), &catalog)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let (bytes, issued) =
            issue(&issuer, &subject, &predicate).unwrap_or_else(|e| panic!("{name}: {e}"));
        let record = validate(&bytes, now()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(record, issued, "{name}");
        assert!(!record.expired_at(now()), "{name} has expired");
        assert!(
            path.file_stem()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with(record.kind().as_str()),
            "{name} holds a {} record",
            record.kind()
        );
        kinds.insert(record.kind());
    }
    assert_eq!(files, 10);
    assert_eq!(kinds, Kind::ALL.iter().copied().collect());
}
