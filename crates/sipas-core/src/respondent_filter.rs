//! Filters by respondent attributes (issue 17): "only the women aged 25 to 34". The attributes
//! a form offers are the coded items of its `respondent` sections (gender, age band, field of
//! procedure, ...: `survey-forms/README.md`, "Filters by respondent attributes"); a value is
//! one of the item's scale codes, shown by its label.
//!
//! Each front end reads its own input into tokens `ITEM_CODE:code` (`GIOI_TINH:2`), and
//! [`RespondentFilter::try_from`] checks them against the form: an unknown attribute or value
//! is a [`FilterProblem`], worded in Vietnamese by its `Display`, never a query.
//!
//! A filtered figure by one attribute is read from the rollups by attribute over whole months
//! (the days at the range's edges from the raw responses); one by two attributes or more is
//! computed from the raw responses (the rollups do not cross answers);
//! `sipas_db::stats::read_filtered`. For unit accounts ([`Disclosure::Protected`]) it obeys
//! the small-cell rule of [`crate::small_cells`] through [`withhold`]: a group picked out by a
//! filter is a group of respondents by attribute, like a cell of a breakdown.

use serde::Serialize;

use crate::forms::{Form, Item, ItemKind, Scale, SectionRole};
use crate::small_cells::{self, Disclosure};

/// A respondent question a form offers as a filter: a coded item of a `respondent` section.
#[derive(Debug, Clone, Copy)]
pub struct Attribute<'a> {
    pub item: &'a Item,
    pub scale: &'a Scale,
}

/// The attributes `form` offers, in page order.
pub fn attributes(form: &Form) -> Vec<Attribute<'_>> {
    form.sections
        .iter()
        .filter(|s| s.role == SectionRole::Respondent)
        .flat_map(|s| s.items.iter())
        .filter_map(|item| match &item.kind {
            ItemKind::Choice { scale, .. } => Some(Attribute {
                item,
                scale: form.scale(scale)?,
            }),
            ItemKind::Text { .. } | ItemKind::Residence { .. } => None,
        })
        .collect()
}

impl Attribute<'_> {
    /// The token of one of its values, as query strings carry it: `GIOI_TINH:2`.
    pub fn token(&self, code: i16) -> String {
        format!("{}:{code}", self.item.code)
    }
}

/// One condition: the respondent answered `value` to the item `item_code`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Condition {
    pub item_code: String,
    /// The question ("Giới tính").
    pub item_text: String,
    pub value: i16,
    /// The value's label ("Nữ").
    pub label: String,
}

/// The conditions of a selection, in the form's order, at most one per attribute; all must
/// hold. Empty: every respondent (the figures come from the rollups).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct RespondentFilter {
    conditions: Vec<Condition>,
}

/// How many characters of a refused token a message repeats.
const SHOWN_CHARS: usize = 40;

fn quoted(text: &str) -> String {
    let mut cut: String = text.chars().take(SHOWN_CHARS).collect();
    if text.chars().count() > SHOWN_CHARS {
        cut.push('…');
    }
    cut
}

/// Why a filter does not apply to the form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilterProblem {
    /// Not of the form `ITEM_CODE:code`.
    Malformed(String),
    /// No respondent question of the form has this code; `known` lists the codes there are.
    UnknownAttribute { code: String, known: Vec<String> },
    /// Not a code of the question's scale; `values` lists "code (label)".
    UnknownValue {
        attribute: String,
        value: String,
        values: Vec<String>,
    },
    /// The same question given twice.
    Repeated(String),
}

impl std::fmt::Display for FilterProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FilterProblem::Malformed(token) => write!(
                f,
                "Bộ lọc người trả lời «{}» không hợp lệ: cần dạng MÃ_CÂU_HỎI:mã_giá_trị, ví dụ GIOI_TINH:2.",
                quoted(token)
            ),
            FilterProblem::UnknownAttribute { code, known } => write!(
                f,
                "Mẫu phiếu không có câu hỏi về người trả lời «{}». Các câu hỏi dùng để lọc: {}.",
                quoted(code),
                if known.is_empty() {
                    "không có".to_string()
                } else {
                    known.join(", ")
                }
            ),
            FilterProblem::UnknownValue {
                attribute,
                value,
                values,
            } => write!(
                f,
                "Giá trị «{}» không có trong câu hỏi «{attribute}». Các giá trị: {}.",
                quoted(value),
                values.join(", ")
            ),
            FilterProblem::Repeated(attribute) => {
                write!(f, "Câu hỏi «{attribute}» chỉ được chọn một giá trị để lọc.")
            }
        }
    }
}

impl<'a, S: AsRef<str>> TryFrom<(&'a Form, &'a [S])> for RespondentFilter {
    type Error = FilterProblem;

    /// Checks `tokens` (`ITEM_CODE:code`, blank ones ignored) against `form`'s respondent
    /// questions and their scales.
    fn try_from((form, tokens): (&'a Form, &'a [S])) -> Result<Self, FilterProblem> {
        let offered = attributes(form);
        let mut conditions: Vec<(usize, Condition)> = Vec::new();
        for token in tokens.iter().map(|t| t.as_ref().trim()) {
            if token.is_empty() {
                continue;
            }
            let (code, value) = token
                .split_once(':')
                .map(|(c, v)| (c.trim(), v.trim()))
                .filter(|(c, v)| !c.is_empty() && !v.is_empty())
                .ok_or_else(|| FilterProblem::Malformed(token.to_string()))?;
            let (position, attribute) = offered
                .iter()
                .enumerate()
                .find(|(_, a)| a.item.code == code)
                .ok_or_else(|| FilterProblem::UnknownAttribute {
                    code: code.to_string(),
                    known: offered.iter().map(|a| a.item.code.clone()).collect(),
                })?;
            let option = value
                .parse::<i16>()
                .ok()
                .filter(|_| value.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|v| attribute.scale.options.iter().find(|o| o.code == v))
                .ok_or_else(|| FilterProblem::UnknownValue {
                    attribute: attribute.item.text.clone(),
                    value: value.to_string(),
                    values: attribute
                        .scale
                        .options
                        .iter()
                        .map(|o| format!("{} ({})", o.code, o.label))
                        .collect(),
                })?;
            if conditions.iter().any(|(p, _)| *p == position) {
                return Err(FilterProblem::Repeated(attribute.item.text.clone()));
            }
            conditions.push((
                position,
                Condition {
                    item_code: attribute.item.code.clone(),
                    item_text: attribute.item.text.clone(),
                    value: option.code,
                    label: option.label.clone(),
                },
            ));
        }
        conditions.sort_by_key(|(p, _)| *p);
        Ok(RespondentFilter {
            conditions: conditions.into_iter().map(|(_, c)| c).collect(),
        })
    }
}

impl RespondentFilter {
    /// Every respondent.
    pub fn none() -> Self {
        RespondentFilter::default()
    }

    pub fn is_empty(&self) -> bool {
        self.conditions.is_empty()
    }

    pub fn conditions(&self) -> &[Condition] {
        &self.conditions
    }

    /// The tokens of the query string (`GIOI_TINH:2`), in the form's order.
    pub fn tokens(&self) -> Vec<String> {
        self.conditions
            .iter()
            .map(|c| format!("{}:{}", c.item_code, c.value))
            .collect()
    }

    /// The value chosen for an item, if any.
    pub fn value_of(&self, item_code: &str) -> Option<i16> {
        self.conditions
            .iter()
            .find(|c| c.item_code == item_code)
            .map(|c| c.value)
    }

    /// What every page with filtered figures says: "Chỉ tính người trả lời: Nữ, Từ 25 đến 34
    /// tuổi". `None` without conditions.
    pub fn sentence(&self) -> Option<String> {
        (!self.is_empty()).then(|| {
            let labels: Vec<&str> = self.conditions.iter().map(|c| c.label.as_str()).collect();
            format!("Chỉ tính người trả lời: {}", labels.join(", "))
        })
    }

    /// How many in/out patterns the conditions make (2^conditions): the length of the
    /// pattern counts [`withhold`] takes. Bit `i` of a pattern is set when the respondent meets
    /// condition `i`; the last pattern meets them all.
    pub fn patterns(&self) -> usize {
        1 << self.conditions.len()
    }
}

/// Whether the group meeting every condition may be shown, from the counts of all the
/// respondents of the figure by in/out pattern (index = the bits of the conditions met; the
/// last index meets them all): the rule of [`small_cells::protect`] applied to that
/// breakdown. A group of 1 to 4 is never shown; nor one whose complement (within the
/// figure, for some condition) is 1 to 4, which the unfiltered figures would give back; nor
/// "0 of 3".
pub fn shown(patterns: &[u64]) -> bool {
    match patterns.len() {
        0 => true,
        n => !small_cells::protect(patterns).cells[n - 1].is_suppressed(),
    }
}

/// Which filtered figures of one table are withheld from an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Withheld {
    pub rows: Vec<bool>,
    pub total: bool,
}

/// The figures of a table (rows adding up to a total, like the units of a report or the
/// months of a trend) that `disclosure` withholds, from each figure's pattern counts (see
/// [`shown`]): none for accounts that see exact figures; for unit accounts, every row and the
/// total that [`shown`] refuses, and then, as [`small_cells::protect`] does within one
/// breakdown, more rows (those with the fewest matching respondents first) until the rows
/// withheld together, which the total minus the rows shown gives back, pass [`shown`]
/// themselves; when no row is left to withhold, the total.
pub fn withhold(disclosure: Disclosure, rows: &[Vec<u64>], total: &[u64]) -> Withheld {
    let mut withheld = Withheld {
        rows: vec![false; rows.len()],
        total: false,
    };
    if !disclosure.is_protected() {
        return withheld;
    }
    withheld.rows = rows.iter().map(|p| !shown(p)).collect();
    withheld.total = !shown(total);
    let matching = |p: &[u64]| p.last().copied().unwrap_or(0);
    let width = total
        .len()
        .max(rows.iter().map(Vec::len).max().unwrap_or(0));
    loop {
        if withheld.total || !withheld.rows.iter().any(|w| *w) {
            break;
        }
        let mut group = vec![0u64; width];
        for (row, _) in rows.iter().zip(&withheld.rows).filter(|(_, w)| **w) {
            for (g, n) in group.iter_mut().zip(row) {
                *g = g.saturating_add(*n);
            }
        }
        // A group nobody in the rows shown could complete needs nothing more: the total
        // minus the rows shown gives back only what the rows withheld hold together.
        if shown(&group) {
            break;
        }
        let next = rows
            .iter()
            .enumerate()
            .filter(|(i, p)| !withheld.rows[*i] && p.iter().any(|n| *n > 0))
            .min_by_key(|(i, p)| (matching(p), p.iter().sum::<u64>(), *i))
            .map(|(i, _)| i);
        match next {
            Some(i) => withheld.rows[i] = true,
            None => withheld.total = true,
        }
    }
    withheld
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forms::parse_form;

    fn form() -> Form {
        parse_form(
            "sipas-1001-dich-vu.toml",
            include_str!("../../../survey-forms/sipas-1001-dich-vu.toml"),
        )
        .unwrap()
    }

    fn filter(tokens: &[&str]) -> Result<RespondentFilter, FilterProblem> {
        let form = form();
        RespondentFilter::try_from((&form, tokens))
    }

    #[test]
    fn the_respondent_questions_are_the_attributes() {
        let form = form();
        let codes: Vec<&str> = attributes(&form)
            .iter()
            .map(|a| a.item.code.as_str())
            .collect();
        assert_eq!(
            codes,
            [
                "GIOI_TINH",
                "DO_TUOI",
                "DAN_TOC",
                "HOC_VAN",
                "NGHE_NGHIEP",
                "HINH_THUC",
                "LINH_VUC"
            ]
        );
        assert_eq!(attributes(&form)[0].token(2), "GIOI_TINH:2");
    }

    #[test]
    fn tokens_become_conditions_in_the_forms_order() {
        let f = filter(&["DO_TUOI:2", " ", "GIOI_TINH:2"]).unwrap();
        assert_eq!(f.tokens(), ["GIOI_TINH:2", "DO_TUOI:2"]);
        assert_eq!(
            f.sentence().as_deref(),
            Some("Chỉ tính người trả lời: Nữ, Từ 25 đến 34 tuổi")
        );
        assert_eq!(f.value_of("DO_TUOI"), Some(2));
        assert_eq!(f.patterns(), 4);
        let none = filter(&[]).unwrap();
        assert!(none.is_empty());
        assert_eq!(none.sentence(), None);
        assert_eq!(none.patterns(), 1);
    }

    #[test]
    fn unknown_attributes_and_values_are_refused_in_vietnamese() {
        for (tokens, problem) in [
            (vec!["GIOI_TINH"], "cần dạng"),
            (vec!["GIOI_TINH:"], "cần dạng"),
            (vec!["TC1:5"], "không có câu hỏi về người trả lời «TC1»"),
            (vec!["'; DROP TABLE responses;--:1"], "không có câu hỏi"),
            (
                vec!["GIOI_TINH:3"],
                "Giá trị «3» không có trong câu hỏi «Giới tính»",
            ),
            (vec!["GIOI_TINH:-1"], "Giá trị «-1»"),
            (vec!["GIOI_TINH:+1"], "Giá trị «+1»"),
            (vec!["GIOI_TINH:99999"], "Giá trị «99999»"),
            (vec!["GIOI_TINH:Nữ"], "Các giá trị: 1 (Nam), 2 (Nữ)."),
            (
                vec!["GIOI_TINH:1", "GIOI_TINH:2"],
                "chỉ được chọn một giá trị",
            ),
        ] {
            let message = filter(&tokens).unwrap_err().to_string();
            assert!(message.contains(problem), "{tokens:?}: {message}");
        }
        let long = format!("X{}:1", "A".repeat(500));
        assert!(filter(&[long.as_str()]).unwrap_err().to_string().len() < 400);
    }

    #[test]
    fn a_group_is_shown_by_the_small_cell_rule() {
        // One condition: [not met, met].
        assert!(shown(&[40, 12]));
        assert!(!shown(&[40, 3]));
        // The complement is small: the unfiltered figure minus this one gives 3 people back.
        assert!(!shown(&[3, 40]));
        // Nobody of the group among 3 people tells about all 3.
        assert!(!shown(&[3, 0]));
        assert!(shown(&[12, 0]));
        assert!(shown(&[0, 12]));
        // Two conditions: one small cell (met the first only) hides the smallest other,
        // which is the group itself here.
        assert!(!shown(&[50, 2, 40, 20]));
        assert!(shown(&[50, 2, 10, 40]));
    }

    #[test]
    fn unit_accounts_never_get_a_small_group_back_from_a_total() {
        let exact = withhold(Disclosure::Exact, &[vec![0, 1]], &[0, 1]);
        assert_eq!(
            exact,
            Withheld {
                rows: vec![false],
                total: false
            }
        );
        let p = Disclosure::Protected;
        // Row 0 has 3 women: withheld, and with it the row with the fewest others.
        let w = withhold(p, &[vec![10, 3], vec![30, 40], vec![20, 9]], &[60, 52]);
        assert_eq!(w.rows, [true, false, true]);
        assert!(!w.total);
        // Nothing small: nothing withheld.
        let w = withhold(p, &[vec![10, 30], vec![30, 40]], &[40, 70]);
        assert_eq!(w.rows, [false, false]);
        // A single row with a small group, nothing to hide with it: the total goes.
        let w = withhold(p, &[vec![10, 3], vec![0, 0]], &[10, 3]);
        assert_eq!(w.rows, [true, false]);
        assert!(w.total);
    }

    #[test]
    fn no_withheld_group_comes_back_by_subtraction() {
        // Exhaustively over small tables of three rows with one condition: the rows withheld
        // together pass the rule, or the total is withheld too.
        let values = [0u64, 1, 2, 4, 5, 9];
        for a in values {
            for b in values {
                for c in values {
                    for d in values {
                        for e in [0u64, 3, 20] {
                            let rows = vec![vec![a, b], vec![c, d], vec![20, e]];
                            let total = [a + c + 20, b + d + e];
                            let w = withhold(Disclosure::Protected, &rows, &total);
                            for (row, withheld) in rows.iter().zip(&w.rows) {
                                if !withheld {
                                    assert!(shown(row), "{rows:?}");
                                }
                            }
                            if !w.total {
                                assert!(shown(&total), "{rows:?}");
                                let mut group = [0u64; 2];
                                for (row, _) in rows.iter().zip(&w.rows).filter(|(_, w)| **w) {
                                    group[0] += row[0];
                                    group[1] += row[1];
                                }
                                assert!(
                                    w.rows.iter().all(|w| !w) || shown(&group),
                                    "{rows:?}: {w:?}"
                                );
                            }
                        }
                    }
                }
            }
        }
    }
}
