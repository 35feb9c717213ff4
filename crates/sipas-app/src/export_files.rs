//! The files kept for download by the export jobs (`SIPAS_DATA_DIR/exports`).

use std::path::Path;

use crate::domain::export_format::ExportFormat;

/// Deletes the files of expired exports (file key and `export_jobs.format`) from `dir`; a file
/// already gone is fine. Returns how many were deleted. Used by the runner's upkeep and by the
/// retention purge (`crate::db::retention`, [`crate::background`]).
pub async fn delete_files(dir: &Path, files: &[(uuid::Uuid, String)]) -> usize {
    let mut deleted = 0;
    for (key, format) in files {
        let Some(format) = ExportFormat::parse(format) else {
            continue;
        };
        let path = dir.join(format!("{key}.{}", format.extension()));
        match tokio::fs::remove_file(&path).await {
            Ok(()) => {
                deleted += 1;
                tracing::info!(file = %path.display(), "expired export deleted");
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => tracing::warn!(file = %path.display(), "deleting an expired export: {e}"),
        }
    }
    deleted
}
