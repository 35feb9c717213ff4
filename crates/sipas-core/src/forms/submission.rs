//! Turning a submitted survey (an `application/x-www-form-urlencoded` body) into answers that can
//! be stored, or into precise problems to show the citizen. Pure: no I/O.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use uuid::Uuid;

use super::{
    Form, ItemKind, NOT_APPLICABLE_CODE, RESIDENCE_DECLINED_VALUE, RESIDENCE_ELSEWHERE_VALUE,
    ResidenceAnswer,
};

/// Hidden field holding the idempotency key rendered into each form.
pub const TOKEN_FIELD: &str = "_token";
/// Hidden field holding the database id of the form version that was rendered.
pub const VERSION_FIELD: &str = "_v";
/// Hidden field holding when the form was rendered, signed (see [`sign_started`]).
pub const STARTED_FIELD: &str = "_t";
/// The honeypot: a text field hidden from people by the stylesheet (and labelled "leave empty"
/// for screen readers). Only robots fill it in.
pub const HONEYPOT_FIELD: &str = "_hp";
/// The value of a "not applicable" radio button.
pub const NOT_APPLICABLE_VALUE: &str = "na";

/// A decoded body: the hidden fields and the answer fields in the order they came.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawSubmission {
    pub token: Option<Uuid>,
    pub version_id: Option<i32>,
    /// The signed start time, as sent.
    pub started: Option<String>,
    /// The honeypot's value (`None` when the field was not sent at all).
    pub honeypot: Option<String>,
    pub fields: Vec<(String, String)>,
}

/// Most fields a survey body may hold, hidden ones included: every item of the largest form
/// the loader accepts ([`super::MAX_ITEMS`]) plus room to spare. A body with more is refused
/// unread (issue 14: a few 64-KiB bodies of thousands of names stalled the service).
pub const MAX_FIELDS: usize = super::MAX_ITEMS + 50;
/// Distinct unknown field names after which validation stops and refuses the body (a stale
/// page, a robot): no more are looked at, and the message names the first few.
pub const MAX_UNKNOWN_FIELDS: usize = 5;

/// The body could not be decoded at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed;

impl RawSubmission {
    /// Decodes an `application/x-www-form-urlencoded` body. Unlike lenient decoders, invalid
    /// UTF-8 (after percent-decoding) is refused rather than replaced, so a garbled answer is
    /// never stored as if the citizen had typed it. A body of more than [`MAX_FIELDS`] fields
    /// is refused as soon as the one too many is reached: no form sends that many, and the
    /// work spent on a body stays linear in its length and bounded by the cap.
    pub fn decode(body: &[u8]) -> Result<Self, Malformed> {
        let decode = |part: &[u8]| -> Result<String, Malformed> {
            let spaced: Vec<u8> = part
                .iter()
                .map(|b| if *b == b'+' { b' ' } else { *b })
                .collect();
            percent_encoding::percent_decode(&spaced)
                .decode_utf8()
                .map(|s| s.into_owned())
                .map_err(|_| Malformed)
        };
        let mut raw = RawSubmission::default();
        for (count, pair) in body
            .split(|b| *b == b'&')
            .filter(|p| !p.is_empty())
            .enumerate()
        {
            if count >= MAX_FIELDS {
                return Err(Malformed);
            }
            let (name, value) = match pair.iter().position(|b| *b == b'=') {
                Some(at) => (&pair[..at], &pair[at + 1..]),
                None => (pair, &[][..]),
            };
            let (name, value) = (decode(name)?, decode(value)?);
            match name.as_str() {
                TOKEN_FIELD => raw.token = Uuid::parse_str(value.trim()).ok(),
                VERSION_FIELD => raw.version_id = value.trim().parse().ok(),
                STARTED_FIELD => raw.started = Some(value),
                HONEYPOT_FIELD => raw.honeypot = Some(value),
                _ => raw.fields.push((name, value)),
            }
        }
        Ok(raw)
    }

    /// What the citizen entered, by field name (the last value wins), to put back on the page.
    pub fn values(&self) -> HashMap<String, String> {
        self.fields.iter().cloned().collect()
    }
}

impl RawSubmission {
    /// Whether the honeypot was filled in (by a robot: people do not see it).
    pub fn honeypot_filled(&self) -> bool {
        self.honeypot
            .as_deref()
            .is_some_and(|v| !v.trim().is_empty())
    }
}

fn started_mac(secret: &[u8], token: Uuid, millis: i64) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(b"sipas started_at\0");
    mac.update(token.as_bytes());
    mac.update(&millis.to_be_bytes());
    mac
}

/// The value of [`STARTED_FIELD`] for a form rendered at `at` with submission key `token`:
/// `{milliseconds since the epoch}.{HMAC}`, bound to the key so that it cannot be moved to
/// another rendering.
pub fn sign_started(secret: &[u8], token: Uuid, at: DateTime<Utc>) -> String {
    let millis = at.timestamp_millis();
    let tag = started_mac(secret, token, millis).finalize().into_bytes();
    format!("{millis}.{}", hex::encode(&tag[..16]))
}

/// Why a start time was not believed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartedProblem {
    /// The field was not sent.
    Missing,
    /// Not a value this installation signed for this submission key.
    Forged,
    /// Signed, but later than now (beyond a few seconds of clock difference between instances).
    InTheFuture,
}

/// Checks a [`STARTED_FIELD`] value against the submission key and the clock.
pub fn verify_started(
    secret: &[u8],
    token: Uuid,
    value: Option<&str>,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, StartedProblem> {
    let value = value.map(str::trim).filter(|v| !v.is_empty());
    let value = value.ok_or(StartedProblem::Missing)?;
    let (millis, tag) = value.split_once('.').ok_or(StartedProblem::Forged)?;
    let millis: i64 = millis.parse().map_err(|_| StartedProblem::Forged)?;
    let tag = hex::decode(tag).map_err(|_| StartedProblem::Forged)?;
    if tag.len() != 16 {
        return Err(StartedProblem::Forged);
    }
    started_mac(secret, token, millis)
        .verify_truncated_left(&tag)
        .map_err(|_| StartedProblem::Forged)?;
    let at = DateTime::from_timestamp_millis(millis).ok_or(StartedProblem::Forged)?;
    if at > now + chrono::Duration::seconds(5) {
        return Err(StartedProblem::InTheFuture);
    }
    Ok(at)
}

/// Answers that passed validation, ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidAnswers {
    /// One element per choice item of the form, in [`Form::choice_items`] order: `None` when
    /// unanswered, `Some(0)` for "not applicable", otherwise the scale code.
    pub choices: Vec<Option<i16>>,
    /// Non-empty open answers: (item code, text).
    pub texts: Vec<(String, String)>,
    /// The answer to the form's residence item, if it has one and it was answered.
    pub residence: Option<ResidenceAnswer>,
}

/// Why a submission was refused, phrased for the citizen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Problems {
    /// Problems of single items, by item code.
    pub items: BTreeMap<String, String>,
    /// Problems of the submission as a whole.
    pub general: Vec<String>,
}

impl Problems {
    pub fn is_empty(&self) -> bool {
        self.items.is_empty() && self.general.is_empty()
    }

    /// The notice for a body that could not be read.
    pub fn malformed() -> Self {
        Problems {
            items: BTreeMap::new(),
            general: vec![
                "Phiếu gửi lên không đọc được. Vui lòng kiểm tra các câu trả lời và bấm \"Gửi\" lại."
                    .to_string(),
            ],
        }
    }
}

pub const MSG_REQUIRED_CHOICE: &str = "Vui lòng chọn một câu trả lời cho câu hỏi này.";
pub const MSG_REQUIRED_TEXT: &str = "Vui lòng nhập câu trả lời cho câu hỏi này.";
pub const MSG_INVALID_CHOICE: &str = "Câu trả lời không hợp lệ. Vui lòng chọn lại.";
pub const MSG_SEVERAL_CHOICES: &str = "Mỗi câu hỏi chỉ chọn một câu trả lời. Vui lòng chọn lại.";

/// Removes control characters (keeping line breaks and tabs), normalises line breaks and trims.
fn clean_text(value: &str) -> String {
    let normalised = value.replace("\r\n", "\n").replace('\r', "\n");
    normalised
        .chars()
        .filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
        .collect::<String>()
        .trim()
        .to_string()
}

/// Checks every field of a submission against the form. Either all answers are valid, or
/// nothing is returned to store and every problem is named.
pub fn validate(form: &Form, fields: &[(String, String)]) -> Result<ValidAnswers, Problems> {
    let mut problems = Problems::default();
    let mut by_item: HashMap<&str, Vec<&str>> = HashMap::new();
    // In the order they came (for the message), each once: a set, so that the check stays
    // linear, and at most a handful before the body is refused without reading further.
    let mut unknown: Vec<&str> = Vec::new();
    let mut seen_unknown: HashSet<&str> = HashSet::new();
    for (name, value) in fields {
        if form.item(name).is_some() {
            by_item
                .entry(name.as_str())
                .or_default()
                .push(value.as_str());
        } else if seen_unknown.insert(name.as_str()) {
            unknown.push(name.as_str());
            if unknown.len() >= MAX_UNKNOWN_FIELDS {
                break;
            }
        }
    }
    if !unknown.is_empty() {
        let shown: Vec<String> = unknown
            .iter()
            .take(MAX_UNKNOWN_FIELDS)
            .map(|n| format!("\"{}\"", n.chars().take(40).collect::<String>()))
            .collect();
        problems.general.push(format!(
            "Phiếu có câu hỏi không thuộc biểu mẫu này ({}). Vui lòng tải lại trang và điền lại.",
            shown.join(", ")
        ));
        if unknown.len() >= MAX_UNKNOWN_FIELDS {
            return Err(problems);
        }
    }

    let mut answers = ValidAnswers {
        choices: Vec::new(),
        texts: Vec::new(),
        residence: None,
    };
    for (_, item) in form.items() {
        let given: &[&str] = by_item
            .get(item.code.as_str())
            .map_or(&[], |v| v.as_slice());
        match &item.kind {
            ItemKind::Choice {
                scale,
                not_applicable,
            } => {
                let scale = form
                    .scale(scale)
                    .expect("validated forms name known scales");
                let non_empty: Vec<&str> = given
                    .iter()
                    .map(|v| v.trim())
                    .filter(|v| !v.is_empty())
                    .collect();
                let answer = match non_empty.as_slice() {
                    [] => None,
                    [one] => {
                        if *one == NOT_APPLICABLE_VALUE && *not_applicable {
                            Some(NOT_APPLICABLE_CODE)
                        } else {
                            match one.parse::<i16>() {
                                Ok(code) if scale.label(code).is_some() => Some(code),
                                _ => {
                                    problems
                                        .items
                                        .insert(item.code.clone(), MSG_INVALID_CHOICE.into());
                                    None
                                }
                            }
                        }
                    }
                    _ => {
                        problems
                            .items
                            .insert(item.code.clone(), MSG_SEVERAL_CHOICES.into());
                        None
                    }
                };
                if answer.is_none() && item.required && !problems.items.contains_key(&item.code) {
                    problems
                        .items
                        .insert(item.code.clone(), MSG_REQUIRED_CHOICE.into());
                }
                answers.choices.push(answer);
            }
            ItemKind::Residence { places } => {
                let non_empty: Vec<&str> = given
                    .iter()
                    .map(|v| v.trim())
                    .filter(|v| !v.is_empty())
                    .collect();
                match non_empty.as_slice() {
                    [] => {}
                    [one] => match residence_answer(form, places.as_deref(), one) {
                        Some(answer) => answers.residence = Some(answer),
                        None => {
                            problems
                                .items
                                .insert(item.code.clone(), MSG_INVALID_CHOICE.into());
                        }
                    },
                    _ => {
                        problems
                            .items
                            .insert(item.code.clone(), MSG_SEVERAL_CHOICES.into());
                    }
                }
            }
            ItemKind::Text { max_length } => {
                let text = clean_text(&given.join("\n"));
                let length = text.chars().count();
                if length > *max_length {
                    problems.items.insert(
                        item.code.clone(),
                        format!(
                            "Ý kiến dài quá giới hạn {max_length} ký tự (hiện có {length} ký tự). Vui lòng rút gọn."
                        ),
                    );
                } else if text.is_empty() {
                    if item.required {
                        problems
                            .items
                            .insert(item.code.clone(), MSG_REQUIRED_TEXT.into());
                    }
                } else {
                    answers.texts.push((item.code.clone(), text));
                }
            }
        }
    }
    if problems.is_empty() {
        Ok(answers)
    } else {
        Err(problems)
    }
}

/// The answer a residence field's `value` stands for: "Nơi khác", "Không muốn trả lời", a place
/// of the form's list (`places`: its scale) or the id of a unit (when the places are the unit
/// tree; whether it is a current commune is checked when it is stored). `None`: not a value
/// this form offers.
pub fn residence_answer(form: &Form, places: Option<&str>, value: &str) -> Option<ResidenceAnswer> {
    match value {
        RESIDENCE_ELSEWHERE_VALUE => Some(ResidenceAnswer::Elsewhere),
        RESIDENCE_DECLINED_VALUE => Some(ResidenceAnswer::Declined),
        _ if !value.bytes().all(|b| b.is_ascii_digit()) => None,
        _ => match places {
            Some(scale) => {
                let code: i16 = value.parse().ok()?;
                form.scale(scale)?.label(code)?;
                Some(ResidenceAnswer::Listed(code))
            }
            None => value
                .parse::<i32>()
                .ok()
                .filter(|id| *id >= 1)
                .map(ResidenceAnswer::Unit),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forms::parse_form;

    fn form() -> Form {
        parse_form(
            "t.toml",
            r#"
id = "t"
version = 1
title = "T"
[index]
rule = "mean-of-factor-indices"
[scales.s]
options = [ { code = 1, label = "Một" }, { code = 2, label = "Hai" }, { code = 3, label = "Ba" } ]
positive = [3]
[[sections]]
code = "F"
title = "F"
role = "factor"
[[sections.items]]
code = "Q1"
text = "Một?"
scale = "s"
required = true
[[sections.items]]
code = "Q2"
text = "Hai?"
scale = "s"
required = true
not_applicable = true
[[sections.items]]
code = "Q3"
text = "Ba?"
scale = "s"
[[sections]]
code = "O"
title = "O"
role = "other"
[[sections.items]]
code = "C"
text = "Góp ý"
type = "text"
max_length = 5
"#,
        )
        .unwrap()
    }

    fn fields(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn valid_answers_are_aligned_to_the_choice_items() {
        let ok = validate(
            &form(),
            &fields(&[("Q2", "na"), ("Q1", "3"), ("C", "  tốt \r\n ")]),
        )
        .unwrap();
        assert_eq!(ok.choices, [Some(3), Some(NOT_APPLICABLE_CODE), None]);
        assert_eq!(ok.texts, [("C".to_string(), "tốt".to_string())]);
    }

    #[test]
    fn every_problem_is_named_at_its_item() {
        let err = validate(
            &form(),
            &fields(&[("Q2", "4"), ("Q3", "1"), ("Q3", "2"), ("C", "dài quá")]),
        )
        .unwrap_err();
        assert_eq!(err.items["Q1"], MSG_REQUIRED_CHOICE);
        assert_eq!(err.items["Q2"], MSG_INVALID_CHOICE);
        assert_eq!(err.items["Q3"], MSG_SEVERAL_CHOICES);
        assert!(err.items["C"].contains("giới hạn 5 ký tự (hiện có 7 ký tự)"));
        assert!(err.general.is_empty());
    }

    fn residence_form(places: &str) -> Form {
        let mut text = String::from(
            "id = \"r\"\nversion = 1\ntitle = \"R\"\n[index]\nrule = \"mean-of-factor-indices\"\n\
             [scales.s]\noptions = [ { code = 1, label = \"Một\" } ]\npositive = [1]\n\
             [scales.noi]\noptions = [ { code = 4, label = \"Xã Thử Nghiệm A\" } ]\n\
             [[sections]]\ncode = \"F\"\ntitle = \"F\"\nrole = \"factor\"\n\
             [[sections.items]]\ncode = \"Q1\"\ntext = \"Một?\"\nscale = \"s\"\n\
             [[sections]]\ncode = \"N\"\ntitle = \"N\"\nrole = \"respondent\"\n\
             [[sections.items]]\ncode = \"NOI_CU_TRU\"\ntext = \"Nơi cư trú\"\ntype = \"residence\"\n",
        );
        text.push_str(places);
        parse_form("r.toml", &text).unwrap()
    }

    #[test]
    fn a_residence_answer_is_checked_against_the_form() {
        let tree = residence_form("");
        let ok = |form: &Form, v: &str| validate(form, &fields(&[("Q1", "1"), ("NOI_CU_TRU", v)]));
        assert_eq!(
            ok(&tree, "17").unwrap().residence,
            Some(ResidenceAnswer::Unit(17))
        );
        assert_eq!(
            ok(&tree, " khac ").unwrap().residence,
            Some(ResidenceAnswer::Elsewhere)
        );
        assert_eq!(
            ok(&tree, "tu-choi").unwrap().residence,
            Some(ResidenceAnswer::Declined)
        );
        assert_eq!(ok(&tree, "").unwrap().residence, None);
        assert_eq!(ok(&tree, "").unwrap().choices, [Some(1)]);
        for garbage in [
            "0",
            "-3",
            "99999999999",
            "1e3",
            "x'; DROP TABLE units;--",
            "１２",
        ] {
            let err = ok(&tree, garbage).unwrap_err();
            assert_eq!(err.items["NOI_CU_TRU"], MSG_INVALID_CHOICE, "{garbage}");
        }
        let twice = validate(
            &tree,
            &fields(&[("Q1", "1"), ("NOI_CU_TRU", "1"), ("NOI_CU_TRU", "2")]),
        )
        .unwrap_err();
        assert_eq!(twice.items["NOI_CU_TRU"], MSG_SEVERAL_CHOICES);
        let listed = residence_form("scale = \"noi\"\n");
        assert_eq!(
            ok(&listed, "4").unwrap().residence,
            Some(ResidenceAnswer::Listed(4))
        );
        assert_eq!(
            ok(&listed, "5").unwrap_err().items["NOI_CU_TRU"],
            MSG_INVALID_CHOICE
        );
        assert_eq!(listed.residence_code_label(4), Some("Xã Thử Nghiệm A"));
    }

    #[test]
    fn not_applicable_is_refused_where_the_form_does_not_offer_it() {
        let err = validate(&form(), &fields(&[("Q1", "na"), ("Q2", "1")])).unwrap_err();
        assert_eq!(err.items["Q1"], MSG_INVALID_CHOICE);
    }

    #[test]
    fn unknown_fields_are_refused() {
        let err = validate(&form(), &fields(&[("Q1", "1"), ("Q2", "1"), ("X9", "1")])).unwrap_err();
        assert!(err.general[0].contains("\"X9\""), "{:?}", err.general);
    }

    #[test]
    fn a_flood_of_unknown_names_is_refused_after_a_handful() {
        let mut many = fields(&[("Q1", "1"), ("Q2", "1")]);
        many.extend((0..10_000).map(|i| (format!("x{i}"), String::new())));
        let err = validate(&form(), &many).unwrap_err();
        assert_eq!(err.general.len(), 1);
        assert!(err.general[0].contains("\"x0\", \"x1\", \"x2\", \"x3\", \"x4\")"));
        assert!(!err.general[0].contains("x5"), "{:?}", err.general);
        // The same unknown name again and again is one name.
        let mut same = fields(&[("Q1", "1"), ("Q2", "1")]);
        same.extend((0..1_000).map(|_| ("X9".to_string(), String::new())));
        let err = validate(&form(), &same).unwrap_err();
        assert!(err.general[0].contains("(\"X9\")"), "{:?}", err.general);
    }

    #[test]
    fn a_body_of_more_fields_than_any_form_is_refused() {
        let body = |n: usize| {
            (0..n)
                .map(|i| format!("Q{}=1", i % 3 + 1))
                .collect::<Vec<_>>()
                .join("&")
        };
        assert_eq!(
            RawSubmission::decode(body(MAX_FIELDS).as_bytes())
                .unwrap()
                .fields
                .len(),
            MAX_FIELDS
        );
        assert_eq!(
            RawSubmission::decode(body(MAX_FIELDS + 1).as_bytes()),
            Err(Malformed)
        );
        // Empty parts ("&&") are not fields.
        let sparse = format!("{}{}", "&".repeat(60_000), body(3));
        assert_eq!(
            RawSubmission::decode(sparse.as_bytes())
                .unwrap()
                .fields
                .len(),
            3
        );
    }

    #[test]
    fn start_times_are_signed_for_their_key() {
        let secret = b"0123456789abcdef";
        let token = Uuid::new_v4();
        let now = Utc::now();
        let at = now - chrono::Duration::seconds(40);
        let value = sign_started(secret, token, at);
        let back = verify_started(secret, token, Some(&value), now).unwrap();
        assert_eq!(back.timestamp_millis(), at.timestamp_millis());
        // Another key, another secret, an edited time, garbage, nothing.
        let forged = |v: &str, t: Uuid, s: &[u8]| verify_started(s, t, Some(v), now);
        assert_eq!(
            forged(&value, Uuid::new_v4(), secret),
            Err(StartedProblem::Forged)
        );
        assert_eq!(
            forged(&value, token, b"another secret"),
            Err(StartedProblem::Forged)
        );
        let (_, tag) = value.split_once('.').unwrap();
        let earlier = format!("{}.{tag}", at.timestamp_millis() - 60_000);
        assert_eq!(forged(&earlier, token, secret), Err(StartedProblem::Forged));
        assert_eq!(forged("12.zz", token, secret), Err(StartedProblem::Forged));
        assert_eq!(
            verify_started(secret, token, None, now),
            Err(StartedProblem::Missing)
        );
        let later = sign_started(secret, token, now + chrono::Duration::minutes(5));
        assert_eq!(
            forged(&later, token, secret),
            Err(StartedProblem::InTheFuture)
        );
    }

    #[test]
    fn decoding_separates_hidden_fields_and_rejects_garbage() {
        let token = Uuid::new_v4();
        let body = format!("_token={token}&_v=7&Q1=2&C=a%20b");
        let raw = RawSubmission::decode(body.as_bytes()).unwrap();
        assert_eq!(raw.token, Some(token));
        assert_eq!(raw.version_id, Some(7));
        assert_eq!(raw.fields, fields(&[("Q1", "2"), ("C", "a b")]));
        assert_eq!(RawSubmission::decode(b"Q1=%FF%FE"), Err(Malformed));
        assert_eq!(RawSubmission::decode(b"Q%C3=1"), Err(Malformed));
        assert_eq!(RawSubmission::decode(b"Q\xff=1"), Err(Malformed));
        let robot = RawSubmission::decode(b"_hp=http%3A%2F%2Fx&_t=1.ab&Q1=2").unwrap();
        assert!(robot.honeypot_filled());
        assert_eq!(robot.started.as_deref(), Some("1.ab"));
        assert_eq!(robot.fields, fields(&[("Q1", "2")]));
        assert!(
            !RawSubmission::decode(b"_hp=+&Q1=2")
                .unwrap()
                .honeypot_filled()
        );
        let spaced = RawSubmission::decode(b"C=c%C3%A1n+b%E1%BB%99&&X").unwrap();
        assert_eq!(spaced.fields, fields(&[("C", "cán bộ"), ("X", "")]));
    }
}
