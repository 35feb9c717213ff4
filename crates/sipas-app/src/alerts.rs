//! E-mail alerts for a unit's staff (issue 17): subscribing and unsubscribing (each one
//! transaction with its audit entry), and the sender the server runs every minute
//! ([`AlertTask`], which calls [`send_due`]; tests call it directly).
//!
//! A run of [`send_due`]:
//! 1. **Writes the events** ([`collect`]): the responses between the alert watermark and the
//!    statistics' watermark (every response up to it is committed: see `crate::db::rollup`),
//!    at most [`BATCH`] ids at a time, are matched against every subscription (the
//!    subscribed unit and the units below it, by `crate::domain::tree::subtree`; what counts
//!    as very dissatisfied is `crate::domain::alerts::rating`), and one row per match goes
//!    into the outbox (`alert_events`) in the transaction that moves the watermark, under an
//!    advisory lock (several instances: one writes, the others skip).
//! 2. **Sends what is due**: each subscription with pending events (all of an immediate one;
//!    a daily one's written before the last 07:00 in Vietnam) is locked (`SKIP LOCKED`: an
//!    instance sending it is left alone), checked against the account's scope *now* (a
//!    disabled account, or one that no longer sees the unit or a response's unit, gets
//!    nothing: those events are dropped), and its events go into one e-mail; they are marked
//!    sent in the same transaction once the SMTP server accepted it. When the server cannot
//!    be reached, nothing is marked and the run stops: the next run tries again. An e-mail
//!    accepted just before the database failed would be sent again (at least once, never
//!    lost).

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use lettre::message::{Mailbox, header::ContentType};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::background::Background;
use crate::config::MailSettings;
use crate::db::accounts::Account;
use crate::db::alerts::{self as store, NewEvent, NewSubscription, Subscription};
use crate::db::audit::{self, NewAuditEntry};
use crate::db::units::Unit;
use crate::domain::access::Actor;
use crate::domain::alerts::{self as rules, AlertComment, AlertItem, MailContext, Mode};
use crate::forms::FormRegistry;

/// How many response ids one run examines at most.
pub const BATCH: i64 = 10_000;
/// How long the SMTP exchange of one e-mail may take.
pub const SMTP_TIMEOUT: Duration = Duration::from_secs(20);
/// Events sent or dropped are forgotten after this many days.
pub const KEEP_EVENTS_DAYS: i32 = 90;

/// A subscription asked for by an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionRequest {
    pub unit_id: i32,
    /// Checked by `crate::domain::alerts::parse_email`.
    pub email: String,
    pub on_very_dissatisfied: bool,
    pub on_comment: bool,
    pub mode: Mode,
}

/// Why a subscription was not stored (nothing was).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubscribeRefusal {
    /// The unit does not exist or is outside the account's scope.
    OutOfScope,
    /// The account already has this unit sent to this address.
    Duplicate,
}

/// Stores `request` for `actor`'s own account, audited as "alert.subscribe". A unit outside
/// the actor's scope is refused.
pub async fn subscribe(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    request: &SubscriptionRequest,
) -> diesel::QueryResult<Result<Subscription, SubscribeRefusal>> {
    let result = conn
        .transaction::<_, diesel::result::Error, _>(async |conn| {
            if !actor.scope.contains(request.unit_id)
                || Unit::find(conn, request.unit_id).await?.is_none()
            {
                return Ok(Err(SubscribeRefusal::OutOfScope));
            }
            if Subscription::exists(conn, actor.account_id, request.unit_id, &request.email).await?
            {
                return Ok(Err(SubscribeRefusal::Duplicate));
            }
            let subscription = Subscription::insert(
                conn,
                &NewSubscription {
                    account_id: actor.account_id,
                    unit_id: request.unit_id,
                    email: &request.email,
                    on_very_dissatisfied: request.on_very_dissatisfied,
                    on_comment: request.on_comment,
                    mode: request.mode.as_str(),
                },
            )
            .await?;
            audit::record(
                conn,
                &NewAuditEntry::by(
                    actor,
                    "alert.subscribe",
                    "alert_subscription",
                    subscription.id,
                    None,
                    audit::snapshot(&subscription),
                ),
            )
            .await?;
            Ok(Ok(subscription))
        })
        .await;
    crate::error::refused_if_duplicate(result, SubscribeRefusal::Duplicate)
}

/// Deletes the subscription `id` of `actor`'s own account with its pending events, audited as
/// "alert.unsubscribe". `Err(NotFound)` for another account's or an unknown one.
pub async fn unsubscribe(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: i32,
) -> Result<Subscription, crate::Error> {
    let deleted = conn
        .transaction::<_, diesel::result::Error, _>(async |conn| {
            let Some(before) = Subscription::find_for_update(conn, id).await? else {
                return Ok(None);
            };
            if before.account_id != actor.account_id {
                return Ok(None);
            }
            Subscription::delete(conn, id).await?;
            audit::record(
                conn,
                &NewAuditEntry::by(
                    actor,
                    "alert.unsubscribe",
                    "alert_subscription",
                    id,
                    audit::snapshot(&before),
                    None,
                ),
            )
            .await?;
            Ok(Some(before))
        })
        .await?;
    deleted.ok_or(crate::Error::NotFound)
}

/// The SMTP server and the sender, as `SIPAS_SMTP_URL` and `SIPAS_MAIL_FROM` name them.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer").field("from", &self.from).finish()
    }
}

/// Why an e-mail was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The server could not be reached, or refused for now (4xx): try again later.
    #[error("the SMTP server is unavailable: {0}")]
    Unavailable(String),
    /// The server refused this e-mail (5xx, e.g. an unknown recipient): the others may pass.
    #[error("the SMTP server refused the e-mail: {0}")]
    Refused(String),
}

impl Mailer {
    /// The transport of `settings` (no connection is made yet). An error names the variable.
    pub fn new(settings: &MailSettings) -> anyhow::Result<Self> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&settings.smtp_url)
            .map_err(|e| {
                anyhow::anyhow!(
                    "SIPAS_SMTP_URL: {} cannot be used: {e}",
                    MailSettings::redacted(&settings.smtp_url)
                )
            })?
            .timeout(Some(SMTP_TIMEOUT))
            .build();
        let from: Mailbox = settings
            .from
            .parse()
            .map_err(|e| anyhow::anyhow!("SIPAS_MAIL_FROM: \"{}\": {e}", settings.from))?;
        Ok(Mailer { transport, from })
    }

    /// Sends `mail` to `to`, plain text in UTF-8.
    pub async fn send(&self, to: &str, mail: &rules::AlertMail) -> Result<(), SendError> {
        let to: Mailbox = to
            .parse()
            .map_err(|e| SendError::Refused(format!("\"{to}\": {e}")))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject.clone())
            .header(ContentType::TEXT_PLAIN)
            .body(mail.body.clone())
            .map_err(|e| SendError::Refused(e.to_string()))?;
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => Err(SendError::Refused(e.to_string())),
            Err(e) => Err(SendError::Unavailable(e.to_string())),
        }
    }
}

/// What a run of [`send_due`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SendReport {
    /// Events written to the outbox by this run.
    pub events_written: usize,
    /// E-mails the SMTP server accepted.
    pub mails_sent: usize,
    /// Events those e-mails held.
    pub events_sent: usize,
    /// Events dropped because the account no longer sees their unit (or is disabled).
    pub events_dropped: usize,
    /// The SMTP server's refusals and unavailability (events kept pending).
    pub failures: Vec<String>,
}

/// Writes the outbox's new events (see the module documentation, step 1): at most [`BATCH`]
/// response ids past the watermark, none past the statistics' watermark. `None` when another
/// session was writing them.
pub async fn collect(
    conn: &mut AsyncPgConnection,
    forms: &FormRegistry,
) -> diesel::QueryResult<Option<usize>> {
    conn.transaction::<_, diesel::result::Error, _>(async |conn| {
        if !store::try_lock(conn).await? {
            return Ok(None);
        }
        let state = store::state(conn).await?;
        let from = state.last_response_id;
        let to = state.horizon.min(from.saturating_add(BATCH));
        if to <= from {
            return Ok(Some(0));
        }
        let subscriptions = Subscription::all(conn).await?;
        let mut events = Vec::new();
        if !subscriptions.is_empty() {
            let units = Unit::all_by_name(conn).await?;
            let subtrees: HashMap<i32, Vec<i32>> = subscriptions
                .iter()
                .map(|s| (s.id, crate::domain::tree::subtree(&units, s.unit_id)))
                .collect();
            let mut unit_ids: Vec<i32> = subtrees.values().flatten().copied().collect();
            unit_ids.sort_unstable();
            unit_ids.dedup();
            for response in store::candidates(conn, from, to, &unit_ids).await? {
                let low = forms
                    .version(response.form_version_id)
                    .is_some_and(|v| rules::rating(&v.form, &response.answers).very_dissatisfied());
                if !low && !response.has_comment {
                    continue;
                }
                for s in &subscriptions {
                    let wanted =
                        (low && s.on_very_dissatisfied) || (response.has_comment && s.on_comment);
                    // Nothing from before the subscription (a response replayed late from a
                    // spool keeps the citizen's time).
                    if wanted
                        && response.submitted_at >= s.created_at - chrono::Duration::minutes(5)
                        && subtrees[&s.id].contains(&response.unit_id)
                    {
                        events.push(NewEvent {
                            subscription_id: s.id,
                            response_id: response.id,
                            very_dissatisfied: low,
                            comment: response.has_comment,
                        });
                    }
                }
            }
        }
        let written = store::insert_events(conn, &events).await?;
        store::set_watermark(conn, to).await?;
        store::forget_old_events(conn, KEEP_EVENTS_DAYS).await?;
        Ok(Some(written))
    })
    .await
}

/// One run of the alert sender at `now`: writes the new events, then sends every e-mail due
/// (see the module documentation). The server's [`AlertTask`] calls it every minute;
/// tests call it directly.
pub async fn send_due(
    conn: &mut AsyncPgConnection,
    forms: &FormRegistry,
    mailer: &Mailer,
    public_url: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<SendReport> {
    let mut report = SendReport {
        events_written: collect(conn, forms).await?.unwrap_or(0),
        ..SendReport::default()
    };
    let cutoff = rules::digest_cutoff(now);
    for id in store::due_subscriptions(conn, cutoff).await? {
        match send_subscription(conn, forms, mailer, public_url, now, id, &mut report).await? {
            Ok(()) => {}
            Err(SendError::Refused(e)) => {
                tracing::warn!(subscription = id, "alert e-mail refused: {e}");
                report.failures.push(e);
            }
            Err(SendError::Unavailable(e)) => {
                tracing::warn!("alert e-mails wait: {e}");
                store::set_error(conn, Some(&e)).await?;
                report.failures.push(e);
                // The others would wait for the same server: the next run tries again.
                return Ok(report);
            }
        }
    }
    if report.mails_sent > 0 && report.failures.is_empty() {
        store::set_error(conn, None).await?;
    }
    Ok(report)
}

/// Sends the due events of subscription `id` in one e-mail, in one transaction holding the
/// subscription's lock. The outer error is the database's; the inner, the SMTP server's.
async fn send_subscription(
    conn: &mut AsyncPgConnection,
    forms: &FormRegistry,
    mailer: &Mailer,
    public_url: &str,
    now: DateTime<Utc>,
    id: i32,
    report: &mut SendReport,
) -> anyhow::Result<Result<(), SendError>> {
    // The SMTP error leaves the transaction without an error, so that the scope's drops
    // stay committed; nothing is marked sent then.
    let outcome = conn
        .transaction::<_, anyhow::Error, _>(async |conn| {
            let Some(subscription) = Subscription::lock_for_sending(conn, id).await? else {
                return Ok(Ok(()));
            };
            let mode = Mode::parse(&subscription.mode).unwrap_or(Mode::Immediate);
            let before = (mode == Mode::Daily).then(|| rules::digest_cutoff(now));
            let pending = store::pending_events(conn, id, before).await?;
            // The account's scope now, not when it subscribed.
            let account = Account::find(conn, subscription.account_id).await?;
            let actor = match &account {
                Some(a) if a.active => Account::actor(conn, a).await?,
                _ => None,
            };
            let (keep, drop): (Vec<_>, Vec<_>) = pending.into_iter().partition(|e| {
                actor.as_ref().is_some_and(|a| {
                    a.scope.contains(subscription.unit_id) && a.scope.contains(e.unit_id)
                })
            });
            let dropped: Vec<i64> = drop.iter().map(|e| e.response_id).collect();
            report.events_dropped += store::mark(conn, id, &dropped, false).await?;
            let (Some(account), false) = (account, keep.is_empty()) else {
                return Ok(Ok(()));
            };
            let ids: Vec<i64> = keep.iter().map(|e| e.response_id).collect();
            let listed = &ids[..ids.len().min(rules::MAX_ITEMS_PER_MAIL)];
            let (details, comments) = store::details(conn, listed).await?;
            let mut by_response: BTreeMap<i64, Vec<AlertComment>> = BTreeMap::new();
            for c in comments {
                by_response
                    .entry(c.response_id)
                    .or_default()
                    .push(AlertComment {
                        item_id: c.item_id,
                        body: c.body,
                    });
            }
            let items: Vec<AlertItem> = details
                .into_iter()
                .map(|d| AlertItem {
                    response_id: d.id,
                    unit_id: d.unit_id,
                    unit_name: d.unit_name,
                    desk_name: d.desk_name,
                    submitted_at: d.submitted_at,
                    rating: forms
                        .version(d.form_version_id)
                        .map(|v| rules::rating(&v.form, &d.answers))
                        .unwrap_or_default(),
                    comments: by_response.remove(&d.id).unwrap_or_default(),
                })
                .collect();
            let unit_name = Unit::find(conn, subscription.unit_id)
                .await?
                .map_or_else(String::new, |u| u.name);
            let ctx = MailContext {
                recipient: &account.display_name,
                unit_name: &unit_name,
                mode,
                public_url,
                day: crate::domain::time::day_in_vietnam(now),
            };
            // The ones beyond the listed are counted, not written out.
            let mail = rules::compose(&ctx, &items, ids.len());
            if let Err(e) = mailer.send(&subscription.email, &mail).await {
                return Ok(Err(e));
            }
            report.events_sent += store::mark(conn, id, &ids, true).await?;
            report.mails_sent += 1;
            tracing::info!(subscription = id, events = ids.len(), "alert e-mail sent");
            Ok(Ok(()))
        })
        .await?;
    Ok(outcome)
}

/// The alert sender beside the server: every `every` (a minute; the first time one period after the
/// start), [`send_due`]. Errors are logged, never propagated; a panic ends that run, not the
/// loop. Runs only when `SIPAS_SMTP_URL` is set.
pub struct AlertTask(Background);

impl AlertTask {
    pub fn start(
        pool: crate::db::Pool,
        forms: FormRegistry,
        mailer: Mailer,
        public_url: String,
        every: Duration,
    ) -> Self {
        AlertTask(Background::spawn(|mut stopped| async move {
            let mut interval = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
            interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = &mut stopped => break,
                    _ = interval.tick() => {}
                }
                let pool = pool.clone();
                let forms = forms.clone();
                let mailer = mailer.clone();
                let public_url = public_url.clone();
                let run = tokio::spawn(async move {
                    let mut conn = pool
                        .get()
                        .await
                        .map_err(|e| anyhow::anyhow!("connecting to the database: {e}"))?;
                    send_due(&mut conn, &forms, &mailer, &public_url, Utc::now()).await
                });
                tokio::select! {
                    _ = &mut stopped => break,
                    outcome = run => match outcome {
                        Ok(Ok(_)) => {}
                        Ok(Err(e)) => tracing::warn!("e-mail alerts: {e:#}"),
                        Err(e) => tracing::error!("the e-mail alert run failed: {e}"),
                    },
                }
            }
        }))
    }

    /// Stops the loop (an e-mail being sent is one transaction: cut off, it stays pending).
    pub async fn stop(self) {
        self.0.stop(Duration::from_secs(5)).await;
    }
}
