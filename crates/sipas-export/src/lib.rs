//! Files for people outside the service: the survey's results and raw data for the province
//! (Excel workbook, CSV, codebook, SPSS syntax, a zip of the three), and printable QR posters.
//!
//! Every export goes through [`write`], for the command line (`sipas export`) and for the web's
//! export jobs alike. What an export is about is an [`ExportSpec`] (see [`spec`]); its figures
//! come from `sipas_app::reports::build`, the function the dashboard and the JSON API use, so the
//! three show the same numbers.

// The lower layers under the names the code uses (`crate::reports::build`, ...).
use sipas_app::{
    Error, config, db, disclosure, domain, forms, periods, reports, small_cells, stats,
};
use sipas_core::{plans, selection};

pub mod csv;
pub mod docx;
pub mod jobs;
pub mod pdf;
pub mod poster;
pub mod slips;
pub mod spec;
pub mod sps;
pub mod unit_sheet;
pub mod xlsx;

use std::path::Path;

use diesel_async::AsyncPgConnection;

use crate::forms::FormRegistry;
pub use spec::{ExportSpec, SpecError, SpecRequest, UnitRef};

pub use crate::domain::export_format::ExportFormat;

/// What [`write`] wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Summary {
    /// Responses written (0 for the codebook and the syntax file).
    pub rows: u64,
    /// Size of the file written.
    pub bytes: u64,
}

/// A progress callback: `(done, total)` responses; called after each batch (and once at the
/// start with `done = 0`). `total` is counted before the first batch, so it can be slightly off
/// when responses arrive during the export.
pub type Progress<'a> = &'a (dyn Fn(u64, u64) + Send + Sync);

/// The name of the raw-data CSV of `spec` ("sipas-xuan-loc-2026-q1.csv"): what the `.sps`
/// reads, and its name inside the bundle.
pub fn data_file_name(spec: &ExportSpec) -> String {
    format!("{}.csv", spec.file_stem)
}

/// The name of the SPSS data file of `spec` ("sipas-xuan-loc-2026-q1-spss.csv"): the raw data
/// as the CSV, each line break in a text written as a carriage return (see [`sps`]); what the
/// `.sps` reads, in the bundle beside the CSV.
pub fn spss_data_file_name(spec: &ExportSpec) -> String {
    format!("{}-spss.csv", spec.file_stem)
}

/// The suggested file name of an export ("sipas-xuan-loc-2026-q1.xlsx",
/// "sipas-xuan-loc-2026-q1-ma-hoa.csv", ...).
pub fn file_name(spec: &ExportSpec, format: ExportFormat) -> String {
    match format {
        ExportFormat::Codebook => format!("{}-ma-hoa.csv", spec.file_stem),
        other => format!("{}.{}", spec.file_stem, other.extension()),
    }
}

/// The layout of `spec` with the places of residence of the unit tree labelled (the codebook,
/// the SPSS syntax's value labels, the workbook's "Mã hóa" sheet).
pub async fn labelled_layout(
    conn: &mut AsyncPgConnection,
    forms: &FormRegistry,
    spec: &ExportSpec,
) -> anyhow::Result<csv::Layout> {
    let layout = csv::Layout::for_spec(forms, spec);
    let names = crate::db::residence::unit_names(conn).await?;
    Ok(layout.with_places(&names))
}

/// Number of responses the export of `spec` holds (its raw-data rows): to decide between an
/// immediate download and a background job, and for progress.
pub async fn count(
    conn: &mut AsyncPgConnection,
    forms: &FormRegistry,
    spec: &ExportSpec,
) -> anyhow::Result<u64> {
    let layout = csv::Layout::for_spec(forms, spec);
    Ok(crate::db::responses::export_count(conn, &csv::data_filter(spec, &layout)).await?)
}

/// Writes the export of `spec` in `format` to `out` (created or truncated): the one entry point
/// of the command line and the web's export jobs.
///
/// The file is written in place; callers that must never show a partial file write to a
/// temporary name and rename it when this returns `Ok` (the command line does). On error the
/// content of `out` is unspecified.
///
/// Responses are read from the database in batches (keyset paging, a few thousand at a time)
/// and written between the reads, so memory stays bounded at any number of responses (the
/// workbook's "Dữ liệu" sheet is a constant-memory worksheet, spooled to a temporary file). The
/// writing is synchronous CPU and disk work (rust_xlsxwriter, csv, zip): run this future on a
/// thread that may block, never on the server's worker threads: e.g. `tokio::spawn` it on the
/// multi-threaded runtime (the command line) or on a runtime of its own inside
/// `std::thread::spawn`/`spawn_blocking` (the web's background jobs).
///
/// `progress` is called with `(done, total)` responses, see [`Progress`].
pub async fn write(
    conn: &mut AsyncPgConnection,
    forms: &FormRegistry,
    spec: &ExportSpec,
    format: ExportFormat,
    out: &Path,
    progress: Progress<'_>,
) -> anyhow::Result<Summary> {
    use anyhow::Context;
    let rows = match format {
        ExportFormat::Xlsx => xlsx::write_workbook(conn, forms, spec, out, progress).await?,
        ExportFormat::Csv => {
            let file = std::fs::File::create(out)
                .with_context(|| format!("creating {}", out.display()))?;
            let mut writer = std::io::BufWriter::with_capacity(1 << 16, file);
            let rows = csv::write_data(conn, forms, spec, &mut writer, progress).await?;
            std::io::Write::flush(&mut writer)?;
            rows
        }
        ExportFormat::Codebook => {
            let layout = labelled_layout(conn, forms, spec).await?;
            std::fs::write(out, csv::codebook_csv(&layout)?)
                .with_context(|| format!("writing {}", out.display()))?;
            0
        }
        ExportFormat::Sps => {
            let layout = labelled_layout(conn, forms, spec).await?;
            std::fs::write(out, sps::syntax(&layout, spec, &spss_data_file_name(spec)))
                .with_context(|| format!("writing {}", out.display()))?;
            0
        }
        ExportFormat::Bundle => write_bundle(conn, forms, spec, out, progress).await?,
    };
    let bytes = std::fs::metadata(out)
        .with_context(|| format!("reading {}", out.display()))?
        .len();
    Ok(Summary { rows, bytes })
}

/// The zip: the raw data CSV (streamed into the archive), its twin for SPSS (spooled to a
/// temporary file beside `out` while the CSV is written, so both hold the same responses), the
/// codebook and the syntax file.
async fn write_bundle(
    conn: &mut AsyncPgConnection,
    forms: &FormRegistry,
    spec: &ExportSpec,
    out: &Path,
    progress: Progress<'_>,
) -> anyhow::Result<u64> {
    use anyhow::Context;
    use std::io::Write;
    let file = std::fs::File::create(out).with_context(|| format!("creating {}", out.display()))?;
    let mut zip = zip::ZipWriter::new(std::io::BufWriter::with_capacity(1 << 16, file));
    // Every entry dated 1980-01-01 (the zip format's first day), never the clock: the same data
    // gives the same archive byte for byte (tests/backup.rs), whatever features of the zip
    // crate the build enables ("time" would date entries now).
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::default())
        .large_file(true);
    let layout = labelled_layout(conn, forms, spec).await?;
    zip.start_file(data_file_name(spec), options)?;
    // Beside `out`, named so that the web's clean-up of dead attempts (".{key}.{n}.tmp") also
    // takes it if the process dies here.
    let spss_path = out.with_extension("spss.tmp");
    let spooled = spool_spss_data(conn, forms, spec, &mut zip, &spss_path, progress).await;
    let rows = match spooled {
        Ok(rows) => {
            zip.start_file(spss_data_file_name(spec), options)?;
            let copied = std::fs::File::open(&spss_path)
                .and_then(|mut file| std::io::copy(&mut file, &mut zip));
            let _ = std::fs::remove_file(&spss_path);
            copied.with_context(|| format!("copying {}", spss_path.display()))?;
            rows
        }
        Err(e) => {
            let _ = std::fs::remove_file(&spss_path);
            return Err(e);
        }
    };
    zip.start_file(file_name(spec, ExportFormat::Codebook), options)?;
    zip.write_all(&csv::codebook_csv(&layout)?)?;
    zip.start_file(file_name(spec, ExportFormat::Sps), options)?;
    zip.write_all(sps::syntax(&layout, spec, &spss_data_file_name(spec)).as_bytes())?;
    zip.finish()?.flush()?;
    Ok(rows)
}

/// Writes the CSV to `csv_out` and the SPSS data file to a new file at `spss_path`.
async fn spool_spss_data<W: std::io::Write + Send>(
    conn: &mut AsyncPgConnection,
    forms: &FormRegistry,
    spec: &ExportSpec,
    csv_out: &mut W,
    spss_path: &Path,
    progress: Progress<'_>,
) -> anyhow::Result<u64> {
    use anyhow::Context;
    use std::io::Write;
    let file = std::fs::File::create(spss_path)
        .with_context(|| format!("creating {}", spss_path.display()))?;
    let mut spss = std::io::BufWriter::with_capacity(1 << 16, file);
    let mut writer = std::io::BufWriter::with_capacity(1 << 16, csv_out);
    let rows =
        csv::write_data_and_spss(conn, forms, spec, &mut writer, &mut spss, progress).await?;
    writer.flush()?;
    spss.flush()?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_round_trip() {
        for f in ExportFormat::ALL {
            assert_eq!(ExportFormat::parse(f.as_str()), Some(f));
        }
        assert_eq!(ExportFormat::parse("pdf"), None);
    }

    /// The web runs exports as background tasks: the future must be `Send`.
    #[allow(dead_code)]
    fn write_is_send(
        conn: &'static mut AsyncPgConnection,
        forms: &'static FormRegistry,
        spec: &'static ExportSpec,
    ) -> impl Send {
        write(
            conn,
            forms,
            spec,
            ExportFormat::Xlsx,
            Path::new("x"),
            &|_, _| {},
        )
    }
}
