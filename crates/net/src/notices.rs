//! The alerts a replica raises when it arrives: an incident that names us
//! as affected, or that is shared with us as a regulator (ISO 28000
//! 8.6.3), and an audit of us that we have not co-signed yet (ISO 28000
//! 9.2). Each is raised once per record, however often the replica is
//! fetched.

use assure_model::{Body, Did, Record};
use assure_store::{Alert, Store};
use jiff::Timestamp;

use crate::Event;

/// The alerts `records`, just received by `me`, call for, with the event
/// each one emits. `regulator`: we read their log as a regulator (its
/// author's offer said so). `cosigned` says whether we already published
/// our co-signature of a record.
pub(crate) fn notices(
    me: Did,
    regulator: bool,
    records: &[(Vec<u8>, Record)],
    cosigned: impl Fn(&Record) -> bool,
) -> Vec<(Alert, Event)> {
    records
        .iter()
        .map(|(_, record)| record)
        .filter(|record| record.issuer() != me)
        .filter_map(|record| {
            // Whoever signed it first: the author of the log, or for an
            // audit the auditor whose record the log's author holds.
            let issuer = record.issuer();
            let detail = match &record.predicate.body {
                Body::Incident(i) if i.affected.contains(&me) => format!(
                    "{} reports a {} {} incident affecting us: {}",
                    issuer.fmt_short(),
                    i.severity,
                    i.category,
                    i.summary
                ),
                Body::Incident(i) if regulator => format!(
                    "{} reports a {} {} incident to us as its regulator ({} affected parties): {}",
                    issuer.fmt_short(),
                    i.severity,
                    i.category,
                    i.affected.len(),
                    i.summary
                ),
                Body::Audit(a)
                    if record.subject.did == me
                        && !record.signers.contains(&me)
                        && !cosigned(record) =>
                {
                    format!(
                        "{} audited us ({} {}, {}): awaiting our acknowledgement; review it \
                         and co-sign it with `assure cosign`",
                        issuer.fmt_short(),
                        a.audit_type,
                        a.standard,
                        a.result
                    )
                }
                _ => return None,
            };
            let kind = match record.predicate.body {
                Body::Incident(_) => Alert::INCIDENT,
                _ => Alert::AWAITING_ACKNOWLEDGEMENT,
            };
            let alert = Alert {
                at: Timestamp::now(),
                kind: kind.into(),
                origin: issuer.to_string(),
                detail,
                record: Some(record.id.to_string()),
                log: None,
            };
            let event = match record.predicate.body {
                Body::Incident(_) => Event::Incident {
                    origin: issuer,
                    record: record.id.to_string(),
                },
                _ => Event::AwaitingAcknowledgement {
                    origin: issuer,
                    record: record.id.to_string(),
                },
            };
            Some((alert, event))
        })
        .collect()
}

/// Whether one of our own logs holds `record`: we published our
/// co-signature of it.
pub(crate) fn cosigned_by_us(store: &Store, me: Did, record: &Record) -> bool {
    store.as_owner().is_ok_and(|ours| {
        store
            .locations(&ours, &record.id)
            .iter()
            .any(|at| at.log.origin == me)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use assure_model::predicate::{
        Audit, AuditResult, AuditType, Common, Incident, IncidentStatus, Period, Predicate,
        Severity,
    };
    use assure_model::{Keypair, SubjectRef};

    fn key(seed: u8) -> Keypair {
        Keypair::from_seed([seed; 32])
    }

    fn signed(issuer: &Keypair, subject: Did, body: Body) -> (Vec<u8>, Record) {
        let predicate = Predicate {
            common: Common {
                issuer: issuer.did(),
                issued_at: Timestamp::now(),
                valid_until: None,
                supersedes: vec![],
                clauses: vec![],
                domain: None,
            },
            body,
        };
        assure_model::issue(issuer, &SubjectRef::org(subject), &predicate).unwrap()
    }

    fn audit(auditor: &Keypair, auditee: Did) -> (Vec<u8>, Record) {
        let date = jiff::civil::date(2026, 10, 1);
        signed(
            auditor,
            auditee,
            Body::Audit(Audit {
                audit_type: AuditType::Certification,
                standard: "ISO 28000:2022".into(),
                scope_ref: None,
                period: Period {
                    from: date,
                    to: date,
                },
                result: AuditResult::Certified,
                findings: vec![],
                certificate_number: None,
            }),
        )
    }

    fn incident(author: &Keypair, affected: Vec<Did>) -> (Vec<u8>, Record) {
        let now = Timestamp::now();
        signed(
            author,
            author.did(),
            Body::Incident(Incident {
                category: "cargo-tampering".into(),
                severity: Severity::High,
                summary: "Seal mismatch".into(),
                occurred_at: now,
                detected_at: now,
                status: IncidentStatus::Open,
                affected,
                corrective_actions: vec![],
            }),
        )
    }

    fn kinds(notices: &[(Alert, Event)]) -> Vec<&str> {
        notices.iter().map(|(a, _)| a.kind.as_str()).collect()
    }

    #[test]
    fn an_audit_of_us_awaits_acknowledgement_until_we_cosign_it() {
        let (me, auditor, other) = (key(1), key(2), key(3));
        let footing = (me.did(), false);
        let ours = audit(&auditor, me.did());
        let theirs = audit(&auditor, other.did());
        let found = notices(footing.0, footing.1, &[ours.clone(), theirs], |_| false);
        assert_eq!(kinds(&found), [Alert::AWAITING_ACKNOWLEDGEMENT]);
        assert_eq!(found[0].0.record, Some(ours.1.id.to_string()));
        assert!(found[0].0.detail.contains("ISO 28000:2022"));
        // Published with our signature, in our log or in the envelope.
        assert!(notices(footing.0, footing.1, std::slice::from_ref(&ours), |_| true).is_empty());
        let (_, both) = assure_model::cosign(&ours.1, &me).unwrap();
        assert!(notices(footing.0, footing.1, &[(Vec::new(), both)], |_| false).is_empty());
    }

    #[test]
    fn an_incident_is_a_notice_to_the_affected_and_to_a_regulator() {
        let (me, author, other) = (key(1), key(2), key(3));
        let affecting_us = incident(&author, vec![me.did()]);
        let affecting_others = incident(&author, vec![other.did()]);
        let records = [affecting_us, affecting_others];
        let as_partner = notices(me.did(), false, &records, |_| false);
        assert_eq!(kinds(&as_partner), [Alert::INCIDENT]);
        assert!(as_partner[0].0.detail.contains("affecting us"));
        let as_regulator = notices(me.did(), true, &records, |_| false);
        assert_eq!(kinds(&as_regulator), [Alert::INCIDENT, Alert::INCIDENT]);
        assert!(as_regulator[1].0.detail.contains("as its regulator"));
    }
}
