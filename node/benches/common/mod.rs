//! What the node benches share: a realistic control record and a partner
//! grant.
#![allow(dead_code)]

use assure_access::{Clearance, Grant, Role};
use assure_model::predicate::{Body, Common, Control, ControlStatus, Domain, Predicate};
use assure_model::{Keypair, SubjectRef, issue};
use jiff::Timestamp;

/// A control record issued by `owner`, made distinct by `n`.
pub(crate) fn control(owner: &Keypair, n: usize) -> (Vec<u8>, assure_model::Record) {
    let predicate = Predicate {
        common: Common {
            issuer: owner.did(),
            issued_at: Timestamp::now(),
            valid_until: None,
            supersedes: vec![],
            clauses: vec!["ISO22340:9.2.4".into()],
            domain: Some(Domain::Cyber),
        },
        body: Body::Control(Control {
            control_id: "ISO22340:9.2.4".into(),
            status: ControlStatus::Implemented,
            statement: format!("Warehouse systems are monitored around the clock; check {n}."),
            evidence: vec![],
            last_tested: None,
        }),
    };
    issue(owner, &SubjectRef::org(owner.did()), &predicate).unwrap()
}

/// A partner grant with the role customer.
pub(crate) fn grant(party: assure_model::Did) -> Grant {
    Grant::new(
        party,
        [Role::Customer].into(),
        Clearance::Partner,
        "BENCH",
        Timestamp::now(),
        None,
        1,
    )
    .unwrap()
}
