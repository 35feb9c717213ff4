//! Personal data in free text (Luật Bảo vệ dữ liệu cá nhân, số 91/2025/QH15): phone numbers,
//! identity document numbers, e-mail addresses and licence plates that citizens write in their
//! comments are found and replaced by a visible placeholder before a comment is stored.
//!
//! Pure and total: any `&str` gives an answer, in time linear in its length (each attempt at a
//! position looks at a bounded number of bytes ahead), and nothing here panics: the scanner
//! only slices the text at ASCII bytes, which are always character boundaries in UTF-8.
//!
//! What is recognised (Vietnamese spellings):
//! - phone numbers: mobile `0912345678`, `0912 345 678`, `0912.345.678`, `0912-345-678`,
//!   `091 234 5678`, `+84 912 345 678`, `+84912345678`, `84912345678`, `(+84) 912 345 678`;
//!   landline `(028) 3822 1234`, `028 3822 1234`, `028.3822.1234`, `+84 28 3822 1234`; the
//!   older 11-digit mobile numbers `01xx…`;
//! - identity document numbers written as one run of digits: the citizen identity card (CCCD,
//!   12 digits, beginning with the province code `0xx`) and the old identity card (CMND, 9
//!   digits);
//! - e-mail addresses;
//! - licence plates: cars `51F-123.45`, `60A-12345`, `51F 123.45`, `51LD-123.45`; motorbikes
//!   `59X3-123.45`, `29-H1 123.45`, `29H1-12345`.
//!
//! Left alone, so that ordinary comments keep their meaning: dates (`05/12/2026`), times
//! (`08:30`, `7h30`), amounts of money (`2.000.000 đồng`, `150000000 đồng`, `500k`),
//! percentages, years, short numbers (`3 lần`, `quầy số 2`), dossier numbers
//! (`000.00.12.H23-260105-0001`), document numbers (`157/KH-UBND`), UUIDs, and numbers that are part
//! of a longer number (a number is taken only when it is not glued to other digits; a phone or
//! ID number glued to words, `sđt0912345678`, is taken, a plate is not).

use std::borrow::Cow;
use std::ops::Range;

/// What a piece of personal data is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Phone,
    IdNumber,
    Email,
    Plate,
}

impl Kind {
    /// The placeholder shown instead of the data (Vietnamese, seen by staff and in exports).
    pub fn placeholder(self) -> &'static str {
        match self {
            Kind::Phone => "[số điện thoại]",
            Kind::IdNumber => "[số giấy tờ]",
            Kind::Email => "[email]",
            Kind::Plate => "[biển số xe]",
        }
    }
}

/// One piece of personal data: its kind and its byte range in the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub kind: Kind,
    pub range: Range<usize>,
}

/// Every piece of personal data in `text`, in order, not overlapping.
pub fn find(text: &str) -> Vec<Found> {
    let bytes = text.as_bytes();
    let mut found = Vec::new();
    // E-mail addresses first (their local part may hold digits that look like a phone), and
    // UUIDs (reference codes, not personal data, whose hex groups may hold such digits).
    let emails = find_emails(bytes);
    let uuids = find_uuids(bytes);
    let mut spans: Vec<(Range<usize>, bool)> = Vec::with_capacity(emails.len() + uuids.len());
    let (mut e, mut u) = (0, 0);
    while e < emails.len() || u < uuids.len() {
        let take_email = match (emails.get(e), uuids.get(u)) {
            (Some(email), Some(uuid)) => {
                if uuid.end <= email.start {
                    false
                } else if uuid.start < email.end {
                    // A UUID in an address: the address wins.
                    u += 1;
                    continue;
                } else {
                    true
                }
            }
            (Some(_), None) => true,
            _ => false,
        };
        if take_email {
            spans.push((emails[e].clone(), true));
            e += 1;
        } else {
            spans.push((uuids[u].clone(), false));
            u += 1;
        }
    }
    let mut from = 0;
    for (span, email) in spans {
        find_numbers(bytes, from, span.start, &mut found);
        if email {
            found.push(Found {
                kind: Kind::Email,
                range: span.clone(),
            });
        }
        from = span.end;
    }
    find_numbers(bytes, from, bytes.len(), &mut found);
    found
}

/// The byte ranges of the UUIDs (`8-4-4-4-12` hex digits) of `bytes` standing alone.
fn find_uuids(bytes: &[u8]) -> Vec<Range<usize>> {
    const GROUPS: [usize; 5] = [8, 4, 4, 4, 12];
    let is_uuid = |at: usize| {
        let mut i = at;
        for (n, len) in GROUPS.iter().enumerate() {
            if n > 0 {
                if bytes.get(i) != Some(&b'-') {
                    return false;
                }
                i += 1;
            }
            for _ in 0..*len {
                if !bytes.get(i).is_some_and(u8::is_ascii_hexdigit) {
                    return false;
                }
                i += 1;
            }
        }
        !bytes.get(i).is_some_and(u8::is_ascii_alphanumeric)
    };
    let mut out = Vec::new();
    let mut i = 0;
    while i + 36 <= bytes.len() {
        if (i == 0 || !bytes[i - 1].is_ascii_alphanumeric()) && is_uuid(i) {
            out.push(i..i + 36);
            i += 36;
        } else {
            i += 1;
        }
    }
    out
}

/// `text` with each piece of personal data replaced by its placeholder (borrowed when there
/// is none). Masking a masked text changes nothing.
pub fn mask(text: &str) -> Cow<'_, str> {
    let found = find(text);
    if found.is_empty() {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for f in found {
        out.push_str(&text[at..f.range.start]);
        out.push_str(f.kind.placeholder());
        at = f.range.end;
    }
    out.push_str(&text[at..]);
    Cow::Owned(out)
}

/// [`mask`], then cut to at most `max_chars` characters: a placeholder can be longer than what
/// it replaces ("[số điện thoại]" for ten digits), and what is stored has a bound (the
/// database's `CHECK` on `response_texts.body`): an answer at the form's limit must never be
/// refused for being masked.
pub fn mask_within(text: &str, max_chars: usize) -> String {
    let masked = mask(text);
    match masked.char_indices().nth(max_chars) {
        Some((cut, _)) => masked[..cut].to_string(),
        None => masked.into_owned(),
    }
}

fn is_local_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'%' | b'+' | b'-')
}

fn is_domain_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-')
}

/// The byte ranges of the e-mail addresses of `bytes`. Each `@` looks back over the local part
/// (which holds no `@`) and ahead over the domain (which holds no `@`): linear.
fn find_emails(bytes: &[u8]) -> Vec<Range<usize>> {
    let mut out: Vec<Range<usize>> = Vec::new();
    for (at, _) in bytes.iter().enumerate().filter(|(_, b)| **b == b'@') {
        let floor = out.last().map_or(0, |r| r.end);
        let mut start = at;
        while start > floor && is_local_byte(bytes[start - 1]) {
            start -= 1;
        }
        // A local part neither begins nor ends with a dot.
        while start < at && bytes[start] == b'.' {
            start += 1;
        }
        if start == at || bytes[at - 1] == b'.' {
            continue;
        }
        let mut end = at + 1;
        while end < bytes.len() && is_domain_byte(bytes[end]) {
            end += 1;
        }
        // A sentence's full stop or dash after the address is not part of it.
        while end > at + 1 && matches!(bytes[end - 1], b'.' | b'-') {
            end -= 1;
        }
        let domain = &bytes[at + 1..end];
        let labels: Vec<&[u8]> = domain.split(|b| *b == b'.').collect();
        let valid = labels.len() >= 2
            && labels.iter().all(|l| !l.is_empty())
            && labels
                .last()
                .is_some_and(|tld| tld.len() >= 2 && tld.iter().all(u8::is_ascii_alphabetic));
        if valid {
            out.push(start..end);
        }
    }
    out
}

/// The character before byte `at` (`at` is at a character boundary).
fn char_before(bytes: &[u8], at: usize) -> Option<char> {
    // Walk back to the start of the previous UTF-8 sequence (at most 4 bytes).
    let mut start = at.checked_sub(1)?;
    while start > 0 && (bytes[start] & 0xC0) == 0x80 {
        start -= 1;
    }
    std::str::from_utf8(&bytes[start..at]).ok()?.chars().next()
}

/// The character at byte `at` (`at` is at a character boundary).
fn char_at(bytes: &[u8], at: usize) -> Option<char> {
    let end = (at + 4).min(bytes.len());
    let slice = &bytes[at..end];
    let valid = match std::str::from_utf8(slice) {
        Ok(s) => s,
        Err(e) => std::str::from_utf8(&slice[..e.valid_up_to()]).ok()?,
    };
    valid.chars().next()
}

/// What glues two numbers into one (`1.000`, `0301234567-001`, `08:30`). A slash or comma
/// does not: `0912345678/0987654321` are two phones, and no part of a date is long enough to
/// be taken for one.
fn is_connector(b: u8) -> bool {
    matches!(b, b'.' | b'-' | b':')
}

/// How a number may begin at a position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Start {
    /// Not glued to anything: any number.
    Clean,
    /// Glued to a letter (`sđt0912345678`, `CCCD079201001234`): a phone or an ID number only.
    AfterLetter,
    /// Glued to a digit, or to a longer number through a connector (`2026/05`, `08:30`,
    /// `1.000`): none.
    No,
}

/// How a number may begin at `at` (within `from..`).
fn start_at(bytes: &[u8], from: usize, at: usize) -> Start {
    if at == from {
        return Start::Clean;
    }
    match char_before(bytes, at) {
        None => Start::Clean,
        Some(c) if c.is_alphabetic() => Start::AfterLetter,
        Some(c) if c.is_alphanumeric() || c == '_' || c == '@' => Start::No,
        Some(c) if c.is_ascii() && is_connector(c as u8) => {
            // "ĐT:0912…" is fine, "12:0912…" is not.
            if at - 1 == from || !bytes[at - 2].is_ascii_digit() {
                Start::Clean
            } else {
                Start::No
            }
        }
        Some(_) => Start::Clean,
    }
}

/// Whether a number may end at `at` (within `..to`): not glued to a digit (nor, unless
/// `letters`, to a letter) after it, nor to more digits through a connector, and not an amount
/// of money or a percentage.
fn ends_clean(bytes: &[u8], at: usize, to: usize, letters: bool) -> bool {
    if at == to {
        return true;
    }
    let next = bytes[at];
    if is_connector(next) {
        // "…678." ends a sentence; "…678.9" goes on.
        return at + 1 >= to || !bytes[at + 1].is_ascii_digit();
    }
    if next == b'%' {
        return false;
    }
    match char_at(bytes, at) {
        Some(c) if letters && c.is_alphabetic() => !followed_by_unit(bytes, at, to),
        Some(c) if c.is_alphanumeric() || c == '_' || c == '@' => false,
        _ => !followed_by_unit(bytes, at, to),
    }
}

/// Whether the number ending at `at` is followed (after at most one space) by a currency or
/// a unit: an amount, not personal data.
fn followed_by_unit(bytes: &[u8], at: usize, to: usize) -> bool {
    let mut i = at;
    if i < to && bytes[i] == b' ' {
        i += 1;
    }
    let end = (i + 16).min(to);
    let mut word_end = i;
    while word_end < end {
        match char_at(bytes, word_end) {
            Some(c) if c.is_alphabetic() => word_end += c.len_utf8(),
            _ => break,
        }
    }
    let Ok(word) = std::str::from_utf8(&bytes[i..word_end]) else {
        return false;
    };
    let word = word.to_lowercase();
    matches!(
        word.as_str(),
        "đ" | "đồng" | "vnđ" | "vnd" | "k" | "triệu" | "tr" | "nghìn" | "ngàn" | "tỷ" | "tỉ"
    )
}

/// One run of ASCII digits.
#[derive(Debug, Clone, Copy)]
struct Group {
    start: usize,
    end: usize,
}

fn digit_run(bytes: &[u8], at: usize, to: usize) -> usize {
    let mut end = at;
    while end < to && bytes[end].is_ascii_digit() {
        end += 1;
    }
    end
}

/// Phones, identity numbers and licence plates in `bytes[from..to]`, appended to `found`.
fn find_numbers(bytes: &[u8], from: usize, to: usize, found: &mut Vec<Found>) {
    let mut i = from;
    while i < to {
        let b = bytes[i];
        let starts_number = b.is_ascii_digit()
            || (matches!(b, b'+' | b'(') && i + 1 < to && bytes[i + 1].is_ascii_digit())
            || (b == b'(' && i + 2 < to && bytes[i + 1] == b'+' && bytes[i + 2].is_ascii_digit());
        let number = match starts_number.then(|| start_at(bytes, from, i)) {
            Some(Start::Clean) => number_at(bytes, i, to),
            Some(Start::AfterLetter) => phone_or_id_at(bytes, i, to, true),
            _ => None,
        };
        if let Some(f) = number {
            i = f.range.end;
            found.push(f);
            continue;
        }
        if b.is_ascii_digit() {
            // The rest of this run cannot begin a number (it is glued to this digit).
            i = digit_run(bytes, i, to);
        } else {
            i += 1;
        }
    }
}

/// The phone, identity number or plate beginning at `at`, if any.
fn number_at(bytes: &[u8], at: usize, to: usize) -> Option<Found> {
    if bytes[at].is_ascii_digit()
        && let Some(end) = plate_at(bytes, at, to)
    {
        return Some(Found {
            kind: Kind::Plate,
            range: at..end,
        });
    }
    phone_or_id_at(bytes, at, to, false)
}

/// A licence plate at `at`: two digits (the province), an optional `-` or space, a series of
/// one or two letters and an optional digit (motorbikes), an optional `-`, `.` or space, then
/// `123.45`, `12345` or `1234`.
fn plate_at(bytes: &[u8], at: usize, to: usize) -> Option<usize> {
    let get = |i: usize| if i < to { Some(bytes[i]) } else { None };
    if !(get(at)?.is_ascii_digit() && get(at + 1)?.is_ascii_digit()) {
        return None;
    }
    let mut i = at + 2;
    let mut spaced = false;
    if matches!(get(i), Some(b'-' | b' ')) {
        spaced = get(i) == Some(b' ');
        i += 1;
    }
    let series_start = i;
    while i < to && i - series_start < 2 && bytes[i].is_ascii_alphabetic() {
        i += 1;
    }
    if i == series_start {
        return None;
    }
    let series = &bytes[series_start..i];
    // "20 ha 1234" and "20kg 1234" are not plates: a plate with a space is written in
    // capitals.
    let capitals = series.iter().all(u8::is_ascii_uppercase);
    if spaced && !capitals {
        return None;
    }
    // Try with and without the motorbike's series digit.
    let candidates = if get(i).is_some_and(|b| b.is_ascii_digit()) {
        vec![i + 1, i]
    } else {
        vec![i]
    };
    for j in candidates {
        let mut k = j;
        if matches!(get(k), Some(b'-' | b'.' | b' ')) {
            if get(k) == Some(b' ') && !capitals {
                continue;
            }
            k += 1;
        } else if j > series_start + series.len() {
            // "59X3" glued to its number is ambiguous; a separator is required after it.
            continue;
        }
        let run = digit_run(bytes, k, to);
        let end = match run - k {
            3 if get(run) == Some(b'.') && digit_run(bytes, run + 1, to) == run + 3 => run + 3,
            4 | 5 => run,
            _ => continue,
        };
        if ends_clean(bytes, end, to, false) {
            return Some(end);
        }
    }
    None
}

/// Vietnamese phone numbers from their digits (country code included when given).
fn is_phone(digits: &[u8], plus: bool) -> bool {
    let mobile_prefix = |b: u8| matches!(b, b'3' | b'5' | b'7' | b'8' | b'9');
    match digits {
        [b'8', b'4', third, ..] => {
            (digits.len() == 11 && mobile_prefix(*third)) || (digits.len() == 12 && *third == b'2')
        }
        _ if plus => false,
        [b'0', second, ..] => {
            (digits.len() == 10 && mobile_prefix(*second))
                || (digits.len() == 11 && matches!(second, b'1' | b'2'))
        }
        _ => false,
    }
}

/// A phone number (digit groups joined by single spaces, dots or dashes, an optional `+` or
/// area code in brackets) or an identity number (one run of 9, or of 12 digits beginning with
/// `0`) beginning at `at`.
/// `glued`: glued to a letter before it, where a run of 9 digits is more often a code than an
/// old identity card; a CMND is taken only standing alone.
fn phone_or_id_at(bytes: &[u8], at: usize, to: usize, glued: bool) -> Option<Found> {
    let mut i = at;
    let mut bracket = false;
    if bytes[i] == b'(' {
        bracket = true;
        i += 1;
    }
    let plus = i < to && bytes[i] == b'+';
    if plus {
        i += 1;
    }
    let first_end = digit_run(bytes, i, to);
    if first_end == i {
        return None;
    }
    let first = Group {
        start: i,
        end: first_end,
    };
    // An identity number: one run, nothing around it.
    if !bracket && !plus {
        let run = &bytes[first.start..first.end];
        let cmnd = run.len() == 9;
        let is_id = (cmnd && !glued) || (run.len() == 12 && run[0] == b'0');
        if is_id && !is_phone(run, false) && ends_clean(bytes, first.end, to, !cmnd) {
            return Some(Found {
                kind: Kind::IdNumber,
                range: at..first.end,
            });
        }
    }
    let mut digits: Vec<u8> = Vec::with_capacity(12);
    let mut group = first;
    let mut closed = !bracket;
    loop {
        digits.extend_from_slice(&bytes[group.start..group.end]);
        if digits.len() > 12 {
            return None;
        }
        if closed && is_phone(&digits, plus) && ends_clean(bytes, group.end, to, true) {
            return Some(Found {
                kind: Kind::Phone,
                range: at..group.end,
            });
        }
        // The separator to the next group: one space, dot or dash; or the closing bracket of
        // the area code, with an optional space.
        let mut k = group.end;
        if !closed {
            if k < to && bytes[k] == b')' {
                closed = true;
                k += 1;
                if k < to && bytes[k] == b' ' {
                    k += 1;
                }
            } else {
                return None;
            }
        } else if k < to && matches!(bytes[k], b' ' | b'.' | b'-') {
            k += 1;
        } else {
            return None;
        }
        let end = digit_run(bytes, k, to);
        if end == k {
            return None;
        }
        group = Group { start: k, end };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(Kind, &str)> {
        find(text)
            .into_iter()
            .map(|f| (f.kind, &text[f.range]))
            .collect()
    }

    #[track_caller]
    fn one(text: &str, kind: Kind, what: &str) {
        assert_eq!(kinds(text), vec![(kind, what)], "in {text:?}");
    }

    #[test]
    fn mobile_numbers_in_their_usual_spellings() {
        for phone in [
            "0912345678",
            "0912 345 678",
            "0912.345.678",
            "0912-345-678",
            "091 234 5678",
            "+84 912 345 678",
            "+84912345678",
            "84912345678",
            "(+84) 912 345 678",
            "0388 123 456",
            "0708.123.456",
            "0168 123 4567",
            "0912 34 56 78",
            "091.234.5678",
            "+84-912-345-678",
            "(+84)912345678",
            "84 912 345 678",
        ] {
            one(
                &format!("Cán bộ hẹn gọi lại số {phone} nhưng không gọi."),
                Kind::Phone,
                phone,
            );
        }
    }

    #[test]
    fn landline_numbers() {
        for phone in [
            "(028) 3822 1234",
            "(028)3822 1234",
            "028 3822 1234",
            "028.3822.1234",
            "02838221234",
            "0251 3871 234",
            "+84 28 3822 1234",
            "(0251) 3871234",
        ] {
            one(&format!("Liên hệ {phone}."), Kind::Phone, phone);
        }
    }

    #[test]
    fn identity_numbers() {
        one(
            "CCCD của tôi 079201001234 bị ghi sai",
            Kind::IdNumber,
            "079201001234",
        );
        one("CMND số 025123456.", Kind::IdNumber, "025123456");
        one("cccd:001099012345", Kind::IdNumber, "001099012345");
        one(
            "CCCD079201001234 cấp năm 2021",
            Kind::IdNumber,
            "079201001234",
        );
    }

    #[test]
    fn email_addresses() {
        one(
            "Gửi kết quả qua nguyen.van.an@gmail.com giúp tôi.",
            Kind::Email,
            "nguyen.van.an@gmail.com",
        );
        one(
            "mail: tran_thi-b+hs@xuanloc.dongnai.gov.vn",
            Kind::Email,
            "tran_thi-b+hs@xuanloc.dongnai.gov.vn",
        );
        one("0912345678@yahoo.com", Kind::Email, "0912345678@yahoo.com");
    }

    #[test]
    fn licence_plates() {
        for plate in [
            "51F-123.45",
            "60A-12345",
            "51F 123.45",
            "51LD-123.45",
            "29-H1 123.45",
            "59X3-123.45",
            "29H1-12345",
            "60b1-234.56",
        ] {
            one(&format!("Xe {plate} đậu chắn lối vào."), Kind::Plate, plate);
        }
    }

    #[test]
    fn several_in_one_comment_are_all_masked() {
        let text = "Tôi là Nguyễn Văn An, SĐT 0912 345 678, CCCD 079201001234, \
                    email an.nguyen@gmail.com, xe 59X3-123.45. Cảm ơn!";
        assert_eq!(
            mask(text),
            "Tôi là Nguyễn Văn An, SĐT [số điện thoại], CCCD [số giấy tờ], \
             email [email], xe [biển số xe]. Cảm ơn!"
        );
    }

    #[test]
    fn numbers_side_by_side() {
        assert_eq!(
            mask("ĐT:0912345678/0987.654.321, 0912 345 678 - 028 3822 1234; gọi 3 lần"),
            "ĐT:[số điện thoại]/[số điện thoại], [số điện thoại] - [số điện thoại]; gọi 3 lần"
        );
        assert_eq!(
            mask("Sđt 0912.345.678.Cảm ơn"),
            "Sđt [số điện thoại].Cảm ơn"
        );
        // Glued to the words around it.
        assert_eq!(
            mask("sđt0912345678anh Minh, zalo+84912345678"),
            "sđt[số điện thoại]anh Minh, zalo[số điện thoại]"
        );
    }

    #[test]
    fn ordinary_numbers_are_left_alone() {
        for text in [
            "Ngày 05/12/2026 tôi đến nộp hồ sơ lúc 08:30, đến 11h30 mới xong.",
            "Lệ phí 2.000.000 đồng là quá cao, lại thu thêm 150.000.000 đồng.",
            "Phải nộp 150000000 đồng, 100000 đ, 500k, 1.500.000đ, 2 triệu.",
            "Tôi phải đi lại 3 lần, chờ ở quầy số 2 tầng 3.",
            "Hồ sơ số 000.00.12.H23-260105-0001 trễ hạn 15 ngày.",
            "Theo Kế hoạch 157/KH-UBND và QĐ 1001/QĐ-BNV năm 2025.",
            "Hài lòng 100%, 95,5% người được hỏi; năm 2025-2026; ISO 9001:2015.",
            "Số nhà 123/45 đường 30/4, chờ 15-20 phút, mã hồ sơ 12345.",
            "Diện tích 20 ha 1234 m2, mua 20kg 1234, phòng 203, số thứ tự 0123.",
            "Mã số thuế 0301234567-001 của công ty.",
            "Số tiền 1.234.567.890 đồng; tài khoản 19031234567890; giá150000000đ.",
            "Năm2026 lần2, mã HS12345678, phòng A203, mã HS123456789, 123456789B.",
            "Mã phiếu 5b1f0c2e-0a1b-4c3d-9e8f-079201001234, 0b1e4c1a-1234-4c3d-9e8f-a0912345678b.",
            "Gọi 1900 1234 hoặc 1022 để được hỗ trợ.",
            "Địa chỉ an@localhost, @xuanloc, email@.",
            "Ba số: 912 345 678 không có số 0 đầu.",
        ] {
            assert_eq!(kinds(text), vec![], "in {text:?}");
            assert_eq!(mask(text), text);
        }
    }

    #[test]
    fn personal_data_around_a_uuid_is_masked() {
        assert_eq!(
            mask("0912345678 5b1f0c2e-0a1b-4c3d-9e8f-079201001234 079201001234"),
            "[số điện thoại] 5b1f0c2e-0a1b-4c3d-9e8f-079201001234 [số giấy tờ]"
        );
        assert_eq!(
            mask("5b1f0c2e-0a1b-4c3d-9e8f-079201001234@gmail.com"),
            "[email]"
        );
    }

    #[test]
    fn masking_twice_is_masking_once() {
        let text = "0912.345.678 / 079201001234 / a@b.vn / 51F-123.45";
        let once = mask(text).into_owned();
        assert_eq!(mask(&once), once);
    }

    #[test]
    fn tricky_inputs_never_panic() {
        let pieces = [
            "0",
            "9",
            "84",
            "+",
            "(",
            ")",
            "(+",
            " ",
            ".",
            "-",
            "@",
            "a",
            "Đ",
            "đồng",
            "é",
            "😀",
            "\u{0}",
            "\u{a0}",
            "51F",
            "X3",
            "123.45",
            "0912",
            "345",
            "@gmail.com",
            "%",
            ":",
            "/",
        ];
        // Every sequence of up to three pieces, then long repetitions.
        for a in pieces {
            for b in pieces {
                for c in pieces {
                    let text = format!("{a}{b}{c}");
                    let masked = mask(&text);
                    for f in find(&text) {
                        assert!(text.is_char_boundary(f.range.start));
                        assert!(text.is_char_boundary(f.range.end));
                    }
                    let _ = masked;
                }
            }
            let long = a.repeat(5000);
            let _ = mask(&long);
        }
        let _ = mask(&"a@".repeat(10_000));
        let _ = mask(&"0912 ".repeat(10_000));
    }

    proptest::proptest! {
        #[test]
        fn any_text_is_masked_without_panic(text in "\\PC{0,200}") {
            let found = find(&text);
            let mut last = 0;
            for f in &found {
                proptest::prop_assert!(f.range.start >= last && f.range.start < f.range.end);
                proptest::prop_assert!(text.is_char_boundary(f.range.start));
                proptest::prop_assert!(text.is_char_boundary(f.range.end));
                last = f.range.end;
            }
            let _ = mask(&text);
        }

        /// Tests and replays find a response by the submission key at the end of its comment.
        #[test]
        fn a_submission_key_is_never_masked(bytes in proptest::array::uniform16(0u8..10)) {
            let key = uuid::Uuid::from_bytes(bytes.map(|b| b * 0x11 % 0xA0)).to_string();
            let text = format!("Cán bộ nhiệt tình {key}");
            proptest::prop_assert_eq!(mask(&text), text.as_str());
        }

        #[test]
        fn digit_heavy_text_is_masked_without_panic(text in "[0-9 .+()@a-zA-Z\\-đ]{0,80}") {
            let masked = mask(&text).into_owned();
            proptest::prop_assert_eq!(mask(&masked).into_owned(), masked);
        }
    }

    #[test]
    fn a_masked_answer_stays_within_the_stored_bound() {
        // Ten digits become fifteen characters: an answer at the bound grows past it.
        let answer = "0912345678 ".repeat(909);
        assert_eq!(answer.chars().count(), 9_999);
        assert!(mask(&answer).chars().count() > 10_000);
        let stored = mask_within(&answer, 10_000);
        assert_eq!(stored.chars().count(), 10_000);
        assert!(!stored.contains("0912345678"), "{}", &stored[..40]);
        assert_eq!(mask_within("Cán bộ tận tình", 10_000), "Cán bộ tận tình");
        assert_eq!(mask_within("Cán bộ tận tình", 3), "Cán");
    }
}
