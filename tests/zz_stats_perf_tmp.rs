mod common;
use chrono::NaiveDate;
use common::TestApp;
use std::time::Instant;

#[tokio::test]
#[ignore]
async fn perf() {
    let app = TestApp::spawn().await;
    let t = Instant::now();
    {
        let mut conn = app.pool.get().await.unwrap();
        sipas::demo::generate_responses(&mut conn, &app.forms, &sipas::demo::ResponseSpec {
            seed: 3, count: 1_000_000, first: 0,
            from: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
            to: NaiveDate::from_ymd_opt(2026, 11, 26).unwrap(),
        }).await.unwrap();
    }
    eprintln!("generated in {:?}", t.elapsed());
    let admin = app.staff_with_role("qt.admin", "admin", &[]).await;
    let bac: i32 = app.sql().await.query_one("SELECT id FROM units WHERE code='xuan-loc.xuan-bac'", &[]).await.unwrap().get(0);
    let hiep: i32 = app.sql().await.query_one("SELECT id FROM units WHERE code='xuan-loc.xuan-hiep'", &[]).await.unwrap().get(0);
    for path in ["/staff/stats".to_string(), "/staff/stats".to_string(), "/staff/stats?period=q2".to_string(),
                 format!("/staff/stats/units/{bac}"), format!("/staff/stats/units/{bac}?period=q2"),
                 format!("/staff/stats/compare?units={bac}&units={hiep}")] {
        for _ in 0..3 {
            let t = Instant::now();
            let r = admin.get(&path).await;
            let s = r.status();
            let _ = r.text().await;
            eprintln!("{path}: {s} {:?}", t.elapsed());
        }
    }
    {
        let db = app.sql().await;
        db.batch_execute("ANALYZE").await.unwrap();
    }
    for path in ["/staff/stats".to_string(), format!("/staff/stats/units/{bac}"), "/staff/comments".to_string()] {
        for _ in 0..3 {
            let t = Instant::now();
            let r = admin.get(&path).await;
            let s = r.status();
            let _ = r.text().await;
            eprintln!("analyzed {path}: {s} {:?}", t.elapsed());
        }
    }
    return;
    #[allow(unreachable_code)]
    let db = common::connect("").await;
    for q in ["EXPLAIN ANALYZE SELECT count(*) FROM response_texts", ] {
        for r in db.query(q, &[]).await.unwrap() { let l: String = r.get(0); eprintln!("{l}"); }
    }
}
