//! Pages of the staff area: one-time codes ("mã đánh giá") to hand out with the receipt, minted
//! for a desk, printed as slips.

use maud::{Markup, html};

use super::{FieldErrors, csrf_input, error_summary, page, select_field, text_field};
use crate::SignedIn;
use crate::db::desks::DeskRow;
use crate::db::visits::{BatchRow, CodeSlip, MAX_PER_BATCH};
use crate::domain::slips::PER_SHEET;
use crate::format_vietnam_time;

/// Where the pages live (and the menu path).
pub const PATH: &str = "/staff/codes";

/// The fewest codes a batch must have for its number of used codes to be shown: in a smaller
/// batch (the one-stop software mints one code per dossier) the number would say whose
/// citizen answered.
pub const USED_SHOWN_FROM: i64 = 5;

/// What the "used" column says for a batch of `codes` codes of which `used` were used.
pub fn used_count(codes: i64, used: i64) -> String {
    if codes >= USED_SHOWN_FROM {
        used.to_string()
    } else {
        "—".to_string()
    }
}

pub fn batch_path(batch: uuid::Uuid) -> String {
    format!("{PATH}/batches/{batch}")
}

/// What the minting form holds (as typed).
#[derive(Debug, Clone, Default)]
pub struct MintForm {
    pub desk: String,
    pub count: String,
    pub dossiers: String,
}

pub struct CodesPage<'a> {
    /// The desks of the account's scope that accept responses.
    pub desks: &'a [DeskRow],
    pub batches: &'a [BatchRow],
    pub form: &'a MintForm,
    pub errors: &'a FieldErrors,
}

pub fn codes(staff: &SignedIn, p: &CodesPage<'_>) -> Markup {
    let writer = staff.may_write();
    let options: Vec<(String, String)> = std::iter::once((String::new(), "— Chọn quầy —".into()))
        .chain(p.desks.iter().map(|d| {
            (
                d.desk_id.to_string(),
                format!("{} — {}", d.unit_name, d.desk_name),
            )
        }))
        .collect();
    page(
        "Mã đánh giá dùng một lần",
        staff,
        PATH,
        html! {
            p.hint {
                "Mỗi mã đánh giá in thành một phiếu nhỏ có mã QR, phát kèm Giấy tiếp nhận hồ sơ và hẹn trả kết quả. "
                "Mỗi mã chỉ gửi được một phiếu khảo sát; lần dùng thứ hai sẽ bị từ chối."
            }
            @if writer {
                section {
                    h2 { "Tạo mã mới" }
                    (error_summary(p.errors))
                    form method="post" action=(PATH) {
                        (csrf_input(&staff.csrf))
                        (select_field("desk", "Quầy tiếp nhận", &options, &p.form.desk, p.errors))
                        (text_field("count", "Số mã", &p.form.count, p.errors, "number", Some(&format!("(1 đến {MAX_PER_BATCH}; bỏ trống nếu nhập mã hồ sơ bên dưới)"))))
                        @let error = p.errors.get("dossiers");
                        div.field.err[error.is_some()] {
                            label for="f-dossiers" { "Mã hồ sơ (không bắt buộc, mỗi dòng một mã: mỗi dòng một mã đánh giá)" }
                            @if let Some(message) = error { p.msg id="e-dossiers" { (message) } }
                            textarea id="f-dossiers" name="dossiers" rows="6" { (p.form.dossiers) }
                        }
                        button type="submit" { "Tạo mã" }
                    }
                }
            }
            section {
                h2 { "Các đợt mã đã tạo" }
                @if p.batches.is_empty() {
                    p { "Chưa có mã nào." }
                } @else {
                    p.hint {
                        "Để không ai biết người nhận hồ sơ nào đã đánh giá, hệ thống không ghi mã nào được dùng, lúc nào: "
                        "chỉ đếm số mã đã dùng của mỗi đợt, và chỉ hiện số đó cho đợt có từ " (USED_SHOWN_FROM) " mã trở lên."
                    }
                    table {
                        thead { tr { th { "Thời điểm" } th { "Đơn vị" } th { "Quầy" } th { "Số mã" } th { "Đã dùng" } th { "Người tạo" } th { "" } } }
                        tbody {
                            @for b in p.batches {
                                tr {
                                    td { (format_vietnam_time(b.created_at)) }
                                    td { (b.unit_name) }
                                    td { (b.desk_name) }
                                    td.num { (crate::staff::comments::format_count(b.codes)) }
                                    td { (used_count(b.codes, b.used)) }
                                    td {
                                        (b.created_by.as_deref().unwrap_or(""))
                                        @if b.via_api { " (qua API)" }
                                    }
                                    td { a href=(batch_path(b.batch)) { "Xem và in" } }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}

/// One batch: its codes and the sheets of slips to print.
pub fn batch(
    staff: &SignedIn,
    batch: uuid::Uuid,
    slips: &[CodeSlip],
    link: &dyn Fn(&str) -> String,
) -> Markup {
    let sheets = slips.len().div_ceil(PER_SHEET).max(1);
    let base = batch_path(batch);
    let first = slips.first();
    page(
        "Phiếu mã đánh giá",
        staff,
        PATH,
        html! {
            @if let Some(first) = first {
                @let used = slips.iter().filter(|s| s.code.used).count() as i64;
                p { (first.unit_name) " — " (first.desk_name) " · " (crate::group_thousands(slips.len() as u64)) " mã · tạo lúc " (format_vietnam_time(first.code.created_at))
                    " · đã dùng: " (used_count(slips.len() as i64, used)) }
            }
            p.no-print {
                "In trang này (khổ A4, tỉ lệ 100%) rồi cắt theo đường viền: mỗi tờ " (PER_SHEET) " phiếu. "
                @for n in 1..=sheets {
                    a href={ (base) "/slips.svg?page=" (n) } { "Tờ " (n) " (SVG)" } " · "
                    a href={ (base) "/slips.png?page=" (n) } { "PNG" } " "
                }
                " · " a href=(PATH) { "Quay lại" }
            }
            div.slip-sheets {
                @for n in 1..=sheets {
                    img.slip-sheet src={ (base) "/slips.svg?page=" (n) } alt={ "Tờ phiếu mã đánh giá số " (n) } width="794" height="1123";
                }
            }
            table.no-print {
                thead { tr { th { "Mã" } th { "Mã hồ sơ" } th { "Đường dẫn" } th { "" } } }
                tbody {
                    @for s in slips {
                        tr {
                            td { code { (s.code.code) } }
                            td { (s.code.dossier_no.as_deref().unwrap_or("")) }
                            td { (link(&s.code.code)) }
                            td {
                                a href={ (PATH) "/" (s.code.code) "/slip.svg" } { "Phiếu SVG" } " · "
                                a href={ (PATH) "/" (s.code.code) "/slip.png" } { "PNG" }
                            }
                        }
                    }
                }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_batch_does_not_say_how_many_of_its_codes_were_used() {
        // One code per dossier (the one-stop software): "1" would say that this citizen answered.
        assert_eq!(used_count(1, 1), "—");
        assert_eq!(used_count(4, 0), "—");
        assert_eq!(used_count(5, 0), "0");
        assert_eq!(used_count(21, 13), "13");
    }
}
