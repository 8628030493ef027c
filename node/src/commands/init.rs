//! `assure init` and `assure id`.

use anyhow::Result;
use assure_model::Keypair;

use super::now;
use crate::datadir::{DataDir, KEY_FILE, TOKEN_FILE};

pub(super) fn init(dir: &DataDir, name: &str) -> Result<()> {
    let keypair = Keypair::generate()?;
    dir.init(name, &keypair, now())?;
    println!("{}", keypair.did());
    eprintln!(
        "initialized {} for {name}: key {}, admin token {}, compartments public, partners, confidential, regulators",
        dir.path().display(),
        KEY_FILE,
        TOKEN_FILE
    );
    Ok(())
}

pub(super) fn id(dir: &DataDir) -> Result<()> {
    println!("{}", dir.keypair()?.did());
    Ok(())
}
