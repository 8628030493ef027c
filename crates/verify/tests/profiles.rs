//! Profiles: the shipped ones load; wrong ones are refused with the line and
//! what was expected.
#![allow(clippy::unwrap_used)]

use assure_model::Catalog;
use assure_verify::{Profile, Rule};

fn parse(text: &str) -> Result<Profile, String> {
    Profile::parse(text, &Catalog::builtin().clone()).map_err(|e| e.to_string())
}

#[test]
fn the_shipped_profiles_load_and_cite_clauses_for_every_requirement() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../config/profiles");
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let profile = parse(&std::fs::read_to_string(&path).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(profile.requirements.iter().all(|r| !r.clauses.is_empty()));
        names.push(profile.name);
    }
    names.sort();
    assert_eq!(
        names,
        [
            "component-supplier",
            "critical-supplier",
            "logistics-provider"
        ]
    );

    // The critical-supplier profile maps to every item of 28000 8.4 a–g and
    // touches all five 22340 domains.
    let critical = parse(include_str!(
        "../../../config/profiles/critical-supplier.toml"
    ))
    .unwrap();
    let clauses: Vec<&str> = critical
        .requirements
        .iter()
        .flat_map(|r| r.clauses.iter().map(String::as_str))
        .collect();
    for item in ["a", "b", "c", "d", "e", "f", "g"] {
        let clause = format!("ISO28000:8.4.{item}");
        assert!(clauses.contains(&clause.as_str()), "{clause} missing");
    }
    let domains = critical
        .requirements
        .iter()
        .filter(|r| matches!(&r.rule, Rule::Control { asked, .. } if asked.starts_with("every")))
        .count();
    assert!(domains >= 4);
}

const HEAD: &str = "name = \"p\"\ntitle = \"p\"\n";

fn refused(body: &str, line: usize, words: &str) {
    let error = parse(&format!("{HEAD}{body}")).unwrap_err();
    assert!(error.starts_with(&format!("line {line}: ")), "{error}");
    assert!(error.contains(words), "`{error}` lacks `{words}`");
}

#[test]
fn wrong_profiles_name_the_line_and_what_was_expected() {
    refused(
        "[[requirement]]\nid = \"x\"\nkind = \"magic\"\nclauses = [\"ISO28000:8.4\"]\n",
        3,
        "unknown variant `magic`, expected one of `certification`",
    );
    refused(
        "\n[[requirement]]\nid = \"x\"\nkind = \"incidents\"\nclauses = [\"ISO28000:8.4\"]\n\
         severity = \"high\"\nopen_for = \"a month\"\nwindow = \"1y\"\n",
        4,
        "`a month` is not a duration",
    );
    refused(
        "[[requirement]]\nid = \"x\"\nkind = \"control\"\nclauses = [\"ISO28000:8.4\"]\n\
         control = \"ISO28000:99.9\"\n",
        3,
        "unknown control id `ISO28000:99.9`",
    );
    refused(
        "[[requirement]]\nid = \"x\"\nkind = \"certification\"\nclauses = [\"ISO28000:8.4\"]\n",
        3,
        "missing field `standard`",
    );
    refused(
        "[[requirement]]\nid = \"x\"\nkind = \"certification\"\n",
        3,
        "missing field `clauses`",
    );
    refused(
        "[[requirement]]\nid = \"x\"\nkind = \"scope\"\nclauses = [\"ISO28000:4.3\"]\nextra = 1\n",
        3,
        "unknown field `extra`",
    );
    refused(
        "[[requirement]]\nid = \"x\"\nkind = \"control\"\nclauses = [\"section four\"]\n",
        3,
        "`section four` is not a clause reference",
    );
    refused(
        "[[requirement]]\nid = \"x\"\nkind = \"relationship\"\nclauses = [\"ISO28000:4.3\"]\n\
         [[requirement]]\nid = \"x\"\nkind = \"relationship\"\nclauses = [\"ISO28000:4.3\"]\n",
        7,
        "used twice",
    );
    refused(
        "[[requirement]]\nid = \"x\"\nkind = \"cosigned\"\nclauses = [\"ISO28000:9.2\"]\n\
         record = \"audit\"\nthreshold = 2\nsigners = [\"subject\"]\n",
        3,
        "more than the 1 signers",
    );
    refused(
        "[[requirement]]\nid = \"x\"\nkind = \"control\"\nclauses = [\"ISO28000:9.2\"]\n\
         control = \"ISO28000:5.2\"\ndomain = \"cyber\"\n",
        3,
        "exactly one of",
    );
    // Top-level mistakes name their own line.
    let error = parse("name = \"p\"\ntitle = \"p\"\ncolour = \"red\"\n").unwrap_err();
    assert!(
        error.starts_with("line 3: unknown field `colour`"),
        "{error}"
    );
    let error = parse(HEAD).unwrap_err();
    assert!(error.contains("at least one [[requirement]]"), "{error}");
}
