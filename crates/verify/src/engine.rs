//! The verification engine: a profile, the records visible to the verifier,
//! the trust anchors and the time in; a report out. No I/O.

use std::collections::BTreeSet;

use assure_model::Did;
use assure_model::predicate::{
    AccreditedRole, AuditType, Body, ControlStatus, IncidentStatus, Kind, Outcome,
};
use jiff::Timestamp;

use crate::profile::{Age, Profile, Requirement, Rule, Signer};
use crate::report::{Evidence, Report, RequirementReport};
use crate::view::{Entry, View, same_name};

/// Who verifies, and whom it trusts to accredit auditors.
#[derive(Clone, Debug)]
pub struct Context {
    /// The verifying organization.
    pub verifier: Did,
    /// Organizations whose `accreditation` records count.
    pub anchors: BTreeSet<Did>,
}

/// What [`verify`] of one provider reads of the records a node holds: those
/// about the provider (its own, its auditors' and certification bodies'
/// records about it, the co-signed copies), and every record of the kinds
/// any verification looks at: profiles (to name the parties), relationships
/// (who names it as a supplier), accreditations (of whoever signed for it)
/// and withdrawals (what retracts a record). A superseding record is about the subject of the one it
/// supersedes. A [`View`] of these alone gives the report a view of every
/// record gives; a node holding a million records reads these, not all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reads {
    /// Records about these organizations.
    pub subjects: Vec<Did>,
    /// Records of these kinds, about anyone.
    pub kinds: Vec<Kind>,
}

impl Reads {
    /// What verifying `provider` reads.
    pub fn of(provider: Did) -> Self {
        Self {
            subjects: vec![provider],
            kinds: vec![
                Kind::Profile,
                Kind::Relationship,
                Kind::Accreditation,
                Kind::Withdrawal,
            ],
        }
    }
}

/// Verifies `provider` against `profile` with the records in `view`.
pub fn verify(view: &View<'_>, profile: &Profile, provider: Did, context: &Context) -> Report {
    let check = Check {
        view,
        provider,
        context,
        now: view.now(),
    };
    let requirements: Vec<RequirementReport> = profile
        .requirements
        .iter()
        .map(|requirement| check.requirement(requirement))
        .collect();
    Report {
        provider,
        verifier: context.verifier,
        profile: profile.name.clone(),
        profile_digest: profile.digest.clone(),
        at: view.now(),
        result: Report::overall(requirements.iter().map(|r| r.outcome)),
        requirements,
        transitive: None,
    }
}

/// One requirement's outcome before it is labelled.
struct Finding {
    outcome: Outcome,
    reason: String,
    evidence: Vec<Evidence>,
}

impl Finding {
    fn pass(reason: String, evidence: Vec<Evidence>) -> Self {
        Self {
            outcome: Outcome::Pass,
            reason,
            evidence,
        }
    }

    fn fail(reason: String, evidence: Vec<Evidence>) -> Self {
        Self {
            outcome: Outcome::Fail,
            reason,
            evidence,
        }
    }

    fn unknown(reason: String) -> Self {
        Self {
            outcome: Outcome::Inconclusive,
            reason: format!("{reason} among the records visible to us"),
            evidence: Vec::new(),
        }
    }
}

struct Check<'v, 'a> {
    view: &'v View<'a>,
    provider: Did,
    context: &'v Context,
    now: Timestamp,
}

impl<'v, 'a> Check<'v, 'a> {
    fn requirement(&self, requirement: &Requirement) -> RequirementReport {
        let finding = match &requirement.rule {
            Rule::Certification {
                standard,
                max_age,
                accept,
            } => self.certification(standard, *max_age, accept),
            Rule::Control {
                asked,
                controls,
                min_status,
                max_age,
            } => self.controls(asked, controls, *min_status, *max_age),
            Rule::Incidents {
                severity,
                open_for,
                window,
                corrective_actions,
            } => self.incidents(*severity, *open_for, *window, *corrective_actions),
            Rule::Scope { covers } => self.scope(covers),
            Rule::Relationship => self.relationship(),
            Rule::Cosigned {
                record,
                threshold,
                signers,
                accredited,
            } => self.cosigned(*record, *threshold, signers, *accredited),
        };
        RequirementReport {
            id: requirement.id.clone(),
            kind: requirement.rule.kind().to_owned(),
            clauses: requirement.clauses.clone(),
            outcome: finding.outcome,
            reason: finding.reason,
            evidence: finding.evidence,
        }
    }

    fn name(&self, did: Did) -> String {
        if did == self.provider {
            return self.provider_name();
        }
        self.legal_name(did).unwrap_or_else(|| did.fmt_short())
    }

    fn provider_name(&self) -> String {
        self.legal_name(self.provider)
            .unwrap_or_else(|| self.provider.fmt_short())
    }

    fn legal_name(&self, did: Did) -> Option<String> {
        self.view
            .about_of_kind(did, Kind::Profile)
            .find(|e| !e.expired && e.self_issued())
            .and_then(|e| match &e.record.predicate.body {
                Body::Profile(p) => Some(p.legal_name.clone()),
                _ => None,
            })
    }

    /// Entries of `kind` the provider issued about itself, newest first.
    fn own(&self, kind: Kind) -> impl Iterator<Item = &'v Entry<'a>> + use<'v, 'a> {
        let provider = self.provider;
        self.view
            .about_of_kind(provider, kind)
            .filter(move |e| e.record.issuer() == provider)
    }

    fn older_than(&self, at: Timestamp, age: Age) -> bool {
        self.now.duration_since(at) > age.signed()
    }

    fn certification(
        &self,
        standard: &str,
        max_age: Option<Age>,
        accept: &[assure_model::predicate::AuditResult],
    ) -> Finding {
        let audits = self
            .view
            .about_of_kind(self.provider, Kind::Audit)
            .filter(|e| match &e.record.predicate.body {
                Body::Audit(a) => {
                    a.audit_type == AuditType::Certification && same_name(&a.standard, standard)
                }
                _ => false,
            });
        let mut first_problem: Option<Finding> = None;
        for entry in audits {
            let Body::Audit(audit) = &entry.record.predicate.body else {
                continue;
            };
            let auditor = entry.record.issuer();
            let by = format!(
                "certification audit against {standard} by {}",
                self.name(auditor)
            );
            let mut evidence = vec![entry.evidence()];
            let accreditation = self.view.accreditation(
                auditor,
                AccreditedRole::Auditor,
                Some(standard),
                &self.context.anchors,
            );
            if let Some(a) = accreditation {
                evidence.push(a.evidence());
            }
            let problem = if entry.expired {
                Some(format!("{by} expired on {}", date(valid_until(entry))))
            } else if !accept.contains(&audit.result) {
                Some(format!(
                    "{by} of {} resulted in {}",
                    date(entry.issued_at()),
                    audit.result
                ))
            } else if let Some(age) = max_age.filter(|&age| self.older_than(entry.issued_at(), age))
            {
                Some(format!(
                    "{by} of {} is older than {age}",
                    date(entry.issued_at())
                ))
            } else {
                match accreditation {
                    None => Some(format!(
                        "{by}: {} is not accredited for {standard} by any of our trust anchors",
                        self.name(auditor)
                    )),
                    Some(a) if a.expired => Some(format!(
                        "{by}: the accreditation of {} by {} expired on {}",
                        self.name(auditor),
                        self.name(a.record.issuer()),
                        date(valid_until(a))
                    )),
                    Some(_) => None,
                }
            };
            match problem {
                None => {
                    let certificate = audit
                        .certificate_number
                        .as_deref()
                        .map(|n| format!(", certificate {n}"))
                        .unwrap_or_default();
                    let until = entry
                        .record
                        .predicate
                        .common
                        .valid_until
                        .map(|t| format!(", valid until {}", date(t)))
                        .unwrap_or_default();
                    return Finding::pass(
                        format!(
                            "certified against {standard} by {} on {}{certificate}{until}",
                            self.name(auditor),
                            date(entry.issued_at())
                        ),
                        evidence,
                    );
                }
                Some(reason) => {
                    first_problem.get_or_insert_with(|| Finding::fail(reason, evidence));
                }
            }
        }
        first_problem.unwrap_or_else(|| {
            Finding::unknown(format!(
                "no certification audit against {standard} of {}",
                self.provider_name()
            ))
        })
    }

    fn controls(
        &self,
        asked: &str,
        controls: &[String],
        min_status: ControlStatus,
        max_age: Option<Age>,
    ) -> Finding {
        let mut missing = Vec::new();
        let mut failing = Vec::new();
        let mut evidence = Vec::new();
        for id in controls {
            let newest = self
                .own(Kind::Control)
                .find(|e| match &e.record.predicate.body {
                    Body::Control(c) => &c.control_id == id,
                    _ => false,
                });
            let Some(entry) = newest else {
                missing.push(id.as_str());
                continue;
            };
            let Body::Control(control) = &entry.record.predicate.body else {
                continue;
            };
            evidence.push(entry.evidence());
            let tested = control.last_tested.unwrap_or(entry.issued_at());
            if entry.expired {
                failing.push(format!(
                    "{id} record expired on {}",
                    date(valid_until(entry))
                ));
            } else if rank(control.status) < rank(min_status) {
                failing.push(format!("{id} is {}, {min_status} required", control.status));
            } else if let Some(age) = max_age.filter(|&age| self.older_than(tested, age)) {
                failing.push(format!(
                    "{id} was last tested on {}, more than {age} ago",
                    date(tested)
                ));
            }
        }
        if let Some(first) = failing.first() {
            let more = match failing.len() {
                1 => String::new(),
                n => format!(" (and {} more)", n - 1),
            };
            return Finding::fail(format!("{first}{more}"), evidence);
        }
        if !missing.is_empty() {
            let named = match missing.len() {
                n if n <= 3 => missing.join(", "),
                n => format!(
                    "{} and {} more of its controls",
                    missing[..3].join(", "),
                    n - 3
                ),
            };
            return Finding::unknown(format!("no record of {named} by {}", self.provider_name()));
        }
        Finding::pass(
            format!(
                "{asked}: {} at least {min_status}",
                plural(controls.len(), "control")
            ),
            evidence,
        )
    }

    fn incidents(
        &self,
        severity: assure_model::predicate::Severity,
        open_for: Age,
        window: Age,
        corrective_actions: bool,
    ) -> Finding {
        if !self.view.has_own_records(self.provider) {
            return Finding::unknown(format!("no current record of {}", self.provider_name()));
        }
        let mut considered = Vec::new();
        let mut problems = Vec::new();
        for entry in self.own(Kind::Incident).filter(|e| !e.expired) {
            let Body::Incident(incident) = &entry.record.predicate.body else {
                continue;
            };
            if incident.severity < severity || self.older_than(incident.occurred_at, window) {
                continue;
            }
            considered.push(entry.evidence());
            let open = incident.status != IncidentStatus::Resolved;
            if open && self.older_than(incident.detected_at, open_for) {
                problems.push(format!(
                    "{} incident \"{}\" still {} {} days after it was detected on {} \
                     (at most {open_for})",
                    incident.severity,
                    incident.summary,
                    incident.status,
                    self.now.duration_since(incident.detected_at).as_hours() / 24,
                    date(incident.detected_at)
                ));
            } else if !open && corrective_actions && incident.corrective_actions.is_empty() {
                problems.push(format!(
                    "{} incident \"{}\" was resolved without corrective actions",
                    incident.severity, incident.summary
                ));
            }
        }
        if let Some(first) = problems.first() {
            let more = match problems.len() {
                1 => String::new(),
                n => format!(" (and {} more)", n - 1),
            };
            return Finding::fail(format!("{first}{more}"), considered);
        }
        let reason = if considered.is_empty() {
            format!(
                "no {severity} or worse incident of {} in the last {window}",
                self.provider_name()
            )
        } else {
            format!(
                "{} at {severity} or worse in the last {window}, none open longer than {open_for}",
                plural(considered.len(), "incident")
            )
        };
        Finding::pass(reason, considered)
    }

    /// Current relationship entries in which the provider supplies us,
    /// issued by `issuer`.
    fn our_relationship(&self, issuer: Did) -> Option<&'v Entry<'a>> {
        let verifier = self.context.verifier;
        self.view.supplied_by(self.provider).find(|e| {
            !e.expired
                && e.record.issuer() == issuer
                && matches!(&e.record.predicate.body, Body::Relationship(r) if r.customer == verifier)
        })
    }

    fn scope(&self, covers: &[String]) -> Finding {
        let mut wanted: Vec<String> = covers.to_vec();
        let mut evidence = Vec::new();
        if wanted.is_empty() {
            for issuer in [self.context.verifier, self.provider] {
                if let Some(entry) = self.our_relationship(issuer)
                    && let Body::Relationship(r) = &entry.record.predicate.body
                {
                    evidence.push(entry.evidence());
                    for s in &r.supplies {
                        if !wanted.iter().any(|w| same_name(w, s)) {
                            wanted.push(s.clone());
                        }
                    }
                }
            }
        }
        if wanted.is_empty() {
            return Finding::unknown(format!(
                "the profile names no process and no relationship says what {} supplies to us",
                self.provider_name()
            ));
        }
        let Some(entry) = self.own(Kind::Scope).next() else {
            return Finding::unknown(format!("no scope record of {}", self.provider_name()));
        };
        let Body::Scope(scope) = &entry.record.predicate.body else {
            return Finding::unknown(format!("no scope record of {}", self.provider_name()));
        };
        evidence.insert(0, entry.evidence());
        if entry.expired {
            return Finding::fail(
                format!(
                    "the scope of {} expired on {}",
                    self.provider_name(),
                    date(valid_until(entry))
                ),
                evidence,
            );
        }
        let listed = |s: &String| {
            scope
                .processes
                .iter()
                .chain(&scope.services)
                .any(|p| same_name(p, s))
        };
        let excluded = |s: &String| scope.exclusions.iter().any(|p| same_name(p, s));
        if let Some(gap) = wanted.iter().find(|s| !listed(s) || excluded(s)) {
            let how = if excluded(gap) {
                "excludes"
            } else {
                "does not cover"
            };
            return Finding::fail(
                format!(
                    "the scope of {} (issued {}) {how} \"{gap}\"",
                    self.provider_name(),
                    date(entry.issued_at())
                ),
                evidence,
            );
        }
        Finding::pass(
            format!(
                "the scope of {} covers {}",
                self.provider_name(),
                wanted.join(", ")
            ),
            evidence,
        )
    }

    fn relationship(&self) -> Finding {
        let ours = self.our_relationship(self.context.verifier);
        let theirs = self.our_relationship(self.provider);
        let evidence: Vec<Evidence> = ours.iter().chain(&theirs).map(|e| e.evidence()).collect();
        match (ours, theirs) {
            (Some(_), Some(_)) => Finding::pass(
                format!(
                    "relationship confirmed by both us and {}",
                    self.provider_name()
                ),
                evidence,
            ),
            (None, _) => Finding::fail(
                format!(
                    "we have not issued a current relationship record naming {} as our supplier",
                    self.provider_name()
                ),
                evidence,
            ),
            (Some(_), None) => Finding {
                evidence,
                ..Finding::unknown(format!(
                    "no confirmation of the relationship by {}",
                    self.provider_name()
                ))
            },
        }
    }

    fn cosigned(
        &self,
        kind: Kind,
        threshold: usize,
        signers: &BTreeSet<Signer>,
        accredited: Option<AccreditedRole>,
    ) -> Finding {
        let eligible = |did: &Did| {
            signers.iter().any(|s| match s {
                Signer::Subject => *did == self.provider,
                Signer::Party(p) => p == did,
            }) || accredited.is_some_and(|role| {
                self.view
                    .accreditation(*did, role, None, &self.context.anchors)
                    .is_some_and(|a| !a.expired)
            })
        };
        let mut first_problem: Option<Finding> = None;
        for entry in self
            .view
            .about_of_kind(self.provider, kind)
            .filter(|e| !e.expired)
        {
            let counted: Vec<&Did> = entry.signers.iter().filter(|d| eligible(d)).collect();
            let what = format!(
                "{kind} by {} of {}",
                self.name(entry.record.issuer()),
                date(entry.issued_at())
            );
            if counted.len() >= threshold {
                let names: Vec<String> = counted.iter().map(|d| self.name(**d)).collect();
                return Finding::pass(
                    format!("{what} is signed by {}", names.join(", ")),
                    vec![entry.evidence()],
                );
            }
            first_problem.get_or_insert_with(|| {
                Finding::fail(
                    format!(
                        "{what} carries {} of the {threshold} required signatures",
                        counted.len()
                    ),
                    vec![entry.evidence()],
                )
            });
        }
        first_problem.unwrap_or_else(|| {
            Finding::unknown(format!(
                "no current {kind} record about {}",
                self.provider_name()
            ))
        })
    }
}

fn rank(status: ControlStatus) -> u8 {
    match status {
        ControlStatus::Implemented => 3,
        ControlStatus::Partial => 2,
        ControlStatus::Planned => 1,
        ControlStatus::NotApplicable => 0,
    }
}

fn valid_until(entry: &Entry<'_>) -> Timestamp {
    entry
        .record
        .predicate
        .common
        .valid_until
        .unwrap_or(entry.issued_at())
}

/// `2026-03-01`.
pub(crate) fn date(at: Timestamp) -> String {
    at.strftime("%Y-%m-%d").to_string()
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}
