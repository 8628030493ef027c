//! Grants: an organization's decision about one counterparty (DESIGN.md §4).

use std::collections::BTreeSet;

use assure_model::Did;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::error::GrantError;
use crate::words::{Clearance, Role};

/// What one counterparty may read, on what basis, and for how long.
///
/// Grants are local state. Every change produces a new value with a higher
/// `version` ([`Grant::revoke`], [`Grant::renew`], [`Grant::replace`]); the
/// store keeps the latest per party and logs each change, and disclosures name
/// the version they were made under. Deserializing refuses unknown fields and
/// checks the grant as [`Grant::new`] does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawGrant")]
pub struct Grant {
    /// The counterparty.
    pub party: Did,
    /// What the counterparty is to the granting organization.
    pub roles: BTreeSet<Role>,
    /// How far it is trusted: `partner` or higher.
    pub clearance: Clearance,
    /// The contract or NDA the grant rests on: 1 to 200 characters, no
    /// control characters.
    pub basis: String,
    /// First instant the grant is active.
    pub valid_from: Timestamp,
    /// First instant the grant is no longer active; `None` for open-ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<Timestamp>,
    /// Raised by every change, from 1.
    pub version: u64,
    /// First instant the grant is withdrawn, if it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<Timestamp>,
}

impl Grant {
    /// The longest basis, in characters.
    pub const MAX_BASIS_LEN: usize = 200;

    /// A grant that is not revoked, refusing invalid terms (see
    /// [`Grant::validate`]).
    pub fn new(
        party: Did,
        roles: BTreeSet<Role>,
        clearance: Clearance,
        basis: impl Into<String>,
        valid_from: Timestamp,
        valid_until: Option<Timestamp>,
        version: u64,
    ) -> Result<Self, GrantError> {
        let grant = Self {
            party,
            roles,
            clearance,
            basis: basis.into(),
            valid_from,
            valid_until,
            version,
            revoked_at: None,
        };
        grant.validate()?;
        Ok(grant)
    }

    /// Checks the terms: a clearance above `public`, a basis of 1 to 200
    /// characters without control characters and not only white space,
    /// `valid_until` after `valid_from`, a version of at least 1.
    pub fn validate(&self) -> Result<(), GrantError> {
        if self.clearance == Clearance::Public {
            return Err(GrantError::PublicClearance);
        }
        if self.basis.trim().is_empty() {
            return Err(GrantError::EmptyBasis);
        }
        let chars = self.basis.chars().count();
        if chars > Self::MAX_BASIS_LEN {
            return Err(GrantError::BasisTooLong {
                chars,
                max: Self::MAX_BASIS_LEN,
            });
        }
        if self.basis.chars().any(char::is_control) {
            return Err(GrantError::BasisControl);
        }
        if let Some(valid_until) = self.valid_until
            && valid_until <= self.valid_from
        {
            return Err(GrantError::EmptyValidity {
                valid_from: self.valid_from,
                valid_until,
            });
        }
        if self.version == 0 {
            return Err(GrantError::ZeroVersion);
        }
        Ok(())
    }

    /// Whether the grant is in force at `now`: `valid_from <= now`, `now <
    /// valid_until`, and not revoked at or before `now`.
    pub fn is_active(&self, now: Timestamp) -> bool {
        self.valid_from <= now
            && self.valid_until.is_none_or(|until| now < until)
            && self.revoked_at.is_none_or(|revoked| now < revoked)
    }

    /// The next version, withdrawn from `now` on. Revoking a grant that is
    /// already revoked keeps the earlier instant: a revocation is never
    /// postponed.
    pub fn revoke(&self, now: Timestamp) -> Grant {
        let revoked_at = self.revoked_at.map_or(now, |earlier| earlier.min(now));
        Grant {
            revoked_at: Some(revoked_at),
            version: self.next_version(),
            ..self.clone()
        }
    }

    /// The next version with a new end of validity and the same terms
    /// otherwise. A revoked grant stays revoked; re-admitting a party takes
    /// [`Grant::replace`].
    pub fn renew(&self, valid_until: Option<Timestamp>) -> Result<Grant, GrantError> {
        let grant = Grant {
            valid_until,
            version: self.next_version(),
            ..self.clone()
        };
        grant.validate()?;
        Ok(grant)
    }

    /// The next version for the same party with new terms, not revoked.
    pub fn replace(
        &self,
        roles: BTreeSet<Role>,
        clearance: Clearance,
        basis: impl Into<String>,
        valid_from: Timestamp,
        valid_until: Option<Timestamp>,
    ) -> Result<Grant, GrantError> {
        Grant::new(
            self.party,
            roles,
            clearance,
            basis,
            valid_from,
            valid_until,
            self.next_version(),
        )
    }

    /// `version + 1`. At `u64::MAX` (which no sequence of changes reaches)
    /// the version stays, and a store refuses the change as not newer.
    fn next_version(&self) -> u64 {
        self.version.saturating_add(1)
    }
}

/// The serialized form, checked before it becomes a [`Grant`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGrant {
    party: Did,
    #[serde(default)]
    roles: BTreeSet<Role>,
    clearance: Clearance,
    basis: String,
    valid_from: Timestamp,
    #[serde(default)]
    valid_until: Option<Timestamp>,
    version: u64,
    #[serde(default)]
    revoked_at: Option<Timestamp>,
}

impl TryFrom<RawGrant> for Grant {
    type Error = GrantError;

    fn try_from(raw: RawGrant) -> Result<Self, Self::Error> {
        let grant = Grant {
            party: raw.party,
            roles: raw.roles,
            clearance: raw.clearance,
            basis: raw.basis,
            valid_from: raw.valid_from,
            valid_until: raw.valid_until,
            version: raw.version,
            revoked_at: raw.revoked_at,
        };
        grant.validate()?;
        Ok(grant)
    }
}

#[cfg(test)]
mod tests {
    use assure_model::Keypair;

    use super::*;

    fn at(second: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + second).unwrap()
    }

    fn grant(valid_until: Option<i64>) -> Grant {
        Grant::new(
            Keypair::from_seed([1; 32]).did(),
            [Role::Customer].into(),
            Clearance::Partner,
            "MSA-2026-014",
            at(0),
            valid_until.map(at),
            1,
        )
        .unwrap()
    }

    #[test]
    fn active_from_valid_from_until_before_valid_until() {
        let g = grant(Some(100));
        assert!(!g.is_active(at(-1)), "valid_from in the future");
        assert!(g.is_active(at(0)), "exactly at valid_from");
        assert!(g.is_active(at(99)));
        assert!(!g.is_active(at(100)), "exactly at valid_until is expired");
        assert!(!g.is_active(at(101)));
        assert!(grant(None).is_active(at(1_000_000_000)));
    }

    #[test]
    fn revoked_at_or_before_now_is_inactive() {
        let g = grant(None).revoke(at(50));
        assert_eq!(g.version, 2);
        assert!(g.is_active(at(49)));
        assert!(!g.is_active(at(50)), "exactly at revoked_at");
        assert!(!g.is_active(at(51)));
    }

    #[test]
    fn revoking_twice_keeps_the_earlier_instant() {
        let g = grant(None).revoke(at(50));
        let again = g.revoke(at(80));
        assert_eq!((again.revoked_at, again.version), (Some(at(50)), 3));
        let earlier = g.revoke(at(10));
        assert_eq!(earlier.revoked_at, Some(at(10)));
    }

    #[test]
    fn renew_and_replace_raise_the_version() {
        let g = grant(Some(100));
        let renewed = g.renew(Some(at(200))).unwrap();
        assert_eq!((renewed.version, renewed.valid_until), (2, Some(at(200))));
        assert!(renewed.is_active(at(150)));
        assert_eq!(
            g.renew(Some(at(0))),
            Err(GrantError::EmptyValidity {
                valid_from: at(0),
                valid_until: at(0)
            })
        );
        let revoked_renewed = g.revoke(at(10)).renew(None).unwrap();
        assert!(
            !revoked_renewed.is_active(at(20)),
            "renewal does not undo a revocation"
        );

        let replaced = g
            .revoke(at(10))
            .replace(
                [Role::Auditor].into(),
                Clearance::Secret,
                "NDA-7",
                at(20),
                None,
            )
            .unwrap();
        assert_eq!(replaced.version, 3);
        assert_eq!(replaced.party, g.party);
        assert_eq!(replaced.revoked_at, None);
        assert!(replaced.is_active(at(20)));
    }

    #[test]
    fn invalid_grants_are_refused() {
        let party = Keypair::from_seed([1; 32]).did();
        let new = |clearance, basis: &str, until: Option<i64>, version| {
            Grant::new(
                party,
                BTreeSet::new(),
                clearance,
                basis,
                at(0),
                until.map(at),
                version,
            )
        };
        assert_eq!(
            new(Clearance::Public, "NDA", None, 1),
            Err(GrantError::PublicClearance)
        );
        assert_eq!(
            new(Clearance::Partner, "", None, 1),
            Err(GrantError::EmptyBasis)
        );
        assert_eq!(
            new(Clearance::Partner, "  ", None, 1),
            Err(GrantError::EmptyBasis)
        );
        assert_eq!(
            new(Clearance::Partner, &"é".repeat(201), None, 1),
            Err(GrantError::BasisTooLong {
                chars: 201,
                max: 200
            })
        );
        assert!(new(Clearance::Partner, &"é".repeat(200), None, 1).is_ok());
        assert_eq!(
            new(Clearance::Partner, "NDA\n7", None, 1),
            Err(GrantError::BasisControl)
        );
        assert_eq!(
            new(Clearance::Partner, "NDA", Some(-5), 1),
            Err(GrantError::EmptyValidity {
                valid_from: at(0),
                valid_until: at(-5)
            })
        );
        assert_eq!(
            new(Clearance::Partner, "NDA", None, 0),
            Err(GrantError::ZeroVersion)
        );
        assert!(new(Clearance::Partner, "NDA", Some(1), 1).is_ok());
    }

    #[test]
    fn serde_round_trip() {
        let g = grant(Some(100)).revoke(at(5));
        let json = serde_json::to_value(&g).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "party": g.party.to_string(),
                "roles": ["customer"],
                "clearance": "partner",
                "basis": "MSA-2026-014",
                "valid_from": "2027-01-15T08:00:00Z",
                "valid_until": "2027-01-15T08:01:40Z",
                "version": 2,
                "revoked_at": "2027-01-15T08:00:05Z",
            })
        );
        assert_eq!(serde_json::from_value::<Grant>(json).unwrap(), g);

        let open = grant(None);
        let json = serde_json::to_string(&open).unwrap();
        assert!(
            !json.contains("valid_until") && !json.contains("revoked_at"),
            "{json}"
        );
        assert_eq!(serde_json::from_str::<Grant>(&json).unwrap(), open);
    }

    #[test]
    fn deserializing_checks_the_grant() {
        let mut json = serde_json::to_value(grant(None)).unwrap();
        json["clearance"] = "public".into();
        let err = serde_json::from_value::<Grant>(json.clone()).unwrap_err();
        assert!(
            err.to_string().contains("public data needs no grant"),
            "{err}"
        );

        json["clearance"] = "partner".into();
        json["note"] = "x".into();
        let err = serde_json::from_value::<Grant>(json).unwrap_err();
        assert!(err.to_string().contains("unknown field `note`"), "{err}");
    }
}
