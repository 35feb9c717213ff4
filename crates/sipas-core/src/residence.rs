//! Results by the respondent's place of residence (issue 19): Public Administrative Service
//! Centres accept dossiers whatever the citizen's residence (Nghị định 118/2025/NĐ-CP), so
//! the responses of the units served are also read by where the respondents live.
//!
//! Pure: the counts come from SQL (`sipas-db`, `sql/residence_stats.sql`), one group per place
//! answered; here they become rows with the index of the form's aggregation rule, and, for a
//! unit account, the small-cell rule ([`crate::small_cells`]): the place of residence is an
//! attribute a respondent gave about themselves, so a place with 1 to 4 respondents is "< 5",
//! and its index is hidden with it.

use serde::Serialize;

use crate::disclosure::Disclosure;
use crate::forms::{
    Form, ItemKind, RESIDENCE_DECLINED_CODE, RESIDENCE_DECLINED_LABEL, RESIDENCE_ELSEWHERE_CODE,
    RESIDENCE_ELSEWHERE_LABEL, SectionRole,
};
use crate::reports::Figures;
use crate::small_cells::{Count, exact, protect};
use crate::stats::{criterion, factor_index, form_index};

/// The label of the responses that did not answer (or were never asked) the place of
/// residence.
pub const UNANSWERED_LABEL: &str = "Không trả lời / không được hỏi";

/// Where the respondents of a group live, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// A unit of the tree (`units.id`, its name and official code).
    Unit {
        id: i32,
        name: String,
        admin_code: Option<String>,
    },
    /// A place listed in the form (its code).
    Listed(i16),
    Elsewhere,
    Declined,
    Unanswered,
}

impl Place {
    /// The place of the stored pair (`residence_unit_id`, `residence_code`); `unit`: the
    /// name and official code of the unit, when it is one.
    pub fn of(
        unit_id: Option<i32>,
        code: Option<i16>,
        unit: impl FnOnce(i32) -> (String, Option<String>),
    ) -> Place {
        match (unit_id, code) {
            (Some(id), _) => {
                let (name, admin_code) = unit(id);
                Place::Unit {
                    id,
                    name,
                    admin_code,
                }
            }
            (None, Some(RESIDENCE_ELSEWHERE_CODE)) => Place::Elsewhere,
            (None, Some(RESIDENCE_DECLINED_CODE)) => Place::Declined,
            (None, Some(code)) => Place::Listed(code),
            (None, None) => Place::Unanswered,
        }
    }

    /// Rows in this order: the unit tree's places by name, listed places by code, "Nơi khác",
    /// "Không muốn trả lời", then the unanswered.
    fn order(&self) -> (u8, String, i32) {
        match self {
            Place::Unit { id, name, .. } => (0, name.clone(), *id),
            Place::Listed(code) => (1, String::new(), i32::from(*code)),
            Place::Elsewhere => (2, String::new(), 0),
            Place::Declined => (3, String::new(), 0),
            Place::Unanswered => (4, String::new(), 0),
        }
    }
}

/// One row of the table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResidenceRow {
    /// "unit", "listed", "elsewhere", "declined" or "unanswered".
    pub kind: &'static str,
    /// The code of the raw data (`NOI_CU_TRU`): the unit's id, the listed place's code, -1
    /// "Nơi khác", -2 "Không muốn trả lời"; none for the unanswered.
    pub code: Option<i32>,
    /// The unit's official administrative code, when it has one.
    pub admin_code: Option<String>,
    pub name: String,
    /// Responses (the number, or "< 5" for a unit account's small cell).
    pub responses: Count,
    /// The form's index (0..=1) of these responses; hidden with a suppressed count.
    pub index: Option<f64>,
}

/// The responses of the units served, by the respondents' place of residence.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ResidenceTable {
    pub rows: Vec<ResidenceRow>,
    pub total: Count,
    /// Whether the small-cell rule applied (a unit account).
    pub protected: bool,
}

/// The form's index of `figures` (criterion shares of positive codes, factor means, their
/// mean: the rule of [`crate::reports::unit_report`]).
pub fn index_of(form: &Form, figures: &Figures) -> Option<f64> {
    let factors: Vec<Option<f64>> = form
        .sections
        .iter()
        .filter(|s| s.role == SectionRole::Factor)
        .map(|section| {
            let criteria: Vec<Option<f64>> = section
                .items
                .iter()
                .filter_map(|item| {
                    let ItemKind::Choice { scale, .. } = &item.kind else {
                        return None;
                    };
                    let scale = form.scale(scale)?;
                    let counts: Vec<(i16, u64)> = scale
                        .options
                        .iter()
                        .map(|o| {
                            let n = figures
                                .answers
                                .get(&(item.code.clone(), o.code))
                                .copied()
                                .unwrap_or(0);
                            (o.code, n)
                        })
                        .collect();
                    Some(criterion(&counts, &scale.positive).index)
                })
                .collect();
            factor_index(&criteria)
        })
        .collect();
    form_index(&factors)
}

/// The table of `groups` (one per place answered, with its figures), as `disclosure` allows.
pub fn table(
    form: &Form,
    mut groups: Vec<(Place, Figures)>,
    disclosure: Disclosure,
) -> ResidenceTable {
    groups.sort_by_key(|(place, _)| place.order());
    let counts: Vec<u64> = groups.iter().map(|(_, f)| f.responses).collect();
    let shown = if disclosure.is_protected() {
        protect(&counts)
    } else {
        exact(&counts)
    };
    let rows = groups
        .iter()
        .zip(&shown.cells)
        .map(|((place, figures), count)| {
            let (kind, code, admin_code, name) = match place {
                Place::Unit {
                    id,
                    name,
                    admin_code,
                } => ("unit", Some(*id), admin_code.clone(), name.clone()),
                Place::Listed(code) => (
                    "listed",
                    Some(i32::from(*code)),
                    None,
                    form.residence_code_label(*code)
                        .map_or_else(|| format!("Mã {code}"), str::to_string),
                ),
                Place::Elsewhere => (
                    "elsewhere",
                    Some(i32::from(RESIDENCE_ELSEWHERE_CODE)),
                    None,
                    RESIDENCE_ELSEWHERE_LABEL.to_string(),
                ),
                Place::Declined => (
                    "declined",
                    Some(i32::from(RESIDENCE_DECLINED_CODE)),
                    None,
                    RESIDENCE_DECLINED_LABEL.to_string(),
                ),
                Place::Unanswered => ("unanswered", None, None, UNANSWERED_LABEL.to_string()),
            };
            ResidenceRow {
                kind,
                code,
                admin_code,
                name,
                responses: *count,
                index: if count.is_suppressed() {
                    None
                } else {
                    index_of(form, figures)
                },
            }
        })
        .collect();
    ResidenceTable {
        rows,
        total: shown.total,
        protected: disclosure.is_protected(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forms::parse_form;

    fn form() -> Form {
        parse_form(
            "r.toml",
            r#"
id = "r"
version = 1
title = "R"
[index]
rule = "mean-of-factor-indices"
[scales.s]
options = [ { code = 1, label = "Không" }, { code = 2, label = "Có" } ]
positive = [2]
[[sections]]
code = "F"
title = "F"
role = "factor"
[[sections.items]]
code = "Q1"
text = "Một?"
scale = "s"
[[sections.items]]
code = "Q2"
text = "Hai?"
scale = "s"
[[sections]]
code = "N"
title = "N"
role = "respondent"
[[sections.items]]
code = "NOI"
text = "Nơi cư trú"
type = "residence"
"#,
        )
        .unwrap()
    }

    fn figures(responses: u64, answers: &[(&str, i16, u64)]) -> Figures {
        Figures {
            responses,
            answers: answers
                .iter()
                .map(|(code, value, n)| ((code.to_string(), *value), *n))
                .collect(),
            ..Figures::default()
        }
    }

    fn unit(id: i32, name: &str) -> Place {
        Place::Unit {
            id,
            name: name.into(),
            admin_code: None,
        }
    }

    #[test]
    fn rows_are_ordered_and_indexed_by_the_form_rule() {
        let groups = vec![
            (Place::Unanswered, figures(6, &[("Q1", 2, 6)])),
            (
                unit(9, "Xã Thử Nghiệm B"),
                figures(10, &[("Q1", 2, 5), ("Q1", 1, 5), ("Q2", 2, 10)]),
            ),
            (Place::Elsewhere, figures(7, &[("Q1", 1, 7)])),
            (unit(3, "Xã Thử Nghiệm A"), figures(2, &[("Q1", 2, 2)])),
        ];
        let exact_table = table(&form(), groups.clone(), Disclosure::Exact);
        let names: Vec<&str> = exact_table.rows.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "Xã Thử Nghiệm A",
                "Xã Thử Nghiệm B",
                "Nơi khác",
                UNANSWERED_LABEL
            ]
        );
        // B: Q1 50 %, Q2 100 %: (0.5 + 1.0) / 2 = 0.75 (one factor).
        assert_eq!(exact_table.rows[1].index, Some(0.75));
        assert_eq!(exact_table.rows[1].code, Some(9));
        assert_eq!(exact_table.rows[2].code, Some(-1));
        assert_eq!(exact_table.total, Count::Exact(25));
        // A unit account: A's 2 respondents are "< 5", and with them the next smallest (6) so
        // that A cannot be computed back from the total; their indices go with them.
        let protected = table(&form(), groups, Disclosure::Protected);
        assert!(protected.rows[0].responses.is_suppressed());
        assert_eq!(protected.rows[0].index, None);
        assert!(protected.rows[3].responses.is_suppressed());
        assert_eq!(protected.rows[1].responses, Count::Exact(10));
        assert_eq!(protected.rows[1].index, Some(0.75));
    }
}
