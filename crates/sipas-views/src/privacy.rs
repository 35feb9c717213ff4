//! The privacy notice citizens reach from the survey form ("Thông báo về bảo vệ dữ liệu cá
//! nhân", `/quyen-rieng-tu`): who collects the answers, why, what, how long, whom to contact.
//! Short and plain, for a phone. The controller, the contact and the retention periods come
//! from the configuration; an installation may replace the explanation in between with a text
//! of its own (`SIPAS_PRIVACY_NOTICE_FILE`).

use maud::{Markup, html};

use super::layout;
use crate::config::PrivacySettings;
use crate::db::retention::Rules;

/// Where the notice is.
pub const NOTICE_PATH: &str = "/quyen-rieng-tu";
/// The query parameter naming the form to return to.
pub const BACK_PARAMETER: &str = "quay-lai";
pub const NOTICE_TITLE: &str = "Thông báo về bảo vệ dữ liệu cá nhân";
/// The text of the link on the survey form.
pub const NOTICE_LINK_TEXT: &str = "Thông báo về bảo vệ dữ liệu cá nhân";

/// The link to the notice from the form at `form_path` (`/s/…`, `/k/…`, `/v/…`), which the
/// notice links back to (a kiosk's tablet may have no back button).
pub fn notice_link(form_path: &str) -> String {
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair(BACK_PARAMETER, form_path)
        .finish();
    format!("{NOTICE_PATH}?{query}")
}

/// Whether `path` is a survey form's path the notice may link back to: a door and a code of
/// the codes' alphabet, nothing else (never another site, never a staff page).
pub fn is_form_path(path: &str) -> bool {
    let Some(code) = ["/s/", "/k/", "/v/"]
        .iter()
        .find_map(|door| path.strip_prefix(door))
    else {
        return false;
    };
    (1..=32).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// One block of an installation's own text.
#[derive(Debug, PartialEq, Eq)]
enum Block<'a> {
    Heading(&'a str),
    Paragraph(Vec<&'a str>),
    List(Vec<&'a str>),
}

/// An installation's text: blank lines separate blocks; a line beginning with `## ` is a
/// heading, lines beginning with `- ` a list, other lines a paragraph. Plain text only: it is
/// escaped like everything else.
fn blocks(text: &str) -> Vec<Block<'_>> {
    fn flush<'a>(out: &mut Vec<Block<'a>>, p: &mut Vec<&'a str>, l: &mut Vec<&'a str>) {
        if !p.is_empty() {
            out.push(Block::Paragraph(std::mem::take(p)));
        }
        if !l.is_empty() {
            out.push(Block::List(std::mem::take(l)));
        }
    }
    let mut out = Vec::new();
    for chunk in text.split("\n\n").flat_map(|c| c.split("\r\n\r\n")) {
        let mut paragraph: Vec<&str> = Vec::new();
        let mut list: Vec<&str> = Vec::new();
        for line in chunk.lines().map(str::trim).filter(|l| !l.is_empty()) {
            if let Some(heading) = line.strip_prefix("## ") {
                flush(&mut out, &mut paragraph, &mut list);
                out.push(Block::Heading(heading.trim()));
            } else if let Some(item) = line.strip_prefix("- ") {
                if !paragraph.is_empty() {
                    out.push(Block::Paragraph(std::mem::take(&mut paragraph)));
                }
                list.push(item.trim());
            } else {
                if !list.is_empty() {
                    out.push(Block::List(std::mem::take(&mut list)));
                }
                paragraph.push(line);
            }
        }
        flush(&mut out, &mut paragraph, &mut list);
    }
    out
}

fn custom_body(text: &str) -> Markup {
    html! {
        @for block in blocks(text) {
            @match block {
                Block::Heading(h) => h2 { (h) },
                Block::Paragraph(lines) => p { (lines.join(" ")) },
                Block::List(items) => ul { @for item in items { li { (item) } } },
            }
        }
    }
}

/// The standard explanation: why, what, who sees it, the citizen's rights.
fn standard_body() -> Markup {
    html! {
        h2 { "Thu thập để làm gì" }
        p {
            "Chỉ để tính các chỉ số hài lòng của người dân, tổ chức đối với sự phục vụ của cơ quan "
            "hành chính nhà nước (SIPAS) theo phương pháp của Bộ Nội vụ (Quyết định 1001/QĐ-BNV), "
            "lập báo cáo thống kê và cải thiện việc phục vụ. Câu trả lời không dùng để đánh giá "
            "riêng từng người dân và không dùng cho mục đích khác."
        }
        h2 { "Dữ liệu nào được thu thập" }
        ul {
            li {
                "Các câu trả lời của Anh/Chị trong phiếu. Phiếu không hỏi họ tên, số điện thoại hay "
                "địa chỉ; việc trả lời là tự nguyện."
            }
            li {
                "Ý kiến góp ý, nếu Anh/Chị viết: số điện thoại, số CCCD/CMND, địa chỉ email và biển "
                "số xe trong góp ý được tự động che đi trước khi lưu. Xin đừng ghi họ tên hay thông "
                "tin cá nhân vào góp ý."
            }
            li {
                "Dữ liệu kỹ thuật để chống gửi phiếu giả: một mã băm có khóa (không thể đọc ngược ra) "
                "tạo từ địa chỉ mạng của thiết bị và một cookie ngẫu nhiên, cùng thời điểm mở và gửi "
                "phiếu. Địa chỉ mạng không được lưu."
            }
            li {
                "Nếu Anh/Chị dùng mã đánh giá in trên phiếu hẹn: hệ thống chỉ ghi nhận mã đã được dùng, "
                "không ghi mã nào đi với phiếu trả lời nào, nên không ai lần ra được hồ sơ của người "
                "đã đánh giá. Số hồ sơ (nếu có) chỉ được giữ để in và phát phiếu, sau đó bị xóa."
            }
        }
        h2 { "Ai được xem" }
        p {
            "Cán bộ Phòng Nội vụ và lãnh đạo được phân quyền; cán bộ của một đơn vị chỉ xem phiếu "
            "của đơn vị mình, theo ngày (không theo giờ phút), và không xem được số liệu về nhóm "
            "dưới 5 người trả lời. Kết quả công khai chỉ gồm số liệu tổng hợp, không có câu trả lời hay "
            "góp ý của từng người."
        }
        h2 { "Quyền của Anh/Chị" }
        p {
            "Anh/Chị có các quyền của chủ thể dữ liệu theo Luật Bảo vệ dữ liệu cá nhân số "
            "91/2025/QH15. Anh/Chị có thể không tham gia khảo sát, hoặc bỏ qua các câu không bắt "
            "buộc. Vì phiếu không ghi họ tên, thường không thể tìm ra phiếu của một người cụ thể; "
            "khi cần, xin liên hệ theo địa chỉ dưới đây."
        }
    }
}

/// The notice page; `back` is the form to return to (already checked by [`is_form_path`]).
pub fn notice(settings: &PrivacySettings, rules: &Rules, back: Option<&str>) -> Markup {
    let rows: [(&str, String); 6] = [
        (
            "Ý kiến góp ý",
            format!(
                "{} ngày kể từ ngày gửi phiếu, sau đó bị xóa",
                rules.comments_days
            ),
        ),
        (
            "Mã băm của thiết bị",
            format!(
                "{} ngày kể từ ngày gửi phiếu, sau đó bị xóa",
                rules.client_keys_days
            ),
        ),
        (
            "Bộ đếm giới hạn số phiếu gửi",
            format!(
                "{} ngày kể từ lần dùng cuối, sau đó bị xóa",
                rules.limits_days
            ),
        ),
        (
            "Căn cứ phát hiện phiếu bất thường (thời điểm mở phiếu, số liệu đối chiếu)",
            format!(
                "{} ngày kể từ ngày gửi phiếu, sau đó bị xóa",
                rules.flag_evidence_days
            ),
        ),
        (
            "Số hồ sơ ghi kèm mã đánh giá",
            format!(
                "{} ngày kể từ ngày tạo mã, sau đó bị xóa",
                rules.dossier_days
            ),
        ),
        (
            "Tệp dữ liệu xuất cho cán bộ",
            format!("{} ngày, sau đó bị xóa", rules.exports_days),
        ),
    ];
    layout(
        NOTICE_TITLE,
        html! {
            div.notice.privacy {
                h1 { (NOTICE_TITLE) }
                p {
                    "Thông báo này cho biết dữ liệu nào được thu thập khi Anh/Chị trả lời phiếu khảo "
                    "sát sự hài lòng, để làm gì, được lưu giữ bao lâu và liên hệ với ai, theo Luật Bảo "
                    "vệ dữ liệu cá nhân số 91/2025/QH15."
                }
                h2 { "Ai thu thập dữ liệu" }
                p.controller { (settings.controller) }
                @match &settings.notice_body {
                    Some(text) => (custom_body(text)),
                    None => (standard_body()),
                }
                h2 { "Lưu giữ bao lâu" }
                ul.retention {
                    @for (what, how_long) in &rows {
                        li { strong { (what) } ": " (how_long) "." }
                    }
                    li {
                        strong { "Các câu trả lời đã chọn" }
                        ": được giữ lâu dài dưới dạng số liệu thống kê để so sánh qua các năm."
                    }
                }
                h2 { "Liên hệ" }
                p.contact { (settings.contact) }
                @if let Some(back) = back {
                    p { a.button href=(back) { "Quay lại phiếu khảo sát" } }
                }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(body: Option<&str>) -> PrivacySettings {
        PrivacySettings {
            controller: "Phòng Nội vụ <xã> Xuân Lộc".into(),
            contact: "0251 3871 234".into(),
            configured: true,
            notice_body: body.map(str::to_string),
        }
    }

    #[test]
    fn the_notice_shows_the_configuration_escaped() {
        let page = notice(
            &settings(None),
            &crate::db::retention::DEFAULTS,
            Some("/s/abc"),
        )
        .into_string();
        assert!(page.contains("Phòng Nội vụ &lt;xã&gt; Xuân Lộc"));
        assert!(page.contains("0251 3871 234"));
        assert!(page.contains("730 ngày kể từ ngày gửi phiếu"));
        assert!(page.contains("91/2025/QH15"));
        assert!(page.contains("href=\"/s/abc\""));
        assert!(page.contains("Thu thập để làm gì"));
    }

    #[test]
    fn an_installation_text_replaces_the_explanation_only() {
        let text = "## Mục đích\nĐể thống kê <b>.\n\n- một\n- hai\nĐoạn sau.";
        let page =
            notice(&settings(Some(text)), &crate::db::retention::DEFAULTS, None).into_string();
        assert!(page.contains("<h2>Mục đích</h2>"));
        assert!(page.contains("<p>Để thống kê &lt;b&gt;.</p>"));
        assert!(page.contains("<ul><li>một</li><li>hai</li></ul><p>Đoạn sau.</p>"));
        assert!(!page.contains("Thu thập để làm gì"));
        // Still from the configuration.
        assert!(page.contains("Lưu giữ bao lâu"));
        assert!(page.contains("0251 3871 234"));
        assert!(!page.contains("Quay lại"));
    }

    #[test]
    fn only_survey_forms_are_returned_to() {
        assert!(is_form_path("/s/abc23def"));
        assert!(is_form_path("/k/abc23def"));
        assert!(is_form_path("/v/abcdefgh23"));
        for bad in [
            "//evil.example/s/x",
            "/staff",
            "/s/",
            "/s/ABC",
            "/s/a/b",
            "https://x/s/a",
            "/s/a?x=1",
            "javascript:alert(1)",
        ] {
            assert!(!is_form_path(bad), "{bad}");
        }
        assert_eq!(notice_link("/s/abc"), "/quyen-rieng-tu?quay-lai=%2Fs%2Fabc");
    }
}
