//! The embedded migrations against a real PostgreSQL: up, down and up again, concurrent start-ups,
//! and `crates/sipas-db/src/schema.rs` (what every query is compiled against) versus the migrated database.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};

use common::{TestDatabase, connect};

/// Diesel's own bookkeeping table: the only thing allowed to remain after reverting everything.
const MIGRATION_TABLE: &str = "__diesel_schema_migrations";

/// The versions of the migrations in `migrations/`, as diesel records them (the part of the
/// directory name before the first `_`, without dashes).
fn migration_versions() -> Vec<String> {
    let root = common::manifest_dir().join("migrations");
    let mut versions: Vec<String> = std::fs::read_dir(&root)
        .expect("migrations/")
        .map(|entry| entry.unwrap())
        .filter(|entry| entry.path().join("up.sql").is_file())
        .map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            name.split('_').next().unwrap().replace('-', "")
        })
        .collect();
    versions.sort();
    assert!(!versions.is_empty(), "no migration in {}", root.display());
    versions
}

fn sorted(mut versions: Vec<String>) -> Vec<String> {
    versions.sort();
    versions
}

/// The versions recorded in the migration table, sorted.
async fn recorded_versions(sql: &tokio_postgres::Client) -> Vec<String> {
    sql.query(
        &format!("SELECT version FROM {MIGRATION_TABLE} ORDER BY version"),
        &[],
    )
    .await
    .unwrap()
    .iter()
    .map(|row| row.get(0))
    .collect()
}

/// Our base tables in schema public (what schema.rs declares; views such as rollup_rules are
/// not in it).
async fn our_base_tables(sql: &tokio_postgres::Client) -> BTreeSet<String> {
    sql.query(
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = 'public' AND table_type = 'BASE TABLE' AND table_name <> $1",
        &[&MIGRATION_TABLE],
    )
    .await
    .unwrap()
    .iter()
    .map(|row| row.get(0))
    .collect()
}

/// Our tables (and views) in schema public.
async fn our_tables(sql: &tokio_postgres::Client) -> BTreeSet<String> {
    sql.query(
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = 'public' AND table_name <> $1",
        &[&MIGRATION_TABLE],
    )
    .await
    .unwrap()
    .iter()
    .map(|row| row.get(0))
    .collect()
}

/// Anything of ours left in schema public: relations (tables, indexes, sequences, views), types
/// and functions, except diesel's migration table, its index and its row types.
async fn leftovers(sql: &tokio_postgres::Client) -> Vec<String> {
    sql.query(
        "SELECT 'relation ' || c.relname::text FROM pg_class c \
           WHERE c.relnamespace = 'public'::regnamespace \
             AND c.relname::text NOT IN ($1::text, $1::text || '_pkey') \
         UNION ALL \
         SELECT 'type ' || t.typname::text FROM pg_type t \
           WHERE t.typnamespace = 'public'::regnamespace \
             AND t.typname::text NOT IN ($1::text, '_' || $1::text) \
         UNION ALL \
         SELECT 'function ' || p.proname::text FROM pg_proc p \
           WHERE p.pronamespace = 'public'::regnamespace \
         ORDER BY 1",
        &[&MIGRATION_TABLE],
    )
    .await
    .unwrap()
    .iter()
    .map(|row| row.get(0))
    .collect()
}

/// Every column of our tables with its type and nullability, and every constraint and index
/// definition: what up → down → up must reproduce exactly.
async fn schema_fingerprint(sql: &tokio_postgres::Client) -> Vec<String> {
    let columns = sql
        .query(
            "SELECT table_name || '.' || column_name || ' ' || data_type || ' ' || udt_name \
                    || ' nullable=' || is_nullable || ' default=' || coalesce(column_default, '-') \
                    || ' identity=' || is_identity \
             FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name <> $1",
            &[&MIGRATION_TABLE],
        )
        .await
        .unwrap();
    let constraints = sql
        .query(
            "SELECT conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid) \
             FROM pg_constraint WHERE connamespace = 'public'::regnamespace \
               AND conrelid <> $1::text::regclass",
            &[&MIGRATION_TABLE],
        )
        .await
        .unwrap();
    let indexes = sql
        .query(
            "SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename <> $1",
            &[&MIGRATION_TABLE],
        )
        .await
        .unwrap();
    let mut all: Vec<String> = columns
        .iter()
        .chain(&constraints)
        .chain(&indexes)
        .map(|row| row.get(0))
        .collect();
    all.sort();
    all
}

#[tokio::test]
async fn migrations_go_up_down_and_up_again_on_an_empty_database() {
    let database = TestDatabase::create_empty().await;
    let sql = connect(&database.url).await;
    let expected = migration_versions();
    assert!(
        our_tables(&sql).await.is_empty(),
        "the database starts empty"
    );

    let applied = sipas::db::run_migrations(&database.url)
        .await
        .expect("the first run applies the migrations");
    assert_eq!(sorted(applied), expected, "every migration is applied");
    assert_eq!(recorded_versions(&sql).await, expected);
    let tables = our_tables(&sql).await;
    for table in [
        "units",
        "forms",
        "form_versions",
        "form_items",
        "desks",
        "desk_codes",
        "responses",
        "response_texts",
    ] {
        assert!(
            tables.contains(table),
            "{table} exists after the migrations: {tables:?}"
        );
    }
    let first_schema = schema_fingerprint(&sql).await;

    sipas::db::revert_all_migrations(&database.url)
        .await
        .expect("every down.sql runs");
    assert_eq!(
        our_tables(&sql).await,
        BTreeSet::new(),
        "no table of ours remains after reverting everything"
    );
    assert_eq!(
        leftovers(&sql).await,
        Vec::<String>::new(),
        "no index, sequence, type or function of ours remains either"
    );
    assert_eq!(
        recorded_versions(&sql).await,
        Vec::<String>::new(),
        "the migration table forgets the reverted migrations"
    );

    let applied = sipas::db::run_migrations(&database.url)
        .await
        .expect("the migrations apply again after a full revert");
    assert_eq!(sorted(applied), expected);
    assert_eq!(recorded_versions(&sql).await, expected);
    assert_eq!(
        schema_fingerprint(&sql).await,
        first_schema,
        "up → down → up gives the same schema as up"
    );

    let applied = sipas::db::run_migrations(&database.url)
        .await
        .expect("running the migrations on an up-to-date database succeeds");
    assert_eq!(applied, Vec::<String>::new(), "nothing is left to apply");
    assert_eq!(recorded_versions(&sql).await, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_start_ups_migrate_once() {
    let database = TestDatabase::create_empty().await;
    let expected = migration_versions();
    let runs: Vec<_> = (0..4)
        .map(|_| {
            let url = database.url.clone();
            tokio::spawn(async move { sipas::db::run_migrations(&url).await })
        })
        .collect();
    let mut applied_by_all = Vec::new();
    for (n, run) in runs.into_iter().enumerate() {
        let applied = run
            .await
            .unwrap()
            .unwrap_or_else(|e| panic!("concurrent run {n} failed: {e:#}"));
        applied_by_all.extend(applied);
    }
    assert_eq!(
        sorted(applied_by_all),
        expected,
        "each migration is applied by exactly one of the concurrent runs"
    );
    let sql = connect(&database.url).await;
    let counts = sql
        .query(
            &format!(
                "SELECT version, count(*) FROM {MIGRATION_TABLE} GROUP BY version ORDER BY version"
            ),
            &[],
        )
        .await
        .unwrap();
    let counts: Vec<(String, i64)> = counts.iter().map(|row| (row.get(0), row.get(1))).collect();
    let once: Vec<(String, i64)> = expected.iter().map(|v| (v.clone(), 1)).collect();
    assert_eq!(
        counts, once,
        "the migration table lists each migration once"
    );
}

/// One `diesel::table!` block of schema.rs.
#[derive(Debug)]
struct SchemaTable {
    name: String,
    primary_key: Vec<String>,
    /// (column, diesel type), in the order written.
    columns: Vec<(String, String)>,
}

/// Strips a raw-identifier prefix (`r#type`) from a Rust name.
fn rust_name(name: &str) -> String {
    name.trim().trim_start_matches("r#").to_string()
}

/// Reads every `diesel::table!` block: the table name, its primary key and `column -> Type`
/// lines. Anything inside a block this parser does not understand (attributes such as
/// `#[sql_name]`, schema-qualified names) fails loudly rather than being misread.
fn parse_schema(text: &str) -> Vec<SchemaTable> {
    let mut tables = Vec::new();
    let mut lines = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with("//"));
    while let Some(line) = lines.next() {
        if line != "diesel::table! {" {
            continue;
        }
        let header = lines.next().expect("a table name after `diesel::table! {`");
        let (name, rest) = header
            .split_once('(')
            .unwrap_or_else(|| panic!("cannot read the table header {header:?}"));
        let (key, rest) = rest
            .split_once(')')
            .unwrap_or_else(|| panic!("cannot read the primary key in {header:?}"));
        assert_eq!(rest.trim(), "{", "unexpected table header {header:?}");
        let name = rust_name(name);
        assert!(
            !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "unsupported table name in {header:?}"
        );
        let primary_key = key
            .split(',')
            .map(rust_name)
            .filter(|k| !k.is_empty())
            .collect();
        let mut columns = Vec::new();
        loop {
            let line = lines
                .next()
                .unwrap_or_else(|| panic!("table {name} is not closed"));
            if line == "}" {
                break;
            }
            let (column, sql_type) = line
                .split_once("->")
                .unwrap_or_else(|| panic!("cannot read the column line {line:?} of {name}"));
            let sql_type = sql_type.trim().trim_end_matches(',').trim();
            columns.push((rust_name(column), sql_type.to_string()));
        }
        assert_eq!(lines.next(), Some("}"), "table {name} block is not closed");
        tables.push(SchemaTable {
            name,
            primary_key,
            columns,
        });
    }
    tables
}

/// What a diesel type looks like in information_schema.columns: (data_type, udt_name, nullable).
fn expected_column_type(diesel: &str) -> (String, String, bool) {
    fn inner<'a>(diesel: &'a str, wrapper: &str) -> Option<&'a str> {
        diesel
            .strip_prefix(wrapper)
            .and_then(|rest| rest.strip_prefix('<'))
            .and_then(|rest| rest.strip_suffix('>'))
            .map(str::trim)
    }
    fn scalar(diesel: &str) -> (&'static str, &'static str) {
        // Allow a path such as `diesel::sql_types::Int4`.
        match diesel.rsplit("::").next().unwrap() {
            "Int2" => ("smallint", "int2"),
            "Int4" => ("integer", "int4"),
            "Int8" => ("bigint", "int8"),
            "Text" => ("text", "text"),
            "Bool" => ("boolean", "bool"),
            "Timestamptz" => ("timestamp with time zone", "timestamptz"),
            "Uuid" => ("uuid", "uuid"),
            "Bytea" => ("bytea", "bytea"),
            "Jsonb" => ("jsonb", "jsonb"),
            "Date" => ("date", "date"),
            "Float8" => ("double precision", "float8"),
            other => panic!("diesel type {other} is not mapped in this test: add it"),
        }
    }
    let diesel = diesel.trim();
    let (nullable, diesel) = match inner(diesel, "Nullable") {
        Some(t) => (true, t),
        None => (false, diesel),
    };
    match inner(diesel, "Array") {
        Some(element) => {
            // Elements of a PostgreSQL array can always be NULL.
            let element = inner(element, "Nullable").unwrap_or(element);
            let (_, udt) = scalar(element);
            ("ARRAY".to_string(), format!("_{udt}"), nullable)
        }
        None => {
            let (data_type, udt) = scalar(diesel);
            (data_type.to_string(), udt.to_string(), nullable)
        }
    }
}

#[test]
fn the_schema_parser_reads_what_diesel_writes() {
    let tables = parse_schema(
        "// comment\ndiesel::table! {\n    a (x, y) {\n        x -> Int4,\n        r#type -> Nullable<Text>,\n        y -> Array<Nullable<Int2>>,\n    }\n}\n\ndiesel::table! {\n    b (id) {\n        id -> Int8,\n    }\n}\n",
    );
    assert_eq!(tables.len(), 2);
    assert_eq!(tables[0].name, "a");
    assert_eq!(tables[0].primary_key, ["x", "y"]);
    assert_eq!(
        tables[0].columns[1],
        ("type".to_string(), "Nullable<Text>".to_string())
    );
    assert_eq!(tables[1].columns, [("id".to_string(), "Int8".to_string())]);
    assert_eq!(
        expected_column_type("Array<Nullable<Int2>>"),
        ("ARRAY".into(), "_int2".into(), false)
    );
    assert_eq!(
        expected_column_type("Nullable<Timestamptz>"),
        (
            "timestamp with time zone".into(),
            "timestamptz".into(),
            true
        )
    );
}

#[tokio::test]
async fn schema_rs_matches_the_migrated_database() {
    let path = common::manifest_dir().join("crates/sipas-db/src/schema.rs");
    let text = std::fs::read_to_string(&path).expect("crates/sipas-db/src/schema.rs");
    let declared = parse_schema(&text);
    assert_eq!(
        declared.len(),
        text.matches("diesel::table!").count(),
        "every diesel::table! block is read"
    );
    assert!(!declared.is_empty());

    let database = TestDatabase::create_empty().await;
    sipas::db::run_migrations(&database.url)
        .await
        .expect("the migrations apply");
    let sql = connect(&database.url).await;
    // The yearly partitions of responses (migration 30) are not diesel tables: queries name
    // the partitioned table.
    let partitions: BTreeSet<String> = sql
        .query(
            "SELECT relname::text FROM pg_class \
             WHERE relnamespace = 'public'::regnamespace AND relispartition AND relkind = 'r'",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert!(
        partitions.contains("responses_default"),
        "responses is partitioned: {partitions:?}"
    );
    // table -> column -> (data_type, udt_name, nullable)
    let mut actual: BTreeMap<String, BTreeMap<String, (String, String, bool)>> = BTreeMap::new();
    for row in sql
        .query(
            "SELECT table_name::text, column_name::text, data_type::text, udt_name::text, \
                    is_nullable = 'YES' \
             FROM information_schema.columns \
             WHERE table_schema = 'public' AND table_name <> $1 \
               AND table_name IN (SELECT table_name FROM information_schema.tables \
                                  WHERE table_schema = 'public' AND table_type = 'BASE TABLE') \
               AND NOT (SELECT c.relispartition FROM pg_class c \
                        WHERE c.oid = ('public.' || quote_ident(table_name))::regclass)",
            &[&MIGRATION_TABLE],
        )
        .await
        .unwrap()
    {
        actual
            .entry(row.get(0))
            .or_default()
            .insert(row.get(1), (row.get(2), row.get(3), row.get(4)));
    }
    // Tables without any column do not show up in information_schema.columns.
    for table in our_base_tables(&sql).await {
        if !partitions.contains(&table) {
            actual.entry(table).or_default();
        }
    }

    let mut problems = Vec::new();
    for table in &declared {
        let Some(columns) = actual.get(&table.name) else {
            problems.push(format!(
                "schema.rs declares table {}, which the migrations do not create",
                table.name
            ));
            continue;
        };
        let declared_names: BTreeSet<&str> =
            table.columns.iter().map(|(c, _)| c.as_str()).collect();
        assert_eq!(
            declared_names.len(),
            table.columns.len(),
            "a column is declared twice in {}",
            table.name
        );
        let actual_names: BTreeSet<&str> = columns.keys().map(String::as_str).collect();
        for missing in declared_names.difference(&actual_names) {
            problems.push(format!(
                "{}.{missing} is in schema.rs but not in the database",
                table.name
            ));
        }
        for extra in actual_names.difference(&declared_names) {
            problems.push(format!(
                "{}.{extra} is in the database but not in schema.rs",
                table.name
            ));
        }
        for (column, diesel) in &table.columns {
            let Some(found) = columns.get(column) else {
                continue;
            };
            let wanted = expected_column_type(diesel);
            if *found != wanted {
                problems.push(format!(
                    "{}.{column}: schema.rs says {diesel} (expects {wanted:?}), the database has {found:?}",
                    table.name
                ));
            }
        }
        // The key's own columns: not those a primary key only INCLUDEs (read without the table).
        let key: Vec<String> = sql
            .query(
                "SELECT a.attname::text FROM pg_index i \
                 CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n) \
                 JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum \
                 WHERE i.indrelid = ('public.' || $1::text)::regclass AND i.indisprimary \
                   AND k.n <= i.indnkeyatts \
                 ORDER BY k.n",
                &[&table.name],
            )
            .await
            .unwrap()
            .iter()
            .map(|row| row.get(0))
            .collect();
        // A partitioned table's key holds its partition key (PostgreSQL requires it); schema.rs
        // may leave that out when the rest is unique by itself (responses: id, kept unique by
        // response_keys), so that diesel's `find` and joins take one column.
        let partition_key: Vec<String> = sql
            .query(
                "SELECT a.attname::text FROM pg_partitioned_table p \
                 CROSS JOIN LATERAL unnest(p.partattrs) AS k(attnum) \
                 JOIN pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = k.attnum \
                 WHERE p.partrelid = ('public.' || $1::text)::regclass",
                &[&table.name],
            )
            .await
            .unwrap()
            .iter()
            .map(|row| row.get(0))
            .collect();
        let key_without_partition: Vec<String> = key
            .iter()
            .filter(|k| !partition_key.contains(k))
            .cloned()
            .collect();
        if key != table.primary_key
            && (partition_key.is_empty() || key_without_partition != table.primary_key)
        {
            problems.push(format!(
                "{}: schema.rs declares the primary key {:?}, the database has {key:?}",
                table.name, table.primary_key
            ));
        }
    }
    let declared_tables: BTreeSet<&str> = declared.iter().map(|t| t.name.as_str()).collect();
    for table in actual.keys() {
        if !declared_tables.contains(table.as_str()) {
            problems.push(format!(
                "table {table} is in the database but not in schema.rs"
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "schema.rs is out of step with migrations/:\n{}",
        problems.join("\n")
    );
}

/// Issue 15: upgrading drops the link between one-time codes and the responses that used them
/// (both ways) and the time of use; a used code stays used.
#[tokio::test]
async fn upgrading_drops_the_link_between_codes_and_responses() {
    let app = common::TestApp::spawn().await;
    let sql = app.sql().await;
    // Back to the shape before migration 13, holding a code used by a response, linked as then
    // (migration 30's partitioned responses reverted first: the old link was a foreign key to
    // responses (id)).
    for (dir, version) in [
        ("2026-12-08-000030_partition_responses", "20261208000030"),
        ("2026-12-05-000013_unlink_codes", "20261205000013"),
    ] {
        let dir = common::manifest_dir().join("migrations").join(dir);
        sql.batch_execute(&std::fs::read_to_string(dir.join("down.sql")).unwrap())
            .await
            .unwrap();
        sql.execute(
            &format!("DELETE FROM {MIGRATION_TABLE} WHERE version = '{version}'"),
            &[],
        )
        .await
        .unwrap();
    }
    sql.batch_execute(
        "WITH d AS (SELECT d.id, d.unit_id FROM desks d ORDER BY d.id LIMIT 1), \
              v AS (SELECT id FROM form_versions ORDER BY id LIMIT 1), \
              c AS (INSERT INTO visit_codes (code, desk_id, batch, dossier_no) \
                    SELECT 'abcdefgh23', d.id, gen_random_uuid(), 'HS-2026-0001' FROM d RETURNING id), \
              u AS (INSERT INTO visit_codes (code, desk_id, batch) \
                    SELECT 'abcdefgh24', d.id, gen_random_uuid() FROM d RETURNING id), \
              r AS (INSERT INTO responses (submission_key, unit_id, desk_id, form_version_id, channel, \
                                           answers, via, visit_code_id) \
                    SELECT gen_random_uuid(), d.unit_id, d.id, v.id, 'qr', '{}', 'code', c.id \
                    FROM d, v, c RETURNING id) \
         SELECT count(*) FROM r; \
         UPDATE visit_codes c SET used_at = now(), response_id = r.id FROM responses r \
         WHERE r.visit_code_id = c.id;",
    )
    .await
    .unwrap();
    let linked: i64 = sql
        .query_one(
            "SELECT count(*) FROM responses r JOIN visit_codes c ON c.response_id = r.id \
             WHERE r.visit_code_id = c.id AND c.dossier_no = 'HS-2026-0001'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        linked, 1,
        "the old shape: one join from the answer to the dossier"
    );

    let applied = sipas::db::run_migrations(&app.database.url).await.unwrap();
    assert_eq!(
        applied,
        vec!["20261205000013".to_string(), "20261208000030".to_string()]
    );
    let used: Vec<(String, bool)> = sql
        .query(
            "SELECT code, used FROM visit_codes WHERE code LIKE 'abcdefgh2_' ORDER BY code",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    assert_eq!(
        used,
        vec![
            ("abcdefgh23".to_string(), true),
            ("abcdefgh24".to_string(), false)
        ]
    );
    let links: i64 = sql
        .query_one(
            "SELECT count(*) FROM information_schema.columns WHERE table_schema = 'public' \
             AND (table_name, column_name) IN (('responses', 'visit_code_id'), \
                  ('visit_codes', 'response_id'), ('visit_codes', 'used_at'))",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(links, 0, "no column links a response and a code any more");
    let responses: i64 = sql
        .query_one("SELECT count(*) FROM responses WHERE via = 'code'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(responses, 1, "the answer itself is kept");
}
