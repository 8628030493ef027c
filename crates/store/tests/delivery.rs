//! Whether our notices reached their readers, as the disclosure log and the
//! peer book say: per record, per grantee and log, and for the owner alone.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use assure_access::{Clearance, Compartment, CompartmentId, Grant, Reader, Role, Rule};
use assure_model::predicate::{
    Body, Common, Control, ControlStatus, Incident, IncidentStatus, Predicate, Severity,
};
use assure_model::{Did, Keypair, Record, SubjectRef, issue};
use assure_store::{Alert, Disclosure, Location, LogId, NewEntry, Store};
use jiff::Timestamp;

fn key(seed: u8) -> Keypair {
    Keypair::from_seed([seed; 32])
}

fn common(issuer: Did) -> Common {
    Common {
        issuer,
        issued_at: Timestamp::now(),
        valid_until: None,
        supersedes: vec![],
        clauses: vec![],
        domain: Some(assure_model::predicate::Domain::Cyber),
    }
}

fn control(owner: &Keypair, n: usize) -> (Vec<u8>, Record) {
    let predicate = Predicate {
        common: common(owner.did()),
        body: Body::Control(Control {
            control_id: "ISO22340:9.2.4".into(),
            status: ControlStatus::Implemented,
            statement: format!("Monitored around the clock ({n})."),
            evidence: vec![],
            last_tested: None,
        }),
    };
    issue(owner, &SubjectRef::org(owner.did()), &predicate).unwrap()
}

fn incident(owner: &Keypair, affected: &[Did]) -> (Vec<u8>, Record) {
    let now = Timestamp::now();
    let predicate = Predicate {
        common: common(owner.did()),
        body: Body::Incident(Incident {
            category: "cargo-tampering".into(),
            severity: Severity::High,
            summary: "Seal mismatch".into(),
            occurred_at: now,
            detected_at: now,
            status: IncidentStatus::Open,
            affected: affected.to_vec(),
            corrective_actions: vec![],
        }),
    };
    issue(owner, &SubjectRef::org(owner.did()), &predicate).unwrap()
}

fn grant(party: Did, roles: &[Role]) -> Grant {
    let roles: BTreeSet<Role> = roles.iter().copied().collect();
    Grant::new(
        party,
        roles,
        Clearance::Partner,
        "MSA",
        Timestamp::now() - jiff::SignedDuration::from_secs(60),
        None,
        1,
    )
    .unwrap()
}

struct Fixture {
    _dir: tempfile::TempDir,
    store: Store,
    owner: Keypair,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let owner = key(1);
        store.set_owner(owner.did()).unwrap();
        Self {
            _dir: dir,
            store,
            owner,
        }
    }

    fn compartment(&self, seed: u8, label: &str, rule: Rule) -> LogId {
        let compartment =
            Compartment::new(CompartmentId::from_bytes([seed; 16]), label, rule).unwrap();
        self.store
            .create_compartment(&self.owner, compartment, Timestamp::now())
            .unwrap()
    }

    fn append(&self, log: LogId, signed: (Vec<u8>, Record)) -> Location {
        let entry = NewEntry {
            compartment: log.compartment,
            bytes: signed.0,
            record: signed.1,
        };
        let appended = self
            .store
            .append(&self.owner, &[entry], Timestamp::now())
            .unwrap();
        appended[0].location
    }

    /// What a party pulling over the network is served: the entries,
    /// disclosed by the store's own read path.
    fn pull(&self, party: Did, log: LogId, from: u64, max: u64) {
        let theirs = self
            .store
            .gate(Reader::Party(party), Timestamp::now(), "network")
            .unwrap();
        self.store
            .read_entries(&theirs, log, from, max, usize::MAX)
            .unwrap()
            .unwrap();
    }
}

#[test]
fn an_incident_is_received_once_a_served_range_covers_it() {
    let f = Fixture::new();
    let (affected, other, stranger) = (key(2).did(), key(3).did(), key(4).did());
    let regulator = key(5).did();
    for party in [affected, other] {
        f.store
            .put_grant(&grant(party, &[Role::Customer]), "added", Timestamp::now())
            .unwrap();
    }
    f.store
        .put_grant(
            &grant(regulator, &[Role::Regulator]),
            "added",
            Timestamp::now(),
        )
        .unwrap();
    let audience = f.compartment(
        9,
        "incident",
        Rule::audience([affected, other, stranger], [Role::Regulator]),
    );
    f.append(audience, control(&f.owner, 0));
    let at = f.append(audience, incident(&f.owner, &[affected, other, stranger]));
    let ours = f.store.as_owner().unwrap();

    let before = f.store.deliveries(&ours, at).unwrap();
    let parties: Vec<Did> = before.iter().map(|d| d.party).collect();
    assert_eq!(
        parties,
        [affected, other, stranger],
        "the affected, in order"
    );
    assert!(before.iter().all(|d| !d.received && d.at.is_none()));
    let may_read: Vec<bool> = before.iter().map(|d| d.may_read).collect();
    assert_eq!(may_read, [true, true, false], "the stranger holds no grant");

    // A head shown, or a range that stops short of the incident, is not
    // a delivery.
    let theirs = f
        .store
        .gate(Reader::Party(affected), Timestamp::now(), "network")
        .unwrap();
    f.store.heads(&theirs).unwrap();
    f.pull(affected, audience, 0, 1);
    assert!(!f.store.deliveries(&ours, at).unwrap()[0].received);
    f.pull(affected, audience, 1, 10);
    let after = f.store.deliveries(&ours, at).unwrap();
    assert!(after[0].received && after[0].at.is_some());
    assert!(!after[1].received, "only the party served");

    // Anyone but the owner is told nothing.
    let theirs = f
        .store
        .gate(Reader::Party(affected), Timestamp::now(), "api")
        .unwrap();
    assert!(f.store.deliveries(&theirs, at).unwrap().is_empty());
    assert_eq!(f.store.undelivered(&theirs).unwrap(), Default::default());
    // Nor about a place that holds no record.
    let nowhere = Location {
        log: at.log,
        index: 99,
    };
    assert!(f.store.deliveries(&ours, nowhere).unwrap().is_empty());
}

#[test]
fn grantees_behind_and_never_connected_are_listed() {
    let f = Fixture::new();
    let (caught_up, behind, silent) = (key(2).did(), key(3).did(), key(4).did());
    let revoked = key(6).did();
    for party in [caught_up, behind, silent] {
        f.store
            .put_grant(&grant(party, &[Role::Customer]), "added", Timestamp::now())
            .unwrap();
    }
    let gone = grant(revoked, &[Role::Customer]).revoke(Timestamp::now());
    f.store
        .put_grant(&gone, "revoked", Timestamp::now())
        .unwrap();
    let partners = f.compartment(1, "partners", Rule::partners());
    let public = f.compartment(2, "public", Rule::public());
    for n in 0..3 {
        f.append(partners, control(&f.owner, n));
    }
    f.append(public, control(&f.owner, 9));
    let ours = f.store.as_owner().unwrap();

    f.pull(caught_up, partners, 0, 3);
    f.pull(behind, partners, 0, 1);
    f.store
        .peer_connected(behind, None, Timestamp::now())
        .unwrap();
    let undelivered = f.store.undelivered(&ours).unwrap();
    let rows: Vec<(Did, u64, u64)> = undelivered
        .behind
        .iter()
        .map(|b| (b.party, b.received, b.missing()))
        .collect();
    let mut want = vec![(behind, 1, 2), (silent, 0, 3)];
    want.sort();
    let mut got = rows.clone();
    got.sort();
    assert_eq!(got, want, "public logs and revoked parties are not counted");
    assert!(
        undelivered
            .behind
            .iter()
            .all(|b| b.log == partners && b.label == "partners")
    );
    assert_eq!(undelivered.never_connected, [silent]);
    assert_eq!(undelivered.missing(), 5);
    let warnings = undelivered.warnings(Some(0), |d| d.fmt_short());
    assert_eq!(warnings.len(), 4, "{warnings:?}");
    assert!(warnings[0].starts_with("No peers connected"));
    assert!(warnings[1].contains(&silent.fmt_short()) && warnings[1].contains("never connected"));
    assert!(undelivered.warnings(Some(2), |d| d.fmt_short()).len() == 3);

    // Once served, the grantee is neither behind nor silent.
    f.pull(silent, partners, 0, 3);
    f.pull(behind, partners, 1, 3);
    assert_eq!(f.store.undelivered(&ours).unwrap(), Default::default());
}

#[test]
fn an_alert_about_a_record_is_raised_once_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let alert = Alert {
        at: Timestamp::now(),
        kind: Alert::AWAITING_ACKNOWLEDGEMENT.into(),
        origin: key(2).did().to_string(),
        detail: "an audit of us awaits our co-signature".into(),
        record: Some("ab".repeat(32)),
        log: None,
    };
    {
        let store = Store::open(dir.path()).unwrap();
        store.set_owner(key(1).did()).unwrap();
        assert!(store.raise_once(&alert).unwrap());
        assert!(!store.raise_once(&alert).unwrap());
        // Another kind about the same record is another alert.
        let incident = Alert {
            kind: Alert::INCIDENT.into(),
            ..alert.clone()
        };
        assert!(store.raise_once(&incident).unwrap());
    }
    let store = Store::open(dir.path()).unwrap();
    assert!(!store.raise_once(&alert).unwrap());
    let alerts = store.alerts(&store.as_owner().unwrap()).unwrap();
    assert_eq!(alerts.len(), 2);
    // Disclosures are untouched by any of this.
    let none: Vec<Disclosure> = store.disclosures(0, 10).unwrap();
    assert!(none.is_empty());
}
