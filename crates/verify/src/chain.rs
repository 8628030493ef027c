//! The supply chain as the verifier sees it: providers found by walking
//! `relationship` records outward, tier by tier, and verdicts taken from a
//! tier-1 provider's published verification of a tier-2 provider, whose
//! records we usually cannot see ourselves.

use std::collections::BTreeSet;

use assure_model::Did;
use assure_model::predicate::{Body, Kind};

use crate::engine::{Context, verify};
use crate::profile::Profile;
use crate::report::{Report, RequirementReport, Transitive};
use crate::view::{View, same_name};

/// A provider found in the supply chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    /// 1 for our own providers, 2 for theirs, and so on.
    pub tier: u32,
    /// The provider.
    pub provider: Did,
    /// The customer it supplies: us at tier 1.
    pub customer: Did,
    /// What it supplies, from the relationship records.
    pub supplies: Vec<String>,
}

/// Providers up to `tiers` steps from `verifier`, each once, nearest first.
///
/// Tier 1 takes only relationships both sides have issued; further out, the
/// customer's own record is enough, since the provider's may not be visible
/// to us.
pub fn providers(view: &View<'_>, verifier: Did, tiers: u32) -> Vec<Link> {
    let mut found: Vec<Link> = Vec::new();
    let mut seen: BTreeSet<Did> = BTreeSet::from([verifier]);
    let mut frontier = vec![verifier];
    for tier in 1..=tiers {
        let mut next = Vec::new();
        for &customer in &frontier {
            let mut candidates: Vec<(Did, Vec<String>, BTreeSet<Did>)> = Vec::new();
            for entry in view.relationships().filter(|e| !e.expired) {
                let Body::Relationship(r) = &entry.record.predicate.body else {
                    continue;
                };
                if r.customer != customer || r.supplier == customer {
                    continue;
                }
                let issuer = entry.record.issuer();
                if issuer != r.supplier && issuer != r.customer {
                    continue;
                }
                match candidates.iter_mut().find(|(s, ..)| *s == r.supplier) {
                    Some((_, supplies, issuers)) => {
                        issuers.insert(issuer);
                        for s in &r.supplies {
                            if !supplies.contains(s) {
                                supplies.push(s.clone());
                            }
                        }
                    }
                    None => {
                        candidates.push((r.supplier, r.supplies.clone(), BTreeSet::from([issuer])))
                    }
                }
            }
            for (provider, supplies, issuers) in candidates {
                let confirmed = if tier == 1 {
                    issuers.contains(&provider) && issuers.contains(&customer)
                } else {
                    issuers.contains(&customer)
                };
                if confirmed && seen.insert(provider) {
                    next.push(provider);
                    found.push(Link {
                        tier,
                        provider,
                        customer,
                        supplies,
                    });
                }
            }
        }
        frontier = next;
    }
    found
}

/// The newest current verification `via` published about `provider`, as a
/// report of ours marked transitive.
pub fn transitive(view: &View<'_>, via: Did, provider: Did, verifier: Did) -> Option<Report> {
    let entry = view
        .about_of_kind(provider, Kind::Verification)
        .find(|e| !e.expired && e.record.issuer() == via)?;
    let Body::Verification(v) = &entry.record.predicate.body else {
        return None;
    };
    let requirements = v
        .outcomes
        .iter()
        .map(|o| RequirementReport {
            id: o.requirement.clone(),
            kind: "transitive".into(),
            clauses: Vec::new(),
            outcome: o.outcome,
            reason: o.reason.clone(),
            evidence: vec![entry.evidence()],
        })
        .collect();
    Some(Report {
        provider,
        verifier,
        profile: v.profile.clone(),
        profile_digest: v.profile_digest.clone(),
        at: entry.issued_at(),
        result: v.result,
        requirements,
        transitive: Some(Transitive {
            via,
            record: entry.record.id,
        }),
    })
}

/// The verdict on one provider of the chain: beyond tier 1 the customer's
/// published verification when there is one (that customer holds the
/// relationship and sees the provider's records, where we see at most its
/// public ones); otherwise our own verification against `profile`, if one
/// applies.
pub fn judge(
    view: &View<'_>,
    link: &Link,
    profile: Option<&Profile>,
    context: &Context,
) -> Option<Report> {
    if link.tier > 1
        && let Some(report) = transitive(view, link.customer, link.provider, context.verifier)
    {
        return Some(report);
    }
    profile.map(|profile| verify(view, profile, link.provider, context))
}

/// Whether a provider supplying `supplies` matches a profile mapped to
/// `names` (names compared without case and spaces).
pub fn supplies_match(names: &[String], supplies: &[String]) -> bool {
    names
        .iter()
        .any(|n| supplies.iter().any(|s| same_name(n, s)))
}
