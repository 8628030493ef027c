//! `assure grant add|revoke|list`.

use anyhow::{Context as _, Result, bail};
use assure_access::{Clearance, Grant, Role};
use assure_model::Did;

use super::now;
use crate::cli::{GrantAdd, GrantCommand};
use crate::datadir::DataDir;
use crate::output::{Table, json};

pub(super) fn run(dir: &DataDir, command: GrantCommand) -> Result<()> {
    match command {
        GrantCommand::Add(add) => self::add(dir, add),
        GrantCommand::Revoke { party } => revoke(dir, &party),
        GrantCommand::List { history, output } => {
            let store = dir.store()?;
            if history {
                let log = store.grant_log()?;
                if output.json {
                    return json(&log);
                }
                let mut table = Table::new(&["AT", "CHANGE", "PARTY", "VERSION", "CLEARANCE"]);
                for change in log {
                    table.row(vec![
                        change.at.to_string(),
                        change.change,
                        change.grant.party.to_string(),
                        change.grant.version.to_string(),
                        change.grant.clearance.to_string(),
                    ]);
                }
                table.print();
                return Ok(());
            }
            let grants = store.grants()?;
            if output.json {
                return json(&grants);
            }
            print_grants(&grants);
            Ok(())
        }
    }
}

fn add(dir: &DataDir, add: GrantAdd) -> Result<()> {
    let party: Did = add.party.parse()?;
    let clearance: Clearance = add.clearance.parse()?;
    let roles = add
        .roles
        .iter()
        .map(|r| r.parse::<Role>())
        .collect::<Result<_, _>>()?;
    let now = now();
    let parse_time = |flag: &str, value: &str| -> Result<jiff::Timestamp> {
        value.parse().with_context(|| {
            format!("--{flag} `{value}` is not an RFC 3339 time such as 2026-12-31T00:00:00Z")
        })
    };
    let valid_from = add
        .from
        .as_deref()
        .map(|v| parse_time("from", v))
        .transpose()?
        .unwrap_or(now);
    let valid_until = add
        .until
        .as_deref()
        .map(|v| parse_time("until", v))
        .transpose()?;
    let store = dir.store()?;
    if store.owner()? == Some(party) {
        bail!("{party} is this organization itself; it always reads its own compartments");
    }
    assure_node::guard::grant_party(&store, &party, add.unknown_party)?;
    let version = store.grant(&party)?.map_or(1, |g| g.version + 1);
    let grant = Grant::new(
        party,
        roles,
        clearance,
        add.basis,
        valid_from,
        valid_until,
        version,
    )?;
    let change = if version == 1 { "added" } else { "replaced" };
    store.put_grant(&grant, change, now)?;
    print_grants(&[grant]);
    Ok(())
}

fn revoke(dir: &DataDir, party: &str) -> Result<()> {
    let party: Did = party.parse()?;
    let store = dir.store()?;
    let now = now();
    let current = store
        .grant(&party)?
        .with_context(|| format!("{party} holds no grant"))?;
    if current.revoked_at.is_some() {
        bail!("the grant of {party} is already revoked");
    }
    let revoked = current.revoke(now);
    store.put_grant(&revoked, "revoked", now)?;
    print_grants(&[revoked]);
    Ok(())
}

fn print_grants(grants: &[Grant]) {
    let mut table = Table::new(&[
        "PARTY",
        "CLEARANCE",
        "ROLES",
        "BASIS",
        "VALID",
        "VERSION",
        "STATE",
    ]);
    let now = now();
    for g in grants {
        let roles: Vec<String> = g.roles.iter().map(Role::to_string).collect();
        let until = g
            .valid_until
            .map_or_else(|| "open".to_owned(), |t| t.to_string());
        let state = match (g.revoked_at, g.is_active(now)) {
            (Some(at), _) => format!("revoked {at}"),
            (None, true) => "active".to_owned(),
            (None, false) => "inactive".to_owned(),
        };
        table.row(vec![
            g.party.to_string(),
            g.clearance.to_string(),
            roles.join(","),
            g.basis.clone(),
            format!("{} .. {until}", g.valid_from),
            g.version.to_string(),
            state,
        ]);
    }
    table.print();
}
