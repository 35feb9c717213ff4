//! The signed-in staff member, as the layers below the web see them: the account, who acts
//! (role and scope), and the CSRF token of the page being built. The web's `auth::Staff`
//! extractor wraps it; views take it to draw the header and the forms.

use crate::db::accounts::Account;
use crate::db::audit::NewAuditEntry;
use crate::domain::access::Actor;

#[derive(Debug, Clone)]
pub struct SignedIn {
    pub account: Account,
    /// Who acts, as the layers below see it (`staff.role`, `staff.scope` read through it).
    pub actor: Actor,
    /// The CSRF token to put in this page's forms.
    pub csrf: String,
}

impl std::ops::Deref for SignedIn {
    type Target = Actor;

    fn deref(&self) -> &Actor {
        &self.actor
    }
}

impl SignedIn {
    /// An audit entry by this account.
    pub fn audit<'a>(
        &self,
        action: &'a str,
        entity: &'a str,
        entity_id: impl ToString,
        before: Option<serde_json::Value>,
        after: Option<serde_json::Value>,
    ) -> NewAuditEntry<'a> {
        NewAuditEntry::by(&self.actor, action, entity, entity_id, before, after)
    }
}
