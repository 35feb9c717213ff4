//! Every stored response as CSV, one row each, streamed in batches.
//!
//! Columns: response_id, submitted_at (ISO 8601 with the +07:00 offset), unit_code, desk_code,
//! form_id, form_version, channel, then one column per choice item code (the numeric answer;
//! empty when unanswered or not applicable), then one column per open question. Item codes are
//! gathered over every stored form version in (form id, version) order; two forms sharing a code
//! share its column.

use std::collections::HashMap;

use diesel_async::AsyncPgConnection;
use tokio::io::{AsyncWrite, AsyncWriteExt};

use crate::db::responses::{ExportedResponse, export_batch};
use crate::forms::{FormRegistry, NOT_APPLICABLE_CODE};
use crate::views::vietnam_offset;

const FIXED_COLUMNS: [&str; 7] = [
    "response_id",
    "submitted_at",
    "unit_code",
    "desk_code",
    "form_id",
    "form_version",
    "channel",
];
const BATCH: i64 = 5_000;

/// Where each form version's answers go in a row.
struct Layout {
    header: Vec<String>,
    /// Per form version id: the column of each answer index (0-based), and of each text item id.
    versions: HashMap<i32, (Vec<usize>, HashMap<i32, usize>)>,
}

impl Layout {
    fn new(forms: &FormRegistry) -> Self {
        let mut versions_sorted = forms.versions();
        versions_sorted.sort_by(|a, b| (&a.form.id, a.number).cmp(&(&b.form.id, b.number)));
        let mut choice_codes: Vec<String> = Vec::new();
        let mut text_codes: Vec<String> = Vec::new();
        for v in &versions_sorted {
            for item in v.form.choice_items() {
                if !choice_codes.contains(&item.code) {
                    choice_codes.push(item.code.clone());
                }
            }
            for item in v.form.text_items() {
                if !text_codes.contains(&item.code) {
                    text_codes.push(item.code.clone());
                }
            }
        }
        let first_text = FIXED_COLUMNS.len() + choice_codes.len();
        let column_of = |codes: &[String], code: &str, offset: usize| {
            offset
                + codes
                    .iter()
                    .position(|c| c == code)
                    .expect("gathered above")
        };
        let versions = versions_sorted
            .iter()
            .map(|v| {
                let choices = v
                    .form
                    .choice_items()
                    .map(|i| column_of(&choice_codes, &i.code, FIXED_COLUMNS.len()))
                    .collect();
                let texts = v
                    .form
                    .text_items()
                    .filter_map(|i| {
                        let id = *v.item_ids.get(&i.code)?;
                        Some((id, column_of(&text_codes, &i.code, first_text)))
                    })
                    .collect();
                (v.id, (choices, texts))
            })
            .collect();
        let header = FIXED_COLUMNS
            .iter()
            .map(|c| c.to_string())
            .chain(choice_codes)
            .chain(text_codes)
            .collect();
        Layout { header, versions }
    }

    fn row(&self, r: &ExportedResponse) -> Vec<String> {
        let mut row = vec![String::new(); self.header.len()];
        row[0] = r.id.to_string();
        row[1] = r
            .submitted_at
            .with_timezone(&vietnam_offset())
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, false);
        row[2] = r.unit_code.clone();
        row[3] = r.desk_code.clone().unwrap_or_default();
        row[4] = r.form_id.clone();
        row[5] = r.form_version.to_string();
        row[6] = r.channel.clone();
        if let Some((choices, texts)) = self.versions.get(&r.form_version_id) {
            for (answer, column) in r.answers.iter().zip(choices) {
                if let Some(code) = answer.filter(|c| *c != NOT_APPLICABLE_CODE) {
                    row[*column] = code.to_string();
                }
            }
            for (item_id, body) in &r.texts {
                if let Some(column) = texts.get(item_id) {
                    row[*column] = body.clone();
                }
            }
        }
        row
    }
}

fn encode(rows: &[Vec<String>]) -> anyhow::Result<Vec<u8>> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    for row in rows {
        writer.write_record(row)?;
    }
    writer.into_inner().map_err(|e| anyhow::anyhow!("{e}"))
}

/// Writes the header and every stored response; returns the number of responses written.
pub async fn write_responses<W: AsyncWrite + Unpin>(
    conn: &mut AsyncPgConnection,
    forms: &FormRegistry,
    out: &mut W,
) -> anyhow::Result<u64> {
    let layout = Layout::new(forms);
    out.write_all(&encode(std::slice::from_ref(&layout.header))?)
        .await?;
    let mut after = 0;
    let mut written = 0;
    loop {
        let batch = export_batch(conn, after, BATCH).await?;
        let Some(last) = batch.last() else { break };
        after = last.id;
        let rows: Vec<Vec<String>> = batch.iter().map(|r| layout.row(r)).collect();
        out.write_all(&encode(&rows)?).await?;
        written += batch.len() as u64;
    }
    out.flush().await?;
    Ok(written)
}
