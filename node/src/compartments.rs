//! Audience compartments (DESIGN.md §3): the one implementation of "find or
//! make the compartment readable by exactly this audience", used by `assure
//! compartment add`, `POST /v1/admin/compartments` and the defaults of
//! publishing; the listing with readers by name; and the names themselves.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Result, bail};
use assure_access::{Clearance, Compartment, CompartmentId, Role, Rule, readers};
use assure_api::{CompartmentInfo, NewCompartment, Reader};
use assure_model::{Body, Did, Keypair, Kind};
use assure_store::{Error as StoreError, LogSummary, Store};
use jiff::Timestamp;

/// The owner's compartments, as summaries.
fn own(store: &Store, owner: Did) -> Vec<LogSummary> {
    // A store without an identity has no compartments of its own.
    store
        .as_owner()
        .map(|ours| store.logs(&ours))
        .unwrap_or_default()
        .into_iter()
        .filter(|s| s.log.origin == owner)
        .collect()
}

/// The owner's compartment whose rule is exactly `rule`, if there is one.
pub fn with_rule(store: &Store, owner: Did, rule: &Rule) -> Option<Compartment> {
    own(store, owner)
        .into_iter()
        .map(|s| s.compartment)
        .find(|c| c.rule == *rule)
}

/// The one implementation of "the owner's compartment readable by exactly
/// this audience": the compartment whose rule is exactly `rule`, or a new
/// one labelled `label`. `true` when it was made.
///
/// Two callers at once cannot make two compartments under one label: the
/// store refuses the second, which then finds the first. Defaults use a
/// label derived from the rule ([`default_label`]), so two publishes at
/// once for one audience end in one compartment.
pub fn find_or_create(
    store: &Store,
    keypair: &Keypair,
    rule: &Rule,
    label: &str,
    now: Timestamp,
) -> Result<(Compartment, bool)> {
    if let Some(found) = with_rule(store, keypair.did(), rule) {
        return Ok((found, false));
    }
    let compartment = Compartment::new(CompartmentId::random()?, label, rule.clone())?;
    match store.create_compartment(keypair, compartment.clone(), now) {
        Ok(_) => Ok((compartment, true)),
        Err(error @ StoreError::CompartmentExists(_)) => with_rule(store, keypair.did(), rule)
            .map(|found| (found, false))
            .ok_or_else(|| error.into()),
        Err(error) => Err(error.into()),
    }
}

/// `assure compartment add` and `POST /v1/admin/compartments`: the
/// compartment readable by exactly `new.readers` (and regulators, if asked),
/// with the label `new.label`. Returns it and whether it was made; asking
/// again for the same label and readers finds it. Refuses a label taken by
/// another rule, and readers that already have a compartment of their own
/// under another label (one audience, one compartment, so that the default
/// of publishing is never ambiguous).
pub fn add(
    store: &Store,
    keypair: &Keypair,
    new: &NewCompartment,
    now: Timestamp,
) -> Result<(Compartment, bool)> {
    let us = keypair.did();
    if new.readers.is_empty() {
        bail!("name at least one reader: a compartment of named readers needs a --reader DID");
    }
    if new.readers.contains(&us) {
        bail!("{us} is this organization itself; it always reads its own compartments");
    }
    if let Some(role) = new.roles.iter().find(|r| **r != Role::Regulator) {
        bail!(
            "only `regulator` may read beside named readers; the role `{role}` would admit \
             every party granted it"
        );
    }
    if new.min_clearance == Clearance::Public {
        bail!("a compartment of named readers needs a clearance of partner or higher");
    }
    Compartment::validate_label(&new.label)?;
    let rule = Rule {
        min_clearance: new.min_clearance,
        roles: new.roles.clone(),
        orgs: new.readers.clone(),
    };
    if let Some(same) = own(store, us)
        .into_iter()
        .find(|s| s.compartment.label == new.label)
    {
        if same.compartment.rule == rule {
            return Ok((same.compartment, false));
        }
        bail!(
            "compartment `{}` exists with another rule ({}); choose another label",
            new.label,
            same.compartment.rule
        );
    }
    let (compartment, made) = find_or_create(store, keypair, &rule, &new.label, now)?;
    if !made && compartment.label != new.label {
        bail!(
            "compartment `{}` is already readable by exactly these readers; publish with \
             `--compartment {}`",
            compartment.label,
            compartment.label
        );
    }
    Ok((compartment, made))
}

/// The label of a compartment made by default: `incident-…` for an
/// incident's audience, otherwise `with-` and the first party's name (or the
/// end of its DID), then 8 hex characters of the rule's digest, so that one
/// audience always gets one label.
pub fn default_label(
    body: &Body,
    rule: &Rule,
    parties: &BTreeSet<Did>,
    names: &BTreeMap<Did, String>,
) -> String {
    let stem = match (body.kind(), parties.first()) {
        (Kind::Incident, _) | (_, None) => "incident".to_owned(),
        (_, Some(first)) => {
            let name = names.get(first).cloned().unwrap_or_else(|| {
                let did = first.to_string();
                did[did.len() - 6..].to_owned()
            });
            let mut slug = String::from("with-");
            for c in name.to_lowercase().chars() {
                match c {
                    'a'..='z' | '0'..='9' => slug.push(c),
                    _ if !slug.ends_with('-') => slug.push('-'),
                    _ => {}
                }
            }
            slug.truncate(40);
            let mut stem = slug.trim_end_matches('-').to_owned();
            if parties.len() > 1 {
                stem += &format!("-and-{}", parties.len() - 1);
            }
            stem
        }
    };
    // A rule always serializes: an enum, a set of enums, a set of DIDs.
    let digest = blake3::hash(serde_json::to_string(rule).unwrap_or_default().as_bytes());
    format!("{stem}-{}", &digest.to_hex()[..8])
}

/// Legal names (see [`Store::names`]) of every organization in `dids`
/// that has one.
pub fn names<'a>(
    store: &Store,
    dids: impl IntoIterator<Item = &'a Did>,
) -> Result<BTreeMap<Did, String>> {
    let all = store.names(&store.as_owner()?)?;
    Ok(dids
        .into_iter()
        .filter_map(|did| all.get(did).map(|name| (*did, name.clone())))
        .collect())
}

/// A name for people: the legal name, else the short DID.
pub fn display(did: &Did, names: &BTreeMap<Did, String>) -> String {
    names.get(did).cloned().unwrap_or_else(|| did.fmt_short())
}

/// `assure compartments` and `GET /v1/admin/compartments`: the owner's
/// compartments, each with the organizations its rule names and those the
/// grants admit at `now`, by name where a profile gives one.
pub fn list(store: &Store, owner: Did, now: Timestamp) -> Result<Vec<CompartmentInfo>> {
    let mut own = own(store, owner);
    own.sort_by(|a, b| {
        (a.compartment.rule.tlp(), &a.compartment.label)
            .cmp(&(b.compartment.rule.tlp(), &b.compartment.label))
    });
    let grants = store.grants()?;
    let mut out = Vec::with_capacity(own.len());
    for summary in own {
        let rule = &summary.compartment.rule;
        out.push(CompartmentInfo {
            label: summary.compartment.label.clone(),
            id: summary.compartment.id,
            rule: rule.clone(),
            tlp: rule.tlp(),
            size: summary.checkpoint.checkpoint().size(),
            checkpoint: summary.checkpoint.to_string(),
            public: rule.is_public(),
            readers: readers_of(store, rule, &grants, now)?,
        });
    }
    Ok(out)
}

/// Who a compartment of `rule` admits at `now`: the organizations the rule
/// names and those the grants admit, by name where a profile gives one.
/// Empty for a public rule: anyone reads it, and no list says more.
pub fn readers_of(
    store: &Store,
    rule: &Rule,
    grants: &[assure_access::Grant],
    now: Timestamp,
) -> Result<Vec<Reader>> {
    let granted: BTreeSet<Did> = match rule.is_public() {
        true => BTreeSet::new(),
        false => readers(rule, grants, now).into_iter().collect(),
    };
    let mut all: Vec<Did> = rule.orgs.iter().copied().collect();
    all.extend(granted.iter().filter(|d| !rule.orgs.contains(d)));
    let names = names(store, &all)?;
    Ok(all
        .into_iter()
        .map(|did| Reader {
            did,
            name: names.get(&did).cloned(),
            granted: granted.contains(&did),
        })
        .collect())
}

/// The listing entry of one compartment.
pub fn info(
    store: &Store,
    owner: Did,
    id: CompartmentId,
    now: Timestamp,
) -> Result<CompartmentInfo> {
    list(store, owner, now)?
        .into_iter()
        .find(|c| c.id == id)
        .ok_or_else(|| anyhow::anyhow!("compartment {id} is gone"))
}
