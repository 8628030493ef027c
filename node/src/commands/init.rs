//! `assure init` and `assure id`.

use std::path::Path;

use anyhow::{Context as _, Result};
use assure_model::Keypair;
use assure_node::backup::{self, Passphrase};
use assure_store::Older;

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

pub(super) fn restore(
    dir: &DataDir,
    file: &Path,
    passphrase_file: Option<&Path>,
    older: bool,
) -> Result<()> {
    let older = match older {
        true => Older::Restore,
        false => Older::Refuse,
    };
    let restored = backup::restore(dir, file, older, &mut || {
        Passphrase::obtain(passphrase_file, false)
    })
    .with_context(|| format!("{} was not restored", file.display()))?;
    let summary = restored.summary;
    eprintln!(
        "restored {} compartments, {} entries, {} grants from {}{}{}",
        summary.compartments,
        summary.entries,
        summary.grants,
        file.display(),
        if restored.key_written {
            "; wrote key.pem"
        } else {
            ""
        },
        if restored.token_written {
            "; wrote a new admin.token"
        } else {
            ""
        },
    );
    let sizes: Vec<String> = summary
        .logs
        .iter()
        .map(|log| format!("{} {}", log.label, log.size))
        .collect();
    eprintln!(
        "the backup was written {}; entries per compartment: {}",
        restored.created,
        sizes.join(", ")
    );
    for log in &summary.rolled_back {
        eprintln!(
            "warning: --older: `{}` went back from {} entries to {}",
            log.label, log.held, log.backup
        );
    }
    eprintln!(
        "warning: if this node published anything after the backup was written, partners \
         hold newer checkpoints and will report a fork (equivocation) as soon as it signs a \
         new entry: restore a newer backup if there is one, and until then sign nothing new \
         (no publish, cosign or verify --publish)"
    );
    Ok(())
}
