//! `assure demo --once --seed 1`: six real nodes, the verdicts expected of
//! the demo supply chain, need-to-know in numbers, and working dashboards.

use std::process::Command;

#[test]
fn the_demo_prints_the_expected_verdicts() {
    let out = Command::new(env!("CARGO_BIN_EXE_assure"))
        .args(["demo", "--once", "--seed", "1"])
        .env_remove("ASSURE_DATA")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("starting six nodes"),
        "progress is shown: {stderr}"
    );

    let line = |words: &[&str]| {
        stdout
            .lines()
            .find(|l| words.iter().all(|w| l.contains(w)))
            .unwrap_or_else(|| panic!("no line with {words:?} in:\n{stdout}"))
            .to_owned()
    };
    line(&[
        "1",
        "Kessler Precision Components AG",
        "critical-supplier",
        "PASS",
        "every requirement met",
    ]);
    let haulier = line(&["1", "Maasrijn Logistics B.V.", "logistics-provider", "FAIL"]);
    assert!(haulier.contains("incidents: high incident"), "{haulier}");
    assert!(haulier.contains("(at most 30 days)"), "{haulier}");
    line(&[
        "2",
        "Ostrava Castings s.r.o.",
        "PASS (transitive)",
        "as verified by Kessler",
    ]);

    // What the regulator sees that the manufacturer does not, and back.
    line(&["Kessler Precision Components AG", "regulators", "1", "0"]);
    line(&["Maasrijn Logistics B.V.", "regulators", "2", "0"]);
    let confidential = line(&["Kessler Precision Components AG", "confidential"]);
    assert!(
        confidential.split_whitespace().any(|w| w == "0"),
        "{confidential}"
    );
    line(&["Ostrava Castings s.r.o.", "partners"]);

    // Six dashboards, each with a one-time sign-in link (never the admin
    // token in a URL), and the regulator's request names the seed-1 DID of
    // the logistics provider (config/records/README.md).
    assert_eq!(stdout.matches("/login/once/").count(), 6, "{stdout}");
    assert_eq!(stdout.matches("dashboard-link").count(), 6, "{stdout}");
    assert!(!stdout.contains("token="), "{stdout}");
    line(&[
        "api-request GET",
        "did:key:z6Mkt6316e2PN3mZdB6N9CrzomJYUd1s5yBZi1XYHmwT9TUP",
        "--purpose",
    ]);
}
