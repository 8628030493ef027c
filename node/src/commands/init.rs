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

pub(super) fn restore(dir: &DataDir, file: &std::path::Path) -> Result<()> {
    use anyhow::Context as _;
    if assure_store::is_locked(dir.path()) {
        anyhow::bail!(
            "a node is running on {}: stop it first, then restore (restore replaces its store)",
            dir.path().display()
        );
    }
    let owner = dir.keypair()?.did();
    let input = std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
    let summary = assure_store::Store::restore(dir.path(), owner, std::io::BufReader::new(input))
        .with_context(|| {
        format!(
            "{} was not restored; the data directory is unchanged",
            file.display()
        )
    })?;
    eprintln!(
        "restored {} compartments, {} entries, {} grants from {}",
        summary.compartments,
        summary.entries,
        summary.grants,
        file.display()
    );
    Ok(())
}
