//! Comments ("góp ý"): marking one as handled, or re-opening it; masking the personal data in
//! comments stored before comments were masked at storage.

use diesel::result::Error as DbError;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde::Serialize;

use crate::db::audit::{self, NewAuditEntry};
use crate::db::comments::{self, CommentKey, HandleRefusal, Handling};
use crate::db::responses::MAX_STORED_TEXT_CHARS;
use crate::domain::access::Actor;
use crate::privacy;

/// Marks the comment `key` as handled by `actor` now (the database's clock) with `note`, its
/// row locked, audited as "comment.handle". A comment already handled is left as it is
/// ([`HandleRefusal::AlreadyHandled`]). `Err(NotFound)` for an unknown comment.
pub async fn handle(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    key: CommentKey,
    note: &str,
) -> diesel::QueryResult<Result<Handling, HandleRefusal>> {
    conn.transaction::<_, DbError, _>(async |conn| {
        let before = comments::lock(conn, key).await?;
        if before.handled_at.is_some() {
            return Ok(Err(HandleRefusal::AlreadyHandled(before)));
        }
        let after = comments::mark_handled(conn, key, actor.account_id, note).await?;
        audit::record(
            conn,
            &NewAuditEntry::by(
                actor,
                "comment.handle",
                "comment",
                key.path(),
                audit::snapshot(&before),
                audit::snapshot(&after),
            ),
        )
        .await?;
        Ok(Ok(after))
    })
    .await
}

/// Clears the handling of the comment `key` ("Mở lại"), its row locked, audited as
/// "comment.reopen". Nothing is written when it is not handled. `Err(NotFound)` for an unknown
/// comment.
pub async fn reopen(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    key: CommentKey,
) -> diesel::QueryResult<Handling> {
    conn.transaction::<_, DbError, _>(async |conn| {
        let before = comments::lock(conn, key).await?;
        if before.handled_at.is_none() {
            return Ok(before);
        }
        let after = comments::clear_handling(conn, key).await?;
        audit::record(
            conn,
            &NewAuditEntry::by(
                actor,
                "comment.reopen",
                "comment",
                key.path(),
                audit::snapshot(&before),
                audit::snapshot(&after),
            ),
        )
        .await?;
        Ok(after)
    })
    .await
}

/// What [`mask_stored`] found (and, unless it was a dry run, masked).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct MaskReport {
    /// Comments read.
    pub examined: u64,
    /// Comments holding personal data (masked unless a dry run).
    pub masked: u64,
    pub phones: u64,
    pub id_numbers: u64,
    pub emails: u64,
    pub plates: u64,
}

impl MaskReport {
    fn count(&mut self, found: &[privacy::Found]) {
        use privacy::Kind;
        for f in found {
            match f.kind {
                Kind::Phone => self.phones += 1,
                Kind::IdNumber => self.id_numbers += 1,
                Kind::Email => self.emails += 1,
                Kind::Plate => self.plates += 1,
            }
        }
    }
}

/// Comments read and updated per transaction by [`mask_stored`].
pub const MASK_BATCH: i64 = 500;

/// Masks the personal data in the comments stored before comments were masked at storage
/// (`sipas privacy mask-comments`): in batches of [`MASK_BATCH`] in key order, each batch in
/// one transaction with one audit entry (`comment.mask_personal_data`, by the command line,
/// with the counts and the keys of the comments changed, never their text). A comment changed
/// meanwhile (the update compares the text read) is left for the next run; comments stored
/// meanwhile are masked already. With `dry_run`, counts without changing anything. Running it
/// again finds nothing more.
pub async fn mask_stored(
    conn: &mut AsyncPgConnection,
    dry_run: bool,
) -> diesel::QueryResult<MaskReport> {
    let mut report = MaskReport::default();
    let mut after: Option<CommentKey> = None;
    loop {
        let rows = comments::stored_after(conn, after, MASK_BATCH).await?;
        let Some((last, _)) = rows.last() else {
            return Ok(report);
        };
        after = Some(*last);
        report.examined += rows.len() as u64;
        let mut changes: Vec<(CommentKey, String, String)> = Vec::new();
        for (key, body) in rows {
            let found = privacy::find(&body);
            if found.is_empty() {
                continue;
            }
            report.count(&found);
            let masked = privacy::mask_within(&body, MAX_STORED_TEXT_CHARS);
            changes.push((key, body, masked));
        }
        report.masked += changes.len() as u64;
        if dry_run || changes.is_empty() {
            continue;
        }
        conn.transaction::<_, DbError, _>(async |conn| {
            let mut keys = Vec::with_capacity(changes.len());
            for (key, body, masked) in &changes {
                if comments::replace_text(conn, *key, body, masked).await? {
                    keys.push(key.path());
                }
            }
            audit::record(
                conn,
                &NewAuditEntry {
                    account_id: None,
                    action: "comment.mask_personal_data",
                    entity: "comment",
                    entity_id: None,
                    before: None,
                    after: Some(serde_json::json!({ "masked": keys.len(), "comments": keys })),
                },
            )
            .await?;
            Ok(())
        })
        .await?;
    }
}
