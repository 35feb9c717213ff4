//! What the benchmarks share: a fresh database created from the administrative connection
//! (`SIPAS_TEST_DATABASE_URL`, as for the tests) and dropped however the run ends.

#![allow(dead_code)]

use std::str::FromStr;

pub fn admin_url() -> String {
    std::env::var("SIPAS_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

pub async fn connect(url: &str) -> tokio_postgres::Client {
    let config = tokio_postgres::Config::from_str(url).expect("a database URL");
    let (client, connection) = config
        .connect(tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to {url}: {e}"));
    tokio::spawn(connection);
    client
}

pub async fn admin_execute(sql: &str) {
    connect(&admin_url())
        .await
        .batch_execute(sql)
        .await
        .expect(sql);
}

/// Drops the benchmark's database however the run ends.
pub struct DropDatabase(pub String);

impl Drop for DropDatabase {
    fn drop(&mut self) {
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.0);
        let _ = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(admin_execute(&sql));
        })
        .join();
    }
}

/// `count` synthetic responses of `seed` (the demo's generator) on the days `from..=to`, into
/// the database of `conn`; every one must be new. What was stored.
pub async fn generate(
    conn: &mut diesel_async::AsyncPgConnection,
    forms: &sipas::forms::FormRegistry,
    seed: i64,
    count: u64,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
) -> anyhow::Result<sipas::demo::Generated> {
    let generated = sipas::demo::generate_responses(
        conn,
        forms,
        &sipas::demo::ResponseSpec {
            seed,
            count,
            first: 0,
            from,
            to,
        },
    )
    .await?;
    anyhow::ensure!(
        generated.inserted == count,
        "{} of {count} responses stored",
        generated.inserted
    );
    Ok(generated)
}
