//! Integration tests of the embedded PostgreSQL server (`sipas::db::embedded`). They run the
//! real server binaries (`/usr/lib/postgresql/*/bin` or PATH); as root the server runs as the
//! `postgres` account.
//!
//! The last test runs `sipas serve` without `DATABASE_URL` in a network namespace of its own
//! (where nothing answers on 127.0.0.1:5432), so that the service falls back to a private server.
//! It needs root (for `unshare --net`); where that is impossible it fails, unless
//! `SIPAS_SKIP_NETNS=1` is set.

mod common;

use common::TempDir;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use sipas::db::embedded::{EmbeddedPostgres, LIB_ROOT, find_binaries, server_answers};

async fn connect(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|err| panic!("connecting to {url}: {err}"));
    tokio::spawn(connection);
    client
}

#[tokio::test]
async fn start_stop_and_reuse() {
    let tmp = TempDir::new("reuse");

    let pg = EmbeddedPostgres::start(tmp.path()).await.unwrap();
    assert!(pg.data_dir().join("PG_VERSION").is_file());
    assert_eq!(pg.socket_dir(), tmp.path().join("socket"));
    assert!(pg.socket_path().exists());
    let url = pg.database_url("postgres");
    assert!(server_answers(&url).await);
    // A server that rejects the role still answers.
    let bad_role = url.replace("user=postgres", "user=no_such_role");
    assert!(server_answers(&bad_role).await);

    let client = connect(&url).await;
    let one: i32 = client.query_one("SELECT 1", &[]).await.unwrap().get(0);
    assert_eq!(one, 1);
    client.batch_execute("CREATE DATABASE x").await.unwrap();
    // No TCP listener.
    let listen: String = client
        .query_one("SHOW listen_addresses", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(listen, "");
    drop(client);

    let pg_version_written = std::fs::metadata(pg.data_dir().join("PG_VERSION"))
        .unwrap()
        .modified()
        .unwrap();
    let socket = pg.socket_path();
    pg.stop().await.unwrap();
    assert!(!socket.exists(), "socket {} still exists", socket.display());
    assert!(!server_answers(&url).await);

    // Second start on the same directory reuses the cluster.
    let pg = EmbeddedPostgres::start(tmp.path()).await.unwrap();
    assert_eq!(
        std::fs::metadata(pg.data_dir().join("PG_VERSION"))
            .unwrap()
            .modified()
            .unwrap(),
        pg_version_written,
        "initdb ran again"
    );
    let client = connect(&pg.database_url("postgres")).await;
    let count: i64 = client
        .query_one("SELECT count(*) FROM pg_database WHERE datname = 'x'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(count, 1);
    drop(client);
    let client = connect(&pg.database_url("x")).await;
    let db: String = client
        .query_one("SELECT current_database()", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(db, "x");
    drop(client);

    // ensure_database creates a missing database and accepts an existing one.
    pg.ensure_database("sipas").await.unwrap();
    pg.ensure_database("sipas").await.unwrap();
    connect(&pg.database_url("sipas")).await;

    let socket = pg.socket_path();
    pg.stop().await.unwrap();
    assert!(!socket.exists(), "socket {} still exists", socket.display());
}

#[tokio::test]
async fn drop_stops_the_server() {
    let tmp = TempDir::new("drop");
    let pg = EmbeddedPostgres::start(tmp.path()).await.unwrap();
    let url = pg.database_url("postgres");
    connect(&url).await;
    let socket = pg.socket_path();

    drop(pg);

    assert!(!socket.exists(), "socket {} still exists", socket.display());
    assert!(!server_answers(&url).await);
    assert!(
        tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn long_directory_uses_a_short_socket_dir() {
    let tmp = TempDir::new("long");
    let mut dir = tmp.path().to_path_buf();
    for _ in 0..4 {
        dir.push("a-rather-long-directory-name");
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    assert!(dir.as_os_str().len() > 107);

    let pg = EmbeddedPostgres::start(&dir).await.unwrap();
    let socket_dir = pg.socket_dir().to_path_buf();
    assert!(
        socket_dir.to_str().unwrap().starts_with("/tmp/sipas-pg-"),
        "{}",
        socket_dir.display()
    );
    let client = connect(&pg.database_url("postgres")).await;
    let one: i32 = client.query_one("SELECT 1", &[]).await.unwrap().get(0);
    assert_eq!(one, 1);
    drop(client);
    pg.stop().await.unwrap();
    assert!(!socket_dir.exists(), "{} not removed", socket_dir.display());
}

fn fake_binary(path: &Path) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, "#!/bin/sh\n").unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn find_binaries_picks_the_highest_version() {
    let tmp = TempDir::new("find");
    let root = tmp.path().join("lib");
    for version in ["12", "15", "9.6"] {
        fake_binary(&root.join(version).join("bin/initdb"));
        fake_binary(&root.join(version).join("bin/pg_ctl"));
    }
    // Incomplete or non-executable installations do not count.
    fake_binary(&root.join("16/bin/initdb"));
    std::fs::create_dir_all(root.join("17/bin")).unwrap();
    std::fs::write(root.join("17/bin/initdb"), "").unwrap();
    std::fs::write(root.join("17/bin/pg_ctl"), "").unwrap();
    std::fs::create_dir_all(root.join("extension")).unwrap();

    let empty = std::ffi::OsString::new();
    assert_eq!(
        find_binaries(Some(&empty), &root),
        Some(root.join("15/bin"))
    );
    assert_eq!(find_binaries(None, &root), Some(root.join("15/bin")));

    // PATH comes first.
    let path_dir = tmp.path().join("path-bin");
    fake_binary(&path_dir.join("initdb"));
    fake_binary(&path_dir.join("pg_ctl"));
    let path_env = std::env::join_paths([Path::new("/nonexistent"), &path_dir]).unwrap();
    assert_eq!(find_binaries(Some(&path_env), &root), Some(path_dir));

    // A root lacking them.
    let bare = tmp.path().join("bare");
    std::fs::create_dir_all(bare.join("15/bin")).unwrap();
    assert_eq!(find_binaries(Some(&empty), &bare), None);
    assert_eq!(
        find_binaries(Some(&empty), &tmp.path().join("missing")),
        None
    );
}

// ---------------------------------------------------------------------------------------------
// `sipas serve` without DATABASE_URL, in a network namespace where nothing answers on 5432.
// ---------------------------------------------------------------------------------------------

/// Port the service listens on inside its own network namespace (nothing else is there).
const NETNS_PORT: u16 = 18080;
/// How long the service may take to come up (initdb, start, migrations, demo data).
const START_TIMEOUT: Duration = Duration::from_secs(180);
/// How long the service may take to stop after SIGTERM (actix waits up to 30 s for requests).
const STOP_TIMEOUT: Duration = Duration::from_secs(90);

/// Whether `unshare --net` works here. Panics when it does not, unless `SIPAS_SKIP_NETNS=1`.
fn network_namespaces_available() -> bool {
    let probe = std::process::Command::new("unshare")
        .args(["--net", "true"])
        .stdin(Stdio::null())
        .output();
    let problem = match probe {
        Ok(output) if output.status.success() => return true,
        Ok(output) => format!(
            "`unshare --net true` failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ),
        Err(e) => format!("cannot run `unshare`: {e}"),
    };
    if std::env::var("SIPAS_SKIP_NETNS").as_deref() == Ok("1") {
        eprintln!("SKIPPED (SIPAS_SKIP_NETNS=1): {problem}");
        return false;
    }
    panic!(
        "{problem}\nThis test needs a network namespace (run as root, with util-linux's unshare). \
         Set SIPAS_SKIP_NETNS=1 to skip it."
    );
}

/// `sipas ARGS` in a new network namespace with only loopback up, without DATABASE_URL, with
/// its data in `data_dir`; stdout and stderr go to `log_dir/{label}.out` and `.err`.
fn sipas_in_netns(
    data_dir: &Path,
    log_dir: &Path,
    label: &str,
    args: &[&str],
) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new("unshare");
    cmd.args([
        "--net",
        "sh",
        "-c",
        "ip link set lo up && exec \"$@\"",
        "sh",
    ])
    .arg(env!("CARGO_BIN_EXE_sipas"))
    .args(args)
    // Nothing of the caller's configuration leaks in: no DATABASE_URL in particular.
    .env_clear()
    .env("PATH", std::env::var_os("PATH").unwrap_or_default())
    .env("SIPAS_DATA_DIR", data_dir)
    // The test answers at machine speed; the signed start time is still sent and checked.
    .env("SIPAS_MIN_FILL_SECONDS", "0")
    .env("RUST_LOG", "info")
    .stdin(Stdio::null())
    .stdout(std::fs::File::create(log_dir.join(format!("{label}.out"))).unwrap())
    .stderr(std::fs::File::create(log_dir.join(format!("{label}.err"))).unwrap())
    .kill_on_drop(true);
    cmd
}

/// The network namespace of a process, e.g. `net:[4026531840]`.
fn net_namespace(pid: u32) -> Option<PathBuf> {
    std::fs::read_link(format!("/proc/{pid}/ns/net")).ok()
}

/// Runs curl in the network namespace of process `pid`; returns the status code and the body.
async fn curl_in(pid: u32, args: &[&str]) -> (String, String) {
    let output = tokio::process::Command::new("nsenter")
        .arg(format!("--net=/proc/{pid}/ns/net"))
        .args(["curl", "-sS", "--max-time", "10", "-w", "\n%{http_code}"])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .await
        .expect("nsenter and curl run");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let (body, status) = text.rsplit_once('\n').unwrap_or(("", &text));
    (status.to_string(), body.to_string())
}

/// Ids of the running processes whose command line mentions `needle`.
fn processes_mentioning(needle: &Path) -> Vec<String> {
    let output = std::process::Command::new("pgrep")
        .arg("-af")
        .arg(needle)
        .output()
        .expect("pgrep runs");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// Stops a private server left running on `pgdata` when dropped (a failed test must not leave
/// a PostgreSQL behind). Declared after the [`TempDir`], so it runs before the removal.
struct StopLeftover(PathBuf);

impl Drop for StopLeftover {
    fn drop(&mut self) {
        if !self.0.join("postmaster.pid").exists() {
            return;
        }
        let Some(bin) = find_binaries(std::env::var_os("PATH").as_deref(), Path::new(LIB_ROOT))
        else {
            return;
        };
        let _ = std::process::Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(bin.join("pg_ctl"))
            .args(["stop", "-m", "immediate", "-w", "-D"])
            .arg(&self.0)
            .current_dir("/")
            .output();
    }
}

fn log(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap_or_default()
}

async fn wait_bounded(
    child: &mut tokio::process::Child,
    limit: Duration,
) -> Option<std::process::ExitStatus> {
    tokio::time::timeout(limit, child.wait())
        .await
        .ok()
        .map(|status| status.expect("waiting for sipas"))
}

#[tokio::test]
async fn serve_without_database_url_runs_a_private_postgres_and_stops_it() {
    if !network_namespaces_available() {
        return;
    }
    let tmp = TempDir::new("serve");
    let logs = tmp.path();
    let data = tmp.path().join("data");
    let pgdata = data.join("postgres/pgdata");
    let _leftover = StopLeftover(pgdata.clone());
    let bind = format!("127.0.0.1:{NETNS_PORT}");

    let mut server = sipas_in_netns(&data, logs, "serve", &["serve", "--demo", "--bind", &bind])
        .spawn()
        .expect("unshare runs");
    let pid = server.id().expect("the server runs");
    let outside = net_namespace(std::process::id()).unwrap();

    // Wait until the service answers inside its namespace.
    let started = Instant::now();
    let healthz = format!("http://{bind}/healthz");
    let mut health = (String::new(), String::new());
    while started.elapsed() < START_TIMEOUT {
        if let Ok(Some(status)) = server.try_wait() {
            panic!(
                "sipas serve exited early ({status}):\n{}\n{}",
                log(logs, "serve.out"),
                log(logs, "serve.err")
            );
        }
        // Before `unshare` has switched, the process is still in our namespace.
        if net_namespace(pid).is_some_and(|ns| ns != outside) {
            health = curl_in(pid, &[&healthz]).await;
            if health.0 == "200" {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(
        health.0,
        "200",
        "healthz did not answer 200 within {START_TIMEOUT:?} ({health:?}):\n{}",
        log(logs, "serve.err")
    );
    assert!(health.1.contains("\"database\":\"ok\""), "{}", health.1);
    let stderr = log(logs, "serve.err");
    assert!(
        stderr.contains("DATABASE_URL is unset and no server answers at 127.0.0.1:5432"),
        "the private server was not used:\n{stderr}"
    );
    assert!(pgdata.join("PG_VERSION").is_file());
    // The checks below, after the service stopped, do see a running server.
    assert!(
        !processes_mentioning(&pgdata).is_empty(),
        "no process mentions {}",
        pgdata.display()
    );
    let postmaster: u32 = std::fs::read_to_string(pgdata.join("postmaster.pid"))
        .expect("the private server runs")
        .lines()
        .next()
        .unwrap()
        .trim()
        .parse()
        .unwrap();

    // `--demo` printed each desk's link; open one.
    let stdout = log(logs, "serve.out");
    let links: Vec<&str> = stdout.lines().filter(|l| l.contains("/s/")).collect();
    assert_eq!(links.len(), 29, "{stdout}");
    let line = links
        .iter()
        .find(|l| l.trim_start().starts_with("UBND xã Xuân Bắc |"))
        .unwrap_or_else(|| panic!("no link for Xuân Bắc in:\n{stdout}"));
    let link = line.rsplit_once(": ").unwrap().1.trim();
    assert!(link.starts_with(&format!("http://{bind}/s/")), "{link}");
    let (status, page) = curl_in(pid, &[link]).await;
    assert_eq!(status, "200", "{link}: {page}");
    assert!(page.contains("UBND xã Xuân Bắc"), "{page}");
    assert!(page.contains("Bộ phận Tiếp nhận và Trả kết quả xã Xuân Bắc"));

    // A response is stored in the private database.
    let token = common::hidden_field(&page, "_token");
    let version = common::hidden_field(&page, "_v");
    let answers = common::full_answers("5");
    let started = common::hidden_field(&page, "_t");
    let mut fields = common::with_hidden(&token, &version, &answers);
    fields.push(("_t", started.as_str()));
    let body = serde_urlencoded::to_string(fields).unwrap();
    let (status, thanks) = curl_in(pid, &["--data-binary", &body, link]).await;
    assert_eq!(status, "200", "{thanks}");
    assert!(thanks.contains("Cảm ơn"), "{thanks}");

    // SIGTERM stops the service, and the service stops its PostgreSQL.
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let exit = wait_bounded(&mut server, STOP_TIMEOUT).await;
    if exit.is_none() {
        let _ = server.start_kill();
        let _ = server.wait().await;
    }
    let stderr = log(logs, "serve.err");
    let exit = exit.unwrap_or_else(|| {
        panic!("sipas serve did not stop within {STOP_TIMEOUT:?} of SIGTERM:\n{stderr}")
    });
    assert!(exit.success(), "sipas serve exited with {exit}:\n{stderr}");
    assert!(pgdata.join("PG_VERSION").is_file());
    assert!(
        !pgdata.join("postmaster.pid").exists(),
        "the private PostgreSQL is still running after the service stopped:\n{stderr}"
    );
    assert!(
        !Path::new(&format!("/proc/{postmaster}")).exists()
            || !std::fs::read_to_string(format!("/proc/{postmaster}/cmdline"))
                .unwrap_or_default()
                .contains(pgdata.to_str().unwrap()),
        "postmaster {postmaster} is still running"
    );
    let left = processes_mentioning(&pgdata);
    assert!(left.is_empty(), "still running: {left:?}");

    // The next command reuses the cluster (no second initdb), finds the response, and stops
    // the server again on exit.
    let initialised = std::fs::metadata(pgdata.join("PG_VERSION"))
        .unwrap()
        .modified()
        .unwrap();
    // The year of the response just stored, in Vietnam's time.
    let year = chrono::Utc::now()
        .with_timezone(&sipas::views::vietnam_offset())
        .format("%Y")
        .to_string();
    let mut export = sipas_in_netns(
        &data,
        logs,
        "export",
        &["export", "--year", &year, "--format", "csv", "--out", "-"],
    )
    .spawn()
    .unwrap();
    let exit = wait_bounded(&mut export, START_TIMEOUT)
        .await
        .expect("sipas export finishes");
    let stderr = log(logs, "export.err");
    assert!(exit.success(), "sipas export exited with {exit}:\n{stderr}");
    assert!(stderr.contains("reusing the existing cluster"), "{stderr}");
    assert_eq!(
        std::fs::metadata(pgdata.join("PG_VERSION"))
            .unwrap()
            .modified()
            .unwrap(),
        initialised,
        "initdb ran again"
    );
    let csv = log(logs, "export.out");
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 1, "{csv}");
    assert_eq!(&rows[0][2], "xuan-loc.xuan-bac");
    assert!(!pgdata.join("postmaster.pid").exists(), "{stderr}");
    let left = processes_mentioning(&pgdata);
    assert!(left.is_empty(), "still running after export: {left:?}");
}
