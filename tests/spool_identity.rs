//! A spooled response belongs to one installation (issue 13): two installations started from
//! one folder with default settings, each on its own database, keep their responses apart
//! through an outage; a spool directory is held by one live process; entries of another
//! database are kept aside, never stored, and can be handed to their own instance.

mod common;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{
    Instance, TempDir, TestApp, TestDatabase, cut_off, submit, test_config, wait_for_spool_release,
};
use sipas::config::Config;
use sipas::startup::{Application, Services};

const XUAN_BAC: &str = "xuan-loc.xuan-bac";

/// A test configuration with the spool left to its default (`SIPAS_SPOOL_DIR` unset) in the
/// data folder `data`, as two installations started from one folder would have.
fn in_folder(data: &Path) -> impl Fn(&str) -> Config + Clone {
    let data = data.to_path_buf();
    move |url| {
        let mut config = test_config(url);
        config.spool_dir = None;
        config.data_dir = data.clone();
        config.db_pool_timeout = Duration::from_millis(500);
        config
    }
}

async fn health(client: &reqwest::Client, address: &str) -> serde_json::Value {
    let body = client
        .get(format!("{address}/healthz"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    serde_json::from_str(&body).unwrap()
}

/// Polls `/healthz` of `address` until `done` holds of its spool report.
async fn wait_for_spool(
    client: &reqwest::Client,
    address: &str,
    done: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let until = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let body = health(client, address).await;
        if done(&body["spool"]) {
            return body;
        }
        assert!(
            std::time::Instant::now() < until,
            "the spool did not get there: {body}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The submission keys stored in the database at `url`, each with how many times.
async fn stored_keys(url: &str) -> Vec<String> {
    let sql = common::connect(url).await;
    sql.query(
        "SELECT submission_key::text FROM responses WHERE channel = 'qr' ORDER BY 1",
        &[],
    )
    .await
    .unwrap()
    .iter()
    .map(|r| r.get(0))
    .collect()
}

fn sorted(keys: &[String]) -> Vec<String> {
    let mut keys = keys.to_vec();
    keys.sort();
    keys
}

/// A citizen's submission that must be thanked; its key.
async fn thanked(app: &TestApp, code: &str, comment: &str) -> String {
    let (key, response) = submit(app, code, comment).await;
    assert_eq!(response.status(), 200, "{comment}");
    let page = response.text().await.unwrap();
    assert!(page.contains("Cảm ơn Anh/Chị"), "{comment}: {page}");
    key
}

/// The spool files in `dir` whose names start with `prefix`.
fn files(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(prefix))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_installations_in_one_folder_keep_their_responses_apart() {
    let folder = TempDir::new("one-folder");
    let config = in_folder(folder.path());
    let a = TestApp::spawn_on(TestDatabase::create().await, config.clone()).await;
    let b = TestApp::spawn_on(TestDatabase::create().await, config.clone()).await;
    let (code_a, code_b) = (a.desk_code(XUAN_BAC).await, b.desk_code(XUAN_BAC).await);

    // Each has a spool directory of its own database in the shared folder.
    let spools: Vec<PathBuf> = std::fs::read_dir(folder.path().join("spool"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(spools.len(), 2, "{spools:?}");
    let dir_a = spools
        .iter()
        .find(|p| p.to_string_lossy().ends_with(&a.database.name))
        .expect("a directory named after A's database")
        .clone();

    // Citizens submit to both; A's database goes away for the middle third of the stream.
    let (mut keys_a, mut keys_b) = (Vec::new(), Vec::new());
    let mut spooled = 0;
    for i in 0..60 {
        if i == 20 {
            cut_off(&a.database.name, false).await;
        }
        if i == 40 {
            spooled = health(&a.client, &a.address).await["spool"]["entries"]
                .as_u64()
                .unwrap();
            cut_off(&a.database.name, true).await;
        }
        keys_a.push(thanked(&a, &code_a, &format!("A{i}")).await);
        keys_b.push(thanked(&b, &code_b, &format!("B{i}")).await);
    }
    assert!(
        spooled >= 15,
        "A spooled only {spooled} responses while cut off"
    );
    wait_for_spool(&a.client, &a.address, |s| s["entries"] == 0).await;
    // B had nothing to replay, and replayed nothing of A's.
    let body_b = health(&b.client, &b.address).await;
    assert_eq!(body_b["spool"]["replayed"], 0, "{body_b}");

    // Every thanked response is in its own database exactly once, none in the other.
    let (stored_a, stored_b) = (
        stored_keys(&a.database.url).await,
        stored_keys(&b.database.url).await,
    );
    assert_eq!(stored_a, sorted(&keys_a));
    assert_eq!(stored_b, sorted(&keys_b));
    let in_a: HashSet<&String> = stored_a.iter().collect();
    assert!(stored_b.iter().all(|k| !in_a.contains(k)));

    // A third instance told to share A's directory refuses to start, naming the variable and
    // the process that holds it.
    let mut shared = test_config(&b.database.url);
    shared.spool_dir = Some(dir_a.clone());
    let services = Services::open(shared).await.unwrap();
    let Err(refused) = Application::build(services).await else {
        panic!("a second instance started on a held spool directory");
    };
    let message = format!("{refused:#}");
    assert!(message.contains("SIPAS_SPOOL_DIR"), "{message}");
    assert!(
        message.contains(&format!("pid {}", std::process::id())),
        "{message}"
    );

    // A spools three responses while cut off, and stops before it can replay them.
    cut_off(&a.database.name, false).await;
    let mut waiting = Vec::new();
    for i in 0..3 {
        waiting.push(thanked(&a, &code_a, &format!("chờ {i}")).await);
    }
    a.stop().await;
    let a_database = a.database;
    wait_for_spool_release(&dir_a).await;

    // An instance of B given A's directory (a mistake) keeps A's entries aside: nothing of A
    // goes into B's database.
    let before_b = stored_keys(&b.database.url).await;
    let mut mistaken = test_config(&b.database.url);
    mistaken.spool_dir = Some(dir_a.clone());
    let wrong = Instance::start(Services::open(mistaken).await.unwrap()).await;
    let body = wait_for_spool(&wrong.client, &wrong.address, |s| {
        s["entries"] == 0 && s["foreign"] == 3
    })
    .await;
    assert_eq!(body["spool"]["replayed"], 0, "{body}");
    assert_eq!(stored_keys(&b.database.url).await, before_b);
    let kept = files(&dir_a, "foreign-");
    assert_eq!(kept.len(), 1, "{kept:?}");
    // The admin dashboard of that instance says so.
    b.create_account("quantri", "admin", &[]).await;
    let staff = common::StaffClient::new(&wrong.address);
    staff.sign_in("quantri", common::TEST_PASSWORD).await;
    let home = staff.get("/staff").await.text().await.unwrap();
    assert!(
        home.contains("Phiếu của cơ sở dữ liệu khác để riêng (không ghi vào đây): 3"),
        "{home}"
    );
    wrong.stop().await;
    drop(wrong);
    wait_for_spool_release(&dir_a).await;

    // Handed back to A's instance (renamed for replay), they are stored in A's database.
    let file = &kept[0];
    let name = file.file_name().unwrap().to_string_lossy().into_owned();
    std::fs::rename(file, dir_a.join(name.replacen("foreign-", "replay-", 1))).unwrap();
    cut_off(&a_database.name, true).await;
    let a = TestApp::spawn_on(a_database, config).await;
    wait_for_spool(&a.client, &a.address, |s| {
        s["entries"] == 0 && s["replayed"] == 3
    })
    .await;
    let stored_a = stored_keys(&a.database.url).await;
    let expected: Vec<String> = sorted(&[keys_a, waiting].concat());
    assert_eq!(stored_a, expected);
    assert_eq!(stored_keys(&b.database.url).await, before_b);
}
