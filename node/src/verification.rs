//! Verification as the node runs it: the records this node holds, the
//! profiles and anchors from its configuration, the engine from
//! `assure-verify`, and what it produces — reports, signed `verification`
//! records and evidence bundles. Shared by the CLI and the API.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use assure_model::predicate::Outcome;
use assure_model::{Body, Catalog, Common, Did, Domain, Keypair, Predicate, Record, SubjectRef};
use assure_store::Store;
use assure_verify::chain::{self, Link};
use assure_verify::{Bundle, BundleEntry, Context, Profile, Report, Seen, View};
use jiff::Timestamp;

use crate::config::VerifyConfig;

/// A profile file, read and checked against the catalog.
#[derive(Clone, Debug)]
pub struct LoadedProfile {
    /// The file it came from.
    pub path: PathBuf,
    /// The file's text, verbatim (bundles carry it).
    pub text: String,
    /// The parsed profile.
    pub profile: Profile,
}

/// Reads a profile; errors name the file and line.
pub fn load_profile(path: &Path) -> Result<LoadedProfile> {
    let text = crate::files::read_text_limited(path, crate::files::MAX_TEXT_FILE_BYTES, "profile")?;
    let catalog = Catalog::builtin();
    let profile =
        Profile::parse(&text, catalog).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    Ok(LoadedProfile {
        path: path.to_owned(),
        text,
        profile,
    })
}

/// One provider's verdict in a supply-chain verification.
#[derive(Debug)]
pub struct Verdict {
    /// Where the provider sits.
    pub link: Link,
    /// The profile applied, when one maps to the provider.
    pub profile: Option<PathBuf>,
    /// The report: ours, or taken from the customer's published verification.
    pub report: Report,
}

/// Everything verification needs from the node, read once.
#[derive(Debug)]
pub struct Verifier {
    seen: Vec<Seen>,
    context: Context,
    now: Timestamp,
}

impl Verifier {
    /// Reads every record `store` holds; `me` verifies, trusting `anchors`.
    pub fn new(store: &Store, me: Did, anchors: &[Did], now: Timestamp) -> Result<Self> {
        Ok(Self {
            seen: store.seen(&store.as_owner()?)?,
            context: Context {
                verifier: me,
                anchors: anchors.iter().copied().collect::<BTreeSet<_>>(),
            },
            now,
        })
    }

    /// The records held.
    pub fn seen(&self) -> &[Seen] {
        &self.seen
    }

    /// Verifies one provider against one profile.
    pub fn verify(&self, profile: &Profile, provider: Did) -> Report {
        let view = View::new(&self.seen, self.now);
        assure_verify::verify(&view, profile, provider, &self.context)
    }

    /// Every provider up to `tiers` out, each against the profile its
    /// relationship maps to. Beyond tier 1 a verification published by the
    /// provider's customer is used when there is one: that customer holds the
    /// relationship and sees the provider's records, where we see at most its
    /// public ones. Without one, we verify with what we see.
    pub fn verify_all(&self, config: &VerifyConfig, tiers: u32) -> Result<Vec<Verdict>> {
        let view = View::new(&self.seen, self.now);
        let mut profiles: HashMap<PathBuf, LoadedProfile> = HashMap::new();
        let mut verdicts = Vec::new();
        for link in chain::providers(&view, self.context.verifier, tiers) {
            let path = config.profile_for(&link.supplies).map(Path::to_path_buf);
            if let Some(path) = &path
                && !profiles.contains_key(path)
            {
                profiles.insert(path.clone(), load_profile(path)?);
            }
            let profile = path.as_ref().map(|p| &profiles[p].profile);
            let report = chain::judge(&view, &link, profile, &self.context)
                .unwrap_or_else(|| no_profile(&link, self.context.verifier, self.now));
            verdicts.push(Verdict {
                link,
                profile: path,
                report,
            });
        }
        Ok(verdicts)
    }

    /// Packs `report` with every evidence envelope, its inclusion proof and
    /// checkpoint, signed by `keypair`, into a bundle.
    pub fn bundle(
        &self,
        store: &Store,
        keypair: &Keypair,
        profile: &LoadedProfile,
        report: &Report,
    ) -> Result<Bundle> {
        let (attestation, _) = attest(keypair, report, self.now)?;
        let ours = store.as_owner()?;
        let mut entries = Vec::new();
        let mut done = BTreeSet::new();
        for evidence in report.requirements.iter().flat_map(|r| &r.evidence) {
            if !done.insert(evidence.record) {
                continue;
            }
            let location = store
                .locations(&ours, &evidence.record)
                .into_iter()
                .find(|l| {
                    evidence
                        .position
                        .as_ref()
                        .is_none_or(|p| p.log == l.log.origin_line() && p.index == l.index)
                })
                .with_context(|| format!("record {} is no longer held", evidence.record))?;
            let state = store
                .log_state(&ours, location.log)
                .context("the log of an evidence record is gone")?;
            let stored = store
                .entry_at(&ours, location)?
                .context("the evidence record is gone")?;
            entries.push(
                BundleEntry::new(
                    &stored.bytes,
                    location.index,
                    &state.tree,
                    &state.checkpoint,
                )
                .map_err(|e| anyhow::anyhow!("record {}: {e}", evidence.record))?,
            );
        }
        let attestation =
            String::from_utf8(attestation).context("an envelope is always UTF-8 JSON")?;
        Ok(Bundle::new(
            profile.text.clone(),
            report.clone(),
            attestation,
            entries,
        ))
    }
}

/// An inconclusive report for a provider no profile maps to.
fn no_profile(link: &Link, verifier: Did, now: Timestamp) -> Report {
    Report {
        provider: link.provider,
        verifier,
        profile: String::new(),
        profile_digest: String::new(),
        at: now,
        result: Outcome::Inconclusive,
        requirements: vec![assure_verify::RequirementReport {
            id: "profile".into(),
            kind: "profile".into(),
            clauses: Vec::new(),
            outcome: Outcome::Inconclusive,
            reason: format!(
                "no profile maps to what it supplies ({}); set verify.default_profile or add a \
                 [[verify.profile]] in the node config",
                link.supplies.join(", ")
            ),
            evidence: Vec::new(),
        }],
        transitive: None,
    }
}

/// Signs `report` as a `verification` record about its provider.
pub fn attest(keypair: &Keypair, report: &Report, now: Timestamp) -> Result<(Vec<u8>, Record)> {
    if report.verifier != keypair.did() {
        bail!("only the verifier can sign its report");
    }
    let predicate = Predicate {
        common: Common {
            issuer: keypair.did(),
            issued_at: now,
            valid_until: None,
            supersedes: Vec::new(),
            clauses: vec!["ISO28000:8.4.g".into(), "ISO28000:4.3".into()],
            domain: Some(Domain::Governance),
        },
        body: Body::Verification(report.to_predicate()),
    };
    Ok(assure_model::issue(
        keypair,
        &SubjectRef::org(report.provider),
        &predicate,
    )?)
}

/// Signs `report` and appends it where `placement` says: a verification
/// names the provider, so a compartment others can read needs
/// `share_wider` (see [`crate::publish::prepare`]).
pub fn publish_report(
    store: &Store,
    keypair: &Keypair,
    placement: &crate::publish::Placement,
    report: &Report,
    now: Timestamp,
) -> Result<assure_store::Appended> {
    let signed = attest(keypair, report, now)?;
    let outcome = crate::publish::publish(store, keypair, placement, vec![signed], now)?
        .pop()
        .context("the store appended nothing")?;
    Ok(assure_store::Appended {
        id: outcome.id,
        location: outcome.location,
    })
}
