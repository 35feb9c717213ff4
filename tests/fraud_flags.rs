//! Fraud signals (issue 6: "flag, never delete"): each signal flags what it should and not an
//! honest stream; excluded responses are absent from the official figures, which are recomputed
//! here INDEPENDENTLY in plain SQL from `responses` and `response_flags` (the rule: an admin's
//! decision wins; otherwise excluded when a signal is strong, or when two different weak
//! signals other than straight-lining coincide); an admin's decision changes the figures
//! exactly and is audited; a rebuild of the rollups gives the incremental ones; only admins
//! see and decide.
//!
//! Responses are inserted with SQL, as the citizen's path stores them (client key, time the
//! form was rendered, channel), at controlled instants, then folded by the real background path
//! (`sipas::db::rollup::refresh`, which runs the detection first).

use crate::common;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, FixedOffset, NaiveDate};
use common::TestApp;

const FORM: &str = "sipas-1001-dich-vu";
const XUAN_BAC: &str = "xuan-loc.xuan-bac";
const XUAN_DINH: &str = "xuan-loc.xuan-dinh";
const BAO_HOA: &str = "xuan-loc.bao-hoa";
const GIA_RAY: &str = "xuan-loc.gia-ray";

fn vn(d: u32, h: u32, min: u32) -> DateTime<FixedOffset> {
    // November 2026: the 23rd is a Monday, the 28th a Saturday.
    NaiveDate::from_ymd_opt(2026, 11, d)
        .unwrap()
        .and_hms_opt(h, min, 0)
        .unwrap()
        .and_local_timezone(FixedOffset::east_opt(7 * 3600).unwrap())
        .unwrap()
}

/// How a response comes in.
#[derive(Clone)]
struct Visit {
    unit: &'static str,
    at: DateTime<FixedOffset>,
    /// Seconds between rendering and submitting (None: unknown).
    took: Option<i64>,
    client: Option<u8>,
    channel: &'static str,
    answers: Vec<Option<i16>>,
}

/// One coded item of the QĐ 1001 form: (criterion, codes).
type Items = Vec<(bool, Vec<i16>)>;

struct Fixture {
    app: TestApp,
    db: tokio_postgres::Client,
    version: i32,
    items: Items,
    clerk: i32,
}

impl Fixture {
    /// A server with the installation's default checks of the citizen's path (the test
    /// configuration turns the completion time and the per-person limit off).
    async fn new() -> Fixture {
        Self::with(true).await
    }

    async fn with(checks: bool) -> Fixture {
        let app = TestApp::spawn_on(common::TestDatabase::create().await, |url| {
            let mut config = common::test_config(url);
            if checks {
                config.visits.min_fill_seconds = 3;
                config.visits.person = sipas::config::parse_rate("3/60m").unwrap();
            }
            config
        })
        .await;
        let db = app.sql().await;
        let version = app.forms.latest(FORM).unwrap().id;
        let items: Items = db
            .query(
                "SELECT criterion, codes FROM rollup_rules WHERE form_version_id = $1 \
                 ORDER BY answer_index",
                &[&version],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        assert_eq!(items.len(), 34, "the QĐ 1001 form has 34 coded items");
        app.create_account("nhap.lieu", "unit", &["xuan-loc"]).await;
        let clerk: i32 = db
            .query_one("SELECT id FROM accounts WHERE username = 'nhap.lieu'", &[])
            .await
            .unwrap()
            .get(0);
        Fixture {
            app,
            db,
            version,
            items,
            clerk,
        }
    }

    /// Varied honest-looking answers (a deterministic function of `seed`): criteria 3 to 5,
    /// every other item answered with one of its codes.
    fn varied(&self, seed: u64) -> Vec<Option<i16>> {
        let mut x = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.items
            .iter()
            .map(|(criterion, codes)| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let r = (x >> 33) as usize;
                if *criterion {
                    Some(3 + (r % 3) as i16)
                } else {
                    Some(codes[r % codes.len()])
                }
            })
            .collect()
    }

    /// Every criterion `value`, nothing else answered (what many honest citizens send).
    fn straight(&self, value: i16) -> Vec<Option<i16>> {
        self.items
            .iter()
            .map(|(criterion, _)| criterion.then_some(value))
            .collect()
    }

    fn visit(&self, unit: &'static str, at: DateTime<FixedOffset>, seed: u64) -> Visit {
        Visit {
            unit,
            at,
            took: Some(120 + (seed % 200) as i64),
            client: Some((seed % 250) as u8),
            channel: "qr",
            answers: self.varied(seed),
        }
    }

    async fn insert(&self, v: &Visit) -> i64 {
        let client: Option<Vec<u8>> = v.client.map(|c| vec![c; 32]);
        let started = v.took.map(|s| (v.at - Duration::seconds(s)).to_rfc3339());
        let paper = v.channel == "paper";
        let via = match v.channel {
            "kiosk" => Some("kiosk"),
            "qr" => Some("desk"),
            _ => None,
        };
        self.db
            .query_one(
                "INSERT INTO responses (submission_key, unit_id, desk_id, form_version_id, channel, \
                     submitted_at, started_at, client_key, via, answers, entered_by, entered_at, \
                     paper_serial) \
                 SELECT gen_random_uuid(), u.id, \
                        (SELECT min(d.id) FROM desks d WHERE d.unit_id = u.id), $2, $3, \
                        $4::text::timestamptz, $5::text::timestamptz, $6, $7, $8, \
                        CASE WHEN $9 THEN $10::int4 END, CASE WHEN $9 THEN now() END, \
                        CASE WHEN $9 THEN gen_random_uuid()::text END \
                 FROM units u WHERE u.code = $1 RETURNING id",
                &[
                    &v.unit,
                    &self.version,
                    &v.channel,
                    &v.at.to_rfc3339(),
                    &started,
                    &client,
                    &via,
                    &v.answers,
                    &paper,
                    &self.clerk,
                ],
            )
            .await
            .unwrap()
            .get(0)
    }

    /// Inserts `visits` in one transaction: the server's own rollup task (every few seconds)
    /// folds them all or none, never the first part of a day (on a loaded machine it did, and
    /// judged the day's first responses by the few of that day it had seen).
    async fn insert_all(&self, visits: &[Visit]) -> Vec<i64> {
        self.db.batch_execute("BEGIN").await.unwrap();
        let mut ids = Vec::new();
        for v in visits {
            ids.push(self.insert(v).await);
        }
        self.db.batch_execute("COMMIT").await.unwrap();
        ids
    }

    /// Folds everything through the real path (detection first).
    async fn fold(&self) {
        self.app.settle_rollups().await;
    }

    /// The reasons of each flagged response, with their severity.
    async fn flags(&self) -> BTreeMap<i64, BTreeSet<(String, String)>> {
        let mut out: BTreeMap<i64, BTreeSet<(String, String)>> = BTreeMap::new();
        for row in self
            .db
            .query(
                "SELECT response_id, reason, severity FROM response_flags",
                &[],
            )
            .await
            .unwrap()
        {
            out.entry(row.get(0))
                .or_default()
                .insert((row.get(1), row.get(2)));
        }
        out
    }

    async fn reasons(&self, id: i64) -> Vec<String> {
        let flags = self.flags().await;
        flags
            .get(&id)
            .map(|s| s.iter().map(|(r, s)| format!("{r}:{s}")).collect())
            .unwrap_or_default()
    }

    async fn count(&self, sql: &str) -> i64 {
        self.db.query_one(sql, &[]).await.unwrap().get(0)
    }
}

/// `desk_days` (what the desk-burst signal judges a desk's usual rate by, kept by the fold)
/// equals a count straight from `responses`: the online responses of each desk per day in
/// Vietnam, among those the fold has examined. Returns how many desk-days there are.
async fn desk_days_are_counted(db: &tokio_postgres::Client) -> usize {
    let rows = |sql: &'static str| async move {
        db.query(sql, &[])
            .await
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r.get::<_, i32>(0),
                    r.get::<_, String>(1),
                    r.get::<_, i64>(2),
                )
            })
            .collect::<Vec<_>>()
    };
    let kept =
        rows("SELECT desk_id, day::text, responses::int8 FROM desk_days ORDER BY 1, 2").await;
    let counted = rows(
        "SELECT desk_id, (submitted_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date::text, count(*) \
         FROM responses \
         WHERE desk_id IS NOT NULL AND channel <> 'paper' \
           AND id <= (SELECT last_response_id FROM rollup_state) \
         GROUP BY 1, 2 ORDER BY 1, 2",
    )
    .await;
    assert_eq!(kept, counted, "desk_days against responses");
    kept.len()
}

/// Per unit: responses, and answers per (answer_index, value).
type Figures = BTreeMap<i32, (i64, BTreeMap<(i16, i16), i64>)>;

/// The responses that count, by the rule, straight from `responses`, `response_flags` and the
/// admins' decisions (`response_reviews.decision`): independent of the code's own state.
const COUNTED: &str = "
    counted AS (
        SELECT r.* FROM responses r
        WHERE NOT coalesce(
            (SELECT v.decision = 'exclude' FROM response_reviews v
             WHERE v.response_id = r.id AND v.decision IS NOT NULL),
            EXISTS (SELECT 1 FROM response_flags f
                    WHERE f.response_id = r.id AND f.severity = 'strong')
            OR (SELECT count(DISTINCT f.reason) FROM response_flags f
                WHERE f.response_id = r.id AND f.severity = 'weak'
                  AND f.reason <> 'straight_line') >= 2)
    )";

/// Per unit: counted responses and the answers counted per (answer_index, value), from SQL.
async fn expected(db: &tokio_postgres::Client) -> Figures {
    let mut out: Figures = BTreeMap::new();
    for row in db
        .query(
            &format!("WITH {COUNTED} SELECT unit_id, count(*) FROM counted GROUP BY unit_id"),
            &[],
        )
        .await
        .unwrap()
    {
        out.entry(row.get(0)).or_default().0 = row.get(1);
    }
    for row in db
        .query(
            &format!(
                "WITH {COUNTED} SELECT c.unit_id, a.i::int2, a.v, count(*) FROM counted c \
                 CROSS JOIN LATERAL unnest(c.answers) WITH ORDINALITY AS a (v, i) \
                 WHERE a.v IS NOT NULL GROUP BY 1, 2, 3"
            ),
            &[],
        )
        .await
        .unwrap()
    {
        out.entry(row.get(0))
            .or_default()
            .1
            .insert((row.get(1), row.get(2)), row.get(3));
    }
    out
}

/// The same from the rollups (day tables and month tables must agree).
async fn rolled_up(db: &tokio_postgres::Client) -> Figures {
    let mut out: Figures = BTreeMap::new();
    for row in db
        .query(
            "SELECT unit_id, sum(responses)::int8 FROM rollup_responses GROUP BY 1",
            &[],
        )
        .await
        .unwrap()
    {
        out.entry(row.get(0)).or_default().0 = row.get(1);
    }
    for row in db
        .query(
            "SELECT unit_id, answer_index, value, sum(n)::int8 FROM rollup_answers GROUP BY 1, 2, 3",
            &[],
        )
        .await
        .unwrap()
    {
        out.entry(row.get(0))
            .or_default()
            .1
            .insert((row.get(1), row.get(2)), row.get(3));
    }
    let days: i64 = db
        .query_one(
            "SELECT coalesce(sum(responses), 0)::int8 FROM rollup_responses",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    let months: i64 = db
        .query_one(
            "SELECT coalesce(sum(responses), 0)::int8 FROM rollup_responses_month",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(days, months, "day and month rollups agree");
    let days: i64 = db
        .query_one("SELECT coalesce(sum(n), 0)::int8 FROM rollup_answers", &[])
        .await
        .unwrap()
        .get(0);
    let months: i64 = db
        .query_one(
            "SELECT coalesce(sum(n), 0)::int8 FROM rollup_answers_month",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(days, months, "day and month answer rollups agree");
    let totals: i64 = db
        .query_one(
            "SELECT coalesce(sum(n), 0)::int8 FROM rollup_answers_month_total",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        months, totals,
        "month answer rollups and their totals agree"
    );
    out
}

/// Every rollup row as text (scores rounded), for comparing two states of the rollups.
async fn rollup_rows(db: &tokio_postgres::Client) -> Vec<String> {
    db.query(
        "SELECT format('a %s %s %s %s %s %s %s', unit_id, form_version_id, day, channel, \
                answer_index, value, n) AS t FROM rollup_answers \
         UNION ALL SELECT format('am %s %s %s %s %s %s %s', unit_id, form_version_id, month, \
                channel, answer_index, value, n) FROM rollup_answers_month \
         UNION ALL SELECT format('amt %s %s %s %s %s %s', unit_id, form_version_id, month, \
                answer_index, value, n) FROM rollup_answers_month_total \
         UNION ALL SELECT format('r %s %s %s %s %s %s %s %s', unit_id, form_version_id, day, \
                channel, responses, score_n, round(score_sum::numeric, 9), \
                round(score_sum_sq::numeric, 9)) FROM rollup_responses \
         UNION ALL SELECT format('rm %s %s %s %s %s %s %s %s', unit_id, form_version_id, month, \
                channel, responses, score_n, round(score_sum::numeric, 9), \
                round(score_sum_sq::numeric, 9)) FROM rollup_responses_month \
         ORDER BY 1",
        &[],
    )
    .await
    .unwrap()
    .iter()
    .map(|r| r.get(0))
    .collect()
}

#[tokio::test]
async fn an_honest_day_at_a_desk_raises_no_strong_signal() {
    let fx = Fixture::new().await;
    // 30 citizens over a Monday at Xuân Bắc, 7:40 to 16:50, each on their own phone, taking
    // 2 to 5 minutes; every fifth answers "Hài lòng" to everything (straight-lined).
    let mut visits = Vec::new();
    for k in 0..30u32 {
        let minutes = 7 * 60 + 40 + k * 19;
        let mut v = fx.visit(
            XUAN_BAC,
            vn(23, minutes / 60, minutes % 60),
            u64::from(k) + 1,
        );
        v.client = Some(k as u8);
        if k % 5 == 0 {
            v.answers = fx.straight(4);
        }
        visits.push(v);
    }
    let ids = fx.insert_all(&visits).await;
    fx.fold().await;
    let flags = fx.flags().await;
    let strong: Vec<_> = flags
        .iter()
        .filter(|(_, s)| s.iter().any(|(_, sev)| sev == "strong"))
        .collect();
    assert!(
        strong.is_empty(),
        "strong signals on honest citizens: {strong:?}"
    );
    // Straight-lining is shown, weak, and the response counts.
    for (k, id) in ids.iter().enumerate() {
        let reasons = fx.reasons(*id).await;
        if k % 5 == 0 {
            assert_eq!(reasons, ["straight_line:weak"], "response {k}");
        } else {
            assert!(reasons.is_empty(), "response {k}: {reasons:?}");
        }
    }
    assert_eq!(
        fx.count("SELECT count(*) FROM response_reviews WHERE excluded")
            .await,
        0
    );
    assert_eq!(
        fx.count("SELECT sum(responses)::int8 FROM rollup_responses")
            .await,
        30
    );
    assert_eq!(rolled_up(&fx.db).await, expected(&fx.db).await);
}

#[tokio::test]
async fn each_signal_flags_what_it_should() {
    let fx = Fixture::new().await;
    let mut seed = 1000;
    let mut next = || {
        seed += 1;
        seed
    };
    // (a) A burst at Xuân Định: 12 phones in 6 minutes (the desk has no history: threshold 10);
    // and 9 phones in 6 minutes at Bảo Hòa, below it.
    let mut burst = Vec::new();
    for k in 0..12 {
        let mut v = fx.visit(XUAN_DINH, vn(23, 9, k / 2), next());
        v.client = Some(100 + k as u8);
        burst.push(v);
    }
    let burst = fx.insert_all(&burst).await;
    let mut busy = Vec::new();
    for k in 0..9 {
        let mut v = fx.visit(BAO_HOA, vn(23, 9, k * 2 / 3), next());
        v.client = Some(150 + k as u8);
        busy.push(v);
    }
    let busy = fx.insert_all(&busy).await;
    // (b) One phone sends 3 responses within 40 minutes at three desks; another sends 2.
    let mut one_phone = Vec::new();
    for (k, unit) in [XUAN_BAC, GIA_RAY, BAO_HOA].into_iter().enumerate() {
        let mut v = fx.visit(unit, vn(24, 10, 20 * k as u32), next());
        v.client = Some(7);
        one_phone.push(v);
    }
    let one_phone = fx.insert_all(&one_phone).await;
    let mut two = Vec::new();
    for k in 0..2 {
        let mut v = fx.visit(GIA_RAY, vn(24, 14, 30 * k), next());
        v.client = Some(8);
        two.push(v);
    }
    let two = fx.insert_all(&two).await;
    // (c) Three identical varied answer sets in a row at Gia Ray (different phones, 25 minutes
    // apart): strong. Three identical straight-lined ones at Xuân Bắc: weak, they count.
    let pattern = fx.varied(4242);
    let mut copies = Vec::new();
    for k in 0..3 {
        let mut v = fx.visit(GIA_RAY, vn(25, 8, 25 * k), next());
        v.client = Some(20 + k as u8);
        v.answers = pattern.clone();
        copies.push(v);
    }
    let copies = fx.insert_all(&copies).await;
    let mut satisfied = Vec::new();
    for k in 0..3 {
        let mut v = fx.visit(XUAN_BAC, vn(25, 8, 25 * k), next());
        v.client = Some(30 + k as u8);
        v.answers = fx.straight(4);
        satisfied.push(v);
    }
    let satisfied = fx.insert_all(&satisfied).await;
    // (d) Too fast: 34 answers in 6 seconds; a quick but possible 40 seconds.
    let mut fast = fx.visit(XUAN_BAC, vn(26, 10, 0), next());
    fast.took = Some(6);
    fast.client = Some(40);
    let mut quick = fx.visit(XUAN_BAC, vn(26, 10, 30), next());
    quick.took = Some(40);
    quick.client = Some(41);
    let fast = fx.insert(&fast).await;
    let quick = fx.insert(&quick).await;
    // (e) Outside opening hours (Mon-Fri 07:00-17:00, 15 minutes before and an hour after
    // tolerated): a phone at 21:00 (weak), a kiosk at 21:00 (strong), a phone on Saturday
    // morning (weak), a phone at 17:45 (tolerated), a paper ballot (dated midnight: exempt).
    let mut late = fx.visit(XUAN_BAC, vn(26, 21, 0), next());
    late.client = Some(50);
    let mut kiosk = fx.visit(XUAN_BAC, vn(26, 21, 5), next());
    kiosk.client = Some(51);
    kiosk.channel = "kiosk";
    let mut saturday = fx.visit(BAO_HOA, vn(28, 9, 0), next());
    saturday.client = Some(52);
    let mut after_work = fx.visit(BAO_HOA, vn(26, 17, 45), next());
    after_work.client = Some(53);
    let mut paper = fx.visit(BAO_HOA, vn(26, 0, 0), next());
    paper.client = None;
    paper.took = None;
    paper.channel = "paper";
    let late = fx.insert(&late).await;
    let kiosk = fx.insert(&kiosk).await;
    let saturday = fx.insert(&saturday).await;
    let after_work = fx.insert(&after_work).await;
    let paper = fx.insert(&paper).await;
    // (f) A combination: three identical straight-lined answers in a row at Xuân Định on a
    // Sunday night (weak + weak): excluded.
    let mut night = Vec::new();
    for k in 0..3 {
        let mut v = fx.visit(XUAN_DINH, vn(29, 22, 20 * k), next());
        v.client = Some(60 + k as u8);
        v.answers = fx.straight(5);
        night.push(v);
    }
    let night = fx.insert_all(&night).await;

    fx.fold().await;
    // The paper ballot is not counted; every other response is, once.
    assert!(desk_days_are_counted(&fx.db).await > 0);
    for id in &burst {
        assert_eq!(fx.reasons(*id).await, ["burst_desk:strong"], "burst {id}");
    }
    for id in &busy {
        assert!(fx.reasons(*id).await.is_empty(), "busy but plausible {id}");
    }
    for id in &one_phone {
        assert_eq!(
            fx.reasons(*id).await,
            ["burst_client:strong"],
            "one phone {id}"
        );
    }
    for id in &two {
        assert!(fx.reasons(*id).await.is_empty(), "two from one phone {id}");
    }
    for id in &copies {
        assert_eq!(fx.reasons(*id).await, ["identical_run:strong"], "copy {id}");
    }
    for id in &satisfied {
        assert_eq!(
            fx.reasons(*id).await,
            ["identical_run:weak", "straight_line:weak"],
            "satisfied {id}"
        );
    }
    assert_eq!(fx.reasons(fast).await, ["too_fast:strong"]);
    assert!(fx.reasons(quick).await.is_empty());
    assert_eq!(fx.reasons(late).await, ["outside_hours:weak"]);
    assert_eq!(fx.reasons(kiosk).await, ["outside_hours:strong"]);
    assert_eq!(fx.reasons(saturday).await, ["outside_hours:weak"]);
    assert!(fx.reasons(after_work).await.is_empty());
    assert!(fx.reasons(paper).await.is_empty());
    for id in &night {
        assert_eq!(
            fx.reasons(*id).await,
            [
                "identical_run:weak",
                "outside_hours:weak",
                "straight_line:weak"
            ],
            "night {id}"
        );
    }

    // The state: strong or a combination of weak signals is excluded, weak alone counts.
    let excluded: BTreeSet<i64> = fx
        .db
        .query(
            "SELECT response_id FROM response_reviews WHERE excluded",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let want: BTreeSet<i64> = burst
        .iter()
        .chain(&one_phone)
        .chain(&copies)
        .chain(&night)
        .chain([&fast, &kiosk])
        .copied()
        .collect();
    assert_eq!(excluded, want);
    assert_eq!(rolled_up(&fx.db).await, expected(&fx.db).await);

    // Opening hours are the desk's own: a desk open on Saturday mornings raises nothing then.
    fx.db
        .batch_execute(
            "UPDATE desks SET opening_hours = \
             '[{\"days\": [1, 2, 3, 4, 5], \"opens\": \"07:00\", \"closes\": \"17:00\"}, \
               {\"days\": [6], \"opens\": \"07:30\", \"closes\": \"11:30\"}]' \
             WHERE unit_id = (SELECT id FROM units WHERE code = 'xuan-loc.bao-hoa')",
        )
        .await
        .unwrap();
    let mut saturday = fx.visit(BAO_HOA, vn(28, 9, 30), next());
    saturday.client = Some(70);
    let saturday = fx.insert(&saturday).await;
    fx.fold().await;
    assert!(fx.reasons(saturday).await.is_empty());
}

/// The API's figures (through an admin's session) for November 2026.
async fn api_figures(admin: &common::StaffClient) -> serde_json::Value {
    let response = admin
        .get("/api/v1/stats?from=2026-11-01&to=2026-11-30")
        .await;
    assert_eq!(response.status(), 200);
    serde_json::from_str(&response.text().await.unwrap()).unwrap()
}

fn api_row<'a>(body: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    body["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["unit"]["name"] == name)
        .unwrap_or_else(|| panic!("no row {name}"))
}

#[tokio::test]
async fn a_burst_split_across_folds_is_left_out_and_admins_decide_exactly() {
    let fx = Fixture::new().await;
    let admin = fx.app.staff_with_role("qt.nghi.van", "admin", &[]).await;
    // Honest responses at Xuân Định and Bảo Hòa on the Monday.
    let mut honest = Vec::new();
    for k in 0..8u32 {
        honest.push(fx.visit(XUAN_DINH, vn(23, 8 + k, 10), 500 + u64::from(k)));
        honest.push(fx.visit(BAO_HOA, vn(23, 8 + k, 40), 600 + u64::from(k)));
    }
    for (k, v) in honest.iter_mut().enumerate() {
        v.client = Some(k as u8);
    }
    fx.insert_all(&honest).await;
    fx.fold().await;
    // A burst at Xuân Định on Tuesday, 14 "Rất hài lòng" ballots from different phones within
    // 7 minutes, arriving in two batches: the first 7 alone are not a burst, and are folded.
    let mut burst = Vec::new();
    for k in 0..14u32 {
        let mut v = fx.visit(XUAN_DINH, vn(24, 15, k / 2), 700 + u64::from(k));
        v.client = Some(100 + k as u8);
        burst.push(v);
    }
    let first = fx.insert_all(&burst[..7]).await;
    fx.fold().await;
    for id in &first {
        assert!(fx.reasons(*id).await.is_empty());
    }
    // Monday at both desks, Tuesday at Xuân Định.
    assert_eq!(desk_days_are_counted(&fx.db).await, 3);
    let dinh: i32 = fx
        .count("SELECT id::int8 FROM units WHERE code = 'xuan-loc.xuan-dinh'")
        .await as i32;
    assert_eq!(expected(&fx.db).await[&dinh].0, 15);
    assert_eq!(rolled_up(&fx.db).await, expected(&fx.db).await);
    // The second half completes the burst: all 14 are flagged, the first 7 after the fact, and
    // the rollups lose them all.
    let second = fx.insert_all(&burst[7..]).await;
    fx.fold().await;
    for id in first.iter().chain(&second) {
        assert_eq!(fx.reasons(*id).await, ["burst_desk:strong"], "burst {id}");
    }
    assert_eq!(desk_days_are_counted(&fx.db).await, 3);
    // Migration 11 counts the responses folded before it: down and up again here, the same.
    for sql in [
        include_str!("../migrations/2026-11-27-000011_desk_days/down.sql"),
        include_str!("../migrations/2026-11-27-000011_desk_days/up.sql"),
    ] {
        fx.db.batch_execute(sql).await.unwrap();
    }
    assert_eq!(desk_days_are_counted(&fx.db).await, 3);
    let want = expected(&fx.db).await;
    assert_eq!(want[&dinh].0, 8);
    assert_eq!(rolled_up(&fx.db).await, want);
    // Their comments are kept, and say that their response does not count.
    for (id, body) in [
        (second[0], "Góp ý của một phiếu nghi vấn"),
        (first[0] - 1, "Góp ý của một phiếu bình thường"),
    ] {
        fx.db
            .execute(
                "INSERT INTO response_texts (response_id, item_id, body) \
                 SELECT $1, i.id, $2 FROM form_items i \
                 WHERE i.form_version_id = $3 AND i.kind = 'text' ORDER BY i.position LIMIT 1",
                &[&id, &body, &fx.version],
            )
            .await
            .unwrap();
    }
    let list = admin.get("/staff/comments").await.text().await.unwrap();
    let row_of = |body: &str| {
        let at = list.find(body).unwrap_or_else(|| panic!("{body} listed"));
        let start = list[..at].rfind("<tr").unwrap();
        let end = at + list[at..].find("</tr>").unwrap();
        list[start..end].to_string()
    };
    let note = sipas::views::staff::comments::EXCLUDED_NOTE;
    assert!(row_of("Góp ý của một phiếu nghi vấn").contains(note));
    assert!(!row_of("Góp ý của một phiếu bình thường").contains(note));
    // The API and the dashboard show the counted forms and, beside them, the excluded ones.
    let body = api_figures(&admin).await;
    let row = api_row(&body, "UBND xã Xuân Định");
    assert_eq!(row["responses"], 8);
    assert_eq!(row["excluded"], 14);
    assert_eq!(body["total"]["responses"], 16);
    assert_eq!(body["total"]["excluded"], 14);
    let page = admin
        .get("/staff/stats?year=2026&period=custom&from=01/11/2026&to=30/11/2026")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("id=\"phieu-khong-tinh\""), "{page}");
    assert!(page.contains("Phiếu không tính vào kết quả"));

    // An admin includes one of them: the figures gain exactly that response, and the audit log
    // says who did it.
    let chosen = second[0];
    let before_rows = rollup_rows(&fx.db).await;
    let sent = admin
        .post(
            &format!("/staff/flags/{chosen}/decide"),
            &[
                ("decision", "include"),
                ("note", "Đoàn khách đến cùng lúc, đã xác minh."),
            ],
        )
        .await;
    assert_eq!(sent.status(), 303);
    let want = expected(&fx.db).await;
    assert_eq!(want[&dinh].0, 9);
    assert_eq!(rolled_up(&fx.db).await, want);
    let body = api_figures(&admin).await;
    assert_eq!(api_row(&body, "UBND xã Xuân Định")["responses"], 9);
    assert_eq!(api_row(&body, "UBND xã Xuân Định")["excluded"], 13);
    let audit = fx
        .db
        .query_one(
            "SELECT a.action, a.entity_id, a.before ->> 'excluded', a.after ->> 'note', \
                    ac.username \
             FROM audit_log a JOIN accounts ac ON ac.id = a.account_id \
             WHERE a.entity = 'response' ORDER BY a.id DESC LIMIT 1",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(audit.get::<_, String>(0), "response.include");
    assert_eq!(audit.get::<_, String>(1), chosen.to_string());
    assert_eq!(audit.get::<_, String>(2), "true");
    assert_eq!(
        audit.get::<_, String>(3),
        "Đoàn khách đến cùng lúc, đã xác minh."
    );
    assert_eq!(audit.get::<_, String>(4), "qt.nghi.van");
    let page = admin
        .get(&format!("/staff/flags/{chosen}?ok=1"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Được tính vào kết quả (theo quyết định của quản trị)"));
    assert!(page.contains("Đoàn khách đến cùng lúc, đã xác minh."));

    // Excluding it again gives back exactly the rollups of before.
    let sent = admin
        .post(
            &format!("/staff/flags/{chosen}/decide"),
            &[("decision", "exclude"), ("note", "")],
        )
        .await;
    assert_eq!(sent.status(), 303);
    assert_eq!(rollup_rows(&fx.db).await, before_rows);
    // And an honest response excluded by an admin leaves the figures too (it is flagged first:
    // only flagged responses can be decided on).
    let sent = admin
        .post(
            &format!("/staff/flags/{}/decide", first[0] - 1),
            &[("decision", "exclude"), ("note", "")],
        )
        .await;
    assert_eq!(sent.status(), 404, "an unflagged response has no decision");

    // Include one again, then rebuild: the rebuilt rollups equal the incremental ones.
    admin
        .post(
            &format!("/staff/flags/{}/decide", second[1]),
            &[("decision", "include"), ("note", "")],
        )
        .await;
    let incremental = rollup_rows(&fx.db).await;
    let mut conn = fx.app.pool.get().await.unwrap();
    let report = sipas::db::rollup::rebuild(&mut conn).await.unwrap();
    assert!(report.is_done());
    assert_eq!(rollup_rows(&fx.db).await, incremental);
    assert_eq!(rolled_up(&fx.db).await, expected(&fx.db).await);
}

#[tokio::test]
async fn only_admins_see_and_decide_and_the_page_speaks_vietnamese() {
    let fx = Fixture::new().await;
    let mut burst = Vec::new();
    for k in 0..11u32 {
        let mut v = fx.visit(XUAN_BAC, vn(23, 10, k / 2), 900 + u64::from(k));
        v.client = Some(k as u8);
        burst.push(v);
    }
    let ids = fx.insert_all(&burst).await;
    let mut late = fx.visit(BAO_HOA, vn(23, 22, 0), 999);
    late.client = Some(77);
    let late = fx.insert(&late).await;
    fx.fold().await;
    let admin = fx.app.staff_with_role("qt.admin", "admin", &[]).await;
    let viewer = fx.app.staff_with_role("lanh.dao", "viewer", &[]).await;
    let unit = fx
        .app
        .staff_with_role("can.bo.bac", "unit", &[XUAN_BAC])
        .await;

    let page = admin.get("/staff/flags").await;
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(page.contains("Phiếu nghi vấn"));
    assert!(page.contains("Dồn dập tại quầy"));
    assert!(page.contains("Ngoài giờ làm việc của quầy"));
    assert!(page.contains("11 phiếu tại quầy trong 10 phút (ngưỡng 10 phiếu)."));
    assert!(page.contains(&format!("href=\"/staff/flags/{late}\"")));
    // Filters: by reason, by state, by unit.
    let page = admin
        .get("/staff/flags?reason=outside_hours")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains(&format!("href=\"/staff/flags/{late}\"")));
    assert!(!page.contains(&format!("href=\"/staff/flags/{}\"", ids[0])));
    let page = admin
        .get("/staff/flags?state=excluded")
        .await
        .text()
        .await
        .unwrap();
    assert!(!page.contains(&format!("href=\"/staff/flags/{late}\"")));
    assert!(page.contains(&format!("href=\"/staff/flags/{}\"", ids[0])));
    let bac = fx
        .count("SELECT id::int8 FROM units WHERE code = 'xuan-loc.xuan-bac'")
        .await;
    let page = admin
        .get(&format!("/staff/flags?unit={bac}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(!page.contains(&format!("href=\"/staff/flags/{late}\"")));
    // One response: its answers with the questions and the labels.
    let page = admin
        .get(&format!("/staff/flags/{}", ids[0]))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("id=\"cau-tra-loi\""));
    assert!(page.contains("TC1"));
    assert!(page.contains("Không tính vào kết quả (mặc định: có dấu hiệu mạnh)"));
    // A decision without a choice is refused with a message, nothing stored.
    let refused = admin
        .post(
            &format!("/staff/flags/{}/decide", ids[0]),
            &[("decision", ""), ("note", "ghi chú giữ lại")],
        )
        .await;
    assert_eq!(refused.status(), 422);
    let text = refused.text().await.unwrap();
    assert!(text.contains("Vui lòng chọn"));
    assert!(text.contains("ghi chú giữ lại"));
    assert_eq!(
        fx.count("SELECT count(*) FROM response_reviews WHERE decision IS NOT NULL")
            .await,
        0
    );

    // Nobody else sees or decides: 404, and nothing changes.
    for client in [&viewer, &unit] {
        assert_eq!(client.get("/staff/flags").await.status(), 404);
        assert_eq!(
            client
                .get(&format!("/staff/flags/{}", ids[0]))
                .await
                .status(),
            404
        );
        let refused = client
            .post(
                &format!("/staff/flags/{}/decide", ids[0]),
                &[("decision", "include"), ("note", "")],
            )
            .await;
        assert_eq!(refused.status(), 404);
        let menu = client.get("/staff").await.text().await.unwrap();
        assert!(!menu.contains("/staff/flags"));
    }
    assert_eq!(
        fx.count("SELECT count(*) FROM response_reviews WHERE decision IS NOT NULL")
            .await,
        0
    );
    assert_eq!(
        fx.count("SELECT count(*) FROM audit_log WHERE entity = 'response'")
            .await,
        0
    );
    let menu = admin.get("/staff").await.text().await.unwrap();
    assert!(menu.contains("href=\"/staff/flags\""));
}

#[tokio::test]
async fn the_demo_responses_are_at_most_weakly_flagged() {
    let fx = Fixture::new().await;
    let mut conn = fx.app.pool.get().await.unwrap();
    let generated = sipas::demo::generate_responses(
        &mut conn,
        &fx.app.forms,
        &sipas::demo::ResponseSpec {
            seed: 3,
            count: 3000,
            first: 0,
            from: NaiveDate::from_ymd_opt(2025, 1, 1).unwrap(),
            to: NaiveDate::from_ymd_opt(2025, 12, 31).unwrap(),
        },
    )
    .await
    .unwrap();
    assert_eq!(generated.inserted, 3000);
    drop(conn);
    fx.fold().await;
    assert_eq!(
        fx.count("SELECT count(*) FROM response_flags WHERE severity = 'strong'")
            .await,
        0
    );
    assert_eq!(
        fx.count("SELECT count(*) FROM response_reviews WHERE excluded")
            .await,
        0
    );
    assert_eq!(
        fx.count("SELECT sum(responses)::int8 FROM rollup_responses")
            .await,
        3000
    );
}

#[tokio::test]
async fn without_the_checks_of_the_citizens_path_timing_and_client_signals_are_off() {
    // SIPAS_MIN_FILL_SECONDS=0 and SIPAS_LIMIT_PERSON=off (as the test configuration sets):
    // the installation does not check completion times nor clients, and neither do the flags.
    let fx = Fixture::with(false).await;
    let mut visits = Vec::new();
    for (k, unit) in [XUAN_BAC, GIA_RAY, BAO_HOA].into_iter().enumerate() {
        let mut v = fx.visit(unit, vn(24, 10, 5 * k as u32), 77 + k as u64);
        v.client = Some(9);
        v.took = Some(1);
        visits.push(v);
    }
    let ids = fx.insert_all(&visits).await;
    fx.fold().await;
    for id in ids {
        assert!(fx.reasons(id).await.is_empty(), "{id}");
    }
    // The other signals still hold.
    let mut kiosk = fx.visit(XUAN_BAC, vn(24, 23, 0), 90);
    kiosk.channel = "kiosk";
    let kiosk = fx.insert(&kiosk).await;
    fx.fold().await;
    assert_eq!(fx.reasons(kiosk).await, ["outside_hours:strong"]);
}

/// The responses a desk burst covers, by the signal's definition, straight from `responses`
/// (every online response of the desk; no table the detection keeps): a window of 10 minutes
/// starting at a response of the desk is dense when it holds at least max(min, ceil(ratio x
/// usual x 10 / 300)) of its responses, usual being the greater of (the 28 days before the
/// start's day) / 20 and the start's own day; a response is covered when a dense window
/// starting at most 10 minutes before it holds it.
async fn bursts_by_definition(db: &tokio_postgres::Client, min: i64, ratio: f64) -> Vec<i64> {
    ids(
        db,
        "WITH online AS (
             SELECT id, desk_id, submitted_at,
                    (submitted_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date AS day
             FROM responses WHERE desk_id IS NOT NULL AND channel <> 'paper'
         ),
         per_day AS (SELECT desk_id, day, count(*) AS n FROM online GROUP BY 1, 2),
         starts AS (
             SELECT s.desk_id, s.submitted_at,
                    (SELECT count(*) FROM online x
                     WHERE x.desk_id = s.desk_id AND x.submitted_at >= s.submitted_at
                       AND x.submitted_at <= s.submitted_at + interval '10 minutes') AS n_window,
                    greatest($1::int8, ceil($2::float8 * greatest(
                        coalesce((SELECT sum(p.n) FROM per_day p
                                  WHERE p.desk_id = s.desk_id AND p.day >= s.day - 28
                                    AND p.day < s.day), 0) / 20.0,
                        (SELECT p.n FROM per_day p
                         WHERE p.desk_id = s.desk_id AND p.day = s.day)) * 10 / 300.0)::int8)
                        AS threshold
             FROM online s
         )
         SELECT r.id FROM online r
         WHERE EXISTS (SELECT 1 FROM starts s
                       WHERE s.desk_id = r.desk_id AND s.n_window >= s.threshold
                         AND s.submitted_at >= r.submitted_at - interval '10 minutes'
                         AND s.submitted_at <= r.submitted_at)
         ORDER BY r.id",
        &[&min, &ratio],
    )
    .await
}

/// The first column (ids) of the rows of `sql`.
async fn ids(
    db: &tokio_postgres::Client,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Vec<i64> {
    db.query(sql, params)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

#[tokio::test]
async fn desk_bursts_are_flagged_by_their_definition_fold_after_fold() {
    let fx = Fixture::new().await;
    // Thresholds that make the usual rate count: max(3, ceil(usual / 6)).
    fx.db
        .batch_execute("UPDATE fraud_rules SET desk_burst_min = 3, desk_burst_ratio = 5")
        .await
        .unwrap();
    // Three desks, a week of history (Tuesday to Thursday, spread over the working day),
    // then Monday and Tuesday with crowds: two crowds of 2 to 31 responses over 25 minutes
    // at random times of the morning, among scattered ones. One fold per day (the day's
    // count is the day's own usual rate: complete when the day is folded).
    let mut x: u64 = 20_261_127;
    let mut random = |n: u64| {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (x >> 33) % n
    };
    let mut seed = 9000;
    let mut examined = 0;
    for day in [17, 18, 19, 23, 24] {
        let mut visits = Vec::new();
        for unit in [XUAN_DINH, BAO_HOA, GIA_RAY] {
            let scattered = if day < 23 { 250 + random(100) } else { 10 };
            for _ in 0..scattered {
                let minute = 7 * 60 + 30 + random(9 * 60) as u32;
                visits.push((unit, vn(day, minute / 60, minute % 60)));
            }
            if day >= 23 {
                for _ in 0..2 {
                    let center = 8 * 60 + random(3 * 60) as u32;
                    for _ in 0..2 + random(30) {
                        // Whole minutes (many responses exactly a window apart), spread over
                        // more than a window (windows cut through the crowd).
                        let at = vn(day, center / 60, center % 60)
                            + Duration::minutes(random(25) as i64 - 12);
                        visits.push((unit, at));
                    }
                }
            }
        }
        // Responses arrive in the order they are sent.
        visits.sort_by_key(|(_, at)| *at);
        let visits: Vec<Visit> = visits
            .into_iter()
            .map(|(unit, at)| {
                seed += 1;
                let mut v = fx.visit(unit, at, seed);
                v.client = None;
                v
            })
            .collect();
        examined += fx.insert_all(&visits).await.len();
        fx.fold().await;
    }
    let flagged = ids(
        &fx.db,
        "SELECT response_id FROM response_flags WHERE reason = 'burst_desk' ORDER BY 1",
        &[],
    )
    .await;
    let wanted = bursts_by_definition(&fx.db, 3, 5.0).await;
    assert_eq!(flagged, wanted);
    // Neither nothing nor everything: the thresholds cut through the crowds.
    assert!(
        !wanted.is_empty() && wanted.len() < examined / 2,
        "{} of {examined} flagged",
        wanted.len()
    );
    assert_eq!(desk_days_are_counted(&fx.db).await, 15);
}

#[tokio::test]
async fn identical_answers_split_across_folds_are_one_run() {
    let fx = Fixture::new().await;
    // Three phones at Gia Ray with the same varied answers, 10 minutes apart, and three paper
    // ballots at Bảo Hòa entered the same way, all with a fold after each: every fold sees
    // one response of the run, and the ones before it as context. Then one phone twice.
    let online = fx.varied(777);
    let paper = fx.varied(778);
    let mut ids = Vec::new();
    for k in 0..3u32 {
        let mut v = fx.visit(GIA_RAY, vn(24, 9, 10 * k), 800 + u64::from(k));
        v.client = Some(200 + k as u8);
        v.answers = online.clone();
        ids.push(fx.insert(&v).await);
        fx.fold().await;
        let mut ballot = fx.visit(BAO_HOA, vn(24, 0, 0), 900 + u64::from(k));
        ballot.client = None;
        ballot.took = None;
        ballot.channel = "paper";
        ballot.answers = paper.clone();
        ids.push(fx.insert(&ballot).await);
        fx.fold().await;
    }
    // One phone sends the same answers twice, at two desks, a fold apart: a run of its own.
    let twice = fx.varied(779);
    for (k, unit) in [XUAN_BAC, XUAN_DINH].into_iter().enumerate() {
        let mut v = fx.visit(unit, vn(24, 14, 20 * k as u32), 990 + k as u64);
        v.client = Some(250);
        v.answers = twice.clone();
        ids.push(fx.insert(&v).await);
        fx.fold().await;
    }
    for id in ids {
        let reasons = fx.reasons(id).await;
        assert!(
            reasons.contains(&"identical_run:strong".to_string()),
            "response {id}: {reasons:?}"
        );
    }
}

async fn post_rules(admin: &common::StaffClient, form: &[(String, String)]) -> reqwest::Response {
    let fields: Vec<(&str, &str)> = form.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    admin.post("/staff/flags/rules", &fields).await
}

/// Admins set the thresholds on "Ngưỡng phát hiện" (others: 404); a value out of bounds is
/// refused field by field with nothing changed; a saved change is in the audit log (before and
/// after) and judges the responses examined afterwards, not those flagged before.
#[tokio::test]
async fn admins_set_the_thresholds_and_later_responses_are_judged_by_them() {
    let fx = Fixture::new().await;
    let admin = fx.app.staff_with_role("qt.admin", "admin", &[]).await;
    let unit = fx
        .app
        .staff_with_role("can.bo.bac", "unit", &[XUAN_BAC])
        .await;
    let page = admin.get("/staff/flags/rules").await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    for (name, value) in [
        ("desk_burst_minutes", "10"),
        ("desk_burst_ratio", "5"),
        ("client_burst_min", "3"),
        ("min_seconds_per_item", "0,5"),
    ] {
        assert!(
            html.contains(&format!("name=\"{name}\" value=\"{value}\"")),
            "{name}: {html}"
        );
    }
    assert_eq!(unit.get("/staff/flags/rules").await.status(), 404);
    assert_eq!(
        unit.post("/staff/flags/rules", &[("client_burst_min", "2")])
            .await
            .status(),
        404
    );

    // The stored values, as the page sends them back, with changes.
    let mut form: Vec<(String, String)> = [
        "desk_burst_minutes",
        "desk_burst_min",
        "desk_burst_ratio",
        "client_burst_minutes",
        "client_burst_min",
        "identical_run_desk",
        "identical_run_client",
        "identical_min_items",
        "straight_min_criteria",
        "min_seconds_base",
        "min_seconds_per_item",
        "hours_grace_before_minutes",
        "hours_grace_after_minutes",
    ]
    .iter()
    // (`hidden_field` reads any input's `name="…" value="…"`.)
    .map(|name| (name.to_string(), common::hidden_field(&html, name)))
    .collect();
    let set = |form: &mut Vec<(String, String)>, name: &str, value: &str| {
        form.iter_mut().find(|(n, _)| n == name).unwrap().1 = value.to_string();
    };
    set(&mut form, "client_burst_min", "1");
    set(&mut form, "desk_burst_ratio", "nhiều");
    set(&mut form, "min_seconds_per_item", "0,75");
    let refused = post_rules(&admin, &form).await;
    assert_eq!(refused.status(), 422);
    let html = refused.text().await.unwrap();
    assert!(
        html.contains("Từ ít nhất: vui lòng nhập một số nguyên từ 2 đến 1000 (phiếu)."),
        "{html}"
    );
    assert!(
        html.contains("Và ít nhất gấp: vui lòng nhập một số từ 1 đến 100"),
        "{html}"
    );
    assert!(
        html.contains("name=\"desk_burst_ratio\" value=\"nhiều\""),
        "the typed value is kept"
    );
    assert_eq!(
        fx.count("SELECT client_burst_min::int8 FROM fraud_rules")
            .await,
        3
    );
    assert_eq!(
        fx.count("SELECT count(*) FROM audit_log WHERE action = 'fraud_rules.update'")
            .await,
        0
    );

    // A phone's second response within the hour: not a burst under the default (3).
    let mut first = fx.visit(XUAN_BAC, vn(23, 9, 0), 31);
    first.client = Some(201);
    let mut second = fx.visit(XUAN_BAC, vn(23, 9, 20), 32);
    second.client = Some(201);
    let before = fx.insert_all(&[first, second]).await;
    fx.fold().await;
    for id in &before {
        assert!(
            !fx.reasons(*id)
                .await
                .iter()
                .any(|r| r.starts_with("burst_client"))
        );
    }

    set(&mut form, "client_burst_min", "2");
    set(&mut form, "desk_burst_ratio", "4,5");
    let saved = post_rules(&admin, &form).await;
    assert_eq!(saved.status(), 303);
    assert_eq!(saved.headers()["location"], "/staff/flags/rules?ok=saved");
    let row = fx
        .db
        .query_one(
            "SELECT client_burst_min, desk_burst_ratio, min_seconds_per_item FROM fraud_rules",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, i32>(0), 2);
    assert_eq!(row.get::<_, f64>(1), 4.5);
    assert_eq!(row.get::<_, f64>(2), 0.75);
    let audit = fx
        .db
        .query_one(
            "SELECT (before->>'client_burst_min')::int, (after->>'client_burst_min')::int, a.username \
             FROM audit_log l JOIN accounts a ON a.id = l.account_id WHERE l.action = 'fraud_rules.update'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(
        (
            audit.get::<_, i32>(0),
            audit.get::<_, i32>(1),
            audit.get::<_, String>(2)
        ),
        (3, 2, "qt.admin".to_string())
    );
    let html = admin
        .get("/staff/flags/rules?ok=saved")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Đã lưu ngưỡng phát hiện."));
    assert!(
        html.contains("name=\"desk_burst_ratio\" value=\"4,5\""),
        "{html}"
    );

    // Another phone's second response, examined after the change: a burst now; the first
    // phone's, flagged or not before, stay as they were.
    let mut third = fx.visit(XUAN_BAC, vn(23, 10, 0), 33);
    third.client = Some(202);
    let mut fourth = fx.visit(XUAN_BAC, vn(23, 10, 20), 34);
    fourth.client = Some(202);
    let after = fx.insert_all(&[third, fourth]).await;
    fx.fold().await;
    for id in &after {
        assert!(
            fx.reasons(*id)
                .await
                .contains(&"burst_client:strong".to_string()),
            "{id}"
        );
    }
    for id in &before {
        assert!(
            !fx.reasons(*id)
                .await
                .iter()
                .any(|r| r.starts_with("burst_client"))
        );
    }
}
