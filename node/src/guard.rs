//! The rules checked before anything is signed into a log for good: a log
//! is append-only, so a record about the wrong organization, a withdrawal
//! that shows its reason to the wrong readers or a grant to a mistyped DID
//! cannot be taken back. Each rule is one function here, called by
//! [`crate::publish::prepare`] (the CLI offline, the running node and its
//! admin API alike) and by both paths that change grants; each refusal says
//! what is wrong and what to do instead.

use std::collections::BTreeSet;

use anyhow::{Result, bail};
use assure_access::Compartment;
use assure_model::{Body, Did, Kind, Record, RecordId};
use assure_store::{Filter, Location, Store, StoredRecord};
use jiff::Timestamp;

/// The kinds an organization issues about itself only.
const SELF_DESCRIBED: [Kind; 4] = [Kind::Profile, Kind::Scope, Kind::Control, Kind::Incident];

/// A `profile`, `scope`, `control` or `incident` is about its issuer: for
/// our own records, ourselves (a site or process fragment of our DID is
/// fine). An organization's say about another one is an `audit`, a
/// `relationship` or a `verification`.
pub fn subject(us: &Did, record: &Record) -> Result<()> {
    let kind = record.kind();
    let issuer = record.issuer();
    if !SELF_DESCRIBED.contains(&kind) || record.subject.did == issuer {
        return Ok(());
    }
    let about = &record.subject.did;
    let a_kind = kind.with_article();
    if issuer == *us {
        bail!(
            "{a_kind} record is about the organization that issues it, but its subject is \
             {about}, not us ({us}): remove `subject` from the draft (it defaults to us), or \
             name one of our sites as `{us}#site-…`; to say something about another \
             organization, publish an audit, a relationship or a verification"
        );
    }
    bail!(
        "this {kind} record was issued by {issuer} about {about}: {a_kind} is about the \
         organization that issues it, so this envelope was not kept; ask its issuer for a \
         corrected one"
    )
}

/// Where a withdrawal we issue goes: the compartment of the record it
/// withdraws, so that its reason is read by exactly that record's readers.
/// `None` for any other record.
///
/// The withdrawn record must be one we issued and hold in one of our own
/// compartments, not withdrawn already (by a stored withdrawal, or by one
/// in `batch`, the records withdrawn earlier in the same publish). A
/// compartment the operator `named` must be that record's; without one the
/// withdrawal goes to it.
pub fn withdrawal(
    store: &Store,
    us: &Did,
    record: &Record,
    named: Option<&Compartment>,
    batch: &BTreeSet<RecordId>,
) -> Result<Option<Compartment>> {
    let Body::Withdrawal(withdrawal) = &record.predicate.body else {
        return Ok(None);
    };
    if record.issuer() != *us {
        return Ok(None);
    }
    let target = withdrawal.withdrawn;
    let held = own_copies(store, us, &target)?;
    let Some(first) = held.first() else {
        let ours = store.as_owner()?;
        if let Some(replica) = store.record(&ours, &target)?.first() {
            let issuer = replica.record.issuer();
            let who = who(store, &issuer)?;
            bail!(
                "record {target} is another organization's, {who}'s, held here as a copy of \
                 its log: only its issuer can withdraw it (to say it is wrong, publish an \
                 audit or a verification)"
            );
        }
        bail!(
            "no record {target} is held in our compartments, so there is nothing to withdraw: \
             check the id with `assure records` (a withdrawal names a record we issued)"
        );
    };
    let issuer = first.record.issuer();
    if issuer != *us {
        bail!(
            "record {target} was issued by {issuer}, not by us: only its issuer can withdraw \
             it (to say it is wrong, publish an audit or a verification)"
        );
    }
    if first.record.kind() == Kind::Withdrawal {
        bail!(
            "record {target} is a withdrawal: a withdrawal cannot be withdrawn; publish the \
             record again"
        );
    }
    if batch.contains(&target) {
        bail!("record {target} is withdrawn twice in this batch: give one withdrawal");
    }
    if let Some(earlier) = withdrawn_by(store, us, &target)? {
        bail!(
            "record {target} is already withdrawn (by withdrawal {earlier}): a second \
             withdrawal would change nothing"
        );
    }
    let ours = store.as_owner()?;
    let mut homes: Vec<Compartment> = held
        .iter()
        .filter_map(|r| store.log(&ours, r.location.log))
        .map(|s| s.compartment)
        .collect();
    homes.dedup_by(|a, b| a.id == b.id);
    let labels = || {
        homes
            .iter()
            .map(|c| format!("`{}`", c.label))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match named {
        Some(named) if homes.iter().any(|c| c.id == named.id) => Ok(Some(named.clone())),
        Some(named) => bail!(
            "record {target} is in compartment {}, and its withdrawal must go to the same \
             readers: in `{}` its reason would be read by parties who may not read the \
             record; use `--compartment {}`, or leave out --compartment to place it there",
            labels(),
            named.label,
            homes[0].label
        ),
        None if homes.len() == 1 => Ok(homes.pop()),
        None => bail!(
            "record {target} is held in compartments {}: name the one to withdraw it from with \
             `--compartment LABEL`",
            labels()
        ),
    }
}

/// Every record a record we issue `supersedes` must be one of ours, of the
/// same kind, that we hold (or that comes `earlier` in the same publish).
pub fn supersedes(store: &Store, us: &Did, record: &Record, earlier: &[&Record]) -> Result<()> {
    if record.issuer() != *us {
        return Ok(());
    }
    let kind = record.kind();
    for replaced in &record.predicate.common.supersedes {
        let found = match earlier.iter().find(|r| r.id == *replaced) {
            Some(in_batch) => Some((*in_batch).clone()),
            None => own_copies(store, us, replaced)?
                .into_iter()
                .next()
                .map(|s| s.record),
        };
        let Some(old) = found else {
            bail!(
                "this {kind} supersedes {replaced}, which is not held in our compartments: \
                 check the id with `assure records --kind {kind}`"
            );
        };
        if old.issuer() != *us {
            bail!(
                "this {kind} supersedes {replaced}, issued by {}: a record supersedes only \
                 our own records",
                old.issuer()
            );
        }
        if old.kind() != kind {
            bail!(
                "this {kind} supersedes {replaced}, which is {}: a record supersedes only \
                 records of its own kind (to take a record back, publish a withdrawal)",
                old.kind().with_article()
            );
        }
    }
    Ok(())
}

/// Where one of our logs already holds these very envelope bytes: publishing
/// them again is a no-op, not a second entry.
pub fn held(store: &Store, us: &Did, bytes: &[u8], record: &Record) -> Result<Option<Location>> {
    Ok(own_copies(store, us, &record.id)?
        .into_iter()
        .find(|stored| stored.bytes == bytes)
        .map(|stored| stored.location))
}

/// An incident we issue reaches each affected party through its grant:
/// every one must hold an active grant at `now`, unless the operator says
/// `undeliverable`. We need no grant to read our own record, so we are
/// skipped: an incident that affected only us is kept, and reaches no one.
///
/// A party listed twice is refused rather than listed once: what is
/// signed is what the operator wrote, and a repeated DID is more likely a
/// pasted one where another party was meant.
pub fn deliverable(
    store: &Store,
    us: &Did,
    record: &Record,
    undeliverable: bool,
    now: Timestamp,
) -> Result<()> {
    let Body::Incident(incident) = &record.predicate.body else {
        return Ok(());
    };
    if record.issuer() != *us {
        return Ok(());
    }
    let mut listed = BTreeSet::new();
    for party in &incident.affected {
        if !listed.insert(party) {
            let who = who(store, party)?;
            bail!("the affected party {who} is listed twice in `affected`: list each party once");
        }
    }
    if undeliverable {
        return Ok(());
    }
    for party in incident.affected.iter().filter(|party| *party != us) {
        let active = store.grant(party)?.is_some_and(|g| g.is_active(now));
        if !active {
            let who = who(store, party)?;
            bail!(
                "the affected party {who} holds no active grant, so the incident notice could \
                 never reach it: grant it first (`assure grant add {party} --clearance partner \
                 --role customer --basis \"CONTRACT\"`, with the clearance, role and contract \
                 of your relationship), or pass --undeliverable to publish it anyway"
            );
        }
    }
    Ok(())
}

/// A party by its name and DID, or its DID when it has no known name.
fn who(store: &Store, party: &Did) -> Result<String> {
    let names = crate::compartments::names(store, [party])?;
    Ok(match names.get(party) {
        Some(name) => format!("{name} ({party})"),
        None => party.to_string(),
    })
}

/// A new grant names a party we have seen: one that holds or held a grant,
/// is in the peer book, is named by a compartment's rule, or has records
/// by or about it in the store. A mistyped DID would grant no one we know,
/// so an unseen party needs the operator's explicit `unknown_party`.
///
/// The one place this rule is decided, for `assure grant add` and
/// `PUT /v1/admin/grants/{did}` alike.
pub fn grant_party(store: &Store, party: &Did, unknown_party: bool) -> Result<()> {
    if unknown_party || seen(store, party)? {
        return Ok(());
    }
    bail!(
        "{party} is unknown here: no record by or about it is held and it is not in the peer \
         book, so a mistyped DID is likely; check it with the party, then pass \
         --unknown-party (in the admin API, \"unknownParty\": true) to grant it anyway"
    )
}

/// Whether the store knows `party` at all.
fn seen(store: &Store, party: &Did) -> Result<bool> {
    if store.grant(party)?.is_some() || store.peer(party)?.is_some() {
        return Ok(true);
    }
    let ours = store.as_owner()?;
    let logs = store.logs(&ours);
    if logs
        .iter()
        .any(|s| s.log.origin == *party || s.compartment.rule.orgs.contains(party))
    {
        return Ok(true);
    }
    let about = Filter {
        subject: Some(*party),
        ..Filter::default()
    };
    if store.count(&ours, &about) > 0 {
        return Ok(true);
    }
    // Last, the records that name it elsewhere: issuer, co-signer, supplier,
    // customer, affected party.
    let us = store.owner()?.unwrap_or(*party);
    Ok(store
        .records(&ours, &Filter::default(), usize::MAX)?
        .iter()
        .any(|stored| {
            let record = &stored.record;
            record.signers.contains(party)
                || assure_access::parties(&record.subject.did, &record.predicate.body, &us)
                    .contains(party)
        }))
}

/// The copies of a record held in our own logs.
fn own_copies(store: &Store, us: &Did, id: &RecordId) -> Result<Vec<StoredRecord>> {
    let ours = store.as_owner()?;
    let mut found = store.record(&ours, id)?;
    found.retain(|stored| stored.location.log.origin == *us);
    Ok(found)
}

/// Our withdrawal of `target`, if we hold one.
fn withdrawn_by(store: &Store, us: &Did, target: &RecordId) -> Result<Option<RecordId>> {
    let ours = store.as_owner()?;
    let withdrawals = Filter {
        kind: Some(Kind::Withdrawal),
        ..Filter::default()
    };
    Ok(store
        .records(&ours, &withdrawals, usize::MAX)?
        .into_iter()
        .find(|stored| {
            stored.location.log.origin == *us
                && stored.record.issuer() == *us
                && matches!(&stored.record.predicate.body,
                    Body::Withdrawal(w) if w.withdrawn == *target)
        })
        .map(|stored| stored.record.id))
}
