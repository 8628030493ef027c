//! Drafts to start from (`assure new KIND`): a commented TOML file with
//! every field of a record kind, our DID where it belongs, and controls from
//! the catalog.
//!
//! A draft of a kind an organization issues about itself (profile, scope,
//! control, incident) publishes as written; its values are examples to
//! replace. A value only the operator can know, such as another
//! organization's DID or a record id, is written `REQUIRED: …`; where a DID
//! or a record id goes, `assure publish` refuses it until it is filled in.

use std::fmt::Write as _;

use assure_model::catalog::CatalogControl;
use assure_model::predicate::{
    AccreditedRole, AuditResult, AuditType, ControlStatus, IncidentStatus, Outcome, Severity,
};
use assure_model::{Catalog, Did, Kind};
use jiff::Timestamp;

/// What stands for our DID when the data directory has no identity yet.
pub const NO_IDENTITY: &str = "REQUIRED: your did:key (run `assure init` first)";

/// Why a draft could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `--control` names no control of the catalog.
    #[error("control `{0}` is not in the control catalog (see `assure catalog`)")]
    UnknownControl(String),
    /// `--control` was given for a kind that has no control.
    #[error("--control is for `assure new control`, not {0}")]
    NotAControl(Kind),
}

/// The TOML draft of `kind` for the organization `us` (`None`: no identity
/// yet), with `control`, a catalog id, filled in for a control.
pub fn draft(
    kind: Kind,
    us: Option<Did>,
    catalog: &Catalog,
    control: Option<&str>,
    now: Timestamp,
) -> Result<String, Error> {
    let control = match control {
        Some(_) if kind != Kind::Control => return Err(Error::NotAControl(kind)),
        Some(id) => Some(
            catalog
                .get(id)
                .ok_or_else(|| Error::UnknownControl(id.to_owned()))?,
        ),
        None => None,
    };
    let us = us.map_or_else(|| NO_IDENTITY.to_owned(), |did| did.to_string());
    let now_text = now.round(jiff::Unit::Second).unwrap_or(now).to_string();
    let today = now.to_zoned(jiff::tz::TimeZone::UTC).date().to_string();
    let signer = if us.starts_with("did:key:") {
        us.clone()
    } else {
        "this organization".to_owned()
    };
    let publish = match kind {
        Kind::Profile => "assure publish FILE --compartment public",
        Kind::Scope | Kind::Control | Kind::Incident => {
            "assure publish FILE --compartment partners"
        }
        Kind::Accreditation => "assure publish FILE --compartment public --share-wider",
        Kind::Withdrawal => "assure publish FILE --compartment <the withdrawn record's>",
        _ => "assure publish FILE",
    };
    let mut text = format!(
        "# A `{kind}` draft. `{publish}` signs it as\n\
         # {signer} and fills in `issuer` and `issuedAt`.\n\
         # Values written `REQUIRED: …` must be filled in; the others are\n\
         # examples to replace. Fields marked optional may be deleted.\n\n\
         kind = \"{kind}\"\n"
    );
    text += COMMON;
    let body = match kind {
        Kind::Profile => profile(),
        Kind::Scope => scope(),
        Kind::Control => self::control(&us, catalog, control, &now_text),
        Kind::Audit => audit(&today),
        Kind::Incident => incident(&now_text),
        Kind::Relationship => relationship(&us, &today),
        Kind::Accreditation => accreditation(),
        Kind::Verification => verification(),
        Kind::Withdrawal => withdrawal(),
    };
    text += "\n";
    text += &body;
    Ok(text)
}

/// `a | b | c` for a comment.
fn choices<T: std::fmt::Display>(all: &[T]) -> String {
    all.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" | ")
}

const COMMON: &str = "# Optional, for every kind:
# validUntil = 2027-12-31T23:59:59Z     # after this the record counts as absent
# supersedes = [\"<record id>\"]           # earlier records this one replaces
# clauses = [\"ISO28000:8.4\"]             # clauses the record serves
# domain = \"physical\"                    # governance | personnel | information | cyber | physical
";

fn profile() -> String {
    "# Who the organization is; `publish --compartment public` so that partners
# see its legal name.
legalName = \"Example Components Ltd\"   # registered legal name
roles = [\"supplier\"]                    # optional: manufacturer, supplier, logistics, …
securityContact = \"mailto:security@example.com\"   # optional

# Optional: identifiers by scheme (lei, eori, aeo, ctpat, …).
[identifiers]
lei = \"5299000J2N45DDNE4Y28\"
"
    .to_owned()
}

fn scope() -> String {
    "# What the security management system covers (ISO 28000 4.3).
processes = [\"CNC machining\", \"final assembly\"]
services = [\"machined housings for gearboxes\"]
exclusions = [\"air freight: booked through forwarders case by case\"]   # optional

# Sites covered; a record about one site names it as subject `#site=<id>`.
[[sites]]
id = \"main\"
name = \"Main plant, 1 Industrial Way, Springfield\"
country = \"DE\"                          # optional, ISO 3166

# Optional: processes others perform for us, and what we require of them.
# [[externalProcesses]]
# process = \"road haulage\"
# provider = \"REQUIRED: the provider's did:key\"
# requiredControls = [\"ISO22340:10.2.1\"]
"
    .to_owned()
}

fn control(us: &str, catalog: &Catalog, control: Option<&CatalogControl>, now: &str) -> String {
    let mut text = String::from(
        "# How the organization meets one control of the catalog (`assure catalog`).\n\
         # Optional: about one site only, `subject = \"#site=<id>\"`, a site of the\n",
    );
    let _ = writeln!(text, "# scope record; by default the subject is {us}.");
    let (id, title) = match control {
        Some(control) => (control.id.clone(), control.title.clone()),
        None => {
            text += "# The catalog's controls (fill in one, or run `assure new control --control ID`):\n";
            for c in catalog.iter() {
                let _ = writeln!(
                    text,
                    "#   {:<18} {:<12} {}",
                    c.id,
                    c.domain.as_str(),
                    c.title
                );
            }
            let first = catalog.iter().next();
            (
                first.map(|c| c.id.clone()).unwrap_or_default(),
                first.map(|c| c.title.clone()).unwrap_or_default(),
            )
        }
    };
    let _ = write!(
        text,
        "controlId = \"{id}\"   # {title}\n\
         status = \"implemented\"   # {}\n\
         statement = \"\"\"\n\
         How we meet this control, in our own words: specific enough that an\n\
         auditor knows what to look at.\n\
         \"\"\"\n\
         lastTested = {now}   # optional: when it was last tested\n\n\
         # Optional, repeatable: digests of documents that show it works.\n\
         [[evidence]]\n\
         description = \"Procedure, version 1\"\n\
         digest = \"sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\"\n",
        choices(ControlStatus::ALL)
    );
    text
}

fn audit(today: &str) -> String {
    format!(
        "# An audit's outcome, issued by the auditor about the auditee (ISO 28000 9.2).
subject = \"REQUIRED: the auditee's did:key\"
auditType = \"certification\"   # {}
standard = \"ISO 28000:2022\"
result = \"certified\"           # {}
period = {{ from = {today}, to = {today} }}
certificateNumber = \"CERT-0001\"   # optional, for certification audits
# scopeRef = \"<the auditee's scope record id>\"   # optional

# Optional, repeatable.
[[findings]]
clause = \"ISO28000:8.4\"
severity = \"low\"   # {}
description = \"What was found.\"
",
        choices(AuditType::ALL),
        choices(AuditResult::ALL),
        choices(Severity::ALL)
    )
}

fn incident(now: &str) -> String {
    format!(
        "# A security incident; an update supersedes the earlier version.
category = \"cargo-tampering\"   # e.g. cargo-tampering, cyber-intrusion
severity = \"medium\"            # {}
status = \"open\"                # {}
summary = \"\"\"
What happened, for the partners who receive it.
\"\"\"
occurredAt = {now}
detectedAt = {now}
# Optional: partners affected, who receive it with the regulators.
affected = []   # [\"did:key:z6Mk…\"]

# Optional, repeatable.
# [[correctiveActions]]
# description = \"What is done about it.\"
# due = 2027-01-31
# completed = 2027-01-15
",
        choices(Severity::ALL),
        choices(IncidentStatus::ALL)
    )
}

fn relationship(us: &str, today: &str) -> String {
    format!(
        "# One organization supplies another; both publish it. We are one party:
# swap the two lines if we are the customer.
supplier = \"{us}\"
customer = \"REQUIRED: the other party's did:key\"
supplies = [\"machined housings\"]
since = {today}
"
    )
}

fn accreditation() -> String {
    format!(
        "# A trust anchor recognises an auditor or operator.
subject = \"REQUIRED: the accredited organization's did:key\"
role = \"auditor\"   # {}
programmes = [\"ISO 28000:2022\"]
reference = \"ACC-0001\"   # optional
",
        choices(AccreditedRole::ALL)
    )
}

fn verification() -> String {
    format!(
        "# A signed verdict about a provider; `assure verify DID --profile FILE
# --publish C` writes one from a real check, which is the usual way.
subject = \"REQUIRED: the provider's did:key\"
profile = \"component-supplier\"
profileDigest = \"REQUIRED: blake3 of the profile file, hex\"
result = \"inconclusive\"   # {}
transitive = false   # optional: relied on another verifier's verdicts

# Optional, repeatable: one per requirement of the profile.
# [[outcomes]]
# requirement = \"certified-iso28000\"
# outcome = \"pass\"
# reason = \"Why, in plain words.\"
# evidence = [\"<record id>\"]
",
        choices(Outcome::ALL)
    )
}

fn withdrawal() -> String {
    "# Withdraws one of our records; publish it into the withdrawn record's
# compartment, so that everyone who saw the record sees its withdrawal.
withdrawn = \"REQUIRED: the id of the record to withdraw (`assure records`)\"
reason = \"\"\"
Why it is withdrawn.
\"\"\"
"
    .to_owned()
}
