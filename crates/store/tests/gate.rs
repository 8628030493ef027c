//! The read gate as the store applies it, by property: for random rules,
//! records, grants (active, expired, revoked, not yet valid, none), readers
//! and filters, a real sled store on disk releases, through every read
//! method, records of the logs the gate's set contains and no others, and
//! for every log in that set exactly the records it holds that match.
//!
//! The gate's set is itself compared with the read rule of DESIGN.md §4,
//! written out again here, so that a wrong decision fails as well as a read
//! path that ignores it.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

use assure_access::{
    Access, Clearance, Compartment, CompartmentId, Grant, LogId, Reader, Role, Rule, Visible,
};
use assure_log::{Blake3, Checkpoint, Hasher as _, SignedCheckpoint, Tree};
use assure_model::predicate::{
    Body, Common, Control, ControlStatus, Domain, Predicate, Withdrawal,
};
use assure_model::{Did, Keypair, Kind, Record, RecordId, SubjectRef, issue};
use assure_store::{Filter, Location, NewEntry, Store};
use jiff::Timestamp;
use proptest::prelude::*;

/// Signed records in the shared pool, per author.
const POOL: usize = 48;
/// Parties besides the owner; party 0 also authors a replica.
const PARTIES: usize = 4;

fn t(s: i64) -> Timestamp {
    Timestamp::from_second(1_700_000_000 + s).unwrap()
}

/// The reads happen at this instant; grants are judged against it.
fn now() -> Timestamp {
    t(1_000)
}

fn owner() -> Keypair {
    Keypair::from_seed([1; 32])
}

fn party(n: usize) -> Keypair {
    Keypair::from_seed([10 + n as u8; 32])
}

/// A signed record with what the index and the filters know of it.
#[derive(Clone, Debug)]
struct Signed {
    bytes: Vec<u8>,
    record: Record,
    kind: Kind,
    subject: Did,
    issued_at: Timestamp,
    domain: Option<Domain>,
}

/// Record `n` of `author`: a control or a withdrawal, about the author or a
/// party, at one of a few instants (ties included), in some domain or none.
fn signed(author: &Keypair, n: usize) -> Signed {
    let issued_at = t((n % 7) as i64 * 10);
    let domain = match n % 6 {
        5 => None,
        k => Some(Domain::ALL[k]),
    };
    let common = Common {
        issuer: author.did(),
        issued_at,
        valid_until: None,
        supersedes: vec![],
        clauses: vec!["ISO22340:9.2.4".into()],
        domain,
    };
    let (subject, body) = if n % 3 == 2 {
        (
            party(n % PARTIES).did(),
            Body::Withdrawal(Withdrawal {
                withdrawn: RecordId([n as u8; 32]),
                reason: format!("withdrawn {n}"),
            }),
        )
    } else {
        (
            author.did(),
            Body::Control(Control {
                control_id: "ISO22340:9.2.4".into(),
                status: ControlStatus::Implemented,
                statement: format!("Events are reviewed ({n})."),
                evidence: vec![],
                last_tested: None,
            }),
        )
    };
    let predicate = Predicate { common, body };
    let (bytes, record) = issue(author, &SubjectRef::org(subject), &predicate).unwrap();
    Signed {
        kind: record.kind(),
        subject,
        issued_at,
        domain,
        bytes,
        record,
    }
}

/// The owner's records and party 0's, signed once for every case.
fn pool() -> &'static (Vec<Signed>, Vec<Signed>) {
    static POOL_RECORDS: OnceLock<(Vec<Signed>, Vec<Signed>)> = OnceLock::new();
    POOL_RECORDS.get_or_init(|| {
        let (owner, author) = (owner(), party(0));
        (
            (0..POOL).map(|n| signed(&owner, n)).collect(),
            (0..POOL).map(|n| signed(&author, n)).collect(),
        )
    })
}

/// How a party's grant stands at [`now`].
#[derive(Clone, Copy, Debug)]
enum Standing {
    Active,
    Expired,
    Revoked,
    NotYet,
}

#[derive(Clone, Debug)]
struct GrantSpec {
    roles: BTreeSet<Role>,
    clearance: Clearance,
    standing: Standing,
}

#[derive(Clone, Debug)]
struct FilterSpec {
    kind: Option<Kind>,
    /// `None`: no filter; `Some(None)`: the owner; `Some(Some(n))`: party n.
    subject: Option<Option<usize>>,
    since: Option<i64>,
    domain: Option<Domain>,
    /// `Some(Some(i))`: own compartment i (or the replica past the end);
    /// `Some(None)`: an id that is nowhere.
    compartment: Option<Option<usize>>,
    /// A cursor: after the n-th placed entry (modulo), or a location in no log.
    after: Option<Option<usize>>,
    limit: usize,
}

#[derive(Clone, Debug)]
struct Case {
    rules: Vec<Rule>,
    /// The rule the owner holds for party 0's replica, if there is one.
    replica: Option<Rule>,
    /// (compartment index, pool index); the replica is index `rules.len()`.
    placed: Vec<(usize, usize)>,
    grants: Vec<Option<GrantSpec>>,
    filters: Vec<FilterSpec>,
}

fn clearance() -> impl Strategy<Value = Clearance> {
    prop::sample::select(Clearance::ALL.to_vec())
}

fn roles() -> impl Strategy<Value = BTreeSet<Role>> {
    prop::collection::btree_set(prop::sample::select(Role::ALL.to_vec()), 0..3)
}

fn rule() -> impl Strategy<Value = Rule> {
    (
        clearance(),
        roles(),
        prop::collection::btree_set(0..PARTIES, 0..3),
    )
        .prop_map(|(min_clearance, roles, orgs)| {
            if min_clearance == Clearance::Public {
                return Rule::public();
            }
            Rule {
                min_clearance,
                roles,
                orgs: orgs.into_iter().map(|n| party(n).did()).collect(),
            }
        })
}

fn grant_spec() -> impl Strategy<Value = Option<GrantSpec>> {
    prop::option::weighted(
        0.8,
        (
            roles(),
            prop::sample::select(vec![
                Clearance::Partner,
                Clearance::Confidential,
                Clearance::Secret,
            ]),
            prop_oneof![
                4 => Just(Standing::Active),
                1 => Just(Standing::Expired),
                1 => Just(Standing::Revoked),
                1 => Just(Standing::NotYet),
            ],
        )
            .prop_map(|(roles, clearance, standing)| GrantSpec {
                roles,
                clearance,
                standing,
            }),
    )
}

fn filter_spec(compartments: usize) -> impl Strategy<Value = FilterSpec> {
    (
        prop::option::of(prop::sample::select(vec![Kind::Control, Kind::Withdrawal])),
        prop::option::of(prop::option::of(0..PARTIES)),
        prop::option::of(0i64..70),
        prop::option::of(prop::sample::select(Domain::ALL.to_vec())),
        prop::option::of(prop::option::weighted(0.8, 0..compartments + 1)),
        prop::option::weighted(0.4, prop::option::weighted(0.8, 0usize..64)),
        1usize..6,
    )
        .prop_map(
            |(kind, subject, since, domain, compartment, after, limit)| FilterSpec {
                kind,
                subject,
                since,
                domain,
                compartment,
                after,
                limit,
            },
        )
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop::collection::vec(rule(), 1..5),
        prop::option::of(rule()),
    )
        .prop_flat_map(|(rules, replica)| {
            let logs = rules.len() + usize::from(replica.is_some());
            (
                Just(rules),
                Just(replica),
                prop::collection::vec((0..logs, 0..POOL), 0..28),
                prop::collection::vec(grant_spec(), PARTIES..=PARTIES),
                prop::collection::vec(filter_spec(logs), 1..4),
            )
        })
        .prop_map(|(rules, replica, placed, grants, filters)| Case {
            rules,
            replica,
            placed,
            grants,
            filters,
        })
}

/// One entry the store holds, as the test placed it.
#[derive(Clone, Debug)]
struct Held {
    at: Location,
    signed: Signed,
}

/// A store built from a case, with what it holds.
struct Built {
    _dir: tempfile::TempDir,
    store: Store,
    /// Every log with its rule, own compartments first, then the replica.
    logs: Vec<(LogId, Rule)>,
    held: Vec<Held>,
    grants: Vec<Option<Grant>>,
}

fn build(case: &Case) -> Built {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    let owner = owner();
    store.set_owner(owner.did()).unwrap();
    let mut logs = Vec::new();
    for (n, rule) in case.rules.iter().enumerate() {
        let id = CompartmentId::from_bytes([n as u8 + 1; 16]);
        let compartment = Compartment::new(id, format!("c{n}"), rule.clone()).unwrap();
        let log = store.create_compartment(&owner, compartment, t(0)).unwrap();
        logs.push((log, rule.clone()));
    }
    let (own_pool, replica_pool) = pool();
    let mut held = Vec::new();
    let own: Vec<NewEntry> = case
        .placed
        .iter()
        .filter(|(c, _)| *c < case.rules.len())
        .map(|&(c, n)| NewEntry {
            compartment: logs[c].0.compartment,
            bytes: own_pool[n].bytes.clone(),
            record: own_pool[n].record.clone(),
        })
        .collect();
    if !own.is_empty() {
        let appended = store.append(&owner, &own, t(500)).unwrap();
        let signed = case
            .placed
            .iter()
            .filter(|(c, _)| *c < case.rules.len())
            .map(|&(_, n)| own_pool[n].clone());
        for (a, signed) in appended.into_iter().zip(signed) {
            held.push(Held {
                at: a.location,
                signed,
            });
        }
    }
    if let Some(rule) = &case.replica {
        let author = party(0);
        let log = LogId {
            origin: author.did(),
            compartment: CompartmentId::from_bytes([0xee; 16]),
        };
        let entries: Vec<&Signed> = case
            .placed
            .iter()
            .filter(|(c, _)| *c == case.rules.len())
            .map(|&(_, n)| &replica_pool[n])
            .collect();
        let mut tree: Tree<Blake3> = Tree::new();
        for (index, s) in entries.iter().enumerate() {
            tree.push_leaf_hash(Blake3::leaf(&s.bytes));
            held.push(Held {
                at: Location {
                    log,
                    index: index as u64,
                },
                signed: (*s).clone(),
            });
        }
        let checkpoint = Checkpoint::new(
            log.origin_line(),
            tree.len(),
            tree.root(),
            t(500).as_second(),
        )
        .unwrap();
        let note =
            SignedCheckpoint::sign(checkpoint, &author.did().to_string(), author.signing_key())
                .unwrap();
        let compartment = Compartment::new(log.compartment, "received", rule.clone()).unwrap();
        let pairs: Vec<(Vec<u8>, Record)> = entries
            .iter()
            .map(|s| (s.bytes.clone(), s.record.clone()))
            .collect();
        store
            .append_replica(log, &compartment, &pairs, &note)
            .unwrap();
        logs.push((log, rule.clone()));
    }
    let mut grants = Vec::new();
    for (n, spec) in case.grants.iter().enumerate() {
        let Some(spec) = spec else {
            grants.push(None);
            continue;
        };
        let (from, until) = match spec.standing {
            Standing::NotYet => (t(2_000), None),
            Standing::Expired => (t(0), Some(t(900))),
            Standing::Active | Standing::Revoked => (t(0), Some(t(5_000))),
        };
        let mut grant = Grant::new(
            party(n).did(),
            spec.roles.clone(),
            spec.clearance,
            "NDA-7",
            from,
            until,
            3,
        )
        .unwrap();
        store.put_grant(&grant, "added", t(1)).unwrap();
        if let Standing::Revoked = spec.standing {
            grant = grant.revoke(t(800));
            store.put_grant(&grant, "revoked", t(800)).unwrap();
        }
        grants.push(Some(grant));
    }
    Built {
        _dir: dir,
        store,
        logs,
        held,
        grants,
    }
}

/// The read rule of DESIGN.md §4, written out independently of the gate:
/// how `reader` may read `log` (with `rule`), if at all.
fn oracle(
    owner: Did,
    reader: &Reader,
    grant: Option<&Grant>,
    log: &LogId,
    rule: &Rule,
) -> Option<Access> {
    let public = rule.min_clearance == Clearance::Public;
    match reader {
        Reader::Owner => Some(Access::Owner),
        Reader::Anonymous => (log.origin == owner && public).then_some(Access::Public),
        Reader::Party(_) if log.origin == owner && public => Some(Access::Public),
        Reader::Party(p) if log.origin == owner => {
            let g = grant?;
            let active = g.valid_from <= now()
                && g.valid_until.is_none_or(|u| now() < u)
                && g.revoked_at.is_none_or(|r| now() < r);
            let named = rule.roles.is_empty() && rule.orgs.is_empty()
                || g.roles.iter().any(|r| rule.roles.contains(r))
                || rule.orgs.contains(p);
            (g.party == *p && active && g.clearance >= rule.min_clearance && named)
                .then_some(Access::Granted { version: g.version })
        }
        // A replica: to its author alone; we hold no grant of its author's
        // to pass it on under, and which public logs we hold says whom we
        // deal with.
        Reader::Party(p) if log.origin == *p => Some(Access::Author),
        Reader::Party(_) => None,
    }
}

/// The filter a spec names, and the narrowed set it reads under.
fn filter_of(built: &Built, spec: &FilterSpec, visible: &Visible) -> (Filter, Visible) {
    let after = spec.after.map(|at| match at {
        Some(n) if !built.held.is_empty() => {
            let h = &built.held[n % built.held.len()];
            (h.signed.issued_at, h.at)
        }
        _ => (
            t(35),
            Location {
                log: LogId {
                    origin: party(3).did(),
                    compartment: CompartmentId::from_bytes([0x77; 16]),
                },
                index: 0,
            },
        ),
    });
    let filter = Filter {
        kind: spec.kind,
        subject: spec
            .subject
            .map(|s| s.map_or(owner().did(), |n| party(n).did())),
        since: spec.since.map(t),
        domain: spec.domain,
        after,
    };
    let narrowed = match spec.compartment {
        None => visible.clone(),
        Some(which) => {
            let id = which
                .and_then(|i| built.logs.get(i))
                .map_or(CompartmentId::from_bytes([0x99; 16]), |(log, _)| {
                    log.compartment
                });
            visible.narrow(|log| log.compartment == id)
        }
    };
    (filter, narrowed)
}

fn order_key(h: &Held) -> std::cmp::Reverse<(Timestamp, Location)> {
    std::cmp::Reverse((h.signed.issued_at, h.at))
}

/// What `filter` selects among `held` in the logs of `visible`, newest
/// first; `domains` says whether the domain filter applies (the index does
/// not know domains: only [`Store::page`] applies it, as documented).
fn expected<'h>(
    held: &'h [Held],
    visible: &Visible,
    filter: &Filter,
    domains: bool,
    cursor: bool,
) -> Vec<&'h Held> {
    let mut found: Vec<&Held> = held
        .iter()
        .filter(|h| visible.contains(&h.at.log))
        .filter(|h| filter.kind.is_none_or(|k| h.signed.kind == k))
        .filter(|h| filter.subject.is_none_or(|s| h.signed.subject == s))
        .filter(|h| filter.since.is_none_or(|s| h.signed.issued_at >= s))
        .filter(|h| !domains || filter.domain.is_none_or(|d| h.signed.domain == Some(d)))
        .filter(|h| {
            !cursor
                || filter
                    .after
                    .is_none_or(|after| order_key(h) > std::cmp::Reverse(after))
        })
        .collect();
    found.sort_by_key(|h| order_key(h));
    found
}

fn locations<'a>(items: impl IntoIterator<Item = &'a Held>) -> Vec<Location> {
    items.into_iter().map(|h| h.at).collect()
}

/// Every read method, for one reader and one filter.
fn check_reads(built: &Built, visible: &Visible, spec: &FilterSpec) -> Result<(), TestCaseError> {
    let store = &built.store;
    let (filter, narrowed) = filter_of(built, spec, visible);
    // Nothing narrowed is outside the gate's set.
    prop_assert!(narrowed.logs().all(|(log, _)| visible.contains(&log)));
    let in_set = |at: &Location| narrowed.contains(&at.log);

    // records: newest first, the first `limit`, cursor applied.
    let want = expected(&built.held, &narrowed, &filter, false, true);
    let got = store.records(&narrowed, &filter, spec.limit).unwrap();
    prop_assert!(got.iter().all(|r| in_set(&r.location)));
    prop_assert_eq!(
        got.iter().map(|r| r.location).collect::<Vec<_>>(),
        locations(want.iter().copied().take(spec.limit))
    );
    for r in &got {
        let h = built.held.iter().find(|h| h.at == r.location).unwrap();
        prop_assert_eq!(&r.bytes, &h.signed.bytes);
    }

    // page, following `next` to the end: every match once, in order.
    let want = expected(&built.held, &narrowed, &filter, true, true);
    let mut listed = Vec::new();
    let mut cursor = filter.after;
    for _ in 0..=built.held.len() + 1 {
        let page = store
            .page(
                &narrowed,
                &Filter {
                    after: cursor,
                    ..filter.clone()
                },
                spec.limit,
            )
            .unwrap();
        prop_assert!(page.items.len() <= spec.limit);
        prop_assert!(page.items.iter().all(|l| in_set(&l.location)));
        listed.extend(page.items.iter().map(|l| l.location));
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    prop_assert_eq!(listed, locations(want));

    // count: what the index matches, cursor and domain aside.
    let want = expected(&built.held, &narrowed, &filter, false, false);
    prop_assert_eq!(store.count(&narrowed, &filter), want.len());

    // seen: every readable record, with its position.
    let mut seen: Vec<(RecordId, Option<(String, u64)>)> = store
        .seen(&narrowed)
        .unwrap()
        .into_iter()
        .map(|s| (s.record.id, s.position.map(|p| (p.log, p.index))))
        .collect();
    seen.sort();
    let mut want: Vec<(RecordId, Option<(String, u64)>)> = built
        .held
        .iter()
        .filter(|h| in_set(&h.at))
        .map(|h| {
            (
                h.signed.record.id,
                Some((h.at.log.origin_line(), h.at.index)),
            )
        })
        .collect();
    want.sort();
    prop_assert_eq!(seen, want);

    // logs: exactly the set, of what the store holds.
    let logs: BTreeSet<LogId> = store.logs(&narrowed).iter().map(|s| s.log).collect();
    let want: BTreeSet<LogId> = built
        .logs
        .iter()
        .map(|(l, _)| *l)
        .filter(|l| narrowed.contains(l))
        .collect();
    prop_assert_eq!(&logs, &want);

    // Per log, readable or not, and one that does not exist.
    let nowhere = LogId {
        origin: owner().did(),
        compartment: CompartmentId::from_bytes([0x99; 16]),
    };
    for log in built.logs.iter().map(|(l, _)| *l).chain([nowhere]) {
        let readable = narrowed.contains(&log);
        let of_log: Vec<&Held> = built.held.iter().filter(|h| h.at.log == log).collect();
        let read = store.read_log(&narrowed, log).unwrap();
        let want: Vec<Location> = if readable {
            locations(of_log.iter().copied())
        } else {
            vec![]
        };
        prop_assert_eq!(read.iter().map(|r| r.location).collect::<Vec<_>>(), want);
        let entries = store
            .read_entries(&narrowed, log, 0, u64::MAX, usize::MAX)
            .unwrap();
        let bytes: Vec<Vec<u8>> = of_log.iter().map(|h| h.signed.bytes.clone()).collect();
        prop_assert_eq!(entries, readable.then(|| bytes.clone()));
        // A range inside, and ranges past the end.
        let some = store
            .read_entries(&narrowed, log, 1, 2, usize::MAX)
            .unwrap();
        let inside: Vec<Vec<u8>> = bytes.iter().skip(1).take(2).cloned().collect();
        prop_assert_eq!(some, readable.then_some(inside));
        for (from, max) in [(bytes.len() as u64, 5), (u64::MAX, u64::MAX), (0, 0)] {
            let past = store
                .read_entries(&narrowed, log, from, max, usize::MAX)
                .unwrap();
            prop_assert_eq!(past, readable.then(Vec::new));
        }
        prop_assert_eq!(
            store.log(&narrowed, log).is_some(),
            readable && log != nowhere
        );
        prop_assert_eq!(
            store.tree(&narrowed, log).is_some(),
            readable && log != nowhere
        );
        for h in &of_log {
            let at = store.entry_at(&narrowed, h.at).unwrap();
            prop_assert_eq!(at.map(|r| r.location), readable.then_some(h.at));
        }
    }

    // By record id: every place it is held in the set, and nothing else.
    let ids: BTreeSet<RecordId> = built.held.iter().map(|h| h.signed.record.id).collect();
    for id in ids.into_iter().chain([RecordId([0xab; 32])]) {
        let mut want: Vec<Location> = built
            .held
            .iter()
            .filter(|h| h.signed.record.id == id && in_set(&h.at))
            .map(|h| h.at)
            .collect();
        want.sort();
        let mut at = store.locations(&narrowed, &id);
        at.sort();
        prop_assert_eq!(&at, &want);
        let mut found: Vec<Location> = store
            .record(&narrowed, &id)
            .unwrap()
            .into_iter()
            .map(|r| r.location)
            .collect();
        found.sort();
        prop_assert_eq!(&found, &want);
    }
    Ok(())
}

fn check_case(case: &Case, built: &Built) -> Result<(), TestCaseError> {
    let store = &built.store;
    let owner = owner().did();
    let mut readers = vec![(Reader::Anonymous, None), (Reader::Owner, None)];
    for n in 0..PARTIES {
        readers.push((Reader::Party(party(n).did()), built.grants[n].as_ref()));
    }
    // A party the owner has never heard of.
    readers.push((Reader::Party(Keypair::from_seed([99; 32]).did()), None));
    for (reader, grant) in readers {
        let disclosed_before = store.disclosures(0, usize::MAX).unwrap().len();
        let visible = store.gate(reader.clone(), now(), "api").unwrap();
        // The gate's set is the rule of DESIGN.md §4, log by log.
        let want: BTreeMap<LogId, Access> = built
            .logs
            .iter()
            .filter_map(|(log, rule)| Some((*log, oracle(owner, &reader, grant, log, rule)?)))
            .collect();
        let got: BTreeMap<LogId, Access> = visible.logs().collect();
        prop_assert_eq!(&got, &want, "{:?} with {:?}", reader, grant);
        for spec in &case.filters {
            check_reads(built, &visible, spec)?;
        }
        for (log, _) in visible.logs() {
            store.read_log(&visible, log).unwrap();
        }
        // Every disclosure made meanwhile is of a log read under a grant, to
        // this reader, under that grant's version.
        let made = store.disclosures(disclosed_before, usize::MAX).unwrap();
        for d in &made {
            prop_assert_eq!(Some(d.party), visible.party());
            let log = LogId {
                origin: owner,
                compartment: d.compartment,
            };
            prop_assert_eq!(
                visible.get(&log),
                Some(Access::Granted {
                    version: d.grant_version.unwrap()
                })
            );
        }
        // And every log read under a grant that holds entries was disclosed.
        for (log, access) in visible.logs() {
            if access.is_disclosure() && built.held.iter().any(|h| h.at.log == log) {
                prop_assert!(made.iter().any(|d| d.compartment == log.compartment));
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn every_read_releases_exactly_what_the_gate_allows(case in case()) {
        let built = build(&case);
        check_case(&case, &built)?;
    }
}
