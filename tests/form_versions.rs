//! Form versions through the real start-up (survey-forms/README.md, "Versions"): the files are
//! copied to a temporary directory, edited between two start-ups on the same database, and the
//! stored versions, the registry and citizens' submissions are checked.

use crate::common;

use std::path::PathBuf;

use common::{TestApp, TestDatabase, full_answers, with_hidden};
use sipas::config::Config;
use sipas::forms::FormRegistry;
use sipas::startup::Services;

const SIPAS: &str = "sipas-1001-dich-vu";
const QUICK: &str = "danh-gia-mot-cua";
const SIPAS_FILE: &str = "sipas-1001-dich-vu.toml";
const QUICK_FILE: &str = "danh-gia-mot-cua.toml";
const XUAN_BAC: &str = "xuan-loc.xuan-bac";

/// The wording of the open question YK in the repository's file, and a changed one.
const YK_LINE: &str = "text = \"Ý kiến khác (xin ghi cụ thể)\"";
const YK_OLD: &str = "Ý kiến khác (xin ghi cụ thể)";
const YK_NEW: &str =
    "Ý kiến khác của Anh/Chị về việc giải quyết thủ tục hành chính (xin ghi cụ thể)";

/// A private copy of the repository's survey-forms/*.toml, removed when dropped.
struct FormsDir {
    path: PathBuf,
}

impl FormsDir {
    fn copy_of_repository() -> Self {
        let path =
            std::env::temp_dir().join(format!("sipas-forms-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&path).unwrap();
        let source = common::manifest_dir().join("survey-forms");
        let mut copied = 0;
        for entry in std::fs::read_dir(&source).unwrap() {
            let file = entry.unwrap().path();
            if file.extension().is_some_and(|x| x == "toml") {
                std::fs::copy(&file, path.join(file.file_name().unwrap())).unwrap();
                copied += 1;
            }
        }
        let dir = FormsDir { path };
        assert!(copied >= 2, "the repository holds both forms");
        assert!(dir.file(SIPAS_FILE).is_file() && dir.file(QUICK_FILE).is_file());
        dir
    }

    fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.file(name)).unwrap()
    }

    fn write(&self, name: &str, text: &str) {
        std::fs::write(self.file(name), text).unwrap();
    }

    /// Replaces `from` (which must occur exactly once) by `to` in file `name`.
    fn edit(&self, name: &str, from: &str, to: &str) {
        let text = self.read(name);
        assert_eq!(
            text.matches(from).count(),
            1,
            "{from:?} occurs once in {name}"
        );
        self.write(name, &text.replacen(from, to, 1));
    }

    fn remove(&self, name: &str) {
        std::fs::remove_file(self.file(name)).unwrap();
    }

    /// The test configuration with the forms read from this directory only (as if a release
    /// shipped exactly these files: the embedded forms are left out).
    fn config(&self, database_url: &str) -> Config {
        let mut config = common::test_config(database_url);
        config.forms_dir = Some(self.path.clone());
        config.embedded_forms = false;
        config
    }
}

impl Drop for FormsDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// One start-up (forms loaded, database migrated, versions synced), closed again; returns the
/// registry it built.
async fn start(database: &TestDatabase, forms: &FormsDir) -> FormRegistry {
    let services = Services::open(forms.config(&database.url))
        .await
        .expect("the service starts");
    let registry = services.forms.clone();
    services.close().await;
    registry
}

fn current_id(registry: &FormRegistry, form_id: &str) -> i32 {
    registry
        .current(form_id)
        .unwrap_or_else(|| panic!("{form_id} is current"))
        .id
}

/// (id, version) of every stored version of a form, by id.
async fn stored_versions(database: &TestDatabase, form_id: &str) -> Vec<(i32, i32)> {
    common::connect(&database.url)
        .await
        .query(
            "SELECT id, version FROM form_versions WHERE form_id = $1 ORDER BY id",
            &[&form_id],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect()
}

async fn version_count(database: &TestDatabase) -> i64 {
    common::connect(&database.url)
        .await
        .query_one("SELECT count(*) FROM form_versions", &[])
        .await
        .unwrap()
        .get(0)
}

/// The text of item `code` in the stored definition of form version `version_id`.
async fn stored_item_text(database: &TestDatabase, version_id: i32, code: &str) -> String {
    common::connect(&database.url)
        .await
        .query_one(
            "SELECT i ->> 'text' FROM form_versions v, \
                    jsonb_array_elements(v.definition -> 'sections') s, \
                    jsonb_array_elements(s -> 'items') i \
             WHERE v.id = $1 AND i ->> 'code' = $2",
            &[&version_id, &code],
        )
        .await
        .unwrap_or_else(|e| panic!("item {code} of version {version_id}: {e}"))
        .get(0)
}

#[tokio::test]
async fn starting_twice_with_the_same_files_stores_no_new_version() {
    let forms = FormsDir::copy_of_repository();
    let database = TestDatabase::create().await;
    let first = start(&database, &forms).await;
    assert_eq!(first.form_ids(), [QUICK, SIPAS]);
    assert_eq!(
        stored_versions(&database, SIPAS).await,
        [(current_id(&first, SIPAS), 1)]
    );
    assert_eq!(
        stored_versions(&database, QUICK).await,
        [(current_id(&first, QUICK), 1)]
    );

    let second = start(&database, &forms).await;
    assert_eq!(
        version_count(&database).await,
        2,
        "one version per form, still"
    );
    for form in [SIPAS, QUICK] {
        assert_eq!(
            current_id(&second, form),
            current_id(&first, form),
            "{form}"
        );
    }
    assert_eq!(second.versions().len(), 2);
}

#[tokio::test]
async fn comments_and_layout_do_not_make_a_new_version() {
    let forms = FormsDir::copy_of_repository();
    let database = TestDatabase::create().await;
    let first = start(&database, &forms).await;

    let original = forms.read(QUICK_FILE);
    // A comment, blank lines, spacing around `=`, key order and quoting: the parsed form is
    // the same.
    forms.edit(
        QUICK_FILE,
        "id = \"danh-gia-mot-cua\"\n",
        "# Reviewed by Phòng Nội vụ.\n\nid   =   \"danh-gia-mot-cua\"   # the stable id\n",
    );
    forms.edit(
        QUICK_FILE,
        "short_title = \"Đánh giá Bộ phận một cửa\"\nsource = \"Nghị định số 61/2018/NĐ-CP; Thông tư số 01/2018/TT-VPCP\"\n",
        "source = 'Nghị định số 61/2018/NĐ-CP; Thông tư số 01/2018/TT-VPCP'\n\n\nshort_title=\"Đánh giá Bộ phận một cửa\"\n",
    );
    forms.edit(
        QUICK_FILE,
        "positive = [2, 3]",
        "positive = [ 2,3 ]  # Hài lòng, Rất hài lòng",
    );
    assert_ne!(forms.read(QUICK_FILE), original);
    // Blank lines and spacing outside strings (a blank line inside the introduction would be
    // a change of content: it separates paragraphs).
    let mut sipas = forms.read(SIPAS_FILE);
    sipas.insert_str(0, "# A comment added at the top.\n\n");
    let sipas = sipas
        .replace("\n[[sections]]\n", "\n\n\n[[sections]]  # next section\n")
        .replace("\n[[sections.items]]\n", "\n\t[[sections.items]]\n")
        .replace("code = \"TC1\"", "code    =    \"TC1\"");
    assert!(sipas.matches("\t[[sections.items]]").count() > 30);
    forms.write(SIPAS_FILE, &sipas);

    let second = start(&database, &forms).await;
    for form in [SIPAS, QUICK] {
        let stored = stored_versions(&database, form).await;
        assert_eq!(stored.len(), 1, "no new version of {form}: {stored:?}");
        assert_eq!(
            current_id(&second, form),
            current_id(&first, form),
            "{form}"
        );
    }
}

#[tokio::test]
async fn a_new_wording_without_a_bump_is_stored_as_the_next_version() {
    let forms = FormsDir::copy_of_repository();
    let database = TestDatabase::create().await;
    let first = start(&database, &forms).await;
    let old_id = current_id(&first, SIPAS);
    let quick_id = current_id(&first, QUICK);

    forms.edit(SIPAS_FILE, YK_LINE, &YK_LINE.replace(YK_OLD, YK_NEW));
    assert!(
        forms.read(SIPAS_FILE).contains("\nversion = 1\n"),
        "version not bumped"
    );
    let second = start(&database, &forms).await;

    let new = second.current(SIPAS).unwrap();
    assert_ne!(new.id, old_id, "the changed file is a new version");
    assert_eq!(new.number, 2, "version 1 is taken: the next number");
    assert_eq!(new.form.version, 2);
    assert_eq!(new.form.item("YK").unwrap().text, YK_NEW);
    assert_eq!(
        stored_versions(&database, SIPAS).await,
        [(old_id, 1), (new.id, 2)]
    );
    assert_eq!(
        current_id(&second, QUICK),
        quick_id,
        "the other form is unchanged"
    );
    assert_eq!(stored_versions(&database, QUICK).await, [(quick_id, 1)]);

    // The old version keeps its wording, in the database and in the registry.
    assert_eq!(stored_item_text(&database, old_id, "YK").await, YK_OLD);
    assert_eq!(stored_item_text(&database, new.id, "YK").await, YK_NEW);
    let old = second
        .version(old_id)
        .expect("the old version is still loaded");
    assert_eq!(old.number, 1);
    assert_eq!(old.form.item("YK").unwrap().text, YK_OLD);
    assert_eq!(old.form.id, SIPAS);

    // The new version's items are stored for statistics, with their answer positions.
    let sql = common::connect(&database.url).await;
    let rows = sql
        .query(
            "SELECT id, code, kind, position, answer_index FROM form_items \
             WHERE form_version_id = $1 ORDER BY position",
            &[&new.id],
        )
        .await
        .unwrap();
    let items: Vec<_> = new.form.items().map(|(_, item)| item).collect();
    assert_eq!(rows.len(), items.len(), "one form_items row per item");
    let mut answer_index = 0;
    for (n, (row, item)) in rows.iter().zip(&items).enumerate() {
        assert_eq!(row.get::<_, String>(1), item.code);
        assert_eq!(row.get::<_, i16>(3), n as i16 + 1);
        let expected_index = item.is_choice().then(|| {
            answer_index += 1;
            answer_index
        });
        assert_eq!(
            row.get::<_, Option<i16>>(4),
            expected_index,
            "{}",
            item.code
        );
        assert_eq!(
            row.get::<_, String>(2),
            match item.kind {
                sipas::forms::ItemKind::Choice { .. } => "choice",
                sipas::forms::ItemKind::Text { .. } => "text",
                // The place of residence (issue 19): stored beside the answers array.
                sipas::forms::ItemKind::Residence { .. } => "residence",
            }
        );
        assert_eq!(
            new.item_ids.get(&item.code),
            Some(&row.get::<_, i32>(0)),
            "{}",
            item.code
        );
    }
    assert_eq!(answer_index, 34, "the QĐ 1001 form has 34 coded answers");

    // Putting the original file back makes the stored version 1 current again: nothing new.
    std::fs::copy(
        common::manifest_dir().join("survey-forms").join(SIPAS_FILE),
        forms.file(SIPAS_FILE),
    )
    .unwrap();
    let third = start(&database, &forms).await;
    assert_eq!(current_id(&third, SIPAS), old_id);
    assert_eq!(
        stored_versions(&database, SIPAS).await,
        [(old_id, 1), (new.id, 2)]
    );
}

#[tokio::test]
async fn a_bumped_version_is_stored_under_its_number() {
    let forms = FormsDir::copy_of_repository();
    let database = TestDatabase::create().await;
    let first = start(&database, &forms).await;
    let old_id = current_id(&first, SIPAS);

    forms.edit(SIPAS_FILE, "\nversion = 1\n", "\nversion = 5\n");
    forms.edit(SIPAS_FILE, YK_LINE, &YK_LINE.replace(YK_OLD, YK_NEW));
    let second = start(&database, &forms).await;

    let new = second.current(SIPAS).unwrap();
    assert_eq!(new.number, 5);
    assert_eq!(new.form.version, 5);
    assert_eq!(new.form.item("YK").unwrap().text, YK_NEW);
    assert_eq!(
        stored_versions(&database, SIPAS).await,
        [(old_id, 1), (new.id, 5)]
    );
    assert_eq!(second.version(old_id).unwrap().number, 1);
}

/// The form version a response (by its submission key) is stored with.
async fn response_version(sql: &tokio_postgres::Client, key: &str) -> i32 {
    sql.query_one(
        "SELECT form_version_id FROM responses WHERE submission_key::text = $1",
        &[&key],
    )
    .await
    .unwrap_or_else(|e| panic!("response {key} is stored: {e}"))
    .get(0)
}

#[tokio::test]
async fn a_response_rendered_before_a_change_is_accepted_after_it() {
    let forms = FormsDir::copy_of_repository();
    let first = TestApp::spawn_on(TestDatabase::create().await, |url| forms.config(url)).await;
    let code = first.desk_code(XUAN_BAC).await;
    let (html, token, old_version) = first.open_survey(&code).await;
    assert!(html.contains(YK_OLD));
    let quick_code = first
        .desk_code_named(
            "xuan-loc.van-phong-hdnd-ubnd",
            Some(sipas::demo::QUICK_RATING_DESK),
        )
        .await;
    let (_, quick_token, quick_old_version) = first.open_survey(&quick_code).await;
    first.stop().await;
    let database = first.database;

    // Meanwhile the files change: new wording in the QĐ 1001 form, and the comment of the
    // quick rating becomes required.
    forms.edit(SIPAS_FILE, YK_LINE, &YK_LINE.replace(YK_OLD, YK_NEW));
    forms.edit(
        QUICK_FILE,
        "max_length = 1000\n",
        "max_length = 1000\nrequired = true\n",
    );
    let app = TestApp::spawn_on(database, |url| forms.config(url)).await;

    // New renderings show the new versions.
    let (html, _, new_version) = app.open_survey(&code).await;
    assert_ne!(new_version, old_version);
    assert!(html.contains(YK_NEW) && !html.contains(YK_OLD));
    let (_, fresh_quick_token, quick_new_version) = app.open_survey(&quick_code).await;
    assert_ne!(quick_new_version, quick_old_version);

    // The forms rendered before the change are still accepted, against what they showed.
    let mut fields = full_answers("4");
    fields.push(("YK", "Góp ý gửi sau khi biểu mẫu đổi".to_string()));
    let response = app
        .post_form(
            &format!("/s/{code}"),
            &with_hidden(&token, &old_version, &fields),
        )
        .await;
    assert_eq!(response.status(), 200);
    assert!(response.text().await.unwrap().contains("Cảm ơn"));
    let quick_fields = vec![("DG", "3".to_string())];
    let response = app
        .post_form(
            &format!("/s/{quick_code}"),
            &with_hidden(&quick_token, &quick_old_version, &quick_fields),
        )
        .await;
    assert_eq!(
        response.status(),
        200,
        "the old version did not require a comment"
    );

    let sql = app.sql().await;
    assert_eq!(
        response_version(&sql, &token).await.to_string(),
        old_version
    );
    assert_eq!(
        response_version(&sql, &quick_token).await.to_string(),
        quick_old_version
    );
    let item_version: i32 = sql
        .query_one(
            "SELECT i.form_version_id FROM response_texts t JOIN form_items i ON i.id = t.item_id",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        item_version.to_string(),
        old_version,
        "the comment points at the old item"
    );

    // A form rendered after the change follows the new rule.
    let response = app
        .post_form(
            &format!("/s/{quick_code}"),
            &with_hidden(&fresh_quick_token, &quick_new_version, &quick_fields),
        )
        .await;
    assert_eq!(
        response.status(),
        422,
        "the new version requires the comment"
    );
    assert_eq!(app.response_count().await, 2);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_start_ups_at_once_store_each_version_once() {
    let forms = FormsDir::copy_of_repository();
    let database = TestDatabase::create().await;
    let (a, b) = tokio::join!(
        tokio::spawn(Services::open(forms.config(&database.url))),
        tokio::spawn(Services::open(forms.config(&database.url))),
    );
    let a = a.unwrap().expect("the first start-up succeeds");
    let b = b.unwrap().expect("the second start-up succeeds");
    for form in [SIPAS, QUICK] {
        let stored = stored_versions(&database, form).await;
        assert_eq!(stored.len(), 1, "{form}: {stored:?}");
        assert_eq!(current_id(&a.forms, form), stored[0].0);
        assert_eq!(current_id(&b.forms, form), stored[0].0);
    }
    a.close().await;
    b.close().await;
}

#[tokio::test]
async fn a_removed_form_keeps_its_versions_but_is_no_longer_current() {
    let forms = FormsDir::copy_of_repository();
    let database = TestDatabase::create().await;
    let services = Services::open(forms.config(&database.url)).await.unwrap();
    // The demo district has a desk that shows the quick rating.
    {
        let mut conn = services.database.pool.get().await.unwrap();
        sipas::demo::seed(&mut conn).await.unwrap();
    }
    let quick = services.forms.current(QUICK).unwrap();
    services.close().await;

    forms.remove(QUICK_FILE);
    assert!(!forms.file(QUICK_FILE).exists());
    let registry = start(&database, &forms).await;
    assert!(
        registry.current(QUICK).is_none(),
        "a removed form is not current"
    );
    assert_eq!(registry.form_ids(), [SIPAS]);
    let kept = registry
        .version(quick.id)
        .expect("its stored version is still loaded");
    assert_eq!(kept.form, quick.form);
    assert_eq!(kept.item_ids, quick.item_ids);
    assert_eq!(stored_versions(&database, QUICK).await, [(quick.id, 1)]);
}

/// A desk whose form file was removed keeps working on the form's newest stored version, and a
/// form rendered before the removal is still accepted: a citizen's answer is never lost to a
/// file change.
#[tokio::test]
async fn a_desk_whose_form_file_was_removed_keeps_taking_answers() {
    let forms = FormsDir::copy_of_repository();
    let first = TestApp::spawn_on(TestDatabase::create().await, |url| forms.config(url)).await;
    let quick_code = first
        .desk_code_named(
            "xuan-loc.van-phong-hdnd-ubnd",
            Some(sipas::demo::QUICK_RATING_DESK),
        )
        .await;
    let (_, token, version) = first.open_survey(&quick_code).await;
    first.stop().await;
    let database = first.database;

    forms.remove(QUICK_FILE);
    let app = TestApp::spawn_on(database, |url| forms.config(url)).await;
    let (html, _, shown) = app.open_survey(&quick_code).await;
    assert_eq!(shown, version, "the newest stored version is shown");
    assert!(html.contains("name=\"DG\""));
    let fields = vec![("DG", "2".to_string())];
    let response = app
        .post_form(
            &format!("/s/{quick_code}"),
            &common::with_hidden(&token, &version, &fields),
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(app.response_count().await, 1);
}
