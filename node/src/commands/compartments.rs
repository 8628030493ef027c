//! `assure compartments` and `assure compartment add`: the node library's
//! listing and its one "find or make the compartment of exactly these
//! readers", printed the same way in-process and through a running node.

use anyhow::{Context as _, Result};
use assure_access::{Clearance, Role};
use assure_api::{CompartmentInfo, NewCompartment};
use assure_model::Did;

use super::now;
use crate::cli::{CompartmentAdd, Output};
use crate::datadir::DataDir;
use crate::output::{Table, json};

pub(super) fn list(dir: &DataDir, output: Output) -> Result<()> {
    let store = dir.store()?;
    let owner = store
        .owner()?
        .context("this data directory has no identity; run `assure init`")?;
    let listed = assure_node::compartments::list(&store, owner, now())?;
    print(&listed, output)
}

pub(super) fn add(dir: &DataDir, add: CompartmentAdd) -> Result<()> {
    let keypair = dir.keypair()?;
    let store = dir.store()?;
    let new = parse(&add)?;
    let now = now();
    let (compartment, made) = assure_node::compartments::add(&store, &keypair, &new, now)?;
    let info = assure_node::compartments::info(&store, keypair.did(), compartment.id, now)?;
    print_added(&info, made, add.output)
}

fn parse(add: &CompartmentAdd) -> Result<NewCompartment> {
    let readers = add
        .readers
        .iter()
        .map(|r| {
            r.parse::<Did>()
                .with_context(|| format!("--reader `{r}` is not a did:key identifier"))
        })
        .collect::<Result<_>>()?;
    let roles = add
        .roles
        .iter()
        .map(|r| r.parse::<Role>().with_context(|| format!("--role `{r}`")))
        .collect::<Result<_>>()?;
    let min_clearance: Clearance = add
        .min_clearance
        .parse()
        .with_context(|| format!("--min-clearance `{}`", add.min_clearance))?;
    Ok(NewCompartment {
        label: add.label.clone(),
        readers,
        roles,
        min_clearance,
    })
}

/// Prints a compartment just found or made, and a note for each named
/// reader that no grant admits yet.
pub(super) fn print_added(info: &CompartmentInfo, made: bool, output: Output) -> Result<()> {
    if output.json {
        return json(info);
    }
    print(std::slice::from_ref(info), output)?;
    if !made {
        eprintln!(
            "compartment `{}` exists already; nothing changed",
            info.label
        );
    }
    for reader in info.readers.iter().filter(|r| !r.granted) {
        eprintln!(
            "note: {} holds no grant that admits it; it reads `{}` once granted (`assure grant add`)",
            reader.did, info.label
        );
    }
    Ok(())
}

/// The table of `assure compartments`, or the list as JSON.
pub(super) fn print(listed: &[CompartmentInfo], output: Output) -> Result<()> {
    if output.json {
        return json(&listed);
    }
    let mut table = Table::new(&["LABEL", "ID", "RULE", "TLP", "READERS", "SIZE"]);
    for c in listed {
        table.row(vec![
            c.label.clone(),
            c.id.to_string(),
            c.rule.to_string(),
            c.tlp.to_string(),
            readers(c),
            c.size.to_string(),
        ]);
    }
    table.print();
    Ok(())
}

/// Who reads, for people: `anyone`, or names (short DIDs where no profile
/// gives one), a named reader without a grant marked as such.
fn readers(c: &CompartmentInfo) -> String {
    if c.public {
        return "anyone".to_owned();
    }
    if c.readers.is_empty() {
        return "none yet".to_owned();
    }
    c.readers
        .iter()
        .map(|r| {
            let name = r.name.clone().unwrap_or_else(|| r.did.fmt_short());
            if r.granted {
                name
            } else {
                format!("{name} (no grant)")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}
