//! Which controls of the catalog an organization has stated, and how mature
//! each ISO 22340 domain looks from those statements (ISO 22340 clause 11,
//! developing security maturity; ISO 28000 8.4 g, the questionnaire a
//! customer would otherwise send).
//!
//! Pure: the latest statement of each control in, a [`Coverage`] and one
//! [`Maturity`] per domain out. Which statement is the latest, and whether
//! it was withdrawn, is the caller's reading of the logs.

use assure_model::predicate::{Body, ControlStatus, Domain};
use assure_model::{Catalog, Record, RecordId};
use jiff::{SignedDuration, Timestamp};

/// A statement older than this is stale: a maturity level above
/// "developing" asks for statements made within the last year.
pub const FRESH: SignedDuration = SignedDuration::from_hours(24 * 365);

/// One organization's latest statement about one control.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stated {
    /// The record that states it.
    pub record: RecordId,
    /// The catalog id it names.
    pub control_id: String,
    /// The domain the record names, when it names one.
    pub domain: Option<Domain>,
    /// How far the control is in place.
    pub status: ControlStatus,
    /// The organization's own words.
    pub statement: String,
    /// When it was issued.
    pub issued_at: Timestamp,
    /// When it was last tested, if it says.
    pub last_tested: Option<Timestamp>,
    /// How many evidence digests it carries.
    pub evidence: usize,
    /// Whether its `validUntil` has passed.
    pub expired: bool,
}

impl Stated {
    /// The statement a `control` record makes, at `now`; `None` for any
    /// other kind.
    pub fn of(record: &Record, now: Timestamp) -> Option<Self> {
        let Body::Control(control) = &record.predicate.body else {
            return None;
        };
        let common = &record.predicate.common;
        Some(Self {
            record: record.id,
            control_id: control.control_id.clone(),
            domain: common.domain,
            status: control.status,
            statement: control.statement.clone(),
            issued_at: common.issued_at,
            last_tested: control.last_tested,
            evidence: control.evidence.len(),
            expired: common.valid_until.is_some_and(|until| until < now),
        })
    }

    /// Whether it counts at `now`: not expired, made within [`FRESH`].
    pub fn is_fresh(&self, now: Timestamp) -> bool {
        !self.expired && now.duration_since(self.issued_at) <= FRESH
    }
}

/// One catalog control and what the organization stated about it.
#[derive(Clone, Debug)]
pub struct Row {
    /// The catalog id.
    pub id: String,
    /// The catalog's short title.
    pub title: String,
    /// The latest statement, when there is one.
    pub stated: Option<Stated>,
}

/// The catalog's controls by domain, each with its latest statement.
#[derive(Clone, Debug)]
pub struct Coverage {
    /// Every domain in [`Domain::ALL`] order, with its catalog controls in
    /// catalog order.
    pub domains: Vec<(Domain, Vec<Row>)>,
    /// Statements of controls the catalog does not know.
    pub uncatalogued: Vec<Stated>,
}

/// Lays the latest statements over the catalog. Of two statements of one
/// control the newer counts.
pub fn coverage(catalog: &Catalog, latest: &[Stated]) -> Coverage {
    let newest = |id: &str| {
        latest
            .iter()
            .filter(|s| s.control_id == id)
            .max_by_key(|s| s.issued_at)
            .cloned()
    };
    let domains = Domain::ALL
        .iter()
        .map(|domain| {
            let rows = catalog
                .in_domain(*domain)
                .map(|c| Row {
                    id: c.id.clone(),
                    title: c.title.clone(),
                    stated: newest(&c.id),
                })
                .collect();
            (*domain, rows)
        })
        .collect();
    let uncatalogued = latest
        .iter()
        .filter(|s| catalog.get(&s.control_id).is_none())
        .cloned()
        .collect();
    Coverage {
        domains,
        uncatalogued,
    }
}

/// How mature a domain looks from what was stated, lowest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// No control of the domain stated, or none in place.
    NotStated,
    /// Some controls stated, fewer than half of the domain in place.
    Initial,
    /// At least half of the domain in place or partly in place.
    Developing,
    /// Every control of the domain stated, in place (or not applicable) and
    /// fresh.
    Established,
    /// Established, and every control in place carries evidence.
    Evidenced,
}

impl Level {
    /// The level in words.
    pub fn as_str(&self) -> &'static str {
        match self {
            Level::NotStated => "not stated",
            Level::Initial => "initial",
            Level::Developing => "developing",
            Level::Established => "established",
            Level::Evidenced => "evidenced",
        }
    }
}

impl std::fmt::Display for Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One domain's maturity, with the counts it rests on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Maturity {
    /// The domain.
    pub domain: Domain,
    /// Catalog controls in the domain.
    pub controls: usize,
    /// Of those, how many are stated (expired statements do not count).
    pub stated: usize,
    /// Stated as implemented or not applicable.
    pub in_place: usize,
    /// Stated as partly in place.
    pub partial: usize,
    /// In place with at least one evidence digest.
    pub evidenced: usize,
    /// Stated, but older than [`FRESH`].
    pub stale: usize,
    /// The level these counts reach.
    pub level: Level,
}

/// The maturity of each domain at `now`, in [`Domain::ALL`] order.
pub fn maturity(coverage: &Coverage, now: Timestamp) -> Vec<Maturity> {
    coverage
        .domains
        .iter()
        .map(|(domain, rows)| {
            let stated: Vec<&Stated> = rows
                .iter()
                .filter_map(|r| r.stated.as_ref())
                .filter(|s| !s.expired)
                .collect();
            let in_place = |s: &&&Stated| {
                matches!(
                    s.status,
                    ControlStatus::Implemented | ControlStatus::NotApplicable
                )
            };
            let m = Maturity {
                domain: *domain,
                controls: rows.len(),
                stated: stated.len(),
                in_place: stated.iter().filter(in_place).count(),
                partial: stated
                    .iter()
                    .filter(|s| s.status == ControlStatus::Partial)
                    .count(),
                evidenced: stated
                    .iter()
                    .filter(in_place)
                    .filter(|s| s.evidence > 0 || s.status == ControlStatus::NotApplicable)
                    .count(),
                stale: stated.iter().filter(|s| !s.is_fresh(now)).count(),
                level: Level::NotStated,
            };
            Maturity {
                level: level(&m),
                ..m
            }
        })
        .collect()
}

fn level(m: &Maturity) -> Level {
    if m.controls == 0 || m.in_place + m.partial == 0 {
        return if m.stated == 0 || m.controls == 0 {
            Level::NotStated
        } else {
            Level::Initial
        };
    }
    let complete = m.stated == m.controls && m.in_place == m.controls && m.stale == 0;
    if complete && m.evidenced == m.controls {
        Level::Evidenced
    } else if complete {
        Level::Established
    } else if 2 * (m.in_place + m.partial) >= m.controls {
        Level::Developing
    } else {
        Level::Initial
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stated(id: &str, status: ControlStatus, evidence: usize, age_days: i64) -> Stated {
        let now = Timestamp::from_second(1_800_000_000).unwrap();
        Stated {
            record: RecordId::of("test", id.as_bytes()),
            control_id: id.into(),
            domain: None,
            status,
            statement: String::new(),
            issued_at: now - SignedDuration::from_hours(24 * age_days),
            last_tested: None,
            evidence,
            expired: false,
        }
    }

    fn now() -> Timestamp {
        Timestamp::from_second(1_800_000_000).unwrap()
    }

    fn of(catalog: &Catalog, domain: Domain, latest: &[Stated]) -> Maturity {
        maturity(&coverage(catalog, latest), now())
            .into_iter()
            .find(|m| m.domain == domain)
            .unwrap()
    }

    #[test]
    fn nothing_stated_is_not_stated_in_every_domain() {
        let catalog = Catalog::builtin().clone();
        let all = maturity(&coverage(&catalog, &[]), now());
        assert_eq!(all.len(), Domain::ALL.len());
        assert!(
            all.iter()
                .all(|m| m.level == Level::NotStated && m.controls > 0)
        );
    }

    #[test]
    fn levels_rise_with_what_is_in_place_fresh_and_evidenced() {
        let catalog = Catalog::builtin().clone();
        let ids: Vec<String> = catalog
            .in_domain(Domain::Cyber)
            .map(|c| c.id.clone())
            .collect();
        let all = |status, evidence, age| -> Vec<Stated> {
            ids.iter()
                .map(|id| stated(id, status, evidence, age))
                .collect()
        };
        let planned = all(ControlStatus::Planned, 0, 1);
        assert_eq!(of(&catalog, Domain::Cyber, &planned).level, Level::Initial);
        let half: Vec<Stated> = ids
            .iter()
            .enumerate()
            .map(|(n, id)| match n % 2 {
                0 => stated(id, ControlStatus::Implemented, 0, 1),
                _ => stated(id, ControlStatus::Planned, 0, 1),
            })
            .collect();
        assert_eq!(of(&catalog, Domain::Cyber, &half).level, Level::Developing);
        let done = all(ControlStatus::Implemented, 0, 1);
        assert_eq!(of(&catalog, Domain::Cyber, &done).level, Level::Established);
        let proven = all(ControlStatus::Implemented, 1, 1);
        assert_eq!(of(&catalog, Domain::Cyber, &proven).level, Level::Evidenced);
        let stale = all(ControlStatus::Implemented, 1, 400);
        let m = of(&catalog, Domain::Cyber, &stale);
        assert_eq!((m.level, m.stale), (Level::Developing, ids.len()));
        // Other domains are untouched.
        assert_eq!(
            of(&catalog, Domain::Physical, &proven).level,
            Level::NotStated
        );
    }

    #[test]
    fn the_newer_statement_counts_and_unknown_ids_are_listed_apart() {
        let catalog = Catalog::builtin().clone();
        let id = catalog
            .in_domain(Domain::Personnel)
            .next()
            .unwrap()
            .id
            .clone();
        let old = stated(&id, ControlStatus::Planned, 0, 30);
        let new = stated(&id, ControlStatus::Implemented, 2, 1);
        let unknown = stated("X:1", ControlStatus::Implemented, 0, 1);
        let c = coverage(&catalog, &[old, new.clone(), unknown.clone()]);
        let (_, rows) = c
            .domains
            .iter()
            .find(|(d, _)| *d == Domain::Personnel)
            .unwrap();
        assert_eq!(rows.iter().find(|r| r.id == id).unwrap().stated, Some(new));
        assert_eq!(c.uncatalogued, vec![unknown]);
    }

    #[test]
    fn an_expired_statement_counts_as_not_stated() {
        let catalog = Catalog::builtin().clone();
        let id = catalog
            .in_domain(Domain::Physical)
            .next()
            .unwrap()
            .id
            .clone();
        let mut s = stated(&id, ControlStatus::Implemented, 1, 1);
        s.expired = true;
        let m = of(&catalog, Domain::Physical, &[s]);
        assert_eq!((m.stated, m.level), (0, Level::NotStated));
    }
}
