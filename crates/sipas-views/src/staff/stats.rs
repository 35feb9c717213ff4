//! Pages of the staff area: the survey's results ("Kết quả khảo sát"). The district overview
//! (units ranked by their SIPAS index), a unit's page (factors, criteria, expectations,
//! respondents, trend, change against earlier periods, comments) and the comparison of units
//! or periods with their tests, each chart with its data table beside it.

use chrono::{Datelike, NaiveDate};
use maud::{Markup, html};

use super::units::indent;
use super::{FieldErrors, page};
use crate::SignedIn;
use crate::charts::{
    self, Bar, BarChart, Column, ColumnChart, Goal, Reliability, StackedChart, StackedRow,
};
use crate::db::comments::{CommentRow, UnitChoice};
use crate::db::plans::{Period, PlanListing};
use crate::db::stats::{DeskCount, Grain};
use crate::db::units::UnitKind;
use crate::disclosure::TimeDetail;
use crate::plans::{Status, Totals, format_date, percent};
use crate::reports::{ItemComparison, Pair, Report, UnitReport, significance_text};
use crate::respondent_filter::RespondentFilter;
use crate::small_cells::{Count, Disclosure, SUPPRESSED, SUPPRESSED_SHARE};
use crate::staff::comments::{channel_label, comment_path, format_count};
use crate::stats::{Interval, MIN_RELIABLE_SAMPLE, MeanDiff, ProportionDiff, format_percent};

pub const OVERVIEW_PATH: &str = "/staff/stats";
pub const COMPARE_PATH: &str = "/staff/stats/compare";

/// The unit page's path.
pub fn unit_path(id: i32) -> String {
    format!("{OVERVIEW_PATH}/units/{id}")
}

use crate::domain::channel::CHANNELS;

/// Roman numerals of the quarters.
use crate::domain::format::QUARTERS;

/// The query string as typed (first value of each key; `units` and `periods` repeat).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatsQuery {
    pub year: String,
    pub period: String,
    pub from: String,
    pub to: String,
    pub unit: String,
    pub kind: String,
    pub form: String,
    pub channel: String,
    pub trend: String,
    pub item: String,
    pub units: Vec<String>,
    pub periods: Vec<String>,
    /// Filters by respondent attributes, `ITEM_CODE:code` (`attr`, repeated; blank ones
    /// dropped).
    pub attrs: Vec<String>,
}

impl StatsQuery {
    pub fn from_query_string(query: &str) -> StatsQuery {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap_or_default();
        let value = |key: &str| {
            pairs
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        let values = |key: &str| {
            pairs
                .iter()
                .filter(|(k, v)| k == key && !v.trim().is_empty())
                .map(|(_, v)| v.clone())
                .collect()
        };
        StatsQuery {
            year: value("year"),
            period: value("period"),
            from: value("from"),
            to: value("to"),
            unit: value("unit"),
            kind: value("kind"),
            form: value("form"),
            channel: value("channel"),
            trend: value("trend"),
            item: value("item"),
            units: values("units"),
            periods: values("periods"),
            attrs: values("attr"),
        }
    }
}

/// Which days the figures cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeriodChoice {
    /// The whole calendar year.
    Year,
    /// Quarter 1..=4 of the year.
    Quarter(u32),
    /// A period of the survey plan (its id).
    Plan(i32),
    /// The days typed in "from" and "to".
    Custom,
    /// A quick range ending today ("30 ngày qua", "Tháng này", "Quý này").
    Recent(Recent),
}

impl PeriodChoice {
    pub fn parse(text: &str) -> Option<PeriodChoice> {
        match text {
            "" | "nam" => Some(PeriodChoice::Year),
            "q1" => Some(PeriodChoice::Quarter(1)),
            "q2" => Some(PeriodChoice::Quarter(2)),
            "q3" => Some(PeriodChoice::Quarter(3)),
            "q4" => Some(PeriodChoice::Quarter(4)),
            "custom" => Some(PeriodChoice::Custom),
            _ => {
                if let Some(recent) = Recent::parse(text) {
                    return Some(PeriodChoice::Recent(recent));
                }
                let id = text.strip_prefix('p')?;
                if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                id.parse().ok().filter(|id| *id > 0).map(PeriodChoice::Plan)
            }
        }
    }

    /// The value in the query string ("" for the whole year).
    pub fn as_value(self) -> String {
        match self {
            PeriodChoice::Year => String::new(),
            PeriodChoice::Quarter(q) => format!("q{q}"),
            PeriodChoice::Plan(id) => format!("p{id}"),
            PeriodChoice::Custom => "custom".into(),
            PeriodChoice::Recent(recent) => recent.token(),
        }
    }
}

/// "Quý I/2026".
pub use crate::domain::format::quarter_label;
pub use sipas_core::selection::Recent;

/// The quick ranges offered by the filters.
pub const QUICK_RANGES: [Recent; 3] = [Recent::Days(30), Recent::ThisMonth, Recent::ThisQuarter];

/// What the figures are about, once checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    pub year: i32,
    pub period: PeriodChoice,
    /// First and last day (included), Vietnam's days.
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// "Năm 2026", "Quý I/2026", "Quý I (01/01/2026 – 31/03/2026)", ...
    pub period_label: String,
    /// The plan period whose targets apply.
    pub period_id: Option<i32>,
    /// The chosen unit (overview: the unit whose sub-units are ranked).
    pub unit: Option<i32>,
    pub kind: Option<UnitKind>,
    pub form: String,
    pub form_title: String,
    pub channel: Option<String>,
    pub trend: Grain,
    /// Only the respondents meeting these conditions (empty: all).
    pub respondents: RespondentFilter,
}

impl Selection {
    /// The query string of these filters ("year=2026&..."), with `unit` replaced by `unit`.
    pub fn query(&self, unit: Option<i32>, kind: bool) -> String {
        let mut query = self.query_of_all_respondents(unit, kind);
        for token in self.respondents.tokens() {
            query.push('&');
            query.push_str(&serde_urlencoded::to_string([("attr", token)]).unwrap_or_default());
        }
        query
    }

    /// [`Selection::query`] without the filters by respondent attributes: for the printable
    /// report and the exports, which count every respondent.
    pub fn query_of_all_respondents(&self, unit: Option<i32>, kind: bool) -> String {
        let mut pairs: Vec<(&str, String)> = vec![("year", self.year.to_string())];
        if self.period != PeriodChoice::Year {
            pairs.push(("period", self.period.as_value()));
        }
        if self.period == PeriodChoice::Custom {
            pairs.push(("from", format_date(self.from)));
            pairs.push(("to", format_date(self.to)));
        }
        if let Some(unit) = unit {
            pairs.push(("unit", unit.to_string()));
        }
        if kind && let Some(k) = self.kind {
            pairs.push(("kind", k.as_str().to_string()));
        }
        pairs.push(("form", self.form.clone()));
        if let Some(channel) = &self.channel {
            pairs.push(("channel", channel.clone()));
        }
        serde_urlencoded::to_string(pairs).unwrap_or_default()
    }

    /// One line saying what the figures cover, and with filters by respondent attributes a
    /// second one saying whom they count.
    fn summary(&self, unit_name: &str) -> Markup {
        html! {
            p.selection {
                strong { (unit_name) } " · " (self.period_label)
                " (" (format_date(self.from)) " – " (format_date(self.to)) ") · " (self.form_title)
                @if let Some(channel) = &self.channel { " · Kênh: " (channel_label(channel)) }
                @if let Some(kind) = self.kind { " · Loại đơn vị: " (kind.label()) }
            }
            (respondents_note(&self.respondents))
        }
    }
}

/// What a page with figures filtered by respondent attributes says first: "Chỉ tính người
/// trả lời: Nữ, Từ 25 đến 34 tuổi." (nothing without a filter).
pub fn respondents_note(respondents: &RespondentFilter) -> Markup {
    html! {
        @if let Some(sentence) = respondents.sentence() {
            p.respondent-filter role="note" {
                (sentence) ". "
                span.hint {
                    "Số liệu được tính trực tiếp từ các phiếu của những người này; nhóm quá nhỏ "
                    "không được hiển thị với tài khoản đơn vị, để bảo vệ dữ liệu cá nhân."
                }
            }
        }
    }
}

/// A respondent question offered as a filter (`attr`): its item code, its text and its
/// options (token `ITEM_CODE:code`, the scale's label).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributeChoice {
    pub code: String,
    pub text: String,
    pub options: Vec<(String, String)>,
}

/// The filters a form offers: its respondent questions
/// ([`crate::respondent_filter::attributes`]).
pub fn attribute_choices(form: &crate::forms::Form) -> Vec<AttributeChoice> {
    crate::respondent_filter::attributes(form)
        .iter()
        .map(|a| AttributeChoice {
            code: a.item.code.clone(),
            text: a.item.text.clone(),
            options: a
                .scale
                .options
                .iter()
                .map(|o| (a.token(o.code), o.label.clone()))
                .collect(),
        })
        .collect()
}

/// The choices of the filter form.
pub struct FilterChoices<'a> {
    pub units: &'a [UnitChoice],
    /// The survey plan of the year for the chosen unit, with its periods.
    pub plan: Option<(&'a PlanListing, &'a [Period])>,
    /// (form id, title).
    pub forms: &'a [(String, String)],
    /// The respondent questions of the chosen form, offered as filters (none: no such
    /// filters on the page).
    pub attributes: &'a [AttributeChoice],
}

/// Which fields the filter form of a page has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterFields {
    Overview,
    Unit,
    Compare,
}

/// Options of a select: (value, label).
type Options = Vec<(String, String)>;
/// Options in groups (`None`: not in an `optgroup`).
type Groups = Vec<(Option<String>, Options)>;

/// A select field with a message; `options` are (value, label), optionally grouped.
fn select(
    name: &'static str,
    label: &str,
    groups: &[(Option<String>, Options)],
    selected: &str,
    errors: &FieldErrors,
) -> Markup {
    let error = errors.get(name);
    let id = format!("f-{name}");
    html! {
        div.field.err[error.is_some()] {
            label for=(id) { (label) }
            @if let Some(message) = error { p.msg id={ "e-" (name) } { (message) } }
            select id=(id) name=(name) aria-invalid=[error.map(|_| "true")]
                aria-describedby=[error.map(|_| format!("e-{name}"))] {
                @for (group, options) in groups {
                    @if let Some(group) = group {
                        optgroup label=(group) {
                            @for (value, text) in options {
                                option value=(value) selected[value == selected] { (text) }
                            }
                        }
                    } @else {
                        @for (value, text) in options {
                            option value=(value) selected[value == selected] { (text) }
                        }
                    }
                }
            }
        }
    }
}

fn text_input(
    name: &'static str,
    label: &str,
    value: &str,
    hint: Option<&str>,
    errors: &FieldErrors,
) -> Markup {
    let error = errors.get(name);
    let id = format!("f-{name}");
    html! {
        div.field.err[error.is_some()] {
            label for=(id) { (label) }
            @if let Some(hint) = hint { span.hint { " " (hint) } }
            @if let Some(message) = error { p.msg id={ "e-" (name) } { (message) } }
            input id=(id) name=(name) value=(value) inputmode=[(name == "year").then_some("numeric")]
                aria-invalid=[error.map(|_| "true")]
                aria-describedby=[error.map(|_| format!("e-{name}"))];
        }
    }
}

/// The period choices: the plan's periods first, then the calendar.
fn period_groups(choices: &FilterChoices) -> Groups {
    let mut groups = Vec::new();
    if let Some((plan, periods)) = choices.plan
        && !periods.is_empty()
    {
        groups.push((
            Some(format!("Các đợt của {}", plan.title)),
            periods
                .iter()
                .map(|p| {
                    (
                        format!("p{}", p.id),
                        format!(
                            "{} ({} – {})",
                            p.name,
                            format_date(p.starts_on),
                            format_date(p.ends_on)
                        ),
                    )
                })
                .collect(),
        ));
    }
    groups.push((
        Some("Gần đây (đến hôm nay)".to_string()),
        QUICK_RANGES
            .iter()
            .map(|r| (r.token(), r.label()))
            .collect(),
    ));
    let mut calendar = vec![(String::new(), "Cả năm".to_string())];
    for q in 1..=4 {
        calendar.push((format!("q{q}"), format!("Quý {}", QUARTERS[q - 1])));
    }
    calendar.push(("custom".into(), "Khoảng thời gian tự chọn".into()));
    groups.push((Some("Theo lịch".to_string()), calendar));
    groups
}

fn unit_options(units: &[UnitChoice], empty: Option<&str>) -> Vec<(String, String)> {
    let mut options: Vec<(String, String)> = empty
        .map(|e| (String::new(), e.to_string()))
        .into_iter()
        .collect();
    options.extend(
        units
            .iter()
            .map(|u| (u.id.to_string(), format!("{}{}", indent(u.depth), u.name))),
    );
    options
}

fn plain(options: Options) -> Groups {
    vec![(None, options)]
}

/// The GET form of the filters. `hidden`: fields kept as they are (the compared units).
pub fn filter_form(
    action: &str,
    fields: FilterFields,
    query: &StatsQuery,
    errors: &FieldErrors,
    choices: &FilterChoices,
    hidden: &[(&str, String)],
) -> Markup {
    let kinds: Vec<(String, String)> = std::iter::once((String::new(), "Tất cả".to_string()))
        .chain(
            UnitKind::ALL
                .iter()
                .map(|k| (k.as_str().to_string(), k.label().to_string())),
        )
        .collect();
    let channels: Vec<(String, String)> = std::iter::once((String::new(), "Tất cả".to_string()))
        .chain(
            CHANNELS
                .iter()
                .map(|c| (c.to_string(), channel_label(c).to_string())),
        )
        .collect();
    let trends = vec![
        (String::new(), "Theo tháng".to_string()),
        ("quarter".to_string(), "Theo quý".to_string()),
    ];
    html! {
        form.filters-form method="get" action=(action) {
            @for (name, value) in hidden { input type="hidden" name=(name) value=(value); }
            div.filters {
                (text_input("year", "Năm", &query.year, None, errors))
                (select("period", "Đợt / kỳ", &period_groups(choices), &query.period, errors))
                (text_input("from", "Từ ngày", &query.from, Some("(khi tự chọn, ngày/tháng/năm)"), errors))
                (text_input("to", "Đến ngày", &query.to, None, errors))
                @if fields == FilterFields::Overview {
                    (select("unit", "Đơn vị (và các đơn vị trực thuộc)",
                        &plain(unit_options(choices.units, Some("Mặc định (cao nhất được xem)"))),
                        &query.unit, errors))
                    (select("kind", "Loại đơn vị", &plain(kinds), &query.kind, errors))
                }
                (select("form", "Mẫu phiếu", &plain(choices.forms.to_vec()), &query.form, errors))
                (select("channel", "Kênh", &plain(channels), &query.channel, errors))
                @if fields == FilterFields::Unit {
                    (select("trend", "Xu hướng", &plain(trends), &query.trend, errors))
                }
            }
            (attribute_filters("", choices.attributes, &query.attrs, errors))
            button.small type="submit" { "Xem" }
        }
    }
}

/// The filters by respondent attributes: one select per question of the form (all named
/// `attr`, each value a token `ITEM_CODE:code`), folded away unless one is chosen or refused.
/// `prefix` makes the ids unique when a page has two such forms.
fn attribute_filters(
    prefix: &str,
    attributes: &[AttributeChoice],
    chosen: &[String],
    errors: &FieldErrors,
) -> Markup {
    let error = errors.get("attr");
    let error_id = format!("e-{prefix}attr");
    let open = error.is_some() || chosen.iter().any(|t| !t.trim().is_empty());
    html! {
        @if !attributes.is_empty() {
            details.respondent-filters open[open] {
                summary { "Lọc theo người trả lời (giới tính, độ tuổi, lĩnh vực…)" }
                @if let Some(message) = error { p.msg id=(error_id) { (message) } }
                div.filters.err[error.is_some()] {
                    @for a in attributes {
                        @let id = format!("f-{prefix}attr-{}", a.code);
                        @let selected = a.options.iter().find(|(token, _)| chosen.iter().any(|c| c.trim() == token)).map(|(t, _)| t.as_str()).unwrap_or("");
                        div.field {
                            label for=(id) { (a.text) }
                            select id=(id) name="attr" aria-invalid=[error.map(|_| "true")]
                                aria-describedby=[error.map(|_| error_id.as_str())] {
                                option value="" selected[selected.is_empty()] { "Tất cả" }
                                @for (token, label) in &a.options {
                                    option value=(token) selected[token == selected] { (label) }
                                }
                            }
                        }
                    }
                }
                p.hint {
                    "Chỉ tính những người trả lời đã chọn các câu trả lời này trong phần “Thông tin người trả lời” "
                    "của phiếu; người bỏ trống câu hỏi không được tính khi lọc theo câu hỏi đó."
                }
            }
        }
    }
}

/// "80,12% – 85,40%".
pub fn format_interval(interval: Option<Interval>) -> String {
    match interval {
        Some(ci) => format!("{} – {}", format_percent(ci.low), format_percent(ci.high)),
        None => "—".to_string(),
    }
}

/// A decimal with two digits and a decimal comma ("4,32").
pub fn format_decimal2(x: f64) -> String {
    let x = if x.abs() < 0.005 { 0.0 } else { x };
    format!("{x:.2}").replace('.', ",")
}

/// A difference of shares in percentage points, signed: "+3,21 điểm phần trăm".
pub fn format_points(difference: f64) -> String {
    let points = crate::stats::round_percent(difference);
    let sign = if points > 0.0 { "+" } else { "" };
    format!("{sign}{} điểm phần trăm", format_decimal2(points))
}

/// An interval of a difference of shares, in percentage points: "1,02 – 5,40".
pub fn format_points_interval(ci: Interval) -> String {
    format!(
        "{} – {}",
        format_decimal2(crate::stats::round_percent(ci.low)),
        format_decimal2(crate::stats::round_percent(ci.high))
    )
}

/// A p-value: "0,012", "< 0,001".
pub fn format_p(p: f64) -> String {
    if p < 0.001 {
        "< 0,001".to_string()
    } else {
        format!("{p:.3}").replace('.', ",")
    }
}

/// The difference of two indices as published (each rounded to two decimals of a percent),
/// as a share: what a reader of the two figures sees.
pub fn published_difference(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    Some((crate::stats::round_percent(a?) - crate::stats::round_percent(b?)) / 100.0)
}

/// "p = 0,012", "p < 0,001".
pub fn p_clause(p: f64) -> String {
    if p < 0.001 {
        "p < 0,001".to_string()
    } else {
        format!("p = {}", format_p(p))
    }
}

/// The "chưa đủ mẫu" note of a row.
pub fn sample_note(report: &UnitReport) -> String {
    if report.withheld {
        crate::reports::WITHHELD.to_string()
    } else if report.responses == 0 {
        "Chưa có phiếu".to_string()
    } else if report.enough_sample {
        String::new()
    } else if report.responses < MIN_RELIABLE_SAMPLE {
        format!("Chưa đủ mẫu (< {MIN_RELIABLE_SAMPLE} phiếu)")
    } else {
        "Chưa đủ mẫu (dưới chỉ tiêu)".to_string()
    }
}

fn index_text(index: Option<f64>) -> String {
    index.map_or_else(|| "—".to_string(), format_percent)
}

/// The number of forms of a row: "1.234", or "ẩn" when withheld.
fn responses_text(report: &UnitReport) -> String {
    if report.withheld {
        SUPPRESSED_SHARE.to_string()
    } else {
        format_count(report.responses as i64)
    }
}

/// The headline figures of a report's total; `detail`: the link to the unit's own page (the
/// overview's headline leads to the root's page).
fn headline(total: &UnitReport, detail: Option<&str>) -> Markup {
    html! {
        div.cards {
            div.card.headline-index {
                p.big {
                    @if let Some(link) = detail {
                        a.drill href=(link) aria-label={ "Chỉ số SIPAS của " (total.unit.name) ": " (index_text(total.index)) " — xem chi tiết" } {
                            (index_text(total.index))
                        }
                    } @else {
                        (index_text(total.index))
                    }
                }
                p { "Chỉ số SIPAS" }
                @if total.index_ci.is_some() {
                    p.hint { "Khoảng tin cậy 95%: " (format_interval(total.index_ci)) sup { a href="#ve-khoang-tin-cay" { "*" } } }
                }
            }
            div.card {
                p.big { (responses_text(total)) }
                p { "phiếu khảo sát" }
                @if let Some(target) = total.target {
                    p.hint { "Chỉ tiêu: " (format_count(target as i64)) }
                }
            }
            @if total.withheld || (total.responses > 0 && !total.enough_sample) {
                div.card.warn { p.big { "!" } p { (sample_note(total)) } }
            }
        }
        @if total.index_ci.is_some() { (interval_note()) }
    }
}

/// How the interval of a SIPAS index is computed, in a sentence.
fn interval_note() -> Markup {
    html! {
        p.hint id="ve-khoang-tin-cay" {
            "* Khoảng tin cậy 95% của chỉ số SIPAS: tính từ điểm hài lòng của từng người trả lời "
            "(tỉ lệ tiêu chí người đó hài lòng, theo trọng số của yếu tố), cộng thêm độ dao động của "
            "các tiêu chí có ít người trả lời hơn (do \"Không áp dụng\" hoặc bỏ trống); khoảng nằm "
            "trong 0–100% và có thể lệch về một phía khi chỉ số gần 100%."
        }
    }
}

/// The ranked chart of a report's rows.
pub fn ranking_chart(id: &str, title: &str, rows: &[UnitReport], goals: &[Goal]) -> Markup {
    ranking_chart_linked(id, title, rows, goals, None)
}

/// The ranked chart of a report's rows, each bar a link to `link(unit id)` when given.
pub fn ranking_chart_linked(
    id: &str,
    title: &str,
    rows: &[UnitReport],
    goals: &[Goal],
    link: Option<&dyn Fn(i32) -> String>,
) -> Markup {
    let with_forms = rows.iter().filter(|r| r.index.is_some()).count();
    let chart = BarChart {
        id: id.to_string(),
        title: title.to_string(),
        desc: format!(
            "Biểu đồ thanh ngang: chỉ số SIPAS của {} đơn vị ({} đơn vị có phiếu), các đơn vị đủ mẫu \
             xếp từ cao xuống thấp, sau đó các đơn vị chưa đủ mẫu (thanh màu cam, chưa xếp hạng); \
             mỗi thanh kèm khoảng tin cậy 95%; {}. Số liệu chi tiết ở bảng bên dưới.",
            rows.len(),
            with_forms,
            charts::goals_sentence(goals, "đường dọc")
        ),
        category_axis: "Đơn vị".into(),
        value_axis: "Chỉ số SIPAS (%)".into(),
        bars: rows
            .iter()
            .map(|r| Bar {
                label: r.unit.name.clone(),
                value: r.index,
                interval: r.index_ci,
                reliability: Reliability::of(r.enough_sample),
                missing: if r.withheld {
                    "Không hiển thị (nhóm quá nhỏ)".into()
                } else if r.responses == 0 {
                    "Chưa có phiếu".into()
                } else {
                    "Chưa có câu trả lời hợp lệ".into()
                },
                link: link.map(|l| l(r.unit.id)),
            })
            .collect(),
        targets: goals.to_vec(),
    };
    charts::bar_chart(&chart)
}

/// What stands in the rank column of a row: its rank, or why it has none.
pub fn rank_text(row: &UnitReport) -> String {
    match row.rank {
        Some(rank) => rank.to_string(),
        None if row.withheld => crate::reports::WITHHELD.to_string(),
        None if row.responses == 0 => crate::reports::UNRANKED_EMPTY.to_string(),
        None => crate::reports::UNRANKED_SHORT.to_string(),
    }
}

/// The data table of the ranked chart: the ranked units, then under their own heading the
/// units not ranked (short of sample or without forms).
fn ranking_table(id: &str, rows: &[UnitReport], link: &dyn Fn(i32) -> String) -> Markup {
    let targets = rows.iter().any(|r| r.target.is_some());
    let columns = 6 + usize::from(targets);
    let (ranked, unranked): (Vec<&UnitReport>, Vec<&UnitReport>) =
        rows.iter().partition(|r| r.rank.is_some());
    let row_markup = |row: &UnitReport| {
        html! {
            tr data-unit=(row.unit.id) {
                td.num.rank { (row.rank.map(|r| r.to_string()).unwrap_or_else(|| "–".into())) }
                td.unit { a href=(link(row.unit.id)) { (row.unit.name) } }
                td.num.index { (index_text(row.index)) }
                td.ci { (format_interval(row.index_ci)) }
                td.num.forms { (responses_text(row)) }
                @if targets {
                    td.num.target { (row.target.map(|t| format_count(t as i64)).unwrap_or_default()) }
                }
                td.flag { (sample_note(row)) }
            }
        }
    };
    html! {
        table.data id=(id) {
            caption { "Số liệu của biểu đồ" }
            thead {
                tr {
                    th.num scope="col" { "Hạng" }
                    th scope="col" { "Đơn vị" }
                    th.num scope="col" { "Chỉ số" }
                    th scope="col" { "KTC 95%" }
                    th.num scope="col" { "Số phiếu" }
                    @if targets { th.num scope="col" { "Chỉ tiêu" } }
                    th scope="col" { "Ghi chú" }
                }
            }
            tbody.ranked {
                @for row in &ranked { (row_markup(row)) }
            }
            @if !unranked.is_empty() {
                tbody.unranked {
                    tr.group { th colspan=(columns) scope="rowgroup" { "Chưa đủ mẫu – chưa xếp hạng" } }
                    @for row in &unranked { (row_markup(row)) }
                }
            }
        }
    }
}

/// The forms left out of the figures as suspected fraud, per row unit (only when there are
/// some), with the link to "Phiếu nghi vấn" for admins.
fn excluded_section(staff: &SignedIn, report: &Report) -> Markup {
    html! {
        @if report.total.excluded > 0 {
            section.excluded {
                h2 { "Phiếu không tính vào kết quả" }
                p.hint {
                    "Phiếu có dấu hiệu không khách quan (gửi dồn dập, giống hệt nhau, trả lời quá nhanh...) được giữ lại "
                    "nhưng không tính vào các số liệu trên: tổng cộng " (format_count(report.total.excluded as i64)) " phiếu."
                }
                table.data id="phieu-khong-tinh" {
                    thead { tr { th scope="col" { "Đơn vị" } th.num scope="col" { "Số phiếu không tính" } } }
                    tbody {
                        @for row in report.rows.iter().filter(|r| r.excluded > 0) {
                            tr data-unit=(row.unit.id) {
                                td { (row.unit.name) }
                                td.num { (format_count(row.excluded as i64)) }
                            }
                        }
                    }
                }
                @if staff.is_admin() {
                    p { a href="/staff/flags?state=excluded" { "Xem và quyết định các phiếu nghi vấn" } }
                }
            }
        }
    }
}

/// The latest comments, with the link to the list (and its handling rates).
fn comments_section(
    comments: &[CommentRow],
    list_link: &str,
    detail: TimeDetail,
    respondents: &RespondentFilter,
) -> Markup {
    html! {
        section.latest-comments {
            h2 { "Góp ý mới nhất" }
            @if !respondents.is_empty() {
                p.hint { "Góp ý của mọi người trả lời, không theo bộ lọc người trả lời." }
            }
            @if comments.is_empty() {
                p.hint { "Chưa có góp ý nào trong khoảng thời gian này." }
            } @else {
                ul.comment-list {
                    @for c in comments {
                        li {
                            a href=(comment_path(c.key())) { (detail.format(c.submitted_at)) }
                            " · " (c.unit_name)
                            @if c.handled_at.is_some() { " · " span.state.done { "Đã xử lý" } }
                            @else { " · " span.state.open { "Chưa xử lý" } }
                            blockquote { (shorten(&c.body, 300)) }
                        }
                    }
                }
            }
            p { a href=(list_link) { "Xem tất cả góp ý và tình hình xử lý" } }
        }
    }
}

fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let mut cut: String = text.chars().take(max - 1).collect();
        cut.push('…');
        cut
    }
}

/// Progress against the plan's targets in the chosen period.
pub struct Progress<'a> {
    pub plan: &'a PlanListing,
    pub period: &'a Period,
}

/// Everything the overview shows.
pub struct Overview<'a> {
    pub query: &'a StatsQuery,
    pub choices: FilterChoices<'a>,
    /// `None` when the filters were refused (the form is shown with its messages).
    pub selection: Option<&'a Selection>,
    pub errors: &'a FieldErrors,
    pub report: Option<&'a Report>,
    pub progress: Option<Progress<'a>>,
    pub comments: &'a [CommentRow],
    pub comments_link: String,
    /// The monthly (or quarterly) trend of the selection's total.
    pub trend: &'a [TrendRow],
}

/// A ranking chart over the full width, each bar leading to its unit's page, and its data
/// table below it (scrolling sideways on a phone, reachable by keyboard).
fn ranking_block(
    chart_id: &str,
    table_id: &str,
    title: &str,
    report: &Report,
    link: &dyn Fn(i32) -> String,
) -> Markup {
    html! {
        figure.chart-box.full {
            (ranking_chart_linked(chart_id, title, &report.rows, &report.goals, Some(link)))
            figcaption.hint { "Bấm vào một thanh hoặc tên đơn vị để xem chi tiết của đơn vị đó." }
        }
        div.table-scroll tabindex="0" role="region" aria-label={ "Bảng số liệu: " (title) } {
            (ranking_table(table_id, &report.rows, link))
        }
    }
}

pub fn overview(staff: &SignedIn, p: &Overview) -> Markup {
    page(
        "Kết quả khảo sát",
        staff,
        OVERVIEW_PATH,
        html! {
            (error_box(p.errors))
            (filter_form(OVERVIEW_PATH, FilterFields::Overview, p.query, p.errors, &p.choices, &[]))
            @if let (Some(selection), Some(report)) = (p.selection, p.report) {
                @let root_link = format!("{}?{}", unit_path(report.root.id), selection.query(None, false));
                @let row_link = |id: i32| format!("{}?{}", unit_path(id), selection.query(None, false));
                (selection.summary(&report.root.name))
                (headline(&report.total, Some(&root_link)))
                p.drill-root {
                    a href=(root_link) { "Xem chi tiết của " (report.root.name) }
                    " (yếu tố, tiêu chí, xu hướng, so sánh với các kỳ trước)"
                }
                p.report-link {
                    a href=(super::report::report_link(&selection.query_of_all_respondents(selection.unit, true))) { "In báo cáo" }
                    " (bản báo cáo theo mẫu văn bản hành chính, in hoặc lưu PDF khổ A4)"
                    @if !selection.respondents.is_empty() { " — tính mọi người trả lời, không theo bộ lọc người trả lời" }
                }
                p.export-link {
                    a href=(super::exports::link_from_stats(selection)) { "Xuất Excel" }
                    " (bảng tính và dữ liệu phiếu của các đơn vị đang xem)"
                    @if !selection.respondents.is_empty() { " — tính mọi người trả lời, không theo bộ lọc người trả lời" }
                }
                section.ranking {
                    h2 { "Chỉ số SIPAS theo đơn vị" }
                    @if report.rows.is_empty() {
                        p.hint { "Không có đơn vị nào phù hợp với bộ lọc." }
                    } @else {
                        (ranking_block("bieu-do-xep-hang", "bang-xep-hang",
                            &format!("Chỉ số SIPAS của các đơn vị, {}", selection.period_label),
                            report, &row_link))
                        p.hint {
                            "Chỉ số của mỗi đơn vị gồm cả các đơn vị trực thuộc. Các đơn vị có cùng chỉ số (làm tròn đến hai chữ số thập phân) cùng hạng. "
                            "Chỉ số dựa trên dưới " (MIN_RELIABLE_SAMPLE) " phiếu hoặc dưới chỉ tiêu của kế hoạch được đánh dấu “chưa đủ mẫu”."
                        }
                        p {
                            a href={ (COMPARE_PATH) "?" (compare_query(selection, &report.rows)) } { "So sánh các đơn vị (kiểm định thống kê)" }
                        }
                        (excluded_section(staff, report))
                    }
                }
                @if !report.total.factors.is_empty() {
                    @if quick_rating(&report.total) {
                        (quick_section(&report.total))
                    } @else {
                        (factor_section(&report.total, &report.goals))
                    }
                }
                (trend_section(p.trend, selection, &report.goals))
                @if let Some(progress) = &p.progress {
                    (progress_section(progress, report, selection))
                } @else {
                    p.hint { "Chọn một đợt của kế hoạch khảo sát để xem tiến độ so với chỉ tiêu." }
                }
                (comments_section(p.comments, &p.comments_link, TimeDetail::for_scope(&staff.scope), &selection.respondents))
            }
        },
    )
}

/// The compare page's query for the best and the worst ranked rows with enough forms (else
/// with any forms).
fn compare_query(selection: &Selection, rows: &[UnitReport]) -> String {
    let mut query = selection.query(None, false);
    let ranked = |enough: bool| -> Vec<&UnitReport> {
        rows.iter()
            .filter(|r| r.index.is_some() && (r.enough_sample || !enough))
            .collect()
    };
    let mut chosen = ranked(true);
    if chosen.len() < 2 {
        chosen = ranked(false);
    }
    if let (Some(first), Some(last)) = (chosen.first(), chosen.last())
        && first.unit.id != last.unit.id
    {
        query.push_str(&format!("&units={}&units={}", first.unit.id, last.unit.id));
    }
    query
}

fn error_box(errors: &FieldErrors) -> Markup {
    html! {
        @if !errors.is_empty() {
            div.alert role="alert" {
                p { strong { "Chưa xem được số liệu." } " Vui lòng sửa các mục được đánh dấu bên dưới:" }
                ul { @for message in errors.values() { li { (message) } } }
            }
        }
    }
}

fn progress_section(progress: &Progress, report: &Report, selection: &Selection) -> Markup {
    let totals = Totals::of(
        report
            .rows
            .iter()
            .map(|r| (r.responses as i64, r.target.map(|t| t as i64))),
    );
    html! {
        section.progress {
            h2 { "Tiến độ so với kế hoạch" }
            p {
                (progress.plan.title) ", " (progress.period.name) " ("
                (format_date(progress.period.starts_on)) " – " (format_date(progress.period.ends_on)) "). "
                "Đã thu " (format_count(totals.received))
                @if let Some(target) = totals.target { " / " (format_count(target)) " phiếu theo chỉ tiêu" } @else { " phiếu" }
                "; " (totals.reached_units) "/" (totals.assigned_units) " đơn vị được giao chỉ tiêu đã đạt."
            }
            @if selection.channel.is_some() {
                p.hint { "Số phiếu chỉ tính kênh đang chọn." }
            }
            table.data id="bang-tien-do" {
                thead {
                    tr {
                        th scope="col" { "Đơn vị" }
                        th.num scope="col" { "Đã thu" }
                        th.num scope="col" { "Chỉ tiêu" }
                        th.num scope="col" { "Tỉ lệ" }
                        th scope="col" { "Tình trạng" }
                    }
                }
                tbody {
                    @for row in &report.rows {
                        @let target = row.target.map(|t| t as i64);
                        tr {
                            td { (row.unit.name) }
                            td.num { (format_count(row.responses as i64)) }
                            td.num { (target.map(format_count).unwrap_or_default()) }
                            td.num { (percent(row.responses as i64, target).unwrap_or_default()) }
                            td { (Status::of(row.responses as i64, target).label()) }
                        }
                    }
                }
            }
            p { a href={ "/staff/plans/" (progress.plan.id) "/progress?period=" (progress.period.id) } { "Xem tiến độ chi tiết của kế hoạch" } }
        }
    }
}

/// One period of a trend.
#[derive(Debug, Clone, PartialEq)]
pub struct TrendRow {
    pub label: String,
    pub start: NaiveDate,
    pub index: Option<f64>,
    pub responses: u64,
    /// A filtered figure withheld from the account (too few respondents).
    pub withheld: bool,
    /// The period's figures regrouped into today's units by lineage: the note ("so sánh theo
    /// đơn vị trước sắp xếp: ..."), see `sipas_core::lineage`.
    pub lineage: Option<String>,
}

/// A unit's change against an earlier period.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeRow {
    /// "Kỳ trước", "Cùng kỳ năm trước".
    pub label: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub index: Option<f64>,
    pub responses: u64,
    pub change: Option<MeanDiff>,
    /// A filtered figure withheld from the account (too few respondents).
    pub withheld: bool,
    /// The earlier period regrouped into today's units by lineage: the note; or, with
    /// `refused`, why it cannot be compared (then nothing is compared).
    pub lineage: Option<String>,
    pub refused: bool,
}

/// Everything a unit's page shows.
pub struct UnitPage<'a> {
    pub query: &'a StatsQuery,
    pub choices: FilterChoices<'a>,
    pub selection: Option<&'a Selection>,
    pub errors: &'a FieldErrors,
    pub unit_name: &'a str,
    pub unit_id: i32,
    pub report: Option<&'a Report>,
    pub trend: &'a [TrendRow],
    pub changes: &'a [ChangeRow],
    /// The responses each desk of the unit received (the unit's own desks).
    pub desks: &'a [DeskCount],
    pub comments: &'a [CommentRow],
    pub comments_link: String,
    /// The unit's responses by the respondents' place of residence (when the form asks it).
    pub residence: Option<ResidenceShown>,
}

/// The table by place of residence on a unit's page: computed from every response of the
/// unit (no rollup holds it), so shown at once only for a unit with few enough responses in
/// the period; for more, a link asks for it.
#[derive(Debug, Clone)]
pub enum ResidenceShown {
    Table(sipas_core::residence::ResidenceTable),
    /// Not computed: the unit's number of responses, and the page's URL asking for it.
    OnRequest {
        responses: u64,
        link: String,
    },
}

/// "T3/2026", "Quý I/2026", "2026"; within one year (`short`): "T3", "Quý I".
pub fn period_label(start: NaiveDate, grain: Grain, short: bool) -> String {
    match (grain, short) {
        (Grain::Month, false) => format!("T{}/{}", start.month(), start.year()),
        (Grain::Month, true) => format!("T{}", start.month()),
        (Grain::Quarter, false) => quarter_label(start.month0() / 3 + 1, start.year()),
        (Grain::Quarter, true) => format!("Quý {}", QUARTERS[(start.month0() / 3) as usize]),
        (Grain::Year, _) => start.year().to_string(),
    }
}

/// Whether the form is a quick rating: one factor with one item.
fn quick_rating(report: &UnitReport) -> bool {
    report.factors.len() == 1 && report.factors[0].criteria.len() == 1
}

pub fn unit_page(staff: &SignedIn, p: &UnitPage) -> Markup {
    let path = unit_path(p.unit_id);
    page(
        &format!("Kết quả khảo sát: {}", p.unit_name),
        staff,
        OVERVIEW_PATH,
        html! {
            p.back { a href=(OVERVIEW_PATH) { "← Kết quả khảo sát" } }
            (error_box(p.errors))
            (filter_form(&path, FilterFields::Unit, p.query, p.errors, &p.choices, &[]))
            @if let (Some(selection), Some(report)) = (p.selection, p.report) {
                (selection.summary(p.unit_name))
                (headline(&report.total, None))
                (unit_body(p, selection, report, TimeDetail::for_scope(&staff.scope)))
                @if let Some(residence) = &p.residence {
                    (residence_shown(residence))
                }
            }
        },
    )
}

fn unit_body(p: &UnitPage, selection: &Selection, report: &Report, detail: TimeDetail) -> Markup {
    let total = &report.total;
    let sub_units = !(report.rows.len() == 1 && report.rows[0].unit.id == total.unit.id);
    html! {
        @if quick_rating(total) {
            (quick_section(total))
        } @else {
            (factor_section(total, &report.goals))
        }
        (criteria_section(total))
        @if !total.expectations.is_empty() { (expectations_section(total)) }
        @if !total.respondents.is_empty() { (respondents_section(total, report.disclosure)) }
        (trend_section(p.trend, selection, &report.goals))
        (changes_section(p.changes, total))
        @if !p.desks.is_empty() { (desks_section(p.desks, !selection.respondents.is_empty())) }
        @if sub_units && !report.rows.is_empty() {
            section.sub-units {
                h2 { "Các đơn vị trực thuộc" }
                (ranking_block("bieu-do-truc-thuoc", "bang-truc-thuoc",
                    &format!("Chỉ số SIPAS của các đơn vị trực thuộc {}", p.unit_name),
                    report, &|id| format!("{}?{}", unit_path(id), selection.query(None, false))))
            }
        }
        (comments_section(p.comments, &p.comments_link, detail, &selection.respondents))
    }
}

fn quick_section(total: &UnitReport) -> Markup {
    let item = &total.factors[0].criteria[0];
    html! {
        section.quick {
            h2 { "Mức độ hài lòng" }
            p { (item.text) }
            table.data id="bang-muc-do" {
                thead { tr { th scope="col" { "Mức đánh giá" } th.num scope="col" { "Số phiếu" } th.num scope="col" { "Tỉ lệ" } } }
                tbody {
                    @for ((_, label), (_, share)) in item.labels.iter().zip(&item.stats.shares) {
                        tr {
                            td { (label) }
                            td.num { (format_count((share * item.stats.n_valid as f64).round() as i64)) }
                            td.num { (format_percent(*share)) }
                        }
                    }
                }
                tfoot {
                    tr {
                        th scope="row" { "Chỉ số hài lòng (Hài lòng + Rất hài lòng)" }
                        td.num { (format_count(item.stats.n_valid as i64)) }
                        td.num { (index_text(item.stats.index)) }
                    }
                }
            }
        }
    }
}

fn factor_section(total: &UnitReport, goals: &[Goal]) -> Markup {
    let chart = BarChart {
        id: "bieu-do-yeu-to".into(),
        title: "Chỉ số hài lòng theo yếu tố".into(),
        desc: format!(
            "Biểu đồ thanh ngang: chỉ số hài lòng của {} yếu tố (trung bình chỉ số các tiêu chí của \
             yếu tố); {}. Số liệu ở bảng bên cạnh.",
            total.factors.len(),
            charts::goals_sentence(goals, "đường dọc")
        ),
        category_axis: "Yếu tố".into(),
        value_axis: "Chỉ số hài lòng (%)".into(),
        bars: total
            .factors
            .iter()
            .map(|f| Bar {
                label: f.title.clone(),
                value: f.index,
                interval: None,
                reliability: Reliability::Plain,
                missing: "Chưa có câu trả lời hợp lệ".into(),

                link: None,
            })
            .collect(),
        targets: goals.to_vec(),
    };
    html! {
        section.factors {
            h2 { "Chỉ số theo yếu tố" }
            div.chart-pair {
                figure.chart-box { (charts::bar_chart(&chart)) }
                div.table-box tabindex="0" role="region" aria-label="Bảng chỉ số theo yếu tố" {
                    table.data id="bang-yeu-to" {
                        thead { tr { th scope="col" { "Yếu tố" } th.num scope="col" { "Số tiêu chí" } th.num scope="col" { "Chỉ số" } } }
                        tbody {
                            @for f in &total.factors {
                                tr data-factor=(f.code) {
                                    td { (f.title) }
                                    td.num { (f.criteria.len()) }
                                    td.num.index { (index_text(f.index)) }
                                }
                            }
                        }
                        tfoot {
                            tr { th scope="row" colspan="2" { "Chỉ số SIPAS (trung bình các yếu tố)" } td.num { (index_text(total.index)) } }
                        }
                    }
                }
            }
        }
    }
}

fn criteria_section(total: &UnitReport) -> Markup {
    let criteria: Vec<_> = total.factors.iter().flat_map(|f| &f.criteria).collect();
    let levels: Vec<String> = criteria
        .first()
        .map(|c| c.labels.iter().map(|(_, l)| l.clone()).collect())
        .unwrap_or_default();
    let chart = StackedChart {
        id: "bieu-do-tieu-chi".into(),
        title: "Phân bố câu trả lời theo tiêu chí".into(),
        desc: format!(
            "Biểu đồ thanh xếp chồng: với mỗi tiêu chí ({} tiêu chí), tỉ lệ câu trả lời hợp lệ ở \
             từng mức ({}), và chỉ số hài lòng ở cuối thanh. Số liệu ở bảng bên dưới.",
            criteria.len(),
            levels.join(", ")
        ),
        category_axis: "Tiêu chí".into(),
        value_axis: "Tỉ lệ câu trả lời hợp lệ (%)".into(),
        levels,
        rows: criteria
            .iter()
            .map(|c| StackedRow {
                label: c.code.clone(),
                title: c.text.clone(),
                shares: c.stats.shares.iter().map(|(_, s)| *s).collect(),
                n: c.stats.n_valid,
                index: c.stats.index,
            })
            .collect(),
    };
    html! {
        section.criteria {
            h2 { "Chỉ số theo tiêu chí" }
            figure.chart-box.wide { (charts::stacked_chart(&chart)) }
            div.table-scroll tabindex="0" role="region" aria-label="Bảng chỉ số theo tiêu chí" {
                table.data id="bang-tieu-chi" {
                    thead {
                        tr {
                            th scope="col" { "Mã" }
                            th scope="col" { "Tiêu chí" }
                            th.num scope="col" { "Số câu trả lời hợp lệ" }
                            th.num scope="col" { "Điểm trung bình" }
                            th scope="col" { "KTC 95% của điểm" }
                            th.num scope="col" { "Chỉ số hài lòng" }
                            th scope="col" { "KTC 95% (Wilson)" }
                            th.num scope="col" { "Không áp dụng" }
                        }
                    }
                    tbody {
                        @for f in &total.factors {
                            tr.group { th colspan="8" scope="rowgroup" { (f.title) " — chỉ số " (index_text(f.index)) } }
                            @for c in &f.criteria {
                                tr data-item=(c.code) {
                                    td { (c.code) }
                                    td { (c.text) }
                                    td.num.n { (format_count(c.stats.n_valid as i64)) }
                                    td.num.mean { (c.stats.mean.map(format_decimal2).unwrap_or_else(|| "—".into())) }
                                    td.mean-ci {
                                        @if let Some(ci) = c.stats.mean_ci { (format_decimal2(ci.low)) " – " (format_decimal2(ci.high)) } @else { "—" }
                                    }
                                    td.num.index { (index_text(c.stats.index)) }
                                    td.ci { (format_interval(c.stats.index_ci)) }
                                    td.num.na { (format_count(c.not_applicable as i64)) }
                                }
                            }
                        }
                    }
                }
            }
            p.hint { "Chỉ số hài lòng của tiêu chí: tỉ lệ câu trả lời “Hài lòng” và “Rất hài lòng” trên số câu trả lời hợp lệ (không tính “Không áp dụng”)." }
        }
    }
}

fn expectations_section(total: &UnitReport) -> Markup {
    html! {
        section.expectations {
            h2 { "Mong đợi của người dân" }
            table.data id="bang-mong-doi" {
                thead {
                    tr {
                        th scope="col" { "Nội dung cần cải thiện" }
                        th.num scope="col" { "Số câu trả lời" }
                        th.num scope="col" { "“Rất nhiều” + “Nhiều”" }
                        th scope="col" { "KTC 95%" }
                    }
                }
                tbody {
                    @for e in &total.expectations {
                        tr data-item=(e.code) {
                            td { (e.text) }
                            td.num { (format_count(e.stats.n_valid as i64)) }
                            td.num.index { (index_text(e.stats.index)) }
                            td { (format_interval(e.stats.index_ci)) }
                        }
                    }
                }
            }
        }
    }
}

fn respondents_section(total: &UnitReport, disclosure: Disclosure) -> Markup {
    html! {
        section.respondents {
            h2 { "Thông tin người trả lời" }
            div.breakdowns {
                @for b in &total.respondents {
                    table.data.breakdown data-item=(b.code) {
                        caption { (b.text) " (" (count_text(b.answered)) " người trả lời)" }
                        thead { tr { th scope="col" { "Nhóm" } th.num scope="col" { "Số người" } th.num scope="col" { "Tỉ lệ" } } }
                        tbody {
                            @for (_, label, count) in &b.counts {
                                tr {
                                    td { (label) }
                                    td.num.n.suppressed[count.is_suppressed()] { (count_text(*count)) }
                                    td.num.share {
                                        @if let Some(share) = b.share(*count) { (format_percent(share)) }
                                        @else if count.is_suppressed() { (SUPPRESSED_SHARE) }
                                        @else { "—" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if disclosure.is_protected() {
                p.hint.small-cells {
                    "“" (SUPPRESSED) "”: nhóm có dưới 5 người trả lời, không hiển thị số liệu cụ thể để bảo vệ "
                    "dữ liệu cá nhân của người trả lời (Luật Bảo vệ dữ liệu cá nhân). Khi cần, một nhóm khác "
                    "cũng được ẩn cùng để không tính ngược được từ tổng số."
                }
            }
        }
    }
}

fn residence_shown(shown: &ResidenceShown) -> Markup {
    match shown {
        ResidenceShown::Table(table) => residence_section(table),
        ResidenceShown::OnRequest { responses, link } => html! {
            section.residence id="noi-cu-tru" {
                h2 { "Theo nơi cư trú của người trả lời" }
                p {
                    "Đơn vị có " (format_count(*responses as i64)) " phiếu trong kỳ. Bảng theo nơi "
                    "cư trú được tính từ từng phiếu nên không hiện sẵn, để trang mở nhanh. "
                    a href=(link) { "Tính bảng theo nơi cư trú" }
                    " (có thể mất vài giây)."
                }
            }
        },
    }
}

/// "Theo nơi cư trú của người trả lời": the unit's responses (those it served) by where the
/// respondents live, with the index of each place (issue 19).
pub fn residence_section(table: &sipas_core::residence::ResidenceTable) -> Markup {
    html! {
        section.residence id="noi-cu-tru" {
            h2 { "Theo nơi cư trú của người trả lời" }
            p.hint {
                "Phiếu do đơn vị tiếp nhận, chia theo xã, phường nơi người trả lời cư trú "
                "(Trung tâm Phục vụ hành chính công tiếp nhận hồ sơ không phụ thuộc nơi cư trú)."
            }
            @if table.rows.is_empty() {
                p { "Chưa có phiếu nào trong kỳ." }
            } @else {
                table.data.residence-table {
                    caption { "Số phiếu và chỉ số hài lòng theo nơi cư trú (" (count_text(table.total)) " phiếu)" }
                    thead { tr {
                        th scope="col" { "Nơi cư trú" }
                        th scope="col" { "Mã ĐVHC" }
                        th.num scope="col" { "Số phiếu" }
                        th.num scope="col" { "Chỉ số hài lòng" }
                    } }
                    tbody {
                        @for row in &table.rows {
                            tr data-kind=(row.kind) {
                                th scope="row" { (row.name) }
                                td { (row.admin_code.as_deref().unwrap_or("")) }
                                td.num.n.suppressed[row.responses.is_suppressed()] { (count_text(row.responses)) }
                                td.num.index {
                                    @if let Some(index) = row.index { (format_percent(index)) }
                                    @else if row.responses.is_suppressed() { (SUPPRESSED_SHARE) }
                                    @else { "—" }
                                }
                            }
                        }
                    }
                }
                @if table.protected {
                    p.hint.small-cells {
                        "“" (SUPPRESSED) "”: nơi cư trú có dưới 5 người trả lời, không hiển thị số phiếu và chỉ số "
                        "để bảo vệ dữ liệu cá nhân của người trả lời (Luật Bảo vệ dữ liệu cá nhân). Khi cần, một "
                        "nhóm khác cũng được ẩn cùng để không tính ngược được từ tổng số."
                    }
                }
            }
        }
    }
}

/// A count of respondents: "1.234", or "< 5" when suppressed.
fn count_text(count: Count) -> String {
    match count {
        Count::Exact(n) => format_count(n as i64),
        Count::Suppressed => SUPPRESSED.to_string(),
    }
}

fn trend_section(trend: &[TrendRow], selection: &Selection, goals: &[Goal]) -> Markup {
    let (unit_word, title) = match selection.trend {
        Grain::Quarter => ("Quý", "Chỉ số SIPAS theo quý"),
        Grain::Year => ("Năm", "Chỉ số SIPAS theo năm"),
        Grain::Month => ("Tháng", "Chỉ số SIPAS theo tháng"),
    };
    let one_year = trend
        .first()
        .zip(trend.last())
        .filter(|(a, b)| a.start.year() == b.start.year() && selection.trend != Grain::Year)
        .map(|(a, _)| a.start.year());
    let axis = match one_year {
        Some(year) => format!("{unit_word} (năm {year})"),
        None => unit_word.to_string(),
    };
    let chart = ColumnChart {
        id: "bieu-do-xu-huong".into(),
        title: title.into(),
        desc: format!(
            "Biểu đồ cột: chỉ số SIPAS của {} kỳ liên tiếp, số phiếu ghi dưới mỗi cột; {}. Số \
             liệu ở bảng bên cạnh.",
            trend.len(),
            charts::goals_sentence(goals, "đường ngang")
        ),
        category_axis: axis,
        value_axis: "Chỉ số SIPAS (%)".into(),
        columns: trend
            .iter()
            .map(|t| Column {
                label: period_label(t.start, selection.trend, one_year.is_some()),
                value: t.index,
                n: (!t.withheld).then_some(t.responses),
                reliability: Reliability::of(t.responses >= MIN_RELIABLE_SAMPLE),
            })
            .collect(),
        targets: goals.to_vec(),
    };
    html! {
        section.trend {
            h2 { "Xu hướng" }
            div.chart-pair {
                figure.chart-box { (charts::column_chart(&chart)) }
                div.table-box tabindex="0" role="region" aria-label="Bảng chỉ số theo thời gian" {
                    table.data id="bang-xu-huong" {
                        thead { tr { th scope="col" { (unit_word) } th.num scope="col" { "Chỉ số" } th.num scope="col" { "Số phiếu" } th scope="col" { "Ghi chú" } } }
                        tbody {
                            @for t in trend {
                                tr.withheld[t.withheld] {
                                    td { (t.label) }
                                    td.num { (index_text(t.index)) }
                                    td.num { @if t.withheld { (SUPPRESSED_SHARE) } @else { (format_count(t.responses as i64)) } }
                                    td {
                                        @if t.withheld { "Không hiển thị (nhóm quá nhỏ)" }
                                        @else if t.responses == 0 { "Chưa có phiếu" }
                                        @else if t.responses < MIN_RELIABLE_SAMPLE { "Chưa đủ mẫu" }
                                        @if let Some(note) = &t.lineage {
                                            @if t.withheld || t.responses < MIN_RELIABLE_SAMPLE { "; " }
                                            span.lineage { "(" (note) ")" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn changes_section(changes: &[ChangeRow], now: &UnitReport) -> Markup {
    let tested: Vec<(&ChangeRow, &MeanDiff)> = changes
        .iter()
        .filter_map(|c| c.change.as_ref().map(|d| (c, d)))
        .collect();
    html! {
        section.changes {
            h2 { "So sánh với các kỳ trước" }
            div.table-scroll tabindex="0" role="region" aria-label="Bảng so sánh với các kỳ trước" {
                table.data id="bang-thay-doi" {
                    thead {
                        tr {
                            th scope="col" { "So với" }
                            th.num scope="col" { "Chỉ số kỳ đó" }
                            th.num scope="col" { "Số phiếu" }
                            th scope="col" { "Chênh lệch chỉ số (kỳ này − kỳ đó)" }
                            th scope="col" { "Kết luận" }
                        }
                    }
                    tbody {
                        @for c in changes {
                            tr {
                                th scope="row" {
                                    (c.label) br; span.hint { (format_date(c.from)) " – " (format_date(c.to)) }
                                    @if let (Some(note), false) = (&c.lineage, c.refused) { br; span.lineage { "(" (note) ")" } }
                                }
                                td.num { (index_text(c.index)) }
                                td.num { @if c.withheld { (SUPPRESSED_SHARE) } @else { (format_count(c.responses as i64)) } }
                                @if c.refused {
                                    td.lineage.refused colspan="2" { (c.lineage.as_deref().unwrap_or_default()) }
                                } @else if c.withheld {
                                    td colspan="2" { "Không hiển thị: nhóm người trả lời kỳ đó quá nhỏ (bảo vệ dữ liệu cá nhân)." }
                                } @else if let Some(d) = &c.change {
                                    @let shown = published_difference(now.index, c.index);
                                    td {
                                        (shown.map(format_points).unwrap_or_else(|| "—".into()))
                                    }
                                    td.conclusion.significant[d.p_value < SIGNIFICANCE] {
                                        (plain_conclusion("Kỳ này", &c.label.to_lowercase(), shown.unwrap_or(d.difference), d.p_value))
                                    }
                                } @else {
                                    td colspan="2" { "Không đủ số liệu để so sánh (mỗi kỳ cần ít nhất 2 phiếu)." }
                                }
                            }
                        }
                    }
                }
            }
            p.hint { "Kỳ này: chỉ số " (index_text(now.index)) "." }
            @if !tested.is_empty() {
                details.test-details {
                    summary { "Chi tiết kiểm định thống kê" }
                    (significance_explained())
                    p.hint {
                        "Kiểm định: chênh lệch giữa trung bình điểm "
                        "hài lòng của người trả lời kỳ này và kỳ được so sánh (kiểm định t Welch, mức ý nghĩa 5%). "
                        "Điểm hài lòng của một người là tỉ lệ tiêu chí người đó hài lòng (theo trọng số của yếu "
                        "tố), nên chênh lệch này có thể khác chênh lệch của hai chỉ số công bố, nhất là khi nhiều "
                        "câu trả lời là “Không áp dụng”."
                    }
                    table.data id="bang-kiem-dinh-thay-doi" tabindex="0" {
                        thead {
                            tr {
                                th scope="col" { "So với" }
                                th scope="col" { "Chênh lệch điểm hài lòng trung bình (KTC 95%)" }
                                th.num scope="col" { "p" }
                                th scope="col" { "Kết quả kiểm định" }
                            }
                        }
                        tbody {
                            @for (c, d) in &tested {
                                tr {
                                    th scope="row" { (c.label) }
                                    td { (format_points(d.difference)) " (" (format_points_interval(d.interval)) ")" }
                                    td.num { (format_p(d.p_value)) }
                                    td { (capitalise(&significance_text(d.p_value))) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The responses received per desk of the unit.
fn desks_section(desks: &[DeskCount], filtered: bool) -> Markup {
    let total: i64 = desks.iter().map(|d| d.responses).sum();
    html! {
        section.desks {
            h2 { "Phiếu theo quầy" }
            div.table-scroll tabindex="0" role="region" aria-label="Bảng số phiếu theo quầy" {
                table.data id="bang-quay" {
                    thead { tr { th scope="col" { "Quầy" } th.num scope="col" { "Số phiếu đã nhận" } th.num scope="col" { "Tỉ lệ" } } }
                    tbody {
                        @for d in desks {
                            tr data-desk=(d.desk_id) {
                                td { (d.name) }
                                td.num { (format_count(d.responses)) }
                                td.num { @if total > 0 { (format_percent(d.responses as f64 / total as f64)) } @else { "—" } }
                            }
                        }
                    }
                }
            }
            p.hint {
                "Số phiếu mỗi quầy của đơn vị đã nhận trong khoảng thời gian đang chọn, tính mọi mẫu phiếu "
                "và mọi kênh (kể cả phiếu nghi vấn không tính vào kết quả)"
                @if filtered { ", của mọi người trả lời (không theo bộ lọc người trả lời)" }
                "; vì vậy tổng có thể khác số phiếu ở trên."
            }
        }
    }
}

/// The first letter in upper case.
pub fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// One side of a comparison: a unit, or a unit in a period.
pub struct Entry<'a> {
    pub label: String,
    pub report: &'a UnitReport,
    /// The figures regrouped into today's units by lineage: the note.
    pub lineage: Option<String>,
}

/// A choice of the comparison's period selects: (value, label).
pub type PeriodOption = (String, String);

/// Everything the comparison page shows.
pub struct ComparePage<'a> {
    pub query: &'a StatsQuery,
    pub choices: FilterChoices<'a>,
    pub errors: &'a FieldErrors,
    pub selection: Option<&'a Selection>,
    /// Compared periods of one unit (else units).
    pub by_period: bool,
    pub period_options: &'a [PeriodOption],
    pub entries: &'a [Entry<'a>],
    /// Pairs by position in `entries`.
    pub index_pairs: &'a [Pair<MeanDiff>],
    /// The criteria of the form: (code, label).
    pub items: &'a [(String, String)],
    pub item: Option<(&'a str, &'a ItemComparison)>,
    /// The goals drawn on the chart (those of the first compared report's plan).
    pub goals: &'a [Goal],
}

pub fn compare(staff: &SignedIn, p: &ComparePage) -> Markup {
    page(
        "So sánh kết quả khảo sát",
        staff,
        OVERVIEW_PATH,
        html! {
            p.back { a href=(OVERVIEW_PATH) { "← Kết quả khảo sát" } }
            (error_box(p.errors))
            (compare_forms(p))
            @if let Some(selection) = p.selection && p.entries.len() >= 2 {
                (compare_results(p, selection))
            }
        },
    )
}

fn compare_forms(p: &ComparePage) -> Markup {
    let selected: Vec<&str> = p.query.units.iter().map(|s| s.trim()).collect();
    let errors = p.errors;
    let items: Vec<(String, String)> = p.items.to_vec();
    let period_options: Vec<PeriodOption> = p.period_options.to_vec();
    let no_errors = FieldErrors::new();
    let optional_periods: Vec<PeriodOption> =
        std::iter::once((String::new(), "— Không chọn —".to_string()))
            .chain(period_options.iter().cloned())
            .collect();
    html! {
        details.compare-choice open[!p.by_period] {
            summary { "So sánh các đơn vị" }
            form method="get" action=(COMPARE_PATH) {
                fieldset.units {
                    legend { "Chọn từ 2 đến " (MAX_COMPARED) " đơn vị" }
                    @if let Some(message) = errors.get("units") { p.msg id="e-units" { (message) } }
                    ul.unit-tree.columns {
                        @for u in p.choices.units {
                            li {
                                label {
                                    input type="checkbox" name="units" value=(u.id)
                                        checked[selected.contains(&u.id.to_string().as_str())];
                                    " " (indent(u.depth)) (u.name)
                                }
                            }
                        }
                    }
                }
                div.filters {
                    (text_input("year", "Năm", &p.query.year, None, errors))
                    (select("period", "Đợt / kỳ", &period_groups(&p.choices), &p.query.period, errors))
                    (text_input("from", "Từ ngày", &p.query.from, Some("(khi tự chọn)"), errors))
                    (text_input("to", "Đến ngày", &p.query.to, None, errors))
                    (select("form", "Mẫu phiếu", &plain(p.choices.forms.to_vec()), &p.query.form, errors))
                    (select("channel", "Kênh", &plain(channel_options()), &p.query.channel, errors))
                    @if !items.is_empty() {
                        (select("item", "Tiêu chí so sánh", &plain(items.clone()), &p.query.item, errors))
                    }
                }
                (attribute_filters("", p.choices.attributes, &p.query.attrs, if p.by_period { &no_errors } else { errors }))
                button.small type="submit" { "So sánh" }
            }
        }
        details.compare-choice open[p.by_period] {
            summary { "So sánh các kỳ của một đơn vị" }
            form method="get" action=(COMPARE_PATH) {
                div.filters {
                    (select("unit", "Đơn vị", &plain(unit_options(p.choices.units, None)), &p.query.unit, errors))
                    @for k in 0..3 {
                        @let value = p.query.periods.get(k).map(String::as_str).unwrap_or("");
                        @let options = if k == 2 { &optional_periods } else { &period_options };
                        div.field.err[k == 0 && errors.contains_key("periods")] {
                            label for={ "f-periods-" (k) } { "Kỳ thứ " (k + 1) }
                            @if k == 0 && let Some(message) = errors.get("periods") { p.msg id="e-periods" { (message) } }
                            select id={ "f-periods-" (k) } name="periods" {
                                @for (v, text) in options { option value=(v) selected[v == value] { (text) } }
                            }
                        }
                    }
                    input type="hidden" name="year" value=(p.query.year);
                    (select("form", "Mẫu phiếu", &plain(p.choices.forms.to_vec()), &p.query.form, &FieldErrors::new()))
                    (select("channel", "Kênh", &plain(channel_options()), &p.query.channel, &FieldErrors::new()))
                    @if !items.is_empty() {
                        (select("item", "Tiêu chí so sánh", &plain(items.clone()), &p.query.item, &FieldErrors::new()))
                    }
                }
                (attribute_filters("k-", p.choices.attributes, &p.query.attrs, if p.by_period { errors } else { &no_errors }))
                button.small type="submit" { "So sánh" }
            }
        }
    }
}

/// The most units compared at once.
pub const MAX_COMPARED: usize = 12;

fn channel_options() -> Vec<(String, String)> {
    std::iter::once((String::new(), "Tất cả".to_string()))
        .chain(
            CHANNELS
                .iter()
                .map(|c| (c.to_string(), channel_label(c).to_string())),
        )
        .collect()
}

/// "A cao hơn B 5,21 điểm phần trăm: khác biệt có ý nghĩa thống kê (p = 0,012)."
pub fn difference_statement(a: &str, b: &str, difference: f64, p_value: f64) -> String {
    let points = crate::stats::round_percent(difference);
    let size = format_decimal2(points.abs());
    let direction = if points > 0.0 {
        format!("{a} cao hơn {b} {size} điểm phần trăm")
    } else if points < 0.0 {
        format!("{a} thấp hơn {b} {size} điểm phần trăm")
    } else {
        format!("{a} và {b} bằng nhau")
    };
    format!("{direction}: {}.", significance_text(p_value))
}

fn index_of(entries: &[Entry], position: i32) -> Option<f64> {
    entries.get(position as usize).and_then(|e| e.report.index)
}

fn label_of<'a>(entries: &'a [Entry], position: i32) -> &'a str {
    entries
        .get(position as usize)
        .map_or("", |e| e.label.as_str())
}

fn compare_results(p: &ComparePage, selection: &Selection) -> Markup {
    let chart = BarChart {
        id: "bieu-do-so-sanh".into(),
        title: "Chỉ số SIPAS được so sánh".into(),
        desc: format!(
            "Biểu đồ thanh ngang: chỉ số SIPAS của {} {} với khoảng tin cậy 95%; {}. Số liệu ở \
             bảng bên cạnh.",
            p.entries.len(),
            if p.by_period { "kỳ" } else { "đơn vị" },
            charts::goals_sentence(p.goals, "đường dọc")
        ),
        category_axis: if p.by_period { "Kỳ" } else { "Đơn vị" }.into(),
        value_axis: "Chỉ số SIPAS (%)".into(),
        bars: p
            .entries
            .iter()
            .map(|e| Bar {
                label: e.label.clone(),
                value: e.report.index,
                interval: e.report.index_ci,
                reliability: Reliability::of(e.report.enough_sample),
                missing: "Chưa có phiếu".into(),

                link: None,
            })
            .collect(),
        targets: p.goals.to_vec(),
    };
    html! {
        @if !p.by_period { (selection.summary("Các đơn vị được so sánh")) }
        @else { (respondents_note(&selection.respondents)) }
        section.index-tests {
            h2 { "Kết luận: chênh lệch chỉ số" }
            @if p.index_pairs.is_empty() {
                p { "Không đủ số liệu để kiểm định (mỗi bên cần ít nhất 2 phiếu)." }
            } @else {
                ul.conclusions id="ket-luan-chi-so" {
                    @for pair in p.index_pairs {
                        @let (a, b) = (label_of(p.entries, pair.a), label_of(p.entries, pair.b));
                        @let shown = published_difference(index_of(p.entries, pair.a), index_of(p.entries, pair.b));
                        li.conclusion.significant[pair.p_holm < SIGNIFICANCE] {
                            (plain_conclusion(a, b, shown.unwrap_or(pair.result.difference), pair.p_holm))
                        }
                    }
                }
                details.test-details {
                    summary { "Chi tiết kiểm định thống kê" }
                    (significance_explained())
                    p.hint {
                        "Kiểm định t Welch trên điểm hài lòng của từng người trả lời (tỉ lệ tiêu chí người đó "
                        "hài lòng, theo trọng số của yếu tố); giá trị p đã hiệu chỉnh Holm cho "
                        (p.index_pairs.len()) " phép so sánh từng cặp, mức ý nghĩa 5%. Chênh lệch điểm trung "
                        "bình có thể khác chênh lệch của hai chỉ số công bố, nhất là khi nhiều câu trả lời là "
                        "“Không áp dụng”."
                    }
                    div.table-scroll tabindex="0" role="region" aria-label="Bảng kiểm định chênh lệch chỉ số" {
                        table.data id="bang-kiem-dinh-chi-so" {
                            thead {
                                tr {
                                    th scope="col" { "Bên A" }
                                    th scope="col" { "Bên B" }
                                    th scope="col" { "Chênh lệch chỉ số (A − B)" }
                                    th scope="col" { "Chênh lệch điểm hài lòng trung bình (KTC 95%)" }
                                    th.num scope="col" { "p" }
                                    th.num scope="col" { "p (Holm)" }
                                    th scope="col" { "Kết luận" }
                                }
                            }
                            tbody {
                                @for pair in p.index_pairs {
                                    @let (a, b) = (label_of(p.entries, pair.a), label_of(p.entries, pair.b));
                                    @let shown = published_difference(index_of(p.entries, pair.a), index_of(p.entries, pair.b));
                                    tr {
                                        td { (a) }
                                        td { (b) }
                                        td { (shown.map(format_points).unwrap_or_else(|| "—".into())) }
                                        td { (format_points(pair.result.difference)) " (" (format_points_interval(pair.result.interval)) ")" }
                                        td.num { (format_p(pair.result.p_value)) }
                                        td.num.p-holm { (format_p(pair.p_holm)) }
                                        td.statement { (difference_statement(a, b, shown.unwrap_or(pair.result.difference), pair.p_holm)) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        section.compared {
            h2 { "Chỉ số SIPAS" }
            div.chart-pair {
                figure.chart-box { (charts::bar_chart(&chart)) }
                div.table-box tabindex="0" role="region" aria-label="Bảng số liệu: chỉ số được so sánh" {
                    table.data id="bang-so-sanh" {
                        thead {
                            tr {
                                th scope="col" { @if p.by_period { "Kỳ" } @else { "Đơn vị" } }
                                th.num scope="col" { "Chỉ số" }
                                th scope="col" { "Khoảng tin cậy 95%" }
                                th.num scope="col" { "Số phiếu" }
                                th scope="col" { "Ghi chú" }
                            }
                        }
                        tbody {
                            @for e in p.entries {
                                tr {
                                    td { (e.label) }
                                    td.num.index { (index_text(e.report.index)) }
                                    td.ci { (format_interval(e.report.index_ci)) }
                                    td.num.forms { (responses_text(e.report)) }
                                    td.flag {
                                        (sample_note(e.report))
                                        @if let Some(note) = &e.lineage { " " span.lineage { "(" (note) ")" } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if let Some((code, comparison)) = p.item {
            (item_results(p, code, comparison))
        }
    }
}

fn item_results(p: &ComparePage, code: &str, comparison: &ItemComparison) -> Markup {
    let text = p
        .items
        .iter()
        .find(|(c, _)| c == code)
        .map_or(code, |(_, t)| t.as_str());
    html! {
        section.item-tests {
            h2 { "So sánh theo tiêu chí: " (text) }
            table.data id="bang-tieu-chi-so-sanh" {
                thead {
                    tr {
                        th scope="col" { @if p.by_period { "Kỳ" } @else { "Đơn vị" } }
                        th.num scope="col" { "Số câu trả lời hợp lệ" }
                        th.num scope="col" { "Hài lòng" }
                        th.num scope="col" { "Chỉ số" }
                        th scope="col" { "KTC 95% (Wilson)" }
                    }
                }
                tbody {
                    @for e in p.entries {
                        @let item = e.report.item(code);
                        tr {
                            td { (e.label) }
                            td.num { (item.map(|i| format_count(i.stats.n_valid as i64)).unwrap_or_default()) }
                            td.num { (item.and_then(|i| i.stats.index.map(|x| format_count((x * i.stats.n_valid as f64).round() as i64))).unwrap_or_default()) }
                            td.num { (index_text(item.and_then(|i| i.stats.index))) }
                            td { (format_interval(item.and_then(|i| i.stats.index_ci))) }
                        }
                    }
                }
            }
            @if !comparison.pairs.is_empty() {
                ul.conclusions id="ket-luan-tieu-chi" {
                    @for pair in &comparison.pairs {
                        @let (a, b) = (label_of(p.entries, pair.a), label_of(p.entries, pair.b));
                        li.conclusion.significant[pair.p_holm < SIGNIFICANCE] {
                            (plain_conclusion(a, b, pair.result.difference, pair.p_holm))
                        }
                    }
                }
            } @else if let Some(chi) = &comparison.chi_square {
                p.conclusion {
                    @if chi.p_value < SIGNIFICANCE {
                        "Tỉ lệ hài lòng khác nhau giữa các bên; khác biệt có ý nghĩa thống kê."
                    } @else {
                        "Chưa thấy khác biệt về tỉ lệ hài lòng giữa các bên; khác biệt chưa đủ để kết luận."
                    }
                }
            }
            details.test-details {
                summary { "Chi tiết kiểm định thống kê" }
                (significance_explained())
                @if let Some(chi) = &comparison.chi_square {
                    p.chi-square {
                        "Kiểm định khi-bình phương về tính độc lập (hài lòng / chưa hài lòng): χ² = "
                        (format_decimal2(chi.statistic)) ", bậc tự do = " (chi.df) ", " (p_clause(chi.p_value)) ". "
                        strong { (capitalise(&significance_text(chi.p_value))) "." }
                    }
                    @if chi.min_expected < 5.0 {
                        p.note.small-expected {
                            "Lưu ý: có ô có tần số kỳ vọng nhỏ hơn 5 (nhỏ nhất "
                            (format_decimal2(chi.min_expected)) "), kết quả kiểm định khi-bình phương chỉ có tính tham khảo."
                        }
                    }
                } @else {
                    p { "Không đủ số liệu cho kiểm định khi-bình phương (cần ít nhất hai bên có câu trả lời, và có cả người hài lòng lẫn chưa hài lòng)." }
                }
                @if !comparison.pairs.is_empty() {
                    div.table-scroll tabindex="0" role="region" aria-label="Bảng kiểm định hai tỉ lệ từng cặp" {
                        table.data id="bang-kiem-dinh-tieu-chi" {
                            caption { "Kiểm định hai tỉ lệ từng cặp (giá trị p hiệu chỉnh Holm)" }
                            thead {
                                tr {
                                    th scope="col" { "Bên A" }
                                    th scope="col" { "Bên B" }
                                    th scope="col" { "Chênh lệch (A − B)" }
                                    th scope="col" { "KTC 95% (điểm phần trăm)" }
                                    th.num scope="col" { "z" }
                                    th.num scope="col" { "p" }
                                    th.num scope="col" { "p (Holm)" }
                                    th scope="col" { "Kết luận" }
                                }
                            }
                            tbody {
                                @for pair in &comparison.pairs {
                                    (proportion_row(p.entries, pair))
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The level below which a (Holm-adjusted) p-value makes a difference "có ý nghĩa thống kê".
pub const SIGNIFICANCE: f64 = 0.05;

/// The plain conclusion of a comparison, first on the page: "Xã A cao hơn xã B 36,02 điểm
/// phần trăm; khác biệt có ý nghĩa thống kê." or "...; khác biệt chưa đủ để kết luận."
pub fn plain_conclusion(a: &str, b: &str, difference: f64, p_value: f64) -> String {
    let points = crate::stats::round_percent(difference);
    let size = format_decimal2(points.abs());
    let direction = if points > 0.0 {
        format!("{a} cao hơn {b} {size} điểm phần trăm")
    } else if points < 0.0 {
        format!("{a} thấp hơn {b} {size} điểm phần trăm")
    } else {
        format!("{a} và {b} bằng nhau")
    };
    let verdict = if p_value < SIGNIFICANCE {
        "khác biệt có ý nghĩa thống kê"
    } else {
        "khác biệt chưa đủ để kết luận"
    };
    format!("{}; {verdict}.", capitalise(&direction))
}

/// What "có ý nghĩa thống kê" means, in one sentence for a reader who is no statistician.
fn significance_explained() -> Markup {
    html! {
        p.explain {
            "“Có ý nghĩa thống kê” nghĩa là chênh lệch này khó có thể chỉ do ngẫu nhiên chọn phải "
            "những người trả lời khác nhau (xác suất dưới 5%), nên có thể coi là khác biệt thật; "
            "“chưa đủ để kết luận” nghĩa là chênh lệch có thể chỉ do ngẫu nhiên, cần thêm phiếu để khẳng định."
        }
    }
}

fn proportion_row(entries: &[Entry], pair: &Pair<ProportionDiff>) -> Markup {
    let (a, b) = (label_of(entries, pair.a), label_of(entries, pair.b));
    html! {
        tr {
            td { (a) }
            td { (b) }
            td { (format_points(pair.result.difference)) }
            td { (format_points_interval(pair.result.interval)) }
            td.num { (format_decimal2(pair.result.z)) }
            td.num { (format_p(pair.result.p_value)) }
            td.num.p-holm { (format_p(pair.p_holm)) }
            td.statement { (difference_statement(a, b, pair.result.difference, pair.p_holm)) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn period_choices_parse_and_print() {
        assert_eq!(PeriodChoice::parse(""), Some(PeriodChoice::Year));
        assert_eq!(PeriodChoice::parse("q3"), Some(PeriodChoice::Quarter(3)));
        assert_eq!(PeriodChoice::parse("p12"), Some(PeriodChoice::Plan(12)));
        assert_eq!(PeriodChoice::parse("custom"), Some(PeriodChoice::Custom));
        assert_eq!(
            PeriodChoice::parse("30d"),
            Some(PeriodChoice::Recent(Recent::Days(30)))
        );
        assert_eq!(
            PeriodChoice::Recent(Recent::ThisQuarter).as_value(),
            "quy-nay"
        );
        for bad in ["q5", "p", "p-1", "p0", "px", "year", "p99999999999"] {
            assert_eq!(PeriodChoice::parse(bad), None, "{bad}");
        }
        assert_eq!(PeriodChoice::Plan(7).as_value(), "p7");
        assert_eq!(quarter_label(4, 2026), "Quý IV/2026");
    }

    #[test]
    fn figures_are_written_the_vietnamese_way() {
        assert_eq!(format_points(0.0321), "+3,21 điểm phần trăm");
        assert_eq!(format_points(-0.05), "-5,00 điểm phần trăm");
        assert_eq!(format_points(0.00001), "0,00 điểm phần trăm");
        assert_eq!(format_p(0.0123), "0,012");
        assert_eq!(format_p(0.0001), "< 0,001");
        assert_eq!(format_decimal2(4.316), "4,32");
        assert_eq!(
            format_interval(Some(Interval {
                low: 0.8012,
                high: 0.854
            })),
            "80,12% – 85,40%"
        );
        assert_eq!(
            difference_statement("A", "B", 0.0521, 0.012),
            "A cao hơn B 5,21 điểm phần trăm: khác biệt có ý nghĩa thống kê (p = 0,012)."
        );
        assert_eq!(
            difference_statement("A", "B", -0.01, 0.4),
            "A thấp hơn B 1,00 điểm phần trăm: khác biệt không có ý nghĩa thống kê (p = 0,400)."
        );
        assert_eq!(capitalise("khác biệt"), "Khác biệt");
        assert_eq!(
            plain_conclusion("Xã A", "xã B", 0.3602, 0.001),
            "Xã A cao hơn xã B 36,02 điểm phần trăm; khác biệt có ý nghĩa thống kê."
        );
        assert_eq!(
            plain_conclusion("xã A", "xã B", -0.01, 0.4),
            "Xã A thấp hơn xã B 1,00 điểm phần trăm; khác biệt chưa đủ để kết luận."
        );
        assert_eq!(
            plain_conclusion("A", "B", 0.00001, 0.9),
            "A và B bằng nhau; khác biệt chưa đủ để kết luận."
        );
    }

    mod filtered {
        use super::*;
        use crate::domain::access::Role;
        use crate::forms::{Form, FormVersion, parse_form};
        use crate::reports::{Figures, ReportQuery, UnitInfo, rank, unit_report, withheld_report};
        use crate::staff::home::tests::signed_in;

        fn form() -> Form {
            parse_form(
                "sipas-1001-dich-vu.toml",
                include_str!("../../../../survey-forms/sipas-1001-dich-vu.toml"),
            )
            .unwrap()
        }

        fn info(id: i32, name: &str) -> UnitInfo {
            UnitInfo {
                id,
                code: format!("u{id}"),
                name: name.into(),
                kind: "commune".into(),
            }
        }

        fn selection(tokens: &[&str]) -> Selection {
            let form = form();
            Selection {
                year: 2026,
                period: PeriodChoice::Year,
                from: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
                to: NaiveDate::from_ymd_opt(2026, 12, 31).unwrap(),
                period_label: "Năm 2026".into(),
                period_id: None,
                unit: Some(1),
                kind: None,
                form: form.id.clone(),
                form_title: form.title.clone(),
                channel: None,
                trend: Grain::Month,
                respondents: RespondentFilter::try_from((&form, tokens)).unwrap(),
            }
        }

        /// A district of two communes: Bảo Hòa with 40 women aged 25–34 all satisfied, and
        /// Xuân Bắc whose group is withheld.
        fn report(selection: &Selection) -> Report {
            let form = form();
            let mut answers = std::collections::BTreeMap::new();
            for code in ["TC1", "TC2", "TC3", "TC4"] {
                answers.insert((code.to_string(), 5), 40);
            }
            let figures = Figures {
                responses: 40,
                answers,
                ..Figures::default()
            };
            let mut rows = vec![
                unit_report(&form, info(2, "UBND xã Bảo Hòa"), figures.clone(), None),
                withheld_report(&form, info(3, "UBND xã Xuân Bắc")),
            ];
            rank(&mut rows);
            Report {
                form_id: form.id.clone(),
                form_title: form.title.clone(),
                form: std::sync::Arc::new(FormVersion {
                    id: 1,
                    number: 1,
                    form: form.clone(),
                    item_ids: Default::default(),
                }),
                query: ReportQuery {
                    form_id: form.id.clone(),
                    from: selection.from,
                    to: selection.to,
                    root: Some(1),
                    kind: None,
                    channel: None,
                    period_id: None,
                    respondents: selection.respondents.clone(),
                },
                root: info(1, "UBND huyện Xuân Lộc"),
                total: withheld_report(&form, info(1, "UBND huyện Xuân Lộc")),
                rows,
                disclosure: crate::small_cells::Disclosure::Protected,
                goals: sipas_core::goals::national(),
                lineage: None,
            }
        }

        fn overview_html(selection: &Selection, query: &str) -> String {
            let report = report(selection);
            let form = form();
            let attributes = attribute_choices(&form);
            let query = StatsQuery::from_query_string(query);
            let page = Overview {
                query: &query,
                choices: FilterChoices {
                    units: &[],
                    plan: None,
                    forms: &[(form.id.clone(), form.title.clone())],
                    attributes: &attributes,
                },
                selection: Some(selection),
                errors: &FieldErrors::new(),
                report: Some(&report),
                progress: None,
                comments: &[],
                comments_link: String::new(),
                trend: &[],
            };
            overview(&signed_in(Role::Unit), &page).into_string()
        }

        #[test]
        fn a_filtered_page_says_whom_it_counts() {
            let selection = selection(&["DO_TUOI:2", "GIOI_TINH:2"]);
            let html = overview_html(&selection, "attr=GIOI_TINH:2&attr=DO_TUOI:2");
            assert!(
                html.contains("Chỉ tính người trả lời: Nữ, Từ 25 đến 34 tuổi. "),
                "{html}"
            );
            // The filters are offered from the form's respondent questions, the chosen ones
            // selected, and open.
            assert!(html.contains("<details class=\"respondent-filters\" open>"));
            assert!(html.contains("<option value=\"GIOI_TINH:2\" selected>Nữ</option>"));
            assert!(html.contains("<option value=\"LINH_VUC:1\">Đất đai</option>"));
            assert!(html.contains("id=\"f-attr-DO_TUOI\" name=\"attr\""));
            // The links to the units carry the filters; the report and the export say they
            // count everyone.
            assert!(html.contains("attr=GIOI_TINH%3A2&amp;attr=DO_TUOI%3A2"));
            assert!(html.contains("tính mọi người trả lời, không theo bộ lọc người trả lời"));
            assert_eq!(
                selection.query(Some(3), false),
                "year=2026&unit=3&form=sipas-1001-dich-vu&attr=GIOI_TINH%3A2&attr=DO_TUOI%3A2"
            );
            assert_eq!(
                selection.query_of_all_respondents(Some(3), false),
                "year=2026&unit=3&form=sipas-1001-dich-vu"
            );
            // Without a filter, no such sentence, and the filters stay folded.
            let unfiltered = selection_without_filter();
            let html = overview_html(&unfiltered, "");
            assert!(!html.contains("Chỉ tính người trả lời"));
            assert!(html.contains("<details class=\"respondent-filters\">"));
        }

        fn selection_without_filter() -> Selection {
            selection(&[])
        }

        #[test]
        fn a_withheld_group_shows_no_figure() {
            let selection = selection(&["GIOI_TINH:2"]);
            let html = overview_html(&selection, "attr=GIOI_TINH:2");
            let table = &html[html.find("id=\"bang-xep-hang\"").unwrap()..];
            let withheld = &table[table.find("data-unit=\"3\"").unwrap()..];
            let withheld = &withheld[..withheld.find("</tr>").unwrap()];
            assert!(
                withheld.contains("<td class=\"num forms\">ẩn</td>"),
                "{withheld}"
            );
            assert!(withheld.contains(crate::reports::WITHHELD), "{withheld}");
            assert!(
                withheld.contains("<td class=\"num index\">—</td>"),
                "{withheld}"
            );
            // The headline too: no count, no index.
            let cards = &html[html.find("class=\"cards\"").unwrap()..];
            let cards = &cards[..cards.find("</div></div>").unwrap_or(cards.len())];
            assert!(cards.contains("<p class=\"big\">ẩn</p>"), "{cards}");
            // The shown row keeps its figures.
            let shown = &table[table.find("data-unit=\"2\"").unwrap()..];
            assert!(shown.contains("<td class=\"num forms\">40</td>"));
        }

        #[test]
        fn a_withheld_month_of_a_trend_shows_no_count() {
            let selection = selection(&["GIOI_TINH:2"]);
            let trend = [
                TrendRow {
                    label: "T1/2026".into(),
                    start: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
                    index: Some(0.9),
                    responses: 40,
                    withheld: false,
                    lineage: None,
                },
                TrendRow {
                    label: "T2/2026".into(),
                    start: NaiveDate::from_ymd_opt(2026, 2, 1).unwrap(),
                    index: None,
                    responses: 0,
                    withheld: true,
                    lineage: None,
                },
            ];
            let html = trend_section(&trend, &selection, &[]).into_string();
            assert!(html.contains("n = ẩn"), "{html}");
            assert!(html.contains("Không hiển thị (nhóm quá nhỏ)"));
            assert!(html.contains("n = 40"));
        }
    }

    #[test]
    fn the_query_string_keeps_units_and_periods() {
        let q = StatsQuery::from_query_string(
            "units=3&units=&units=5&periods=2026-q1&periods=2026-q2&year=2026&year=2027",
        );
        assert_eq!(q.units, ["3", "5"]);
        assert_eq!(q.periods, ["2026-q1", "2026-q2"]);
        assert_eq!(q.year, "2026");
        assert_eq!(
            StatsQuery::from_query_string("%zz=1&a"),
            StatsQuery::default()
        );
    }
}
