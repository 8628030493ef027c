//! Crash safety: a child publishes in a loop and is killed with SIGKILL at
//! random moments; every record whose id it printed must survive, and every
//! log must verify.

use std::collections::BTreeSet;
use std::io::Read as _;
use std::os::unix::process::CommandExt as _;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime};

use assure_model::RecordId;
use assure_store::Store;

use crate::common::{Node, example, record_ids};

/// A small xorshift generator, seeded from the clock and printed, so a failing
/// run can be repeated with `ASSURE_CRASH_SEED`.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new() -> Self {
        let seed = std::env::var("ASSURE_CRASH_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                SystemTime::now()
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
                    | 1
            });
        eprintln!("crash test seed: {seed}");
        Self(seed)
    }

    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

#[test]
fn sigkill_never_loses_an_acknowledged_record() {
    // The logistics provider the example records are about.
    let (node, _) = Node::init_seeded("Crash Test Logistics", 4);
    // The incident's affected customer holds a grant, so its notice can reach it.
    node.ok(&[
        "grant",
        "add",
        "did:key:z6Mkon3Necd6NkkyfoGoHxid2znGc59LU3K7mubaRcFbLfLX",
        "--role",
        "customer",
        "--basis",
        "MSA-CRASH",
        "--unknown-party",
    ]);
    let mut rng = Rng::new();
    let mut acknowledged = BTreeSet::new();
    let assure = env!("CARGO_BIN_EXE_assure");
    let data = node.data();
    // Kill at random moments until at least 20 records were acknowledged
    // (a slow, loaded machine needs more cycles), at most 80 times.
    let mut cycle = 0;
    while acknowledged.len() < 20 && cycle < 80 {
        cycle += 1;
        // A shell loop of publishes: single records, batches of three into
        // one log, and batches whose records go to two logs made on first
        // use (an incident and a relationship, each to its own audience).
        let script = format!(
            "while true; do \
               '{assure}' --data '{data}' publish '{a}' --compartment partners || exit 1; \
               '{assure}' --data '{data}' publish '{a}' '{b}' '{s}' --compartment confidential || exit 1; \
               '{assure}' --data '{data}' publish '{c}' '{r}' || exit 1; \
             done",
            data = data.display(),
            a = example("control-cyber.toml"),
            b = example("control-physical.toml"),
            s = example("scope.toml"),
            c = example("incident-cargo-tampering.toml"),
            r = example("relationship.toml"),
        );
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(&script)
            .process_group(0)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(30 + rng.below(400)));
        let group = format!("-{}", child.id());
        let killed = Command::new("kill")
            .args(["-KILL", "--", &group])
            .status()
            .unwrap();
        assert!(killed.success(), "cycle {cycle}: kill failed");
        child.wait().unwrap();
        let mut out = String::new();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        acknowledged.extend(record_ids(&out));
    }
    eprintln!(
        "{} records acknowledged over {cycle} kills",
        acknowledged.len()
    );
    assert!(
        acknowledged.len() >= 20,
        "only {} records acknowledged",
        acknowledged.len()
    );

    node.ok(&["log", "verify"]);
    let store = Store::open(&data).unwrap();
    for id in &acknowledged {
        let id: RecordId = id.parse().unwrap();
        assert!(
            !store.locations(&store.as_owner().unwrap(), &id).is_empty(),
            "acknowledged record {id} was lost"
        );
    }
}
