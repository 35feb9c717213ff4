//! E-mail alerts for a unit's staff (issue 17), the rules without any mail or database type:
//! what counts as a very dissatisfied rating, when the daily digest is due, what an e-mail
//! address looks like, and the text of the e-mails.
//!
//! # "Rất không hài lòng"
//!
//! The forms have no single overall question: the QĐ 1001 form rates 19 criteria on the
//! five-level scale whose lowest option is "Rất không hài lòng", the desk's per-visit form
//! rates the service once on three levels whose lowest is "Không hài lòng". A response is
//! *very dissatisfied* when it answers **any criterion** (a choice item of a factor section,
//! on a satisfaction scale: one with positive codes) with **the lowest option of that
//! criterion's scale**. This is what a unit head expects: a citizen who chose the worst
//! answer the form offered, on whatever part of the service, is someone to call back; a
//! citizen who was merely "Không hài lòng" on the five-level form is not (their figures are in
//! the statistics). The rule reads the form's structure, never a label, so a new form or scale
//! follows it without code changes. "Không áp dụng" (code 0) and unanswered items never count.

use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::time::vietnam_offset;
use crate::forms::{Form, ItemKind, SectionRole};

/// The hour (Vietnam's time) at which the daily digests go out.
pub const DIGEST_HOUR: u32 = 7;
/// At most this many responses are written out in one e-mail; the others are counted.
pub const MAX_ITEMS_PER_MAIL: usize = 50;
/// Longest e-mail address (RFC 5321's path limit).
pub const MAX_EMAIL_CHARS: usize = 254;

/// How a subscription is delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// One e-mail per run of the alert task (every minute) holding what is new.
    Immediate,
    /// One e-mail a day at [`DIGEST_HOUR`], holding what came in since the last one.
    Daily,
}

impl Mode {
    pub fn parse(text: &str) -> Option<Mode> {
        match text {
            "immediate" => Some(Mode::Immediate),
            "daily" => Some(Mode::Daily),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Immediate => "immediate",
            Mode::Daily => "daily",
        }
    }

    /// The mode's name in the interface.
    pub fn label(self) -> &'static str {
        match self {
            Mode::Immediate => "Ngay khi có phản hồi (kiểm tra mỗi phút)",
            Mode::Daily => "Tổng hợp một lần mỗi ngày, lúc 07:00",
        }
    }
}

/// The events of a subscription's name in the interface.
pub const EVENT_VERY_DISSATISFIED: &str = "Đánh giá ở mức thấp nhất («Rất không hài lòng»; phiếu 3 mức: «Không hài lòng») ở bất kỳ tiêu chí nào";
pub const EVENT_COMMENT: &str = "Có góp ý bằng lời";

/// One criterion answered at the lowest level of its scale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LowRating {
    pub item_code: String,
    pub item_text: String,
    /// The option's label ("Rất không hài lòng").
    pub label: String,
}

/// How a response rated the service, as an alert tells it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Rating {
    /// Criteria answered with a code of the scale (not "không áp dụng", not unanswered).
    pub answered: usize,
    /// Of those, answered with a positive ("satisfied") code.
    pub positive: usize,
    /// The criteria answered at the lowest level (see the module documentation).
    pub lowest: Vec<LowRating>,
    /// The label answered, when the form has a single criterion (the desk's form).
    pub single: Option<String>,
}

impl Rating {
    /// Whether the response is very dissatisfied (see the module documentation).
    pub fn very_dissatisfied(&self) -> bool {
        !self.lowest.is_empty()
    }
}

/// How the response with `answers` (aligned with the form's choice items) rated `form`'s
/// criteria.
pub fn rating(form: &Form, answers: &[Option<i16>]) -> Rating {
    let mut rating = Rating::default();
    let mut criteria = 0;
    let mut position = 0usize;
    for (section, item) in form.items() {
        let ItemKind::Choice { scale, .. } = &item.kind else {
            continue;
        };
        let answer = answers.get(position).copied().flatten();
        position += 1;
        if section.role != SectionRole::Factor {
            continue;
        }
        let Some(scale) = form.scale(scale) else {
            continue;
        };
        if scale.positive.is_empty() {
            continue;
        }
        criteria += 1;
        let Some(code) = answer else { continue };
        let Some(label) = scale.label(code) else {
            // 0: "không áp dụng".
            continue;
        };
        rating.answered += 1;
        if scale.positive.contains(&code) {
            rating.positive += 1;
        }
        rating.single = Some(label.to_string());
        let lowest = scale.options.iter().map(|o| o.code).min();
        if lowest == Some(code) {
            rating.lowest.push(LowRating {
                item_code: item.code.clone(),
                item_text: item.text.clone(),
                label: label.to_string(),
            });
        }
    }
    if criteria != 1 {
        rating.single = None;
    }
    rating
}

/// The latest digest time (07:00 in Vietnam) at or before `now`: a daily subscription's
/// events written before it are due.
pub fn digest_cutoff(now: DateTime<Utc>) -> DateTime<Utc> {
    let local = now.with_timezone(&vietnam_offset());
    let today = local
        .date_naive()
        .and_hms_opt(DIGEST_HOUR, 0, 0)
        .expect("a valid time");
    let today = today
        .and_local_timezone(vietnam_offset())
        .single()
        .expect("a fixed offset is never ambiguous")
        .with_timezone(&Utc);
    if today <= now {
        today
    } else {
        today - Duration::days(1)
    }
}

/// `text` as an e-mail address (`name@example.gov.vn`), or why it is not one, in Vietnamese.
/// Plain ASCII addresses only, as every office's mail server has them.
pub fn parse_email(text: &str) -> Result<String, &'static str> {
    const BAD: &str = "Địa chỉ e-mail không hợp lệ (ví dụ đúng: ten.canbo@xuanloc.dongnai.gov.vn).";
    let text = text.trim();
    if text.is_empty() {
        return Err("Vui lòng nhập địa chỉ e-mail nhận thông báo.");
    }
    if text.chars().count() > MAX_EMAIL_CHARS {
        return Err("Địa chỉ e-mail quá dài (tối đa 254 ký tự).");
    }
    let Some((local, domain)) = text.rsplit_once('@') else {
        return Err(BAD);
    };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c));
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        && labels
            .last()
            .is_some_and(|tld| tld.chars().all(|c| c.is_ascii_alphabetic()));
    if local_ok && domain_ok {
        Ok(text.to_string())
    } else {
        Err(BAD)
    }
}

/// A comment of a response, as stored (personal data already masked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertComment {
    pub item_id: i32,
    pub body: String,
}

/// One response an e-mail tells of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertItem {
    pub response_id: i64,
    pub unit_id: i32,
    pub unit_name: String,
    pub desk_name: Option<String>,
    pub submitted_at: DateTime<Utc>,
    pub rating: Rating,
    pub comments: Vec<AlertComment>,
}

/// Who an e-mail is for and what it covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailContext<'a> {
    /// The account's display name.
    pub recipient: &'a str,
    /// The subscribed unit.
    pub unit_name: &'a str,
    pub mode: Mode,
    /// `SIPAS_PUBLIC_URL`, the base of the links.
    pub public_url: &'a str,
    /// The day a digest is sent on (Vietnam's calendar).
    pub day: NaiveDate,
}

/// An e-mail's subject and plain-text body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertMail {
    pub subject: String,
    pub body: String,
}

/// The link to the staff page of `item`: its first comment's page, else its unit's results.
pub fn item_link(public_url: &str, item: &AlertItem) -> String {
    let base = public_url.trim_end_matches('/');
    match item.comments.first() {
        Some(c) => format!("{base}/staff/comments/{}/{}", item.response_id, c.item_id),
        None => format!("{base}/staff/stats/units/{}", item.unit_id),
    }
}

fn rating_line(rating: &Rating) -> String {
    if rating.very_dissatisfied() {
        let label = &rating.lowest[0].label;
        if rating.single.is_some() {
            return format!("{label} (mức thấp nhất)");
        }
        return format!(
            "{label} ở {} trên {} tiêu chí đã trả lời:",
            rating.lowest.len(),
            rating.answered
        );
    }
    if let Some(single) = &rating.single {
        return single.clone();
    }
    if rating.answered == 0 {
        return "không đánh giá tiêu chí nào".to_string();
    }
    format!(
        "hài lòng ở {} trên {} tiêu chí đã trả lời",
        rating.positive, rating.answered
    )
}

/// The e-mail telling `ctx.recipient` of `total` responses, of which `items` (oldest first)
/// are written out (at most [`MAX_ITEMS_PER_MAIL`] of them; the others are counted). Plain
/// text, Vietnamese.
pub fn compose(ctx: &MailContext<'_>, items: &[AlertItem], total: usize) -> AlertMail {
    use std::fmt::Write;
    let n = total.max(items.len());
    let subject = match ctx.mode {
        Mode::Immediate if n == 1 => format!(
            "[SIPAS] Phản hồi cần chú ý: {}",
            items
                .first()
                .map_or(ctx.unit_name, |i| i.unit_name.as_str())
        ),
        Mode::Immediate => format!("[SIPAS] {n} phản hồi cần chú ý: {}", ctx.unit_name),
        Mode::Daily => format!(
            "[SIPAS] Tổng hợp ngày {}: {n} phản hồi cần chú ý ({})",
            super::format::format_date(ctx.day),
            ctx.unit_name
        ),
    };
    let base = ctx.public_url.trim_end_matches('/');
    let mut body = String::new();
    let _ = writeln!(body, "Kính gửi Anh/Chị {},", ctx.recipient);
    let _ = writeln!(body);
    let what = match ctx.mode {
        Mode::Immediate => "mới",
        Mode::Daily => "trong ngày qua",
    };
    let _ = writeln!(
        body,
        "Hệ thống khảo sát sự hài lòng (SIPAS) ghi nhận {n} phản hồi {what} của người dân, tổ chức tại {} (gồm các đơn vị trực thuộc) thuộc loại Anh/Chị đăng ký nhận thông báo.",
        ctx.unit_name
    );
    for (i, item) in items.iter().take(MAX_ITEMS_PER_MAIL).enumerate() {
        let _ = writeln!(body);
        let _ = write!(body, "{}. {}", i + 1, item.unit_name);
        if let Some(desk) = &item.desk_name {
            let _ = write!(body, " – {desk}");
        }
        let _ = writeln!(body);
        let _ = writeln!(
            body,
            "   Thời gian: {} (giờ Việt Nam)",
            super::format::format_vietnam_time(item.submitted_at)
        );
        let _ = writeln!(body, "   Đánh giá: {}", rating_line(&item.rating));
        if item.rating.very_dissatisfied() && item.rating.single.is_none() {
            for low in &item.rating.lowest {
                let _ = writeln!(body, "     - {}: {}", low.item_code, low.item_text);
            }
        }
        for comment in &item.comments {
            let _ = writeln!(body, "   Góp ý:");
            for line in comment.body.lines() {
                let _ = writeln!(body, "     {line}");
            }
        }
        let _ = writeln!(body, "   Xem: {}", item_link(base, item));
    }
    let listed = items.len().min(MAX_ITEMS_PER_MAIL);
    if n > listed {
        let _ = writeln!(body);
        let _ = writeln!(
            body,
            "… và {} phản hồi khác. Xem tất cả góp ý: {base}/staff/comments",
            n - listed
        );
    }
    let _ = writeln!(body);
    let _ = writeln!(body, "--");
    let _ = writeln!(
        body,
        "Anh/Chị nhận thư này vì đã đăng ký tại {base}/staff/alerts. Để ngừng nhận, hãy xóa đăng ký trên trang đó."
    );
    let _ = writeln!(
        body,
        "Góp ý đã được che thông tin cá nhân (số điện thoại, số giấy tờ, e-mail, biển số xe). Thư được gửi tự động, vui lòng không trả lời."
    );
    AlertMail { subject, body }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn form(path: &str) -> Form {
        let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../survey-forms")
            .join(path);
        let text = std::fs::read_to_string(&file).unwrap();
        crate::forms::parse_form(&file.display().to_string(), &text).unwrap()
    }

    #[test]
    fn the_lowest_option_of_a_criterion_is_very_dissatisfied() {
        let f = form("sipas-1001-dich-vu.toml");
        let choices = f.choice_items().count();
        // Every criterion "Hài lòng" (4): satisfied, nothing to alert.
        let mut answers = vec![Some(4i16); choices];
        let r = rating(&f, &answers);
        assert!(!r.very_dissatisfied());
        assert_eq!(r.answered, 19);
        assert_eq!(r.positive, 19);
        assert_eq!(r.single, None);
        // "Không hài lòng" (2) is not the lowest level of the five.
        answers[0] = Some(2);
        assert!(!rating(&f, &answers).very_dissatisfied());
        // "Rất không hài lòng" (1) on the second criterion.
        answers[1] = Some(1);
        let r = rating(&f, &answers);
        assert!(r.very_dissatisfied());
        assert_eq!(r.lowest.len(), 1);
        assert_eq!(r.lowest[0].item_code, "TC2");
        assert_eq!(r.lowest[0].label, "Rất không hài lòng");
        assert_eq!(r.positive, 17);
        // Code 1 on an expectation or a respondent item is not a rating of the service.
        let positions: Vec<&str> = f.choice_items().map(|i| i.code.as_str()).collect();
        let mut answers = vec![Some(4i16); choices];
        for (i, code) in positions.iter().enumerate() {
            if code.starts_with("MD") || *code == "GIOI_TINH" {
                answers[i] = Some(1);
            }
        }
        assert!(!rating(&f, &answers).very_dissatisfied());
        // "Không áp dụng" and unanswered criteria count for nothing.
        let mut answers = vec![None; choices];
        answers[0] = Some(0);
        let r = rating(&f, &answers);
        assert_eq!((r.answered, r.very_dissatisfied()), (0, false));
    }

    #[test]
    fn the_desk_form_s_lowest_level_is_khong_hai_long() {
        let f = form("danh-gia-mot-cua.toml");
        let r = rating(&f, &[Some(1)]);
        assert!(r.very_dissatisfied());
        assert_eq!(r.single.as_deref(), Some("Không hài lòng"));
        let r = rating(&f, &[Some(2)]);
        assert!(!r.very_dissatisfied());
        assert_eq!(r.single.as_deref(), Some("Hài lòng"));
    }

    #[test]
    fn digests_are_due_at_seven_in_vietnam() {
        // 06:59 in Vietnam on 5 Dec is 23:59 UTC on 4 Dec: yesterday's 07:00.
        let before = Utc.with_ymd_and_hms(2026, 12, 4, 23, 59, 0).unwrap();
        assert_eq!(
            digest_cutoff(before),
            Utc.with_ymd_and_hms(2026, 12, 4, 0, 0, 0).unwrap()
        );
        let at = Utc.with_ymd_and_hms(2026, 12, 5, 0, 0, 0).unwrap();
        assert_eq!(digest_cutoff(at), at);
        let later = Utc.with_ymd_and_hms(2026, 12, 5, 16, 30, 0).unwrap();
        assert_eq!(digest_cutoff(later), at);
    }

    #[test]
    fn e_mail_addresses() {
        assert_eq!(
            parse_email(" ten.canbo@xuanloc.dongnai.gov.vn "),
            Ok("ten.canbo@xuanloc.dongnai.gov.vn".to_string())
        );
        assert!(parse_email("a+b@x.vn").is_ok());
        for bad in [
            "",
            "no-at",
            "@x.vn",
            "a@",
            "a@localhost",
            "a@x..vn",
            "a b@x.vn",
            "a@x.vn\r\nBcc: b@y.vn",
            ".a@x.vn",
            "a@-x.vn",
            "người@x.vn",
            "a@x.v1",
        ] {
            assert!(parse_email(bad).is_err(), "{bad:?}");
        }
        assert!(parse_email(&format!("{}@x.vn", "a".repeat(250))).is_err());
    }

    fn item(id: i64, comment: Option<&str>, lowest: usize) -> AlertItem {
        AlertItem {
            response_id: id,
            unit_id: 7,
            unit_name: "UBND xã Xuân Tâm".into(),
            desk_name: Some("Bộ phận Một cửa".into()),
            submitted_at: Utc.with_ymd_and_hms(2026, 12, 5, 2, 5, 0).unwrap(),
            rating: Rating {
                answered: 19,
                positive: 19 - lowest,
                lowest: (0..lowest)
                    .map(|i| LowRating {
                        item_code: format!("TC{}", i + 1),
                        item_text: "Cơ quan cung cấp thông tin".into(),
                        label: "Rất không hài lòng".into(),
                    })
                    .collect(),
                single: None,
            },
            comments: comment
                .map(|body| AlertComment {
                    item_id: 33,
                    body: body.into(),
                })
                .into_iter()
                .collect(),
        }
    }

    #[test]
    fn an_alert_tells_unit_desk_time_rating_comment_and_link() {
        let ctx = MailContext {
            recipient: "Nguyễn Văn A",
            unit_name: "UBND xã Xuân Tâm",
            mode: Mode::Immediate,
            public_url: "https://hailong.example.gov.vn/",
            day: NaiveDate::from_ymd_opt(2026, 12, 5).unwrap(),
        };
        let mail = compose(
            &ctx,
            &[item(41, Some("Chờ quá lâu\nkhông ai hướng dẫn"), 2)],
            1,
        );
        assert_eq!(mail.subject, "[SIPAS] Phản hồi cần chú ý: UBND xã Xuân Tâm");
        let body = &mail.body;
        assert!(body.starts_with("Kính gửi Anh/Chị Nguyễn Văn A,"), "{body}");
        assert!(
            body.contains("1. UBND xã Xuân Tâm – Bộ phận Một cửa"),
            "{body}"
        );
        assert!(
            body.contains("09:05 ngày 05/12/2026 (giờ Việt Nam)"),
            "{body}"
        );
        assert!(
            body.contains("Đánh giá: Rất không hài lòng ở 2 trên 19 tiêu chí đã trả lời:"),
            "{body}"
        );
        assert!(
            body.contains("     - TC2: Cơ quan cung cấp thông tin"),
            "{body}"
        );
        assert!(
            body.contains("     Chờ quá lâu\n     không ai hướng dẫn\n"),
            "{body}"
        );
        assert!(
            body.contains("Xem: https://hailong.example.gov.vn/staff/comments/41/33"),
            "{body}"
        );
        // Without a comment, the link goes to the unit's results.
        let mail = compose(&ctx, &[item(42, None, 1)], 1);
        assert!(
            mail.body
                .contains("Xem: https://hailong.example.gov.vn/staff/stats/units/7"),
            "{}",
            mail.body
        );
    }

    #[test]
    fn a_digest_gathers_and_caps_what_it_lists() {
        let ctx = MailContext {
            recipient: "B",
            unit_name: "Huyện Xuân Lộc",
            mode: Mode::Daily,
            public_url: "https://x.example",
            day: NaiveDate::from_ymd_opt(2026, 12, 6).unwrap(),
        };
        let items: Vec<AlertItem> = (1..=MAX_ITEMS_PER_MAIL as i64 + 3)
            .map(|i| item(i, Some("góp ý"), 0))
            .collect();
        let mail = compose(&ctx, &items, items.len());
        assert_eq!(
            mail.subject,
            "[SIPAS] Tổng hợp ngày 06/12/2026: 53 phản hồi cần chú ý (Huyện Xuân Lộc)"
        );
        assert!(
            mail.body.contains("\n50. UBND xã Xuân Tâm"),
            "{}",
            mail.body
        );
        assert!(!mail.body.contains("\n51. "), "{}", mail.body);
        assert!(mail.body.contains("… và 3 phản hồi khác."), "{}", mail.body);
        // The caller lists the first ones and counts the rest.
        let mail = compose(&ctx, &items[..2], 60);
        assert!(mail.subject.contains(": 60 phản hồi"), "{}", mail.subject);
        assert!(
            mail.body.contains("… và 58 phản hồi khác."),
            "{}",
            mail.body
        );
        assert!(
            mail.body
                .contains("Đánh giá: hài lòng ở 19 trên 19 tiêu chí đã trả lời"),
            "{}",
            mail.body
        );
    }
}
