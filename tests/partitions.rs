//! Responses partitioned by year (issue 18, migration 30, docs/deployment.md section 3): each
//! response lands in its year's partition, a submission key is stored once across the years,
//! the service keeps the coming year's partition ready, a response of a year without one waits
//! in the default partition and moves when it is created, and one year's export reads one
//! partition.

use crate::common::{self, TestApp, TestDatabase};
use chrono::{DateTime, Datelike, Utc};
use sipas::db::partitions::{self, Ensured};
use sipas::db::responses::{self, ExportFilter, NewResponse};

const FORM: &str = "sipas-1001-dich-vu";

/// An instant in Vietnam's time.
fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

/// A desk of the demo district, with its unit.
async fn a_desk(app: &TestApp) -> (i32, i32) {
    let row = app
        .sql()
        .await
        .query_one(
            "SELECT d.unit_id, d.id FROM desks d WHERE d.active ORDER BY d.id LIMIT 1",
            &[],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1))
}

/// Stores a QR response through the service's own store (as the survey and the spool's
/// replay do), sent at `submitted_at` with `key`, with one comment when `comment` is given.
async fn store(
    app: &TestApp,
    key: uuid::Uuid,
    submitted_at: DateTime<Utc>,
    comment: Option<&str>,
) -> responses::Stored {
    let (unit_id, desk_id) = a_desk(app).await;
    let version = app.forms.latest(FORM).unwrap();
    let answers: Vec<Option<i16>> = vec![Some(4); version.form.choice_items().count()];
    let text_item = version
        .form
        .text_items()
        .next()
        .map(|i| version.item_ids[&i.code])
        .expect("the form has an open question");
    let texts: Vec<(i32, &str)> = comment.map(|c| (text_item, c)).into_iter().collect();
    let new = NewResponse {
        submission_key: key,
        unit_id,
        desk_id: Some(desk_id),
        desk_code: None,
        form_version_id: version.id,
        channel: "qr",
        answers: &answers,
        submitted_at: Some(submitted_at),
        entered_by: None,
        entered_at: None,
        paper_serial: None,
        client_key: None,
        started_at: None,
        visit_code_id: None,
        keep_original_texts: false,
        via: Some("desk"),
        residence_unit_id: None,
        residence_code: None,
    };
    let mut conn = app.pool.get().await.unwrap();
    responses::store(&mut conn, &new, &texts)
        .await
        .expect("the response is stored")
}

/// The partition that holds response `id`.
async fn partition_of(sql: &tokio_postgres::Client, id: i64) -> String {
    sql.query_one(
        "SELECT tableoid::regclass::text FROM responses WHERE id = $1",
        &[&id],
    )
    .await
    .unwrap()
    .get(0)
}

async fn ensure_year(app: &TestApp, year: i32) -> Ensured {
    let mut conn = app.pool.get().await.unwrap();
    partitions::ensure_year(&mut conn, year).await.unwrap()
}

#[tokio::test]
async fn responses_of_three_years_land_in_their_partitions() {
    let app = TestApp::spawn().await;
    let sql = app.sql().await;
    assert_eq!(ensure_year(&app, 2025).await, Ensured::Created { moved: 0 });
    assert_eq!(ensure_year(&app, 2025).await, Ensured::Existed);
    assert_eq!(ensure_year(&app, 2026).await, Ensured::Existed);

    // The bounds are Vietnam's midnights: the last minute of 2025 there is 16:59 UTC.
    let cases = [
        ("2025-12-31T23:59:59+07:00", "responses_y2025"),
        ("2026-01-01T00:00:00+07:00", "responses_y2026"),
        ("2026-07-15T09:30:00+07:00", "responses_y2026"),
        ("2027-03-01T08:00:00+07:00", "responses_y2027"),
    ];
    let mut ids = Vec::new();
    for (when, partition) in cases {
        let stored = store(&app, uuid::Uuid::new_v4(), at(when), Some("Rất tốt")).await;
        assert!(stored.new);
        assert_eq!(partition_of(&sql, stored.id).await, partition, "{when}");
        ids.push(stored.id);
    }
    // The ids come from one sequence, in order, whatever the year.
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    // Each has its registry row, and its comment.
    let registered = app
        .count("SELECT count(*) FROM response_keys k JOIN responses r ON r.id = k.response_id AND r.submitted_at = k.submitted_at")
        .await;
    assert_eq!(registered, app.response_count().await);
    assert_eq!(
        app.count("SELECT count(*) FROM response_texts").await,
        cases.len() as i64
    );
}

#[tokio::test]
async fn a_submission_key_is_stored_once_across_the_years() {
    let app = TestApp::spawn().await;
    let sql = app.sql().await;
    ensure_year(&app, 2025).await;
    let key = uuid::Uuid::new_v4();
    let first = store(&app, key, at("2025-06-01T10:00:00+07:00"), Some("Lần đầu")).await;
    assert!(first.new);
    // The same form again (a double tap, a spool replayed twice), dated in another year: the
    // first one is answered, nothing is stored.
    for when in ["2026-06-01T10:00:00+07:00", "2027-01-02T10:00:00+07:00"] {
        let again = store(&app, key, at(when), Some("Lần hai")).await;
        assert!(!again.new);
        assert_eq!(again.id, first.id);
        assert_eq!(again.submitted_at, first.submitted_at);
    }
    let stored: i64 = sql
        .query_one(
            "SELECT count(*) FROM responses WHERE submission_key = $1::text::uuid",
            &[&key.to_string()],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(stored, 1);
    assert_eq!(
        app.count("SELECT count(*) FROM response_texts WHERE body = 'Lần hai'")
            .await,
        0
    );

    // At the same moment from two connections, in two different years: one row.
    for round in 0..10 {
        let key = uuid::Uuid::new_v4();
        let (a, b) = tokio::join!(
            store(&app, key, at("2026-03-03T10:00:00+07:00"), None),
            store(&app, key, at("2027-03-03T10:00:00+07:00"), None),
        );
        assert_eq!(a.id, b.id, "round {round}");
        assert!(a.new != b.new, "round {round}: exactly one is new");
        let stored: i64 = sql
            .query_one(
                "SELECT count(*) FROM responses WHERE submission_key = $1::text::uuid",
                &[&key.to_string()],
            )
            .await
            .unwrap()
            .get(0);
        assert_eq!(stored, 1, "round {round}");
    }

    // Through the web: a citizen's form sent twice, its response moved to another year in
    // between (an UPDATE across partitions keeps its key): stored once.
    let code = app.desk_code("xuan-loc.xuan-bac").await;
    let (_, token, version) = app.open_survey(&code).await;
    let fields = common::full_answers("4");
    let form = common::with_hidden(&token, &version, &fields);
    let sent = app.post_form(&format!("/s/{code}"), &form).await;
    assert_eq!(sent.status(), 200);
    let before = app.response_count().await;
    let moved = sql
        .execute(
            "UPDATE responses SET submitted_at = '2025-05-05 10:00+07' \
             WHERE id = (SELECT max(id) FROM responses)",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(moved, 1);
    let id: i64 = sql
        .query_one("SELECT max(id) FROM responses", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(partition_of(&sql, id).await, "responses_y2025");
    let again = app.post_form(&format!("/s/{code}"), &form).await;
    assert_eq!(again.status(), 200);
    assert!(again.text().await.unwrap().contains("Cảm ơn"));
    assert_eq!(app.response_count().await, before);
}

#[tokio::test]
async fn the_service_creates_the_coming_years_partition() {
    let year = sipas::domain::time::today_in_vietnam().year();
    let next = format!("responses_y{}", year + 1);
    // A database whose coming year has no partition (as one migrated a year ago).
    let database = TestDatabase::create().await;
    let sql = common::connect(&database.url).await;
    sql.batch_execute(&format!(
        "ALTER TABLE responses DETACH PARTITION {next}; DROP TABLE {next}"
    ))
    .await
    .unwrap();
    assert!(!exists(&sql, &next).await);

    // Starting the service creates it (as `sipas migrate` does: the same start-up).
    let app = TestApp::spawn_on(database, common::test_config).await;
    assert!(exists(&sql, &next).await);

    // The hourly step does too, idempotently, and two instances at once create it once.
    sql.batch_execute(&format!(
        "ALTER TABLE responses DETACH PARTITION {next}; DROP TABLE {next}"
    ))
    .await
    .unwrap();
    let (a, b) = tokio::join!(
        sipas::background::keep_partitions_ahead(&app.pool),
        sipas::background::keep_partitions_ahead(&app.pool),
    );
    let mut created = a.unwrap();
    created.extend(b.unwrap());
    assert_eq!(created, vec![(year + 1, 0)]);
    assert!(exists(&sql, &next).await);
    assert_eq!(
        sipas::background::keep_partitions_ahead(&app.pool)
            .await
            .unwrap(),
        vec![]
    );
    let mut conn = app.pool.get().await.unwrap();
    let names: Vec<String> = partitions::list(&mut conn)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.name)
        .collect();
    assert!(names.contains(&next), "{names:?}");
    assert!(names.contains(&"responses_default".to_string()));
}

#[tokio::test]
async fn a_response_of_a_year_without_partition_waits_in_default_and_moves_with_its_partition() {
    let app = TestApp::spawn().await;
    let sql = app.sql().await;
    // A paper ballot of 2019, say: no partition for that year.
    let key = uuid::Uuid::new_v4();
    let old = store(&app, key, at("2019-04-30T15:00:00+07:00"), Some("Phiếu cũ")).await;
    assert!(old.new);
    assert_eq!(partition_of(&sql, old.id).await, "responses_default");
    // Flagged and reviewed, as staff might have done meanwhile.
    sql.execute(
        "INSERT INTO response_flags (response_id, reason, severity) VALUES ($1, 'too_fast', 'weak')",
        &[&old.id],
    )
    .await
    .unwrap();
    let kept_figures = app
        .count("SELECT count(*) FROM response_texts WHERE body = 'Phiếu cũ'")
        .await;
    assert_eq!(kept_figures, 1);

    assert_eq!(ensure_year(&app, 2019).await, Ensured::Created { moved: 1 });
    assert_eq!(partition_of(&sql, old.id).await, "responses_y2019");
    assert_eq!(app.count("SELECT count(*) FROM responses_default").await, 0);
    // Its comment, flag and registry row stayed with it.
    assert_eq!(
        app.count("SELECT count(*) FROM response_texts WHERE body = 'Phiếu cũ'")
            .await,
        1
    );
    assert_eq!(app.count("SELECT count(*) FROM response_flags").await, 1);
    // Still stored once: a replay of its form is the same response.
    let again = store(&app, key, at("2026-01-01T00:00:00+07:00"), None).await;
    assert!(!again.new);
    assert_eq!(again.id, old.id);
    // And new responses of that year go straight to it.
    let later = store(
        &app,
        uuid::Uuid::new_v4(),
        at("2019-05-01T08:00:00+07:00"),
        None,
    )
    .await;
    assert_eq!(partition_of(&sql, later.id).await, "responses_y2019");
    assert_eq!(ensure_year(&app, 2019).await, Ensured::Existed);

    // Deleting a response still deletes its comments (through its registry row), and is still
    // refused while it has flags.
    let refused = sql
        .execute("DELETE FROM responses WHERE id = $1", &[&old.id])
        .await;
    assert!(refused.is_err(), "a flagged response cannot be deleted");
    sql.execute(
        "DELETE FROM response_flags WHERE response_id = $1",
        &[&old.id],
    )
    .await
    .unwrap();
    sql.execute("DELETE FROM responses WHERE id = $1", &[&old.id])
        .await
        .unwrap();
    assert_eq!(
        app.count("SELECT count(*) FROM response_texts WHERE body = 'Phiếu cũ'")
            .await,
        0
    );
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM response_keys WHERE response_id = {}",
            old.id
        ))
        .await,
        0
    );
}

#[tokio::test]
async fn one_years_export_reads_only_that_years_partition() {
    let app = TestApp::spawn().await;
    ensure_year(&app, 2025).await;
    for when in [
        "2025-03-01T10:00:00+07:00",
        "2026-03-01T10:00:00+07:00",
        "2027-03-01T10:00:00+07:00",
    ] {
        store(&app, uuid::Uuid::new_v4(), at(when), None).await;
    }
    let year_2026 = ExportFilter {
        from: Some(at("2026-01-01T00:00:00+07:00")),
        until: Some(at("2027-01-01T00:00:00+07:00")),
        ..ExportFilter::default()
    };
    let mut conn = app.pool.get().await.unwrap();
    let plan = responses::explain_export_batch(&mut conn, &year_2026)
        .await
        .unwrap()
        .join("\n");
    assert!(plan.contains("responses_y2026"), "{plan}");
    for other in ["responses_y2025", "responses_y2027", "responses_default"] {
        assert!(!plan.contains(other), "{other} is read:\n{plan}");
    }
    // Without dates, every partition is read.
    let plan = responses::explain_export_batch(&mut conn, &ExportFilter::default())
        .await
        .unwrap()
        .join("\n");
    for partition in ["responses_y2025", "responses_y2026", "responses_y2027"] {
        assert!(plan.contains(partition), "{plan}");
    }
    // And the export itself holds that year's response only.
    let batch = responses::export_batch(&mut conn, &year_2026, 0, 100)
        .await
        .unwrap();
    assert_eq!(batch.len(), 1);
    assert_eq!(batch[0].submitted_at, at("2026-03-01T10:00:00+07:00"));
}

async fn exists(sql: &tokio_postgres::Client, table: &str) -> bool {
    sql.query_one("SELECT to_regclass($1) IS NOT NULL", &[&table])
        .await
        .unwrap()
        .get(0)
}
