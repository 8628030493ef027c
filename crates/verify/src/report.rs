//! Verification reports: the verdict, and per requirement the outcome, the
//! reason in plain words and the evidence.

use assure_model::predicate::{Kind, Outcome, RequirementOutcome, Verification};
use assure_model::{Did, RecordId};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// Where a record sits: its log, its index and the checkpoint size it is
/// provable against.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    /// The log's origin line, `assure/<did>/<compartment hex>`.
    pub log: String,
    /// The record's index in that log.
    pub index: u64,
    /// The size of the newest checkpoint of that log we hold.
    pub checkpoint: u64,
}

/// One record a requirement's outcome rests on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// The record.
    pub record: RecordId,
    /// Its kind.
    pub kind: Kind,
    /// Who issued it.
    pub issuer: Did,
    /// Where it is logged, when it came from a log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<Position>,
}

/// The outcome of one requirement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequirementReport {
    /// The requirement's id in the profile.
    pub id: String,
    /// Its kind: certification, control, incidents, scope, relationship,
    /// cosigned.
    pub kind: String,
    /// The clauses it serves.
    pub clauses: Vec<String>,
    /// Pass, fail or inconclusive.
    pub outcome: Outcome,
    /// Why, in plain words.
    pub reason: String,
    /// The records the outcome rests on.
    pub evidence: Vec<Evidence>,
}

impl RequirementReport {
    /// What the provider must do for this requirement to pass, in plain
    /// words; `None` when it passes.
    pub fn to_pass(&self) -> Option<String> {
        let share = "in a compartment we may read";
        let what = match (self.outcome, self.kind.as_str()) {
            (Outcome::Pass, _) => return None,
            (Outcome::Fail, "certification") => {
                "hold a current certificate from an accredited auditor and share the audit record"
            }
            (Outcome::Inconclusive, "certification") => "share the audit record of its certificate",
            (Outcome::Fail, "control") => "implement the controls named and publish their status",
            (Outcome::Inconclusive, "control") => {
                "publish the controls named, at least implemented"
            }
            (Outcome::Fail, "incidents") => {
                "resolve the incidents named and publish their resolution"
            }
            (Outcome::Inconclusive, "incidents") => "share its incident records",
            (_, "scope") => "publish a scope that covers what it supplies to us",
            (_, "relationship") => "confirm the relationship with a record of its own",
            (_, "cosigned") => "have the record co-signed by the party named",
            (Outcome::Fail, _) => "correct what the reason names",
            (Outcome::Inconclusive, _) => "publish the records the reason names",
        };
        Some(format!("{what}, {share} ({})", self.reason))
    }
}

/// A verdict taken from someone else's published verification.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transitive {
    /// The organization whose verification we relied on.
    pub via: Did,
    /// Its `verification` record.
    pub record: RecordId,
}

/// A verification report about one provider.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// The organization verified.
    pub provider: Did,
    /// The organization that verified.
    pub verifier: Did,
    /// The profile's name.
    pub profile: String,
    /// blake3 of the profile file, hex.
    pub profile_digest: String,
    /// The time the verification is as of.
    pub at: Timestamp,
    /// Fail if any requirement failed; else inconclusive if any was; else pass.
    pub result: Outcome,
    /// One entry per requirement, in profile order.
    pub requirements: Vec<RequirementReport>,
    /// Set when the verdict is another organization's, not ours.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transitive: Option<Transitive>,
}

impl Report {
    /// The overall result of a list of outcomes.
    pub fn overall(outcomes: impl IntoIterator<Item = Outcome>) -> Outcome {
        let mut result = Outcome::Pass;
        for outcome in outcomes {
            match outcome {
                Outcome::Fail => return Outcome::Fail,
                Outcome::Inconclusive => result = Outcome::Inconclusive,
                Outcome::Pass => {}
            }
        }
        result
    }

    /// The first failing (or else inconclusive) requirement's reason, for a
    /// one-line summary.
    pub fn headline(&self) -> String {
        let worst = self
            .requirements
            .iter()
            .find(|r| r.outcome == Outcome::Fail)
            .or_else(|| {
                self.requirements
                    .iter()
                    .find(|r| r.outcome == Outcome::Inconclusive)
            });
        let reason = worst.map_or_else(
            || "every requirement met".to_owned(),
            |r| format!("{}: {}", r.id, r.reason),
        );
        match &self.transitive {
            Some(t) => format!("{reason} (as verified by {})", t.via.fmt_short()),
            None => reason,
        }
    }

    /// The report as the predicate of a `verification` record.
    pub fn to_predicate(&self) -> Verification {
        Verification {
            profile: self.profile.clone(),
            profile_digest: self.profile_digest.clone(),
            result: self.result,
            outcomes: self
                .requirements
                .iter()
                .map(|r| RequirementOutcome {
                    requirement: r.id.clone(),
                    outcome: r.outcome,
                    reason: r.reason.clone(),
                    evidence: r.evidence.iter().map(|e| e.record).collect(),
                })
                .collect(),
            transitive: self.transitive.is_some(),
        }
    }
}
