//! `assure init` and `assure id`.

use anyhow::{Result, bail};
use assure_access::{Compartment, CompartmentId, Rule};
use assure_model::Keypair;

use super::now;
use crate::datadir::{DataDir, TOKEN_FILE};

/// The compartments every node starts with, and who may read them.
fn default_compartments() -> Result<Vec<Compartment>> {
    let rules = [
        ("public", Rule::public()),
        ("partners", Rule::partners()),
        ("confidential", Rule::confidential()),
        ("regulators", Rule::regulators()),
    ];
    rules
        .into_iter()
        .map(|(label, rule)| Ok(Compartment::new(CompartmentId::random()?, label, rule)?))
        .collect()
}

pub(super) fn init(dir: &DataDir, name: &str) -> Result<()> {
    if name.trim().is_empty() || name.len() > 200 {
        bail!("--name must be 1 to 200 characters");
    }
    if let Ok(existing) = dir.keypair() {
        bail!(
            "{} already holds the identity {}; refusing to overwrite it",
            dir.path().display(),
            existing.did()
        );
    }
    let store = dir.store()?;
    if store.owner()?.is_some() {
        bail!(
            "{} already holds a store; refusing to initialize it again",
            dir.path().display()
        );
    }
    let keypair = Keypair::generate()?;
    let mut token = [0u8; 32];
    getrandom::fill(&mut token)?;
    dir.create_secret(crate::datadir::KEY_FILE, keypair.to_pem()?.as_bytes())?;
    dir.create_secret(TOKEN_FILE, hex::encode(token).as_bytes())?;
    store.set_owner(keypair.did())?;
    store.set_name(name)?;
    for compartment in default_compartments()? {
        store.create_compartment(&keypair, compartment, now())?;
    }
    println!("{}", keypair.did());
    eprintln!(
        "initialized {} for {name}: key {}, admin token {}, compartments public, partners, confidential, regulators",
        dir.path().display(),
        crate::datadir::KEY_FILE,
        TOKEN_FILE
    );
    Ok(())
}

pub(super) fn id(dir: &DataDir) -> Result<()> {
    println!("{}", dir.keypair()?.did());
    Ok(())
}
