//! `assure new KIND`: a draft to fill in, over [`assure_node::drafts`].

use std::io::Write as _;
use std::path::Path;

use anyhow::{Context as _, Result};
use assure_model::{Catalog, Kind};
use assure_node::drafts;

use super::now;
use crate::datadir::DataDir;

pub(super) fn new(
    dir: &DataDir,
    kind: &str,
    control: Option<&str>,
    out: Option<&Path>,
) -> Result<()> {
    let kind: Kind = kind.parse()?;
    let us = if dir.key_path().exists() {
        Some(dir.keypair()?.did())
    } else {
        eprintln!(
            "no identity in {}: the draft says `{}` where our DID goes",
            dir.path().display(),
            drafts::NO_IDENTITY
        );
        None
    };
    let text = drafts::draft(kind, us, Catalog::builtin(), control, now())?;
    match out {
        None => print!("{text}"),
        Some(out) => {
            let mut file = std::fs::File::options()
                .write(true)
                .create_new(true)
                .open(out)
                .with_context(|| format!("creating {} (it must not exist yet)", out.display()))?;
            file.write_all(text.as_bytes())?;
            eprintln!("wrote {} draft to {}", kind.with_article(), out.display());
        }
    }
    Ok(())
}
