//! `assure init` and `assure id`.

use anyhow::Result;
use assure_model::Keypair;

use super::now;
use crate::datadir::{DataDir, KEY_FILE, TOKEN_FILE};

pub(super) fn init(dir: &DataDir, name: &str, demo_seed: Option<u8>) -> Result<()> {
    let keypair = match demo_seed {
        Some(seed) => {
            eprintln!(
                "warning: --demo-seed {seed} makes a key anyone can compute; demonstrations only"
            );
            Keypair::from_seed([seed; 32])
        }
        None => Keypair::generate()?,
    };
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
