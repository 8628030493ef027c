//! Clearances and roles: the words grants and rules are made of.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::ParseError;

/// An enumeration written as lowercase words, in serde and in text alike.
macro_rules! word_enum {
    (
        $(#[$meta:meta])*
        $name:ident ($what:literal) {
            $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant,)+
        }

        impl $name {
            /// Every value, in order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The value as written in configuration, JSON and the CLI.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = ParseError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(ParseError::Unknown {
                        what: $what,
                        value: s.to_owned(),
                        expected: [$($text),+].join(", "),
                    }),
                }
            }
        }
    };
}

word_enum! {
    /// How far an organization trusts a counterparty with its information
    /// (ISO 22340 8.2), ordered `public < partner < confidential < secret`.
    ///
    /// A rule's `min_clearance` may be any of them; a grant's clearance is
    /// `partner` or higher, since public data needs no grant.
    Clearance ("clearance") {
        /// Anyone, with or without a grant.
        Public = "public",
        /// A counterparty with an active grant.
        Partner = "partner",
        /// A counterparty trusted with confidential information.
        Confidential = "confidential",
        /// A counterparty trusted with the most sensitive information.
        Secret = "secret",
    }
}

word_enum! {
    /// What a counterparty is to the organization that grants it access.
    Role ("role") {
        /// Buys the organization's goods or services.
        Customer = "customer",
        /// Provides goods or services to the organization.
        Supplier = "supplier",
        /// Moves or stores the organization's goods.
        Logistics = "logistics",
        /// Audits the organization (ISO 28000 9.2).
        Auditor = "auditor",
        /// Supervises the organization by law.
        Regulator = "regulator",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clearances_are_ordered() {
        use Clearance::*;
        assert!(Public < Partner && Partner < Confidential && Confidential < Secret);
        let mut sorted = Clearance::ALL.to_vec();
        sorted.sort();
        assert_eq!(sorted, Clearance::ALL);
    }

    #[test]
    fn words_round_trip_through_text_and_serde() {
        for &c in Clearance::ALL {
            assert_eq!(c.to_string().parse::<Clearance>(), Ok(c));
            let json = serde_json::to_string(&c).unwrap();
            assert_eq!(json, format!("\"{c}\""));
            assert_eq!(serde_json::from_str::<Clearance>(&json).unwrap(), c);
        }
        for &r in Role::ALL {
            assert_eq!(r.to_string().parse::<Role>(), Ok(r));
            let json = serde_json::to_string(&r).unwrap();
            assert_eq!(json, format!("\"{r}\""));
            assert_eq!(serde_json::from_str::<Role>(&json).unwrap(), r);
        }
    }

    #[test]
    fn unknown_words_list_the_valid_ones() {
        let err = "top-secret".parse::<Clearance>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown clearance `top-secret` (expected one of: public, partner, confidential, secret)"
        );
        let err = "Regulator".parse::<Role>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown role `Regulator` (expected one of: customer, supplier, logistics, auditor, regulator)"
        );
        assert!(serde_json::from_str::<Role>("\"admin\"").is_err());
    }
}
