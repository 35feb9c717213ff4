//! The data side of the statistics against a real PostgreSQL: the rollups (rebuild and
//! incremental refresh, including a response that commits after one with a higher id), the
//! statistics query, the synthetic responses of `sipas demo`, and the server's background
//! refresh.
//!
//! The expected figures are computed here independently of the rollup SQL: the responses are
//! read back and counted in Rust (days in Vietnam's time with chrono, scores with
//! `sipas::stats::respondent_score`).

use crate::common;

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use common::{TestApp, TestDatabase, full_answers, test_config, with_hidden};
use sipas::db::rollup::{self, Outcome};
use sipas::db::stats::{self, Grain, StatsFilter, UnitFigures};
use sipas::forms::{FormRegistry, ItemKind, SectionRole};
use sipas::startup::Services;

const FORM: &str = "sipas-1001-dich-vu";
const QUICK_FORM: &str = "danh-gia-mot-cua";

/// A migrated database with the forms and the demo district, and no server (so that no
/// background refresh folds behind the test's back).
struct Fixture {
    services: Services,
    database: TestDatabase,
}

impl Fixture {
    async fn new() -> Self {
        let database = TestDatabase::create().await;
        let services = Services::open(test_config(&database.url))
            .await
            .expect("the service starts");
        let mut conn = services.database.pool.get().await.unwrap();
        sipas::demo::seed(&mut conn).await.unwrap();
        drop(conn);
        Fixture { services, database }
    }

    async fn conn(&self) -> sipas::db::Connection {
        self.services.database.pool.get().await.unwrap()
    }

    async fn sql(&self) -> tokio_postgres::Client {
        common::connect(&self.database.url).await
    }

    async fn generate(&self, seed: i64, first: u64, count: u64, from: NaiveDate, to: NaiveDate) {
        let mut conn = self.conn().await;
        let generated = sipas::demo::generate_responses(
            &mut conn,
            &self.services.forms,
            &sipas::demo::ResponseSpec {
                seed,
                count,
                first,
                from,
                to,
            },
        )
        .await
        .unwrap();
        assert_eq!(generated.inserted + generated.already_there, count);
    }

    async fn unit_id(&self, code: &str) -> i32 {
        self.sql()
            .await
            .query_one("SELECT id FROM units WHERE code = $1", &[&code])
            .await
            .unwrap()
            .get(0)
    }

    async fn version_id(&self, form: &str) -> i32 {
        self.services.forms.current(form).unwrap().id
    }

    /// Inserts a response straight into the table (channel `qr` unless given), returns its id.
    async fn insert(
        &self,
        unit_code: &str,
        form: &str,
        at: DateTime<FixedOffset>,
        answers: &[Option<i16>],
        channel: &str,
    ) -> i64 {
        let unit_id = self.unit_id(unit_code).await;
        let version = self.version_id(form).await;
        insert_with(&self.sql().await, unit_id, version, at, answers, channel).await
    }
}

async fn insert_with(
    sql: &impl tokio_postgres::GenericClient,
    unit_id: i32,
    version: i32,
    at: DateTime<FixedOffset>,
    answers: &[Option<i16>],
    channel: &str,
) -> i64 {
    sql.query_one(
        "INSERT INTO responses (submission_key, unit_id, form_version_id, channel, submitted_at, answers) \
         VALUES (gen_random_uuid(), $1, $2, $3, $4::text::timestamptz, $5) RETURNING id",
        &[&unit_id, &version, &channel, &at.to_rfc3339(), &answers],
    )
    .await
    .unwrap()
    .get(0)
}

fn vietnam() -> FixedOffset {
    FixedOffset::east_opt(7 * 3600).unwrap()
}

fn vn(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<FixedOffset> {
    NaiveDate::from_ymd_opt(y, m, d)
        .unwrap()
        .and_hms_opt(h, min, 0)
        .unwrap()
        .and_local_timezone(vietnam())
        .unwrap()
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// Answers of the QĐ 1001 form: 16 criteria with `score`, PA1..PA3 as given, nothing else.
fn sipas_answers(score: i16, pa: [Option<i16>; 3]) -> Vec<Option<i16>> {
    let mut answers = vec![Some(score); 16];
    answers.extend(pa);
    answers.extend(std::iter::repeat_n(None, 8 + 7));
    answers
}

fn filter(from: NaiveDate, to: NaiveDate) -> StatsFilter {
    StatsFilter {
        form_id: FORM.to_string(),
        from,
        to,
        units: None,
        channel: None,
    }
}

/// Per unit: responses, score moments, and answers per (item code, value).
#[derive(Debug, Clone, PartialEq, Default)]
struct Expected {
    responses: u64,
    score_n: u64,
    score_sum: f64,
    score_sum_sq: f64,
    answers: BTreeMap<(String, i16), u64>,
}

/// The criteria structure of a form version, for `respondent_score`: for each answer index
/// (0-based), `Some((criterion position, positive codes))`, and the factor of each criterion
/// and the factor sizes.
struct Criteria {
    by_index: Vec<Option<(usize, Vec<i16>)>>,
    factor_of: Vec<usize>,
    factor_sizes: Vec<usize>,
    codes: Vec<String>,
}

fn criteria(forms: &FormRegistry, version_id: i32) -> Criteria {
    let version = forms.version(version_id).expect("a known form version");
    let form = &version.form;
    let mut by_index = Vec::new();
    let mut factor_of = Vec::new();
    let mut factor_sizes = Vec::new();
    let mut codes = Vec::new();
    for section in &form.sections {
        let is_factor =
            section.role == SectionRole::Factor && section.items.iter().any(|i| i.is_choice());
        if is_factor {
            factor_sizes.push(0);
        }
        for item in &section.items {
            let ItemKind::Choice { scale, .. } = &item.kind else {
                continue;
            };
            codes.push(item.code.clone());
            if is_factor {
                let factor = factor_sizes.len() - 1;
                factor_sizes[factor] += 1;
                by_index.push(Some((
                    factor_of.len(),
                    form.scale(scale).unwrap().positive.clone(),
                )));
                factor_of.push(factor);
            } else {
                by_index.push(None);
            }
        }
    }
    Criteria {
        by_index,
        factor_of,
        factor_sizes,
        codes,
    }
}

/// The rule of the official figures (issue 6, fraud signals), straight from the flags: a
/// response counts unless an admin excluded it, or, without an admin's decision, one of its
/// signals is strong or two different weak signals other than straight-lining coincide.
const COUNTED: &str = "NOT coalesce( \
     (SELECT v.decision = 'exclude' FROM response_reviews v \
      WHERE v.response_id = r.id AND v.decision IS NOT NULL), \
     EXISTS (SELECT 1 FROM response_flags f WHERE f.response_id = r.id AND f.severity = 'strong') \
     OR (SELECT count(DISTINCT f.reason) FROM response_flags f \
         WHERE f.response_id = r.id AND f.severity = 'weak' AND f.reason <> 'straight_line') >= 2)";

/// The figures of `filter`, counted in Rust from the responses themselves.
async fn expected(fx: &Fixture, filter: &StatsFilter) -> BTreeMap<i32, Expected> {
    let rows = fx
        .sql()
        .await
        .query(
            &format!(
                "SELECT r.unit_id, r.form_version_id, r.channel, \
                    (extract(epoch FROM r.submitted_at) * 1000000)::int8, r.answers \
             FROM responses r JOIN form_versions fv ON fv.id = r.form_version_id \
             WHERE fv.form_id = $1 AND {COUNTED}"
            ),
            &[&filter.form_id],
        )
        .await
        .unwrap();
    let mut structures: HashMap<i32, Criteria> = HashMap::new();
    let mut out: BTreeMap<i32, Expected> = BTreeMap::new();
    for row in rows {
        let unit_id: i32 = row.get(0);
        let version: i32 = row.get(1);
        let channel: String = row.get(2);
        let at = DateTime::<Utc>::from_timestamp_micros(row.get(3)).unwrap();
        let answers: Vec<Option<i16>> = row.get(4);
        let day = at.with_timezone(&vietnam()).date_naive();
        if day < filter.from || day > filter.to {
            continue;
        }
        if let Some(units) = &filter.units
            && !units.contains(&unit_id)
        {
            continue;
        }
        if let Some(wanted) = &filter.channel
            && *wanted != channel
        {
            continue;
        }
        let structure = structures
            .entry(version)
            .or_insert_with(|| criteria(&fx.services.forms, version));
        let unit = out.entry(unit_id).or_default();
        unit.responses += 1;
        let mut valid: Vec<Option<bool>> = vec![None; structure.factor_of.len()];
        for (i, answer) in answers.iter().enumerate() {
            let Some(value) = answer else { continue };
            *unit
                .answers
                .entry((structure.codes[i].clone(), *value))
                .or_default() += 1;
            if let Some((c, positive)) = &structure.by_index[i]
                && *value != 0
            {
                valid[*c] = Some(positive.contains(value));
            }
        }
        if let Some(s) =
            sipas::stats::respondent_score(&valid, &structure.factor_of, &structure.factor_sizes)
        {
            unit.score_n += 1;
            unit.score_sum += s;
            unit.score_sum_sq += s * s;
        }
    }
    out
}

/// Asserts that the statistics query gives exactly the figures counted from the responses.
fn assert_same(label: &str, got: &[UnitFigures], want: &BTreeMap<i32, Expected>) {
    let got_units: Vec<i32> = got.iter().map(|u| u.unit_id).collect();
    let want_units: Vec<i32> = want.keys().copied().collect();
    assert_eq!(got_units, want_units, "{label}: units");
    for unit in got {
        let w = &want[&unit.unit_id];
        assert_eq!(
            unit.responses, w.responses,
            "{label}: unit {}",
            unit.unit_id
        );
        assert_eq!(unit.score_n, w.score_n, "{label}: unit {}", unit.unit_id);
        assert!(
            (unit.score_sum - w.score_sum).abs() < 1e-7,
            "{label}: unit {} score sum {} vs {}",
            unit.unit_id,
            unit.score_sum,
            w.score_sum
        );
        assert!(
            (unit.score_sum_sq - w.score_sum_sq).abs() < 1e-7,
            "{label}: unit {} score sum of squares",
            unit.unit_id
        );
        let answers: BTreeMap<(String, i16), u64> = unit
            .answers
            .iter()
            .map(|a| ((a.item_code.clone(), a.value), a.n))
            .collect();
        assert_eq!(answers, w.answers, "{label}: unit {} answers", unit.unit_id);
    }
}

/// Several filters: the whole year, the days at the turn of the year, ranges cutting months,
/// a subset of units, one channel.
async fn check_filters(fx: &Fixture, label: &str) {
    let xuan_tam = fx.unit_id("xuan-loc.xuan-tam").await;
    let gia_ray = fx.unit_id("xuan-loc.gia-ray").await;
    let mut filters = vec![
        filter(day(2025, 1, 1), day(2025, 12, 31)),
        filter(day(2025, 12, 31), day(2025, 12, 31)),
        filter(day(2026, 1, 1), day(2026, 1, 1)),
        filter(day(2025, 12, 30), day(2026, 1, 2)),
        filter(day(2025, 3, 15), day(2025, 5, 10)),
        filter(day(2025, 2, 1), day(2025, 2, 28)),
        filter(day(2025, 2, 2), day(2025, 2, 27)),
        filter(day(2024, 1, 1), day(2026, 12, 31)),
    ];
    let mut subset = filter(day(2025, 1, 1), day(2025, 12, 31));
    subset.units = Some(vec![xuan_tam, gia_ray]);
    filters.push(subset);
    let mut paper = filter(day(2025, 1, 10), day(2025, 11, 20));
    paper.channel = Some("paper".into());
    filters.push(paper);
    let mut quick = filter(day(2025, 1, 1), day(2025, 12, 31));
    quick.form_id = QUICK_FORM.into();
    filters.push(quick);
    let mut conn = fx.conn().await;
    for f in &filters {
        let got = stats::read_unit_figures(&mut conn, f).await.unwrap();
        let want = expected(fx, f).await;
        assert!(
            !want.is_empty() || f.from > day(2025, 12, 31),
            "{label}: the filter {f:?} finds responses"
        );
        assert_same(&format!("{label}, {f:?}"), &got, &want);
    }
}

/// The responses at the turn of the year: 23:30 on 31 December in Vietnam is 16:30 UTC, still
/// 31 December; 00:10 on 1 January is 17:10 UTC on 31 December, already 1 January.
async fn insert_year_edges(fx: &Fixture) -> (i64, i64) {
    let late = fx
        .insert(
            "xuan-loc.xuan-bac",
            FORM,
            vn(2025, 12, 31, 23, 30),
            &sipas_answers(5, [Some(0), None, Some(2)]),
            "qr",
        )
        .await;
    let early = fx
        .insert(
            "xuan-loc.xuan-bac",
            FORM,
            vn(2026, 1, 1, 0, 10),
            &sipas_answers(2, [None, None, None]),
            "web",
        )
        .await;
    (late, early)
}

#[tokio::test]
async fn the_rollups_equal_the_responses_after_rebuild_and_after_incremental_refreshes() {
    let fx = Fixture::new().await;
    fx.generate(5, 0, 3000, day(2025, 1, 1), day(2025, 12, 31))
        .await;
    insert_year_edges(&fx).await;
    let mut conn = fx.conn().await;
    let report = rollup::rebuild(&mut conn).await.unwrap();
    assert_eq!(report.outcome, Outcome::Done);
    assert_eq!(report.responses, 3002);
    check_filters(&fx, "after rebuild").await;

    // More responses, folded incrementally (twice, with more in between), including some in
    // days and months the rollups already have.
    fx.generate(5, 3000, 1500, day(2025, 1, 1), day(2025, 12, 31))
        .await;
    let report = rollup::refresh(&mut conn).await.unwrap();
    assert_eq!(report.outcome, Outcome::Done);
    assert_eq!(report.responses, 1500);
    assert_eq!(report.from_id, 3002);
    fx.generate(6, 0, 700, day(2025, 12, 1), day(2026, 1, 31))
        .await;
    insert_year_edges(&fx).await;
    let report = rollup::refresh(&mut conn).await.unwrap();
    assert_eq!(report.responses, 702);
    check_filters(&fx, "after incremental refreshes").await;

    // Nothing new: a refresh folds nothing and leaves the watermark.
    let again = rollup::refresh(&mut conn).await.unwrap();
    assert_eq!((again.responses, again.outcome), (0, Outcome::Done));
    assert_eq!(again.to_id, report.to_id);

    // The incremental rollups are exactly what a rebuild makes.
    let snapshot = rollup_tables(&fx).await;
    let rebuilt = rollup::rebuild(&mut conn).await.unwrap();
    assert_eq!(rebuilt.responses, 3002 + 1500 + 702);
    assert_eq!(rollup_tables(&fx).await, snapshot);
}

/// Every row of the rollup tables (those by respondent attribute too), as text, sorted.
async fn rollup_tables(fx: &Fixture) -> Vec<String> {
    let mut rows: Vec<String> = fx
        .sql()
        .await
        .query(
            "SELECT 'a ' || t::text FROM rollup_answers t \
             UNION ALL SELECT 'am ' || t::text FROM rollup_answers_month t \
             UNION ALL SELECT 'amt ' || t::text FROM rollup_answers_month_total t \
             UNION ALL SELECT 'r ' || unit_id || ' ' || form_version_id || ' ' || day || ' ' || channel \
                 || ' ' || responses || ' ' || score_n || ' ' || round(score_sum::numeric, 9) \
                 || ' ' || round(score_sum_sq::numeric, 9) FROM rollup_responses \
             UNION ALL SELECT 'rm ' || unit_id || ' ' || form_version_id || ' ' || month || ' ' || channel \
                 || ' ' || responses || ' ' || score_n || ' ' || round(score_sum::numeric, 9) \
                 || ' ' || round(score_sum_sq::numeric, 9) FROM rollup_responses_month \
             UNION ALL SELECT 'aam ' || t::text FROM rollup_attribute_answers_month t \
             UNION ALL SELECT 'arm ' || unit_id || ' ' || form_version_id || ' ' || month || ' ' \
                 || channel || ' ' || attribute_index || ' ' || attribute_value || ' ' \
                 || responses || ' ' || score_n || ' ' || round(score_sum::numeric, 9) \
                 || ' ' || round(score_sum_sq::numeric, 9) FROM rollup_attribute_responses_month",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    rows.sort();
    assert!(!rows.is_empty());
    rows
}

/// The statistics' reads filter optionally (`$6 IS NULL OR unit_id = ANY ($6)`). A statement
/// kept prepared on a connection would switch to a generic plan after five executions, and for
/// these filters that plan guesses a handful of rows: in psql (`PREPARE`, then `EXECUTE` under
/// `plan_cache_mode = force_generic_plan`) a province's overview read took 0.9 to 1.0 s
/// instead of 0.17 s (issue 19). The service relies on diesel-async preparing `sql_query`
/// statements afresh at each execution (diesel marks them unsafe to cache), so each is planned
/// for its own parameters: after eight reads on one pooled connection, none of the reads is
/// still prepared. If an upgrade started caching them, this fails first.
#[tokio::test]
async fn the_statistics_reads_are_planned_afresh_for_their_own_parameters() {
    use diesel::QueryableByName;
    use diesel::sql_types::Text;
    use diesel_async::RunQueryDsl;
    #[derive(QueryableByName, Debug)]
    struct Prepared {
        #[diesel(sql_type = Text)]
        statement: String,
    }
    let fx = Fixture::new().await;
    fx.generate(7, 0, 300, day(2025, 1, 1), day(2025, 12, 31))
        .await;
    let mut conn = fx.conn().await;
    rollup::rebuild(&mut conn).await.unwrap();
    let whole_year = filter(day(2025, 1, 1), day(2025, 12, 31));
    let first = stats::unit_figures(&mut conn, &whole_year).await.unwrap();
    assert!(first.iter().map(|f| f.responses).sum::<u64>() > 0);
    for _ in 1..8 {
        let again = stats::unit_figures(&mut conn, &whole_year).await.unwrap();
        assert_eq!(again, first);
    }
    let prepared: Vec<Prepared> = diesel::sql_query("SELECT statement FROM pg_prepared_statements")
        .load(&mut conn)
        .await
        .unwrap();
    assert!(
        prepared.iter().any(|p| p.statement.starts_with("SELECT")),
        "the connection keeps diesel's own statements prepared: {prepared:#?}"
    );
    let kept: Vec<&Prepared> = prepared
        .iter()
        .filter(|p| {
            p.statement.starts_with("-- Answers per unit")
                || p.statement.starts_with("-- Responses and moments")
        })
        .collect();
    assert!(kept.is_empty(), "statistics reads kept prepared: {kept:#?}");
}

#[tokio::test]
async fn a_day_is_a_day_in_vietnam_and_not_applicable_counts_as_zero() {
    let fx = Fixture::new().await;
    let (late, early) = insert_year_edges(&fx).await;
    assert!(early > late);
    let mut conn = fx.conn().await;
    let xuan_bac = fx.unit_id("xuan-loc.xuan-bac").await;

    let dec31 = stats::unit_figures(&mut conn, &filter(day(2025, 12, 31), day(2025, 12, 31)))
        .await
        .unwrap();
    assert_eq!(dec31.len(), 1);
    let unit = &dec31[0];
    assert_eq!((unit.unit_id, unit.responses), (xuan_bac, 1));
    assert_eq!(unit.counts("TC1"), vec![(5, 1)]);
    // PA1 "not applicable" is value 0, PA2 unanswered is not counted, PA3 answered 2.
    assert_eq!(unit.not_applicable("PA1"), 1);
    assert!(unit.counts("PA1").is_empty());
    assert!(unit.answers.iter().all(|a| a.item_code != "PA2"));
    assert_eq!(unit.counts("PA3"), vec![(2, 1)]);
    assert!(unit.answers.iter().all(|a| a.item_code != "MD1"));
    // Score: 16 criteria satisfied (weights 4/5 of the whole), PA3 not satisfied (1/15):
    // s = (4/5) / (4/5 + 1/15) = 12/13.
    assert_eq!(unit.score_n, 1);
    assert!(
        (unit.score_sum - 12.0 / 13.0).abs() < 1e-12,
        "{}",
        unit.score_sum
    );

    let jan1 = stats::unit_figures(&mut conn, &filter(day(2026, 1, 1), day(2026, 1, 1)))
        .await
        .unwrap();
    assert_eq!(jan1.len(), 1);
    assert_eq!(jan1[0].counts("TC1"), vec![(2, 1)]);
    assert_eq!(jan1[0].score_n, 1);
    assert_eq!(jan1[0].score_sum, 0.0);

    // Months and quarters: December 2025 and January 2026.
    let months = stats::unit_figures_by_period(
        &mut conn,
        &filter(day(2025, 12, 15), day(2026, 1, 15)),
        Grain::Month,
    )
    .await
    .unwrap();
    let starts: Vec<NaiveDate> = months.iter().map(|p| p.start).collect();
    assert_eq!(starts, vec![day(2025, 12, 1), day(2026, 1, 1)]);
    assert_eq!(months[0].units[0].counts("TC1"), vec![(5, 1)]);
    assert_eq!(months[1].units[0].counts("TC1"), vec![(2, 1)]);
    let quarters = stats::unit_figures_by_period(
        &mut conn,
        &filter(day(2025, 1, 1), day(2026, 12, 31)),
        Grain::Quarter,
    )
    .await
    .unwrap();
    let starts: Vec<NaiveDate> = quarters.iter().map(|p| p.start).collect();
    assert_eq!(starts, vec![day(2025, 10, 1), day(2026, 1, 1)]);

    // A response with no valid criterion counts as a response without a score.
    fx.insert(
        "xuan-loc.xuan-bac",
        FORM,
        vn(2025, 12, 31, 9, 0),
        &sipas_answers(0, [Some(0), Some(0), None])
            .into_iter()
            .enumerate()
            .map(|(i, a)| if i < 16 { None } else { a })
            .collect::<Vec<_>>(),
        "qr",
    )
    .await;
    let dec31 = stats::unit_figures(&mut conn, &filter(day(2025, 12, 31), day(2025, 12, 31)))
        .await
        .unwrap();
    assert_eq!(dec31[0].responses, 2);
    assert_eq!(dec31[0].score_n, 1);
    assert_eq!(dec31[0].not_applicable("PA1"), 2);
}

#[tokio::test]
async fn a_response_that_commits_after_a_higher_id_is_not_lost() {
    let fx = Fixture::new().await;
    let mut conn = fx.conn().await;
    let xuan_bac = fx.unit_id("xuan-loc.xuan-bac").await;
    let version = fx.version_id(FORM).await;

    // Transaction A takes an id and stays open; B takes the next id and commits.
    let mut slow = fx.sql().await;
    let a = slow.transaction().await.unwrap();
    let id_a = insert_with(
        &a,
        xuan_bac,
        version,
        vn(2025, 6, 2, 9, 0),
        &sipas_answers(4, [None; 3]),
        "qr",
    )
    .await;
    let id_b = fx
        .insert(
            "xuan-loc.xuan-bac",
            FORM,
            vn(2025, 6, 2, 10, 0),
            &sipas_answers(5, [None; 3]),
            "qr",
        )
        .await;
    assert!(id_b > id_a);

    // B is visible, A is not: a refresh must not move the watermark past A.
    let report = rollup::refresh_waiting(&mut conn, Duration::from_millis(300))
        .await
        .unwrap();
    assert!(
        matches!(report.outcome, Outcome::WaitingForWriters(ref w) if !w.is_empty()),
        "{report:?}"
    );
    assert_eq!(report.responses, 0);
    assert!(rollup::state(&mut conn).await.unwrap().last_response_id < id_a);
    // The statistics query does not hang meanwhile: it reads the rollups as they are.
    let started = Instant::now();
    let june = filter(day(2025, 6, 1), day(2025, 6, 30));
    assert!(
        stats::unit_figures(&mut conn, &june)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(started.elapsed() < Duration::from_secs(2));

    // A refresh that is waiting when A commits folds both.
    let pool = fx.services.database.pool.clone();
    let waiting = tokio::spawn(async move {
        let mut conn = pool.get().await.unwrap();
        rollup::refresh_waiting(&mut conn, Duration::from_secs(30))
            .await
            .unwrap()
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    a.commit().await.unwrap();
    let report = waiting.await.unwrap();
    assert_eq!(report.outcome, Outcome::Done);
    assert_eq!(report.responses, 2);
    assert_eq!(report.to_id, id_b);
    let figures = stats::unit_figures(&mut conn, &june).await.unwrap();
    assert_eq!(figures[0].responses, 2);
    assert_eq!(figures[0].counts("TC1"), vec![(4, 1), (5, 1)]);

    // A transaction that rolls back leaves a hole in the ids: nothing waits for it afterwards.
    let c = slow.transaction().await.unwrap();
    insert_with(
        &c,
        xuan_bac,
        version,
        vn(2025, 6, 3, 9, 0),
        &sipas_answers(1, [None; 3]),
        "qr",
    )
    .await;
    c.rollback().await.unwrap();
    fx.insert(
        "xuan-loc.xuan-bac",
        FORM,
        vn(2025, 6, 3, 10, 0),
        &sipas_answers(3, [None; 3]),
        "qr",
    )
    .await;
    let report = rollup::refresh(&mut conn).await.unwrap();
    assert_eq!((report.outcome, report.responses), (Outcome::Done, 1));
    assert_same(
        "after a rollback",
        &stats::read_unit_figures(&mut conn, &june).await.unwrap(),
        &expected(&fx, &june).await,
    );
}

#[tokio::test]
async fn a_refresh_returns_at_once_while_another_session_refreshes() {
    let fx = Fixture::new().await;
    let mut conn = fx.conn().await;
    fx.insert(
        "xuan-loc.gia-ray",
        FORM,
        vn(2025, 4, 1, 8, 0),
        &sipas_answers(4, [None; 3]),
        "qr",
    )
    .await;
    let other = fx.sql().await;
    other
        .execute("SELECT pg_advisory_lock($1)", &[&rollup::ROLLUP_LOCK])
        .await
        .unwrap();
    let started = Instant::now();
    let report = rollup::refresh(&mut conn).await.unwrap();
    assert_eq!(report.outcome, Outcome::Busy);
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(rollup::state(&mut conn).await.unwrap().last_response_id, 0);
    other
        .execute("SELECT pg_advisory_unlock($1)", &[&rollup::ROLLUP_LOCK])
        .await
        .unwrap();
    let report = rollup::refresh(&mut conn).await.unwrap();
    assert_eq!((report.outcome, report.responses), (Outcome::Done, 1));
}

#[tokio::test]
async fn versions_of_a_form_add_up_by_item_code() {
    let fx = Fixture::new().await;
    let sql = fx.sql().await;
    let v1 = fx.version_id(FORM).await;
    // A second version of the form whose first two criteria swapped places.
    let v2: i32 = sql
        .query_one(
            "INSERT INTO form_versions (form_id, version, content_sha256, definition, source_file) \
             SELECT form_id, 2, sha256('v2'::bytea), definition, source_file FROM form_versions \
             WHERE id = $1 RETURNING id",
            &[&v1],
        )
        .await
        .unwrap()
        .get(0);
    sql.execute(
        "INSERT INTO form_items (form_version_id, code, section_code, section_role, kind, position, answer_index) \
         SELECT $2, code, section_code, section_role, kind, position, \
                CASE answer_index WHEN 1 THEN 2 WHEN 2 THEN 1 ELSE answer_index END \
         FROM form_items WHERE form_version_id = $1",
        &[&v1, &v2],
    )
    .await
    .unwrap();
    let unit = fx.unit_id("xuan-loc.xuan-hoa").await;
    let mut answers = sipas_answers(4, [None; 3]);
    answers[0] = Some(5); // TC1 in version 1
    insert_with(&sql, unit, v1, vn(2025, 5, 5, 9, 0), &answers, "qr").await;
    answers[0] = Some(1); // TC2 in version 2
    answers[1] = Some(5); // TC1 in version 2
    insert_with(&sql, unit, v2, vn(2025, 5, 6, 9, 0), &answers, "qr").await;
    let mut conn = fx.conn().await;
    let figures = stats::unit_figures(&mut conn, &filter(day(2025, 5, 1), day(2025, 5, 31)))
        .await
        .unwrap();
    assert_eq!(figures.len(), 1);
    assert_eq!(figures[0].responses, 2);
    assert_eq!(figures[0].counts("TC1"), vec![(5, 2)]);
    assert_eq!(figures[0].counts("TC2"), vec![(1, 1), (4, 1)]);
    assert_eq!(figures[0].score_n, 2);
}

/// What two generations are compared on: every stored field that comes from the generator.
async fn generated_content(url: &str) -> Vec<String> {
    let sql = common::connect(url).await;
    let mut rows: Vec<String> = sql
        .query(
            "SELECT concat_ws('|', r.submission_key, u.code, d.name, r.desk_code IS NOT NULL, \
                    fv.form_id, r.channel, r.submitted_at, r.answers::text, r.entered_at, \
                    r.paper_serial, (SELECT string_agg(t.body, ';') FROM response_texts t \
                                     WHERE t.response_id = r.id)) \
             FROM responses r JOIN units u ON u.id = r.unit_id JOIN desks d ON d.id = r.desk_id \
             JOIN form_versions fv ON fv.id = r.form_version_id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    rows.sort();
    rows
}

#[tokio::test]
async fn the_demo_generator_is_deterministic_for_a_seed() {
    let (one, two, three) = tokio::join!(Fixture::new(), Fixture::new(), Fixture::new());
    let (from, to) = (day(2025, 1, 1), day(2025, 12, 31));
    one.generate(42, 0, 1200, from, to).await;
    // The same stream in two pieces.
    two.generate(42, 0, 500, from, to).await;
    two.generate(42, 500, 700, from, to).await;
    three.generate(43, 0, 1200, from, to).await;
    let a = generated_content(&one.database.url).await;
    assert_eq!(a.len(), 1200);
    assert_eq!(a, generated_content(&two.database.url).await);
    let c = generated_content(&three.database.url).await;
    assert_eq!(c.len(), 1200);
    assert_ne!(a, c, "another seed, other responses");
    assert!(a.iter().filter(|row| c.contains(row)).count() == 0);

    // Running the same seed again adds nothing.
    let mut conn = one.conn().await;
    let again = sipas::demo::generate_responses(
        &mut conn,
        &one.services.forms,
        &sipas::demo::ResponseSpec {
            seed: 42,
            count: 1200,
            first: 0,
            from,
            to,
        },
    )
    .await
    .unwrap();
    assert_eq!((again.inserted, again.already_there), (0, 1200));
}

#[tokio::test]
async fn the_demo_responses_show_real_differences_between_units() {
    let fx = Fixture::new().await;
    let (from, to) = (day(2025, 1, 1), day(2025, 12, 31));
    fx.generate(1, 0, 30_000, from, to).await;
    let mut conn = fx.conn().await;
    let units = stats::unit_figures(&mut conn, &filter(from, to))
        .await
        .unwrap();
    let structure = criteria(&fx.services.forms, fx.version_id(FORM).await);
    let criteria: Vec<String> = structure
        .by_index
        .iter()
        .zip(structure.codes)
        .filter(|(c, _)| c.is_some())
        .map(|(_, code)| code)
        .collect();
    assert_eq!(criteria.len(), 19);
    // Share of satisfied (4 or 5) among valid criterion answers.
    let satisfied = |f: &UnitFigures| {
        let (mut yes, mut all) = (0u64, 0u64);
        for c in &criteria {
            for (value, n) in f.counts(c) {
                all += n;
                if value >= 4 {
                    yes += n;
                }
            }
        }
        yes as f64 / all as f64
    };
    let district = UnitFigures::sum(0, &units);
    let overall = satisfied(&district);
    assert!((0.78..0.88).contains(&overall), "district: {overall}");
    let mut by_code = HashMap::new();
    for unit in &units {
        let code: String = fx
            .sql()
            .await
            .query_one("SELECT code FROM units WHERE id = $1", &[&unit.unit_id])
            .await
            .unwrap()
            .get(0);
        by_code.insert(code, unit);
    }
    for code in sipas::demo::BETTER_UNITS {
        let s = satisfied(by_code[code]);
        assert!(s > overall + 0.05, "{code}: {s} vs {overall}");
    }
    for code in sipas::demo::WORSE_UNITS {
        let s = satisfied(by_code[code]);
        assert!(s < overall - 0.08, "{code}: {s} vs {overall}");
    }
    // The respondents' scores tell the same story.
    let mean = |f: &UnitFigures| f.score_sum / f.score_n as f64;
    assert!(
        mean(by_code[sipas::demo::BETTER_UNITS[0]])
            > mean(by_code[sipas::demo::WORSE_UNITS[0]]) + 0.2
    );
    // The district one-stop desk is the busiest.
    let busiest = units.iter().max_by_key(|u| u.responses).unwrap();
    assert_eq!(busiest.unit_id, fx.unit_id(sipas::demo::BUSIEST_UNIT).await);
    // "Tiếp nhận, xử lý phản ánh, kiến nghị" is often not applicable.
    let pa1_na = district.not_applicable("PA1") as f64 / district.responses as f64;
    assert!((0.5..0.75).contains(&pa1_na), "{pa1_na}");
    // Expectations and respondent questions at plausible rates, not always.
    for (item, low, high) in [
        ("MD1", 0.7, 0.9),
        ("GIOI_TINH", 0.85, 0.97),
        ("HOC_VAN", 0.65, 0.85),
    ] {
        let answered: u64 = district.counts(item).iter().map(|(_, n)| n).sum();
        let rate = answered as f64 / district.responses as f64;
        assert!((low..high).contains(&rate), "{item}: {rate}");
    }

    let sql = fx.sql().await;
    let row = sql
        .query_one(
            "SELECT avg((channel = 'paper')::int)::float8, \
                    bool_and(channel IN ('qr', 'paper')), \
                    bool_and(channel <> 'paper' OR (paper_serial IS NOT NULL AND entered_by IS NOT NULL \
                             AND entered_at >= submitted_at AND desk_code IS NULL)), \
                    bool_and(channel <> 'qr' OR (desk_code IS NOT NULL AND \
                             (submitted_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::time BETWEEN '07:30' AND '17:00' \
                             AND extract(isodow FROM submitted_at AT TIME ZONE 'Asia/Ho_Chi_Minh') < 6)), \
                    count(DISTINCT (submitted_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date), \
                    min(submitted_at) >= '2025-01-01 00:00+07' AND max(submitted_at) < '2026-01-01 00:00+07' \
             FROM responses",
            &[],
        )
        .await
        .unwrap();
    let paper: f64 = row.get(0);
    assert!((0.05..0.25).contains(&paper), "paper share {paper}");
    assert!(row.get::<_, bool>(1));
    assert!(row.get::<_, bool>(2), "paper ballots are complete");
    assert!(
        row.get::<_, bool>(3),
        "QR responses in office hours on working days"
    );
    assert!(row.get::<_, i64>(4) > 240, "spread over the year");
    assert!(row.get::<_, bool>(5));
    // Some comments, in Vietnamese.
    let comments: Vec<String> = sql
        .query("SELECT body FROM response_texts", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let share = comments.len() as f64 / 30_000.0;
    assert!((0.02..0.12).contains(&share), "comments {share}");
    assert!(
        comments
            .iter()
            .any(|c| c.contains("Cán bộ hướng dẫn tận tình"))
    );
    assert!(comments.iter().any(|c| c.contains("trễ hẹn")));
    // The data-entry account of the paper ballots cannot sign in.
    let active: bool = sql
        .query_one(
            "SELECT active FROM accounts WHERE username = $1",
            &[&sipas::demo::DEMO_DATA_ENTRY],
        )
        .await
        .unwrap()
        .get(0);
    assert!(!active);
}

#[tokio::test]
async fn the_server_folds_a_new_response_within_seconds() {
    let app = TestApp::spawn().await;
    let code = app.desk_code("xuan-loc.xuan-bac").await;
    let (_, token, version) = app.open_survey(&code).await;
    let mut fields = full_answers("5");
    fields.retain(|(k, _)| *k != "PA2");
    fields.push(("PA2", "3".into()));
    let response = app
        .post_form(
            &format!("/s/{code}"),
            &with_hidden(&token, &version, &fields),
        )
        .await;
    assert_eq!(response.status(), 200);
    let submitted = Instant::now();
    let sql = app.sql().await;
    let id: i64 = sql
        .query_one("SELECT max(id) FROM responses", &[])
        .await
        .unwrap()
        .get(0);
    // Nobody calls refresh here: only the server's background task can fold it.
    let limit = sipas::startup::ROLLUP_REFRESH_INTERVAL * 2 + Duration::from_secs(3);
    loop {
        let folded: i64 = sql
            .query_one("SELECT last_response_id FROM rollup_state", &[])
            .await
            .unwrap()
            .get(0);
        if folded >= id {
            break;
        }
        assert!(
            submitted.elapsed() < limit,
            "the response is not in the rollups after {:?}",
            submitted.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let counted: i64 = sql
        .query_one(
            "SELECT sum(n)::int8 FROM rollup_answers a JOIN form_items i \
             ON i.form_version_id = a.form_version_id AND i.answer_index = a.answer_index \
             WHERE i.code = 'PA2' AND a.value = 3",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(counted, 1);
    let responses: i64 = sql
        .query_one(
            "SELECT sum(responses)::int8 FROM rollup_responses_month",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(responses, 1);
    // The server stops cleanly with its background task.
    app.stop().await;
}

/// The real binary on `database_url` with `args`.
fn sipas_command(database_url: &str, args: &[&str]) -> tokio::process::Command {
    let mut cmd = common::sipas_binary(database_url, "stats");
    cmd.args(args);
    cmd
}

async fn run_sipas(database_url: &str, args: &[&str]) -> String {
    let output = tokio::time::timeout(
        Duration::from_secs(120),
        sipas_command(database_url, args).output(),
    )
    .await
    .expect("sipas finishes")
    .expect("sipas runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "sipas {args:?}: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[tokio::test]
async fn sipas_demo_loads_responses_and_rollup_rebuild_refolds_them() {
    let database = TestDatabase::create().await;
    let out = run_sipas(
        &database.url,
        &[
            "demo",
            "--responses",
            "2000",
            "--seed",
            "9",
            "--year",
            "2024",
        ],
    )
    .await;
    assert!(out.contains("demo district ready"), "{out}");
    assert!(
        out.contains(
            "generated 2000 responses from 2024-01-01 to 2024-12-31 (seed 9; 0 already there"
        ),
        "{out}"
    );
    // And a small manufactured burst at one desk (for the page of flagged responses), which
    // the fold flags and leaves out of the figures.
    assert!(
        out.contains("added 12 manufactured responses (a burst at one desk"),
        "{out}"
    );
    assert!(
        out.contains("refreshed the rollups: 2000 responses folded in"),
        "{out}"
    );
    let sql = common::connect(&database.url).await;
    let count = |query: &'static str| {
        let sql = &sql;
        async move { sql.query_one(query, &[]).await.unwrap().get::<_, i64>(0) }
    };
    assert_eq!(count("SELECT count(*) FROM responses").await, 2012);
    assert_eq!(
        count("SELECT sum(responses)::int8 FROM rollup_responses").await,
        2000
    );
    assert_eq!(
        count("SELECT last_response_id FROM rollup_state").await,
        2012
    );
    assert_eq!(
        count(
            "SELECT count(*) FROM response_reviews v JOIN responses r ON r.id = v.response_id \
             JOIN units u ON u.id = r.unit_id WHERE v.excluded AND u.code = 'xuan-loc.xuan-tam'"
        )
        .await,
        12
    );
    assert_eq!(
        count("SELECT count(*) FROM response_flags WHERE severity = 'strong'").await,
        count(
            "SELECT count(*) FROM response_flags f JOIN responses r ON r.id = f.response_id \
             JOIN units u ON u.id = r.unit_id \
             WHERE f.severity = 'strong' AND u.code = 'xuan-loc.xuan-tam' \
               AND r.submitted_at >= '2024-12-31 12:00+07'"
        )
        .await,
        "strong signals only on the manufactured burst"
    );
    let answers = count("SELECT sum(n)::int8 FROM rollup_answers").await;

    // The same seed again adds nothing; another seed adds more.
    let out = run_sipas(
        &database.url,
        &[
            "demo",
            "--responses",
            "2000",
            "--seed",
            "9",
            "--year",
            "2024",
        ],
    )
    .await;
    assert!(out.contains("generated 0 responses"), "{out}");
    assert!(out.contains("2000 already there"), "{out}");
    assert!(!out.contains("manufactured"), "{out}");
    let out = run_sipas(
        &database.url,
        &[
            "demo",
            "--responses",
            "300",
            "--seed",
            "10",
            "--year",
            "2024",
        ],
    )
    .await;
    assert!(out.contains("generated 300 responses"), "{out}");
    assert_eq!(count("SELECT count(*) FROM responses").await, 2324);

    // A rebuild folds everything again into the same totals.
    sql.batch_execute("DELETE FROM rollup_answers WHERE value = 5")
        .await
        .unwrap();
    let out = run_sipas(&database.url, &["rollup", "rebuild"]).await;
    assert!(
        out.contains("rebuilt the rollups: 2300 responses folded in"),
        "{out}"
    );
    assert_eq!(
        count("SELECT sum(responses)::int8 FROM rollup_responses_month").await,
        2300
    );
    assert!(count("SELECT sum(n)::int8 FROM rollup_answers").await > answers);
    let out = run_sipas(&database.url, &["rollup", "refresh"]).await;
    assert!(
        out.contains("refreshed the rollups: 0 responses folded"),
        "{out}"
    );
}

/// A trend of several units taken together (the district's) is summed in PostgreSQL: it must
/// equal the per-unit figures of every period added up in Rust, count for count.
#[tokio::test]
async fn figures_taken_together_equal_the_units_added_up() {
    let fx = Fixture::new().await;
    let from = NaiveDate::from_ymd_opt(2025, 11, 10).unwrap();
    let to = NaiveDate::from_ymd_opt(2026, 2, 20).unwrap();
    fx.generate(17, 0, 1500, from, to).await;
    let mut conn = fx.conn().await;
    let filter = StatsFilter {
        form_id: FORM.to_string(),
        from,
        to,
        units: None,
        channel: None,
    };
    for grain in [Grain::Month, Grain::Quarter] {
        let per_unit = stats::unit_figures_by_period(&mut conn, &filter, grain)
            .await
            .unwrap();
        let together = stats::figures_by_period_together(&mut conn, &filter, grain, 7)
            .await
            .unwrap();
        assert_eq!(
            together.iter().map(|p| p.start).collect::<Vec<_>>(),
            per_unit.iter().map(|p| p.start).collect::<Vec<_>>(),
            "{grain:?}: the same periods"
        );
        assert!(per_unit.iter().all(|p| p.units.len() > 5), "several units");
        for (whole, parts) in together.iter().zip(&per_unit) {
            assert_eq!(whole.units.len(), 1);
            let got = &whole.units[0];
            let want = UnitFigures::sum(7, &parts.units);
            assert_eq!(got.unit_id, 7);
            assert_eq!(got.responses, want.responses, "{grain:?} {}", whole.start);
            assert_eq!(got.score_n, want.score_n);
            assert_eq!(got.answers, want.answers);
            assert!((got.score_sum - want.score_sum).abs() < 1e-9);
            assert!((got.score_sum_sq - want.score_sum_sq).abs() < 1e-9);
        }
    }
}
