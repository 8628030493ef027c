//! Who is asking, as the read gate knows them.
//!
//! The API decides nothing about visibility: it names the caller, and the
//! store's gate (`assure_access::gate`) gives the [`Visible`] set that every
//! read of a request goes through.

use assure_access::{Reader, Visible};
use assure_model::Did;
use jiff::Timestamp;

use crate::problem::Problem;
use crate::server::{AppState, Ctx};

/// The party behind a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Caller {
    /// No credentials: public compartments only.
    Anonymous,
    /// A request signed with an organization key.
    Party(Did),
    /// The node's own administration (bearer token, or a dashboard session).
    Admin,
}

impl Caller {
    pub(crate) fn is_admin(&self) -> bool {
        matches!(self, Caller::Admin)
    }

    /// The reader the gate decides for.
    pub(crate) fn reader(&self) -> Reader {
        match self {
            Caller::Anonymous => Reader::Anonymous,
            Caller::Party(party) => Reader::Party(*party),
            Caller::Admin => Reader::Owner,
        }
    }
}

impl AppState {
    /// The logs the caller of `ctx` may read now, with its purpose for the
    /// disclosures made under them.
    pub(crate) fn visible(&self, ctx: &Ctx) -> Result<Visible, Problem> {
        Ok(self
            .config
            .store
            .gate(ctx.caller.reader(), Timestamp::now(), "api")?
            .with_purpose(ctx.purpose.clone()))
    }
}
