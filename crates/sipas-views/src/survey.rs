//! The survey page a citizen sees on their phone: one radio group per item, named by the item
//! code, large tap targets, no script.

use std::collections::HashMap;

use maud::{Markup, html};
use uuid::Uuid;

use super::layout;
use crate::forms::submission::{
    HONEYPOT_FIELD, NOT_APPLICABLE_VALUE, Problems, STARTED_FIELD, TOKEN_FIELD, VERSION_FIELD,
};
use crate::forms::{
    Form, FormVersion, Item, ItemKind, RESIDENCE_DECLINED_LABEL, RESIDENCE_DECLINED_VALUE,
    RESIDENCE_ELSEWHERE_LABEL, RESIDENCE_ELSEWHERE_VALUE, ResidencePlace, SectionRole,
};

/// Everything the survey page shows.
pub struct SurveyPage<'a> {
    pub unit_name: &'a str,
    pub desk_name: &'a str,
    /// Where the form posts to (`/s/{desk code}`).
    pub action: &'a str,
    pub version: &'a FormVersion,
    /// The idempotency key of this rendering of the form.
    pub token: Uuid,
    /// The signed time this form was first rendered (kept when it comes back with problems).
    pub started: &'a str,
    /// What the citizen entered (kept when the form comes back with problems).
    pub values: &'a HashMap<String, String>,
    pub problems: &'a Problems,
    /// The places of residence of the unit tree, sorted by group then name (for a residence
    /// item without a list of its own).
    pub places: &'a [ResidencePlace],
}

const ROMAN: [&str; 12] = [
    "I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII",
];

/// Question numbers shown to the citizen: 1, 2, 3 ... across the whole form.
fn numbering(form: &Form) -> HashMap<&str, usize> {
    form.items()
        .enumerate()
        .map(|(n, (_, item))| (item.code.as_str(), n + 1))
        .collect()
}

pub fn survey(page: &SurveyPage<'_>) -> Markup {
    let form = &page.version.form;
    let numbers = numbering(form);
    let problem_count = page.problems.items.len();
    layout(
        &form.title,
        html! {
            header.survey-head {
                p.unit { (page.unit_name) }
                p.desk { (page.desk_name) }
                h1 { (form.title) }
            }
            @if !page.problems.is_empty() {
                div.alert id="loi" role="alert" {
                    p { strong { "Phiếu chưa được gửi." } }
                    @for message in &page.problems.general { p { (message) } }
                    @if problem_count > 0 {
                        p { "Vui lòng xem lại " (problem_count) " câu hỏi được đánh dấu:" }
                        ul {
                            @for (n, item) in form.items().map(|(_, i)| i).filter(|i| page.problems.items.contains_key(&i.code)).map(|i| (numbers[i.code.as_str()], i)) {
                                li { a href={ "#q-" (item.code) } { "Câu " (n) } ": " (page.problems.items[&item.code]) }
                            }
                        }
                    }
                }
            }
            @if let Some(intro) = &form.introduction {
                div.intro {
                    @for paragraph in intro.split("\n\n") { p { (paragraph) } }
                }
            }
            p.privacy-link {
                a href=(super::privacy::notice_link(page.action)) { (super::privacy::NOTICE_LINK_TEXT) }
            }
            form method="post" action=(page.action) accept-charset="utf-8" {
                input type="hidden" name=(TOKEN_FIELD) value=(page.token);
                input type="hidden" name=(VERSION_FIELD) value=(page.version.id);
                input type="hidden" name=(STARTED_FIELD) value=(page.started);
                // The honeypot: moved off-screen by the stylesheet, skipped by the keyboard;
                // a screen reader reads its label, which asks to leave it empty.
                div.hp {
                    label for="hp-field" { "Không điền vào ô này (để trống)" }
                    input id="hp-field" type="text" name=(HONEYPOT_FIELD) value="" tabindex="-1" autocomplete="off";
                }
                @for (n, section) in form.sections.iter().enumerate() {
                    section.part {
                        h2 { (ROMAN.get(n).copied().unwrap_or("")) ". " (section.title) }
                        @if let Some(description) = &section.description { p.hint { (description) } }
                        @for item in &section.items {
                            (question(form, item, numbers[item.code.as_str()], page, section.role))
                        }
                    }
                }
                p.hint { "Câu có dấu " span.req { "*" } " là câu bắt buộc." }
                button type="submit" { "Gửi phiếu" }
            }
        },
    )
}

fn question(
    form: &Form,
    item: &Item,
    number: usize,
    page: &SurveyPage<'_>,
    role: SectionRole,
) -> Markup {
    let problem = page.problems.items.get(&item.code);
    let value = page.values.get(&item.code).map(String::as_str);
    let id = format!("q-{}", item.code);
    let error_id = format!("e-{}", item.code);
    html! {
        @match &item.kind {
            ItemKind::Choice { scale, not_applicable } => {
                @let scale = form.scale(scale).expect("validated forms name known scales");
                fieldset.q.err[problem.is_some()] id=(id) aria-describedby=[problem.map(|_| &error_id)] {
                    legend {
                        span.n { (number) ". " } (item.text)
                        @if item.required { "\u{a0}" span.req title="bắt buộc" { "*" } }
                    }
                    @if let Some(message) = problem { p.msg id=(error_id) { (message) } }
                    div.opts.row[role == SectionRole::Expectation] {
                        @for option in scale.display_options() {
                            @let code = option.code.to_string();
                            label {
                                input type="radio" name=(item.code) value=(code) required[item.required] checked[value == Some(code.as_str())];
                                " " (option.label)
                            }
                        }
                        @if *not_applicable {
                            label.na {
                                input type="radio" name=(item.code) value=(NOT_APPLICABLE_VALUE) required[item.required] checked[value == Some(NOT_APPLICABLE_VALUE)];
                                " " (form.not_applicable_label)
                            }
                        }
                    }
                }
            }
            ItemKind::Residence { places } => {
                div.q.err[problem.is_some()] id=(id) {
                    label for={ "r-" (item.code) } {
                        span.n { (number) ". " } (item.text)
                    }
                    @if let Some(message) = problem { p.msg id=(error_id) { (message) } }
                    (residence_select(&format!("r-{}", item.code), form, item, places.as_deref(), page.places, value, problem.map(|_| error_id.as_str())))
                }
            }
            ItemKind::Text { max_length } => {
                div.q.err[problem.is_some()] id=(id) {
                    label for={ "t-" (item.code) } {
                        span.n { (number) ". " } (item.text)
                        @if item.required { "\u{a0}" span.req title="bắt buộc" { "*" } }
                    }
                    @if let Some(message) = problem { p.msg id=(error_id) { (message) } }
                    textarea id={ "t-" (item.code) } name=(item.code) rows="4" maxlength=(max_length) required[item.required] aria-describedby=[problem.map(|_| &error_id)] {
                        (value.unwrap_or(""))
                    }
                }
            }
        }
    }
}

/// The one select of a residence item: a first empty choice ("not answered"), the places in
/// groups (the unit tree by parent unit; a form's list in one group), then "Nơi khác" and
/// "Không muốn trả lời". A native select: light, keyboard and screen-reader friendly, no
/// script. Shared with the paper-entry form.
pub fn residence_select(
    id: &str,
    form: &Form,
    item: &Item,
    listed: Option<&str>,
    tree: &[ResidencePlace],
    value: Option<&str>,
    error_id: Option<&str>,
) -> Markup {
    let value = value.map(str::trim);
    let mut groups: Vec<(&str, Vec<&ResidencePlace>)> = Vec::new();
    for place in tree {
        match groups.last_mut() {
            Some((group, places)) if *group == place.group => places.push(place),
            _ => groups.push((&place.group, vec![place])),
        }
    }
    html! {
        select id=(id) name=(item.code) aria-invalid=[error_id.map(|_| "true")] aria-describedby=[error_id] {
            option value="" selected[value.is_none_or(str::is_empty)] { "(Chọn xã, phường nơi Anh/Chị cư trú)" }
            @match listed.and_then(|scale| form.scale(scale)) {
                Some(scale) => {
                    optgroup label="Xã, phường" {
                        @for option in scale.display_options() {
                            @let code = option.code.to_string();
                            option value=(code) selected[value == Some(code.as_str())] { (option.label) }
                        }
                    }
                }
                None => {
                    @for (group, places) in &groups {
                        optgroup label=(group) {
                            @for place in places {
                                @let code = place.unit_id.to_string();
                                option value=(code) selected[value == Some(code.as_str())] { (place.name) }
                            }
                        }
                    }
                }
            }
            optgroup label="Khác" {
                option value=(RESIDENCE_ELSEWHERE_VALUE) selected[value == Some(RESIDENCE_ELSEWHERE_VALUE)] { (RESIDENCE_ELSEWHERE_LABEL) }
                option value=(RESIDENCE_DECLINED_VALUE) selected[value == Some(RESIDENCE_DECLINED_VALUE)] { (RESIDENCE_DECLINED_LABEL) }
            }
        }
    }
}

/// A page with a title and a message for the citizen (a used code, a closed desk, …).
pub fn notice(title: &str, paragraphs: &[&str]) -> Markup {
    layout(
        title,
        html! {
            div.thanks {
                h1 { (title) }
                @for paragraph in paragraphs { p { (paragraph) } }
            }
        },
    )
}

pub const NOT_A_KIOSK_TITLE: &str = "Thiết bị này không phải máy đánh giá của quầy";

/// The kiosk door opened on a device that is not one of the desk's enrolled kiosks: where the
/// citizen can rate the desk instead (`open_form`, the desk's open QR form).
pub fn not_a_kiosk(open_form: &str) -> Markup {
    layout(
        NOT_A_KIOSK_TITLE,
        html! {
            div.thanks {
                h1 { (NOT_A_KIOSK_TITLE) }
                p { "Đường dẫn này chỉ dùng trên máy tính bảng đặt tại quầy, đã được cán bộ đăng ký làm máy đánh giá." }
                p { "Anh/Chị vẫn có thể đánh giá trên thiết bị này bằng phiếu khảo sát của quầy:" }
                p { a href=(open_form) { "Mở phiếu khảo sát của quầy" } }
            }
        },
    )
}

/// What the kiosk's thank-you page shows.
pub struct KioskThanks<'a> {
    pub unit_name: &'a str,
    pub text: Option<&'a str>,
    /// Where the fresh form is (`/k/{desk code}`).
    pub next: &'a str,
    /// Seconds before it comes back.
    pub seconds: u32,
}

/// The kiosk's thank-you page: it goes back to a fresh form by itself after a few seconds
/// (a `<meta http-equiv="refresh">`: no script), with a button to go at once.
pub fn kiosk_thanks(page: &KioskThanks<'_>) -> Markup {
    let refresh = format!("{};url={}", page.seconds, page.next);
    html! {
        (maud::DOCTYPE)
        html lang="vi" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="robots" content="noindex";
                meta http-equiv="refresh" content=(refresh);
                title { "Cảm ơn Anh/Chị" }
                link rel="icon" href=(crate::FAVICON_PATH) sizes="32x32";
                link rel="stylesheet" href=(*crate::STYLESHEET_HREF);
            }
            body {
                main {
                    div.thanks {
                        h1 { "Cảm ơn Anh/Chị đã tham gia khảo sát!" }
                        p { "Phiếu của Anh/Chị về " strong { (page.unit_name) } " đã được ghi nhận." }
                        @if let Some(text) = page.text {
                            @for paragraph in text.split("\n\n") { p { (paragraph) } }
                        }
                        p.small { "Sau " (page.seconds) " giây, máy sẽ trở về phiếu mới cho người tiếp theo." }
                        p { a.button href=(page.next) { "Phiếu mới" } }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forms::load_dir;
    use std::path::Path;

    fn sipas_form() -> FormVersion {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../survey-forms");
        let form = load_dir(&dir)
            .unwrap()
            .into_iter()
            .map(|(_, f)| f)
            .find(|f| f.id == "sipas-1001-dich-vu")
            .unwrap();
        FormVersion {
            id: 42,
            number: 1,
            form,
            item_ids: HashMap::new(),
        }
    }

    fn render(values: &HashMap<String, String>, problems: &Problems) -> String {
        let version = sipas_form();
        survey(&SurveyPage {
            unit_name: "UBND xã Xuân Bắc",
            desk_name: "Bộ phận Tiếp nhận và Trả kết quả",
            action: "/s/abcd2345",
            version: &version,
            token: Uuid::nil(),
            started: "1.00",
            values,
            problems,
            places: &places(),
        })
        .into_string()
    }

    fn places() -> Vec<ResidencePlace> {
        let place = |unit_id, name: &str, group: &str| ResidencePlace {
            unit_id,
            name: name.into(),
            group: group.into(),
        };
        vec![
            place(7, "Xã Thử Nghiệm A", "Huyện Thử Nghiệm"),
            place(8, "Xã Thử Nghiệm B", "Huyện Thử Nghiệm"),
            place(9, "Phường Thử Nghiệm C", "Thành phố Thử Nghiệm"),
        ]
    }

    #[test]
    fn the_residence_is_one_grouped_select_with_the_two_other_answers() {
        let values: HashMap<String, String> = [("NOI_CU_TRU".to_string(), "8".to_string())].into();
        let html = render(&values, &Problems::default());
        assert!(html.contains("<label for=\"r-NOI_CU_TRU\">"), "{html}");
        assert!(html.contains("<select id=\"r-NOI_CU_TRU\" name=\"NOI_CU_TRU\">"));
        assert!(html.contains("<optgroup label=\"Huyện Thử Nghiệm\"><option value=\"7\">Xã Thử Nghiệm A</option><option value=\"8\" selected>Xã Thử Nghiệm B</option></optgroup><optgroup label=\"Thành phố Thử Nghiệm\">"));
        assert!(html.contains("<option value=\"khac\">Nơi khác</option><option value=\"tu-choi\">Không muốn trả lời</option>"));
    }

    #[test]
    fn every_item_is_a_radio_group_named_by_its_code() {
        let html = render(&HashMap::new(), &Problems::default());
        let version = sipas_form();
        for item in version.form.choice_items() {
            assert!(
                html.contains(&format!("name=\"{}\" value=", item.code)),
                "{}",
                item.code
            );
        }
        assert!(html.contains("name=\"_v\" value=\"42\""));
        assert!(html.contains("action=\"/s/abcd2345\""));
        assert!(html.contains("name=\"_t\" value=\"1.00\""));
        assert!(html.contains("class=\"hp\""));
        assert!(html.contains("name=\"_hp\" value=\"\" tabindex=\"-1\""));
        assert!(!html.contains("<script"));
    }

    #[test]
    fn the_page_is_small_enough_for_a_cheap_phone() {
        let html = render(&HashMap::new(), &Problems::default());
        let css = include_str!("../../../static/sipas.css");
        assert!(
            html.len() + css.len() < 30 * 1024,
            "HTML {} + CSS {} bytes",
            html.len(),
            css.len()
        );
    }

    #[test]
    fn the_kiosk_returns_to_a_fresh_form_without_script() {
        let html = kiosk_thanks(&KioskThanks {
            unit_name: "UBND xã Xuân Bắc",
            text: None,
            next: "/k/abcd2345",
            seconds: 8,
        })
        .into_string();
        assert!(html.contains("<meta http-equiv=\"refresh\" content=\"8;url=/k/abcd2345\">"));
        assert!(!html.contains("<script"));
    }

    #[test]
    fn a_device_that_is_not_a_kiosk_is_sent_to_the_open_form() {
        let html = not_a_kiosk("/s/abcd2345").into_string();
        assert!(html.contains(&format!("<h1>{NOT_A_KIOSK_TITLE}</h1>")));
        assert!(html.contains("<a href=\"/s/abcd2345\">Mở phiếu khảo sát của quầy</a>"));
        assert!(!html.contains("<script") && !html.contains("<form"));
    }

    #[test]
    fn problems_are_shown_at_their_item_and_answers_are_kept() {
        let values: HashMap<String, String> = [("TC2".to_string(), "4".to_string())].into();
        let mut problems = Problems::default();
        problems.items.insert(
            "TC1".into(),
            "Vui lòng chọn một câu trả lời cho câu hỏi này.".into(),
        );
        let html = render(&values, &problems);
        assert!(html.contains("Phiếu chưa được gửi."));
        assert!(html.contains("href=\"#q-TC1\""));
        assert!(html.contains("class=\"q err\" id=\"q-TC1\""));
        assert!(html.contains("name=\"TC2\" value=\"4\" required checked"));
    }
}
