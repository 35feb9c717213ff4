//! Small pages: home, thank-you, errors.

use maud::{Markup, html};

use super::{format_vietnam_time, layout};
use chrono::{DateTime, Utc};

pub fn home() -> Markup {
    layout(
        "Khảo sát sự hài lòng của người dân, tổ chức",
        html! {
            h1 { "Khảo sát sự hài lòng của người dân, tổ chức" }
            p { "Để đánh giá sự phục vụ của cơ quan hành chính nhà nước, Anh/Chị vui lòng quét mã QR dán tại Bộ phận Tiếp nhận và Trả kết quả nơi Anh/Chị giải quyết thủ tục hành chính." }
            p { a href="/cong-khai" { "Xem kết quả khảo sát đã công khai" } }
        },
    )
}

/// What the thank-you page says.
pub struct Thanks<'a> {
    pub unit_name: &'a str,
    pub text: Option<&'a str>,
    pub submitted_at: DateTime<Utc>,
}

pub fn thanks(t: &Thanks<'_>) -> Markup {
    layout(
        "Cảm ơn Anh/Chị",
        html! {
            div.thanks {
                h1 { "Cảm ơn Anh/Chị đã tham gia khảo sát!" }
                p { "Phiếu của Anh/Chị về " strong { (t.unit_name) } " đã được ghi nhận lúc " (format_vietnam_time(t.submitted_at)) "." }
                @if let Some(text) = t.text {
                    @for paragraph in text.split("\n\n") { p { (paragraph) } }
                }
                p.small { "Anh/Chị có thể đóng trang này." }
            }
        },
    )
}

/// The page for an HTTP error `status`: friendly, in Vietnamese, and never a cause or a trace.
pub fn error_page(status: u16, notice: Option<&str>) -> Markup {
    let (title, message): (&str, &str) = match status {
        404 => (
            "Không tìm thấy trang",
            "Mã QR hoặc đường dẫn này không đúng hoặc đã hết hiệu lực. Anh/Chị vui lòng quét lại mã QR đang dán tại Bộ phận Tiếp nhận và Trả kết quả, hoặc hỏi cán bộ tại quầy.",
        ),
        413 => (
            "Nội dung gửi lên quá lớn",
            "Phiếu gửi lên vượt quá dung lượng cho phép. Anh/Chị vui lòng rút gọn phần ý kiến và gửi lại.",
        ),
        503 => (
            "Hệ thống tạm thời gián đoạn",
            "Hệ thống đang tạm thời gián đoạn. Anh/Chị vui lòng thử lại sau ít phút.",
        ),
        403 => (
            "Không được phép",
            "Anh/Chị không có quyền truy cập trang này.",
        ),
        405 => (
            "Yêu cầu không hợp lệ",
            "Yêu cầu này không được hỗ trợ. Anh/Chị vui lòng quay lại trang khảo sát.",
        ),
        400..=499 => (
            "Yêu cầu không hợp lệ",
            "Yêu cầu không hợp lệ. Anh/Chị vui lòng quay lại trang khảo sát và thử lại.",
        ),
        _ => (
            "Đã xảy ra lỗi",
            "Rất tiếc, đã xảy ra lỗi. Anh/Chị vui lòng thử lại sau ít phút.",
        ),
    };
    layout(
        title,
        html! {
            div.notice {
                h1 { (title) }
                p { (notice.unwrap_or(message)) }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn thanks_shows_the_unit_and_the_time_in_vietnam() {
        let page = thanks(&Thanks {
            unit_name: "UBND xã Xuân Bắc",
            text: Some("Một.\n\nHai."),
            submitted_at: Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 0).unwrap(),
        })
        .into_string();
        assert!(page.contains("UBND xã Xuân Bắc"));
        assert!(page.contains("10:04 ngày 02/01/2026"));
        assert!(page.contains("<p>Hai.</p>"));
    }

    #[test]
    fn error_pages_are_in_vietnamese() {
        let page = error_page(404, None).into_string();
        assert!(page.contains("Không tìm thấy trang"));
        let page = error_page(500, None).into_string();
        assert!(page.contains("Đã xảy ra lỗi"));
    }
}
