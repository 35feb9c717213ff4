//! Responses flagged as suspected fraud, as the interface names them.

/// Beside a comment whose response is flagged and left out of the figures: the comment is
/// kept and may be handled, but its response does not count.
pub const EXCLUDED_NOTE: &str = "Phiếu nghi vấn, không tính vào kết quả";
