//! The control catalog shipped with Assure: stable control ids with their
//! domain and a short title, so that organizations naming the same control
//! use the same id.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::predicate::Domain;
use crate::record::is_clause_ref;

const BUILTIN: &str = include_str!("../data/catalog.toml");

/// Why a catalog file was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CatalogError {
    /// Not TOML of the expected shape.
    #[error("control catalog: {0}")]
    Parse(#[from] toml::de::Error),
    /// An id is not `<standard>:<clause>`.
    #[error("control catalog: `{0}` is not a clause reference such as ISO28000:8.4.f")]
    BadId(String),
    /// The same id twice.
    #[error("control catalog: `{0}` appears twice")]
    Duplicate(String),
    /// A control without a title.
    #[error("control catalog: `{0}` has an empty title")]
    EmptyTitle(String),
}

/// One control of the catalog.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogControl {
    /// Stable id, e.g. `ISO22340:7.2.4`.
    pub id: String,
    /// The ISO 22340 domain.
    pub domain: Domain,
    /// A short title in our own words.
    pub title: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    control: Vec<CatalogControl>,
}

/// The catalog, indexed by id.
#[derive(Clone, Debug)]
pub struct Catalog {
    controls: BTreeMap<String, CatalogControl>,
}

impl Catalog {
    /// The catalog shipped with this build, parsed once per process.
    ///
    /// The shipped text is checked by this crate's tests; a build whose
    /// own catalog does not parse is broken, and says so here.
    pub fn builtin() -> &'static Self {
        static BUILT: std::sync::OnceLock<Catalog> = std::sync::OnceLock::new();
        BUILT.get_or_init(|| Self::parse(BUILTIN).expect("the shipped catalog parses"))
    }

    /// Reads and validates a catalog in TOML.
    pub fn parse(text: &str) -> Result<Self, CatalogError> {
        let file: File = toml::from_str(text)?;
        let mut controls = BTreeMap::new();
        for control in file.control {
            if !is_clause_ref(&control.id) {
                return Err(CatalogError::BadId(control.id));
            }
            if control.title.trim().is_empty() {
                return Err(CatalogError::EmptyTitle(control.id));
            }
            if controls.contains_key(&control.id) {
                return Err(CatalogError::Duplicate(control.id));
            }
            controls.insert(control.id.clone(), control);
        }
        Ok(Self { controls })
    }

    /// The control with this id.
    pub fn get(&self, id: &str) -> Option<&CatalogControl> {
        self.controls.get(id)
    }

    /// Every control, by id.
    pub fn iter(&self) -> impl Iterator<Item = &CatalogControl> {
        self.controls.values()
    }

    /// The controls of one domain.
    pub fn in_domain(&self, domain: Domain) -> impl Iterator<Item = &CatalogControl> {
        self.iter().filter(move |c| c.domain == domain)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_catalog_loads_and_covers_every_domain() {
        let catalog = Catalog::builtin().clone();
        for domain in Domain::ALL {
            assert!(
                catalog.in_domain(*domain).count() >= 2,
                "{domain} has few controls"
            );
        }
        assert_eq!(
            catalog.get("ISO28000:8.4.f").unwrap().domain,
            Domain::Governance
        );
        assert_eq!(
            catalog.get("ISO22340:7.2.4").unwrap().domain,
            Domain::Personnel
        );
    }

    #[test]
    fn refuses_bad_catalogs() {
        let one = |id: &str, title: &str| {
            format!("[[control]]\nid = \"{id}\"\ndomain = \"cyber\"\ntitle = \"{title}\"\n")
        };
        assert!(matches!(
            Catalog::parse(&one("nope", "t")),
            Err(CatalogError::BadId(_))
        ));
        assert!(matches!(
            Catalog::parse(&one("ISO1:1", " ")),
            Err(CatalogError::EmptyTitle(_))
        ));
        let twice = one("ISO1:1", "a") + &one("ISO1:1", "b");
        assert!(matches!(
            Catalog::parse(&twice),
            Err(CatalogError::Duplicate(_))
        ));
        assert!(matches!(
            Catalog::parse("[[control]]\nid = \"ISO1:1\"\ndomain = \"moon\"\ntitle = \"t\""),
            Err(CatalogError::Parse(_))
        ));
    }
}
