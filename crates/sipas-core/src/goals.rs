//! Satisfaction goals ("mục tiêu"): the index a survey plan holds its units to. The charts draw
//! them as reference lines and the report says which are reached. They belong to the plan and
//! admins edit them; a new plan starts from the national programme's goals ([`national`]).

use serde::{Deserialize, Serialize};

use crate::domain::fields::FieldErrors;
use crate::stats::round_percent;

/// One goal: its label ("Mục tiêu 2025: 80%"), its level and where it comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Goal {
    pub label: String,
    /// Hundredths of a percent: 8000 is 80,00%.
    pub points: u32,
    /// The text it rests on (a resolution, a provincial plan), shown beside it.
    pub basis: String,
}

impl Goal {
    /// The goal as an index (0..=1).
    pub fn index(&self) -> f64 {
        f64::from(self.points) / 10_000.0
    }

    /// Whether an index reaches the goal, as both are published (two decimals of a percent).
    pub fn reached_by(&self, index: f64) -> bool {
        round_percent(index) * 100.0 >= f64::from(self.points) - 1e-6
    }

    /// "80%", "82,5%": the level as typed and shown.
    pub fn percent_text(&self) -> String {
        let whole = self.points / 100;
        match self.points % 100 {
            0 => format!("{whole}%"),
            f if f % 10 == 0 => format!("{whole},{}%", f / 10),
            f => format!("{whole},{f:02}%"),
        }
    }
}

/// How an index stands against `goals`, in words, as the report (page and Word file) says it:
/// "đạt Mục tiêu 2025 80%, chưa đạt Mục tiêu 2030 90%".
pub fn against(index: f64, goals: &[Goal]) -> String {
    let parts: Vec<String> = goals
        .iter()
        .map(|goal| {
            let label = goal.label.replace(':', "");
            if goal.reached_by(index) {
                format!("đạt {label}")
            } else {
                format!("chưa đạt {label}")
            }
        })
        .collect();
    if parts.is_empty() {
        "kế hoạch chưa đặt mục tiêu về chỉ số".to_string()
    } else {
        parts.join(", ")
    }
}

/// Whether a published index falls below `goal` (no index or no goal: not below).
pub fn below(index: Option<f64>, goal: Option<&Goal>) -> bool {
    index.zip(goal).is_some_and(|(i, g)| !g.reached_by(i))
}

/// The basis of the default goals.
///
/// Nghị quyết số 76/NQ-CP ngày 15/7/2021 của Chính phủ ban hành Chương trình tổng thể cải cách
/// hành chính nhà nước giai đoạn 2021–2030 sets, under the reform of the administrative
/// apparatus (cải cách tổ chức bộ máy hành chính nhà nước), the satisfaction of individuals and
/// organisations with the service of state administrative bodies — what SIPAS measures — at
/// "đạt trên 80%" by 2025 and "đạt trên 90%" by 2030. (Its separate goals for the handling of
/// administrative procedures, "tối thiểu 90%" by 2025 and "tối thiểu 95%" by 2030, measure
/// procedures, not the service as a whole; a plan that reports against them enters them.)
pub const NQ76_BASIS: &str = "Nghị quyết 76/NQ-CP ngày 15/7/2021 của Chính phủ (Chương trình tổng thể cải cách hành chính nhà nước giai đoạn 2021–2030): mức độ hài lòng của người dân, tổ chức đối với sự phục vụ của cơ quan hành chính nhà nước đạt trên 80% vào năm 2025 và trên 90% vào năm 2030.";

/// The goals a new plan starts with (and that apply where no plan does): the national
/// programme's 2025 and 2030 levels ([`NQ76_BASIS`]).
pub fn national() -> Vec<Goal> {
    vec![
        Goal {
            label: "Mục tiêu 2025: 80%".into(),
            points: 8_000,
            basis: NQ76_BASIS.into(),
        },
        Goal {
            label: "Mục tiêu 2030: 90%".into(),
            points: 9_000,
            basis: NQ76_BASIS.into(),
        },
    ]
}

/// The most goals a plan has (the charts' legend has room for them).
pub const MAX_GOALS: usize = 4;
pub const MAX_LABEL_CHARS: usize = 60;
pub const MAX_BASIS_CHARS: usize = 400;

/// The form fields of goal row `i` (0-based): label, level, basis.
pub const FIELDS: [[&str; 3]; MAX_GOALS] = [
    ["goal_label_1", "goal_percent_1", "goal_basis_1"],
    ["goal_label_2", "goal_percent_2", "goal_basis_2"],
    ["goal_label_3", "goal_percent_3", "goal_basis_3"],
    ["goal_label_4", "goal_percent_4", "goal_basis_4"],
];

/// One row of the goals form, as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GoalInput {
    pub label: String,
    pub percent: String,
    pub basis: String,
}

impl GoalInput {
    pub fn of(goal: &Goal) -> GoalInput {
        GoalInput {
            label: goal.label.clone(),
            percent: goal.percent_text().trim_end_matches('%').to_string(),
            basis: goal.basis.clone(),
        }
    }

    fn is_blank(&self) -> bool {
        self.label.trim().is_empty()
            && self.percent.trim().is_empty()
            && self.basis.trim().is_empty()
    }
}

/// A level as typed: "80", "82,5", "82.55", "80%"; above 0, at most 100, at most two decimals.
fn parse_points(text: &str) -> Result<u32, String> {
    let text = text.trim();
    let bare = text.strip_suffix('%').unwrap_or(text).trim_end();
    let value = crate::plans::parse_decimal(bare).ok_or_else(|| {
        "Vui lòng nhập mức mục tiêu là một số phần trăm, ví dụ 80 hoặc 82,5.".to_string()
    })?;
    let points = value * 100.0;
    if (points - points.round()).abs() > 1e-6 {
        return Err("Mức mục tiêu có tối đa hai chữ số thập phân.".into());
    }
    let points = points.round();
    if points <= 0.0 || points > 10_000.0 {
        return Err("Mức mục tiêu phải lớn hơn 0% và không quá 100%.".into());
    }
    Ok(points as u32)
}

fn has_control(text: &str) -> bool {
    text.chars().any(char::is_control)
}

/// The goals of a plan from the rows of its form: blank rows are skipped; every other row needs
/// a label and a level. Refusals are keyed by the row's fields ([`FIELDS`]).
pub fn parse(rows: &[GoalInput]) -> Result<Vec<Goal>, FieldErrors> {
    let mut errors = FieldErrors::new();
    let mut goals = Vec::new();
    if rows.len() > MAX_GOALS {
        errors.insert(FIELDS[0][0], format!("Tối đa {MAX_GOALS} mục tiêu."));
        return Err(errors);
    }
    for (row, [label_field, percent_field, basis_field]) in rows.iter().zip(FIELDS) {
        if row.is_blank() {
            continue;
        }
        let label = row.label.trim();
        let basis = row.basis.trim();
        if label.is_empty() {
            errors.insert(
                label_field,
                "Vui lòng nhập tên mục tiêu, ví dụ “Mục tiêu 2030: 90%”.".into(),
            );
        } else if label.chars().count() > MAX_LABEL_CHARS || has_control(label) {
            errors.insert(
                label_field,
                format!("Tên mục tiêu tối đa {MAX_LABEL_CHARS} ký tự, trên một dòng."),
            );
        }
        if basis.chars().count() > MAX_BASIS_CHARS
            || basis
                .chars()
                .any(|c| c.is_control() && c != '\n' && c != '\r')
        {
            errors.insert(
                basis_field,
                format!("Căn cứ tối đa {MAX_BASIS_CHARS} ký tự."),
            );
        }
        let points = parse_points(&row.percent).map_err(|m| errors.insert(percent_field, m));
        if let Ok(points) = points {
            goals.push(Goal {
                label: label.to_string(),
                points,
                basis: basis.replace("\r\n", "\n"),
            });
        }
    }
    if errors.is_empty() {
        Ok(goals)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(label: &str, percent: &str, basis: &str) -> GoalInput {
        GoalInput {
            label: label.into(),
            percent: percent.into(),
            basis: basis.into(),
        }
    }

    #[test]
    fn national_goals_are_the_resolution_s_2025_and_2030_levels() {
        let goals = national();
        assert_eq!(goals.len(), 2);
        assert_eq!((goals[0].points, goals[1].points), (8_000, 9_000));
        assert!(goals.iter().all(|g| g.basis.contains("76/NQ-CP")));
        assert!(goals[0].label.contains("2025") && goals[1].label.contains("2030"));
    }

    #[test]
    fn a_goal_is_reached_as_published() {
        let goal = &national()[0];
        assert!(goal.reached_by(0.80));
        assert!(goal.reached_by(0.799_95), "published as 80,00%");
        assert!(!goal.reached_by(0.799_94), "published as 79,99%");
        assert!(!goal.reached_by(0.5));
    }

    #[test]
    fn levels_read_as_typed_in_vietnam() {
        assert_eq!(parse_points("80"), Ok(8_000));
        assert_eq!(parse_points("82,5"), Ok(8_250));
        assert_eq!(parse_points("82.55%"), Ok(8_255));
        assert_eq!(parse_points("100"), Ok(10_000));
        assert!(parse_points("0").is_err());
        assert!(parse_points("101").is_err());
        assert!(parse_points("80,123").is_err());
        assert!(parse_points("tám mươi").is_err());
        assert!(parse_points("-5").is_err());
        assert!(parse_points("").is_err());
    }

    #[test]
    fn percent_text_round_trips() {
        for points in [8_000, 8_250, 8_255, 10_000, 1] {
            let goal = Goal {
                label: "x".into(),
                points,
                basis: String::new(),
            };
            assert_eq!(
                parse_points(&goal.percent_text()),
                Ok(points),
                "{}",
                goal.percent_text()
            );
        }
        assert_eq!(
            Goal {
                label: "x".into(),
                points: 8_250,
                basis: String::new()
            }
            .percent_text(),
            "82,5%"
        );
    }

    #[test]
    fn rows_are_parsed_with_errors_by_field_and_blank_rows_skipped() {
        let goals = parse(&[
            input("Mục tiêu 2030: 95%", "95", "Kế hoạch của tỉnh"),
            input("", "", ""),
        ])
        .unwrap();
        assert_eq!(
            goals,
            [Goal {
                label: "Mục tiêu 2030: 95%".into(),
                points: 9_500,
                basis: "Kế hoạch của tỉnh".into()
            }]
        );
        let errors = parse(&[input("", "80", ""), input("Mục tiêu", "abc", "")]).unwrap_err();
        assert!(errors.contains_key("goal_label_1"));
        assert!(errors.contains_key("goal_percent_2"));
        let errors = parse(&[input(&"x".repeat(61), "80", "")]).unwrap_err();
        assert!(errors.contains_key("goal_label_1"));
        let errors = parse(&[input("a\u{0}b", "80", "")]).unwrap_err();
        assert!(errors.contains_key("goal_label_1"));
        assert_eq!(parse(&[]), Ok(vec![]));
        let five = vec![input("a", "80", ""); 5];
        assert!(parse(&five).is_err());
    }
}
