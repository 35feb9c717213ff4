//! The domain step of storing a response: a validated submission becomes a stored response,
//! whether a citizen gave it through a desk's QR code or staff typed in a paper ballot.

use chrono::{DateTime, NaiveDate, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use uuid::Uuid;

use crate::Error;
use crate::db::audit;
use crate::db::desks::DeskContext;
use crate::db::responses::{self, Channel, EnteredBallot, NewResponse, Stored, Via};
use crate::db::visits::{self, LimitCheck};
use crate::domain::access::Actor;
use crate::domain::time::vietnam_offset;
use crate::forms::submission::ValidAnswers;
use crate::forms::{FormVersion, ResidenceAnswer};

/// The open answers as `(form_items.id, text)` rows of this version.
pub fn text_rows<'a>(
    version: &FormVersion,
    answers: &'a ValidAnswers,
) -> Result<Vec<(i32, &'a str)>, Error> {
    answers
        .texts
        .iter()
        .map(|(code, text)| match version.item_ids.get(code) {
            Some(item_id) => Ok((*item_id, text.as_str())),
            None => Err(Error::internal(anyhow::anyhow!(
                "form version {} has no stored item {code}",
                version.id
            ))),
        })
        .collect()
}

/// How an online response came in, beside its answers.
#[derive(Debug, Clone, Copy)]
pub struct Visit<'a> {
    pub via: Via,
    /// The desk's public code (`/s/` and `/k/`); `None` for a one-time code.
    pub desk_code: Option<&'a str>,
    /// HMAC of the client address and its cookie id.
    pub client_key: &'a [u8],
    /// When the form was rendered (`None`: unknown, only when no minimum time is required).
    pub started_at: Option<DateTime<Utc>>,
    /// The one-time code (`via` = code).
    pub visit_code_id: Option<i64>,
    /// `Config::keep_original_comments`.
    pub keep_original_texts: bool,
}

/// The submission limits of a response that comes through `via`: the open desk QR code counts
/// against the person (address and cookie) and the address; an enrolled kiosk against its own
/// bucket (`kiosk`: its key); a one-time code against nothing, as the code is the limit. A
/// limit set to `off` is left out.
pub fn limits_for<'a>(
    via: Via,
    settings: &crate::config::VisitSettings,
    person: &'a [u8],
    address: &'a [u8],
    kiosk: Option<&'a [u8]>,
) -> Vec<LimitCheck<'a>> {
    use crate::db::visits::LimitKind;
    let check = |kind, key, rate| LimitCheck { kind, key, rate };
    match via {
        Via::Desk => [
            settings
                .person
                .map(|rate| check(LimitKind::Person, person, rate)),
            settings
                .address
                .map(|rate| check(LimitKind::Address, address, rate)),
        ]
        .into_iter()
        .flatten()
        .collect(),
        Via::Kiosk => settings
            .kiosk
            .zip(kiosk)
            .map(|(rate, key)| check(LimitKind::Kiosk, key, rate))
            .into_iter()
            .collect(),
        Via::Code => Vec::new(),
    }
}

/// The row a citizen's online response is stored as.
pub fn online_response<'a>(
    desk: &DeskContext,
    version: &FormVersion,
    submission_key: Uuid,
    answers: &'a ValidAnswers,
    visit: &Visit<'a>,
) -> NewResponse<'a> {
    let (residence_unit_id, residence_code) = ResidenceAnswer::columns(answers.residence);
    NewResponse {
        submission_key,
        unit_id: desk.unit_id,
        desk_id: Some(desk.desk_id),
        desk_code: visit.desk_code,
        form_version_id: version.id,
        channel: match visit.via {
            Via::Kiosk => Channel::Kiosk.as_str(),
            Via::Desk | Via::Code => Channel::Qr.as_str(),
        },
        answers: &answers.choices,
        submitted_at: None,
        entered_by: None,
        entered_at: None,
        paper_serial: None,
        client_key: Some(visit.client_key),
        started_at: visit.started_at,
        visit_code_id: visit.visit_code_id,
        keep_original_texts: visit.keep_original_texts,
        via: Some(visit.via.as_str()),
        residence_unit_id,
        residence_code,
    }
}

/// Why an online response was not stored (nothing was).
#[derive(Debug)]
pub enum Refusal {
    /// Its one-time code was already used by another response.
    CodeUsed,
    /// Over a submission limit; allowed again in about this many seconds.
    OverLimit {
        retry_after: u64,
    },
    Failed(Error),
}

impl From<diesel::result::Error> for Refusal {
    fn from(e: diesel::result::Error) -> Self {
        if responses::is_visit_code_used(&e) {
            Refusal::CodeUsed
        } else {
            Refusal::Failed(e.into())
        }
    }
}

/// Stores a citizen's online response, exactly once per submission key, within `limits`: the
/// response, its one-time code being marked used and each limit's bucket are one transaction,
/// so a refusal leaves nothing behind. A repeated submission key (a double tap) returns the
/// stored response without counting against any limit.
///
/// The response's INSERT and the limits' upsert are independent, so they go out together, in
/// one round trip (pipelined: PostgreSQL runs them in order, in the transaction); a repeated
/// key rolls the transaction back, and with it the limits it took. `texts`: the open answers,
/// as [`text_rows`] gives them.
pub async fn store_online(
    conn: &mut AsyncPgConnection,
    new: &NewResponse<'_>,
    texts: &[(i32, &str)],
    limits: &[LimitCheck<'_>],
) -> Result<Stored, Refusal> {
    /// Why the transaction is rolled back.
    enum Undo {
        Refused(Refusal),
        Repeated,
        /// The database's error, told apart (outage or refusal) once the transaction is over.
        Failed(diesel::result::Error),
    }
    impl From<diesel::result::Error> for Undo {
        fn from(e: diesel::result::Error) -> Self {
            if responses::is_visit_code_used(&e) {
                Undo::Refused(Refusal::CodeUsed)
            } else {
                Undo::Failed(e)
            }
        }
    }
    let outcome = conn
        .transaction::<_, Undo, _>(async |conn| {
            let shared: &AsyncPgConnection = conn;
            let (inserted, waited) = futures_util::future::join(
                responses::insert_row(shared, new),
                visits::take_all(shared, limits),
            )
            .await;
            // The INSERT's error first: a failed INSERT fails the statement after it too.
            let Some((id, submitted_at)) = inserted? else {
                return Err(Undo::Repeated);
            };
            if let Some(retry_after) = waited? {
                return Err(Undo::Refused(Refusal::OverLimit { retry_after }));
            }
            Ok(responses::finish_new(conn, new, id, submitted_at, texts).await?)
        })
        .await;
    let outcome = match outcome {
        Ok(stored) => Ok(stored),
        Err(Undo::Refused(refusal)) => Err(refusal),
        Err(Undo::Repeated) => match responses::stored_with_key(conn, new.submission_key).await {
            Ok(stored) => Ok(stored),
            Err(e) => Err(failure(conn, e).await),
        },
        Err(Undo::Failed(e)) => Err(failure(conn, e).await),
    };
    if !limits.is_empty() && rand::random_ratio(1, 1000) {
        // Keep the limits table small (outside the citizen's transaction).
        if let Err(e) = visits::prune_limits(conn).await {
            tracing::warn!(error = %e, "pruning visit_limits failed");
        }
    }
    outcome
}

/// The refusal for the database's `error` on `conn`: an outage ([`Error::Unavailable`]: the
/// response goes to the spool) when the session did not survive it, whatever language the
/// server's message is in ([`crate::db::failed_for_outage`]).
async fn failure(conn: &mut AsyncPgConnection, error: diesel::result::Error) -> Refusal {
    if responses::is_visit_code_used(&error) {
        Refusal::CodeUsed
    } else {
        Refusal::Failed(Error::from_db(conn, error).await)
    }
}

/// A paper ballot, checked and ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaperBallot {
    /// The serial number printed or written on the ballot (trimmed, 1 to 64 characters).
    pub serial: String,
    /// The date the citizen wrote on the ballot.
    pub date: NaiveDate,
    pub answers: ValidAnswers,
}

/// Why a paper ballot was not stored.
#[derive(Debug)]
pub enum PaperRefusal {
    /// The unit already has a ballot with this serial number.
    DuplicateSerial(EnteredBallot),
    Failed(Error),
}

impl From<Error> for PaperRefusal {
    fn from(e: Error) -> Self {
        PaperRefusal::Failed(e)
    }
}

impl From<diesel::result::Error> for PaperRefusal {
    fn from(e: diesel::result::Error) -> Self {
        PaperRefusal::Failed(e.into())
    }
}

/// The moment a paper ballot counts as submitted: 00:00 in Vietnam (Asia/Ho_Chi_Minh, UTC+7
/// all year) of the date written on it. A ballot carries a date but no time; its start of day
/// in Vietnam puts it on that day in every per-day and per-period figure (which all count
/// Vietnam's days), whatever the time it was typed in, and shows as `T00:00:00+07:00` in
/// exports, recognisably a date only. When it was typed in is kept apart in `entered_at`.
pub fn paper_submitted_at(date: NaiveDate) -> DateTime<Utc> {
    date.and_hms_opt(0, 0, 0)
        .expect("midnight exists")
        .and_local_timezone(vietnam_offset())
        .single()
        .expect("a fixed offset has no gaps")
        .with_timezone(&Utc)
}

/// Stores a paper ballot typed in by `actor` for `desk`, with its audit entry, in one
/// transaction. A serial number the desk's unit already has is refused, also when another
/// clerk saves the same serial at the same moment (the unique index decides).
pub async fn store_paper_ballot(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    desk: &DeskContext,
    version: &FormVersion,
    ballot: &PaperBallot,
    keep_original_texts: bool,
) -> Result<Stored, PaperRefusal> {
    if let Some(existing) = responses::find_paper_serial(conn, desk.unit_id, &ballot.serial).await?
    {
        return Err(PaperRefusal::DuplicateSerial(existing));
    }
    let texts = text_rows(version, &ballot.answers)?;
    let (residence_unit_id, residence_code) = ResidenceAnswer::columns(ballot.answers.residence);
    let new = NewResponse {
        // Each ballot typed in is a new response: its serial number, not this key, is what
        // stops it from being stored twice.
        submission_key: Uuid::new_v4(),
        unit_id: desk.unit_id,
        desk_id: Some(desk.desk_id),
        desk_code: None,
        form_version_id: version.id,
        channel: Channel::Paper.as_str(),
        answers: &ballot.answers.choices,
        submitted_at: Some(paper_submitted_at(ballot.date)),
        entered_by: Some(actor.account_id),
        entered_at: Some(Utc::now()),
        paper_serial: Some(&ballot.serial),
        client_key: None,
        started_at: None,
        visit_code_id: None,
        keep_original_texts,
        via: None,
        residence_unit_id,
        residence_code,
    };
    let result = conn
        .transaction::<_, diesel::result::Error, _>(async |conn| {
            let stored = responses::store(conn, &new, &texts).await?;
            audit::record(
                conn,
                &audit::NewAuditEntry::by(
                    actor,
                    "response.enter_paper",
                    "response",
                    stored.id,
                    None,
                    Some(serde_json::json!({
                        "serial": ballot.serial,
                        "date": ballot.date.to_string(),
                        "desk": desk.desk_id,
                        "unit": desk.unit_id,
                        "form": version.form.id,
                        "form_version": version.number,
                        "form_version_id": version.id,
                    })),
                ),
            )
            .await?;
            Ok(stored)
        })
        .await;
    match result {
        Ok(stored) => Ok(stored),
        Err(e) if responses::is_paper_serial_conflict(&e) => {
            match responses::find_paper_serial(conn, desk.unit_id, &ballot.serial).await? {
                Some(existing) => Err(PaperRefusal::DuplicateSerial(existing)),
                None => Err(e.into()),
            }
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ballot_counts_from_midnight_in_vietnam() {
        let date = NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
        assert_eq!(
            paper_submitted_at(date).to_rfc3339(),
            "2026-11-19T17:00:00+00:00"
        );
    }

    #[test]
    fn each_door_counts_against_its_own_limits() {
        use crate::config::VisitSettings;
        use crate::db::visits::LimitKind;
        let settings = |vars: &[(&str, &str)]| {
            let vars: Vec<(String, String)> = vars
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            VisitSettings::from_lookup(&|k: &str| {
                vars.iter()
                    .find(|(name, _)| name == k)
                    .map(|(_, v)| v.clone())
            })
            .unwrap()
        };
        let kinds = |checks: Vec<LimitCheck<'_>>| -> Vec<(LimitKind, Vec<u8>)> {
            checks
                .into_iter()
                .map(|c| (c.kind, c.key.to_vec()))
                .collect()
        };
        let defaults = settings(&[]);
        let (person, address, kiosk) = (&[1u8][..], &[2u8][..], &[0u8, 0, 0, 7][..]);
        assert_eq!(
            kinds(limits_for(Via::Desk, &defaults, person, address, None)),
            [(LimitKind::Person, vec![1]), (LimitKind::Address, vec![2])]
        );
        assert_eq!(
            kinds(limits_for(
                Via::Kiosk,
                &defaults,
                person,
                address,
                Some(kiosk)
            )),
            [(LimitKind::Kiosk, vec![0, 0, 0, 7])]
        );
        assert!(limits_for(Via::Code, &defaults, person, address, Some(kiosk)).is_empty());
        let open = settings(&[("SIPAS_LIMIT_PERSON", "off"), ("SIPAS_LIMIT_KIOSK", "off")]);
        assert_eq!(
            kinds(limits_for(Via::Desk, &open, person, address, None)),
            [(LimitKind::Address, vec![2])]
        );
        assert!(limits_for(Via::Kiosk, &open, person, address, Some(kiosk)).is_empty());
    }
}
