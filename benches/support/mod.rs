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
