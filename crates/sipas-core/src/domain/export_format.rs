//! The kinds of export file: names, extensions, content types and labels.

/// What to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExportFormat {
    /// The workbook: "Tổng hợp", "Tiêu chí", "Mong đợi", "Thông tin người trả lời", "Góp ý",
    /// "Dữ liệu" and "Mã hóa".
    Xlsx,
    /// The raw data: one row per response, coded, UTF-8 with a BOM.
    Csv,
    /// The codebook of the raw data as CSV (UTF-8 with a BOM): each column, its question, its
    /// codes and labels.
    Codebook,
    /// SPSS syntax reading the raw data (by its file name, see `sipas_export::spss_data_file_name`) with
    /// variable and value labels.
    Sps,
    /// A `.zip` of the raw-data CSV, its twin for SPSS (see `sipas_export::spss_data_file_name`), the
    /// codebook CSV and the `.sps`.
    Bundle,
}

impl ExportFormat {
    pub const ALL: [ExportFormat; 5] = [
        ExportFormat::Xlsx,
        ExportFormat::Csv,
        ExportFormat::Codebook,
        ExportFormat::Sps,
        ExportFormat::Bundle,
    ];

    /// "xlsx", "csv", "codebook", "sps", "zip": what the command line and URLs call it.
    pub fn as_str(self) -> &'static str {
        match self {
            ExportFormat::Xlsx => "xlsx",
            ExportFormat::Csv => "csv",
            ExportFormat::Codebook => "codebook",
            ExportFormat::Sps => "sps",
            ExportFormat::Bundle => "zip",
        }
    }

    pub fn parse(text: &str) -> Option<ExportFormat> {
        Self::ALL
            .into_iter()
            .find(|f| f.as_str() == text.trim().to_ascii_lowercase())
    }

    /// The file name extension (without the dot).
    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Xlsx => "xlsx",
            ExportFormat::Csv | ExportFormat::Codebook => "csv",
            ExportFormat::Sps => "sps",
            ExportFormat::Bundle => "zip",
        }
    }

    /// The Content-Type of a download.
    pub fn content_type(self) -> &'static str {
        match self {
            ExportFormat::Xlsx => {
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            }
            ExportFormat::Csv | ExportFormat::Codebook => "text/csv; charset=utf-8",
            ExportFormat::Sps => "text/plain; charset=utf-8",
            ExportFormat::Bundle => "application/zip",
        }
    }

    /// Whether the export reads every response of the spec (so its time grows with them); the
    /// codebook and the syntax file do not read responses at all.
    pub fn reads_responses(self) -> bool {
        !matches!(self, ExportFormat::Codebook | ExportFormat::Sps)
    }

    /// Vietnamese name for pages: "Excel (.xlsx)", "Dữ liệu CSV", ...
    pub fn label(self) -> &'static str {
        match self {
            ExportFormat::Xlsx => "Bảng tính Excel (.xlsx)",
            ExportFormat::Csv => "Dữ liệu thô (.csv)",
            ExportFormat::Codebook => "Bảng mã hóa (.csv)",
            ExportFormat::Sps => "Cú pháp SPSS (.sps)",
            ExportFormat::Bundle => "Dữ liệu, bảng mã hóa và cú pháp SPSS (.zip)",
        }
    }
}
