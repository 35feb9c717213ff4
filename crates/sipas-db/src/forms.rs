//! Storing form versions, and loading every stored version into a [`FormRegistry`].

use std::collections::HashMap;
use std::path::PathBuf;

use diesel::{ExpressionMethods, QueryDsl};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

use super::schema::{form_items, form_versions, forms};
use sipas_core::forms::{Form, FormRegistry, FormVersion};

/// Advisory lock taken (per transaction) while form versions are written.
const FORMS_LOCK: i64 = 0x5349_5041_535f_4632;

/// Stores each form of the files as a version (once per distinct content) and returns the
/// registry of every stored version, with the files' versions as current.
pub async fn sync_forms(
    conn: &mut AsyncPgConnection,
    files: &[(PathBuf, Form)],
) -> anyhow::Result<FormRegistry> {
    let current = conn
        .transaction::<_, anyhow::Error, _>(async |conn| {
            diesel::sql_query(format!("SELECT pg_advisory_xact_lock({FORMS_LOCK})"))
                .execute(conn)
                .await?;
            let mut current = HashMap::new();
            for (path, form) in files {
                let id = store_version(conn, path, form).await?;
                current.insert(form.id.clone(), id);
            }
            Ok(current)
        })
        .await?;
    load_registry(conn, current).await
}

/// Returns the id of the stored version with this content, storing it first if needed.
async fn store_version(
    conn: &mut AsyncPgConnection,
    path: &std::path::Path,
    form: &Form,
) -> anyhow::Result<i32> {
    let hash = form.content_hash().to_vec();
    diesel::insert_into(forms::table)
        .values(forms::id.eq(&form.id))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    let stored: Vec<(i32, i32, Vec<u8>)> = form_versions::table
        .filter(form_versions::form_id.eq(&form.id))
        .select((
            form_versions::id,
            form_versions::version,
            form_versions::content_sha256,
        ))
        .load(conn)
        .await?;
    if let Some((id, _, _)) = stored.iter().find(|(_, _, h)| *h == hash) {
        return Ok(*id);
    }
    let max = stored.iter().map(|(_, v, _)| *v).max().unwrap_or(0);
    let number = if stored.iter().any(|(_, v, _)| *v == form.version) {
        tracing::warn!(
            form = form.id,
            declared = form.version,
            stored_as = max + 1,
            "the file changed but declares a version already stored with other content; storing it as the next version"
        );
        max + 1
    } else {
        form.version
    };
    let mut stored_form = form.clone();
    stored_form.version = number;
    let id: i32 = diesel::insert_into(form_versions::table)
        .values((
            form_versions::form_id.eq(&form.id),
            form_versions::version.eq(number),
            form_versions::content_sha256.eq(&hash),
            form_versions::definition.eq(serde_json::to_value(&stored_form)?),
            form_versions::source_file.eq(path.display().to_string()),
        ))
        .returning(form_versions::id)
        .get_result(conn)
        .await?;
    let mut answer_index: i16 = 0;
    let rows: Vec<_> = form
        .items()
        .enumerate()
        .map(|(position, (section, item))| {
            let index = item.is_choice().then(|| {
                answer_index += 1;
                answer_index
            });
            (
                form_items::form_version_id.eq(id),
                form_items::code.eq(item.code.clone()),
                form_items::section_code.eq(section.code.clone()),
                form_items::section_role.eq(section.role.as_str()),
                form_items::kind.eq(item.kind_name()),
                form_items::position.eq(position as i16 + 1),
                form_items::answer_index.eq(index),
            )
        })
        .collect();
    diesel::insert_into(form_items::table)
        .values(rows)
        .execute(conn)
        .await?;
    tracing::info!(
        form = form.id,
        version = number,
        "stored a new form version"
    );
    Ok(id)
}

/// Loads every stored version. `current` maps form ids to the version ids the files hold now.
pub async fn load_registry(
    conn: &mut AsyncPgConnection,
    current: HashMap<String, i32>,
) -> anyhow::Result<FormRegistry> {
    let rows: Vec<(i32, i32, serde_json::Value)> = form_versions::table
        .select((
            form_versions::id,
            form_versions::version,
            form_versions::definition,
        ))
        .order(form_versions::id)
        .load(conn)
        .await?;
    let items: Vec<(i32, String, i32)> = form_items::table
        .select((
            form_items::form_version_id,
            form_items::code,
            form_items::id,
        ))
        .load(conn)
        .await?;
    let mut item_ids: HashMap<i32, HashMap<String, i32>> = HashMap::new();
    for (version_id, code, id) in items {
        item_ids.entry(version_id).or_default().insert(code, id);
    }
    let mut versions = Vec::with_capacity(rows.len());
    for (id, number, definition) in rows {
        let form: Form = serde_json::from_value(definition)
            .map_err(|e| anyhow::anyhow!("stored form version {id} cannot be read: {e}"))?;
        versions.push(FormVersion {
            id,
            number,
            form,
            item_ids: item_ids.remove(&id).unwrap_or_default(),
        });
    }
    Ok(FormRegistry::new(versions, current))
}
