//! Charts as SVG drawn on the server (maud), for the statistics pages: no script, no web font,
//! nothing from other sites. Each chart is a pure function of its data.
//!
//! Every chart has a `<title>` and a `<desc>` named by `aria-labelledby` on an `<svg
//! role="img">`, axis titles in Vietnamese, percentage ticks from "0%" to "100%", a text label
//! on every bar (the category and its value, "82,66%"), and scales with the page (`viewBox`,
//! `width="100%"`) for the screen and for A4 print. Colours are presentation attributes (the
//! pages' Content-Security-Policy forbids inline styles) with good contrast on white; the
//! reliability of a figure is told by colour AND by the legend and the data table beside the
//! chart. Bars carry a `class` (`bar`, `bar reliable`, `bar unreliable`) so that tests and
//! stylesheets can find them.

use maud::{Markup, html};

use crate::stats::{Interval, format_percent};
pub use sipas_core::goals::Goal;

/// Width of every chart's `viewBox`.
pub const WIDTH: f64 = 760.0;
/// Horizontal bar charts: the category names end left of `PLOT_LEFT`, the values start right
/// of `PLOT_RIGHT`; 0% is at `PLOT_LEFT` and 100% at `PLOT_RIGHT`.
pub const PLOT_LEFT: f64 = 250.0;
pub const PLOT_RIGHT: f64 = 680.0;
/// Height of a row of a horizontal bar chart and of its bar.
const ROW: f64 = 24.0;
const BAR: f64 = 15.0;
/// Room above the first row (the target labels).
const TOP: f64 = 46.0;
/// Characters of a line of a category name (at 12 px, left of `PLOT_LEFT`): longer names wrap
/// onto more lines (`<tspan>`s).
const LABEL_LINE_CHARS: usize = 34;
/// Lines of a category name; beyond them it is cut with "…" (the full name is in the row's
/// title and in the data table).
const MAX_LABEL_LINES: usize = 3;
/// Height added to a row by each line of its label beyond the first.
const LINE: f64 = 14.0;
/// Stacked bar charts (rows labelled by the criterion's words, wrapped): 0% and 100%.
pub const STACK_LEFT: f64 = 330.0;
/// Characters of a line of a stacked chart's row label, and its lines (the criteria of the
/// national form need up to four).
const STACK_LINE_CHARS: usize = 46;
const STACK_MAX_LINES: usize = 4;
pub const STACK_RIGHT: f64 = 680.0;
/// Where legends start.
const LEGEND_LEFT: f64 = 10.0;
/// Smallest drawn width of a bar with a value, so that a 0% bar can still be seen.
const MIN_BAR_WIDTH: f64 = 2.0;

pub const COLOR_RELIABLE: &str = "#1d4f91";
pub const COLOR_UNRELIABLE: &str = "#b45309";
const COLOR_PLAIN: &str = "#1d4f91";
const COLOR_TEXT: &str = "#1a1a1a";
const COLOR_MUTED: &str = "#555555";
const COLOR_GRID: &str = "#dfe3ea";
const COLOR_AXIS: &str = "#8a94a6";
const COLOR_WHISKER: &str = "#111111";
/// One per goal ([`sipas_core::goals::MAX_GOALS`]).
const TARGET_COLORS: [&str; sipas_core::goals::MAX_GOALS] =
    ["#2e7d32", "#6a1b9a", "#00695c", "#ad1457"];

/// The goals in a chart's description: "đường dọc là mục tiêu: Mục tiêu 2025: 80%; Mục tiêu
/// 2030: 90%", or that none is drawn.
pub fn goals_sentence(goals: &[Goal], lines: &str) -> String {
    if goals.is_empty() {
        return "không vẽ đường mục tiêu (kế hoạch chưa đặt mục tiêu)".to_string();
    }
    let labels: Vec<&str> = goals.iter().map(|g| g.label.as_str()).collect();
    format!(
        "các {lines} là mục tiêu của kế hoạch: {}",
        labels.join("; ")
    )
}

/// The class of a goal's line: "target target-80", "target target-82-5".
fn goal_class(goal: &Goal) -> String {
    let text = goal.percent_text();
    format!(
        "target target-{}",
        text.trim_end_matches('%').replace(',', "-")
    )
}
const FONT: &str = "system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif";

/// A number of the drawing, with one decimal.
fn n(x: f64) -> String {
    format!("{x:.1}")
}

/// The x of an index (0..=1) on a horizontal bar chart.
pub fn x_of(index: f64) -> f64 {
    PLOT_LEFT + index.clamp(0.0, 1.0) * (PLOT_RIGHT - PLOT_LEFT)
}

/// `text` cut to `max` characters with "…".
fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let mut cut: String = text.chars().take(max - 1).collect();
        cut = cut.trim_end().to_string();
        cut.push('…');
        cut
    }
}

/// `text` wrapped at word boundaries onto lines of at most `width` characters, at most `max`
/// lines (the last one cut with "…" when the text is longer; a word longer than a line is cut).
pub fn wrap_lines(text: &str, width: usize, max: usize) -> Vec<String> {
    let greedy = wrap_greedy(text, width, max);
    // Balanced: the narrowest width that needs no more lines (no "và Xã" / "hội" split).
    if greedy.len() > 1 && !greedy.last().is_some_and(|l| l.ends_with('…')) {
        let total = text.chars().count();
        for narrower in total.div_ceil(greedy.len())..width {
            let lines = wrap_greedy(text, narrower, max);
            if lines.len() <= greedy.len() && !lines.last().is_some_and(|l| l.ends_with('…')) {
                return lines;
            }
        }
    }
    greedy
}

fn wrap_greedy(text: &str, width: usize, max: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut current = String::new();
    let words = text.split_whitespace();
    let mut cut = false;
    for word in words {
        let needed = if current.is_empty() {
            word.chars().count()
        } else {
            current.chars().count() + 1 + word.chars().count()
        };
        if needed <= width {
            if !current.is_empty() {
                current.push(' ');
            }
            current.push_str(word);
            continue;
        }
        if !current.is_empty() {
            lines.push(std::mem::take(&mut current));
        }
        if lines.len() == max {
            cut = true;
            break;
        }
        current = if word.chars().count() > width {
            shorten(word, width)
        } else {
            word.to_string()
        };
    }
    if !cut && !current.is_empty() {
        if lines.len() == max {
            cut = true;
        } else {
            lines.push(current);
        }
    }
    if cut && let Some(last) = lines.last_mut() {
        let mut shortened = shorten(&format!("{last} …"), width);
        if !shortened.ends_with('…') {
            shortened.push('…');
        }
        *last = shortened;
    }
    if lines.is_empty() {
        lines.push(String::new());
    }
    lines
}

/// A label of one or more lines: the first line on `y`, the next ones `LINE` below each other.
fn label_lines(lines: &[String], x: f64) -> Markup {
    html! {
        @if lines.len() == 1 {
            (lines[0])
        } @else {
            @for (k, line) in lines.iter().enumerate() {
                tspan x=(n(x)) dy=(if k == 0 { "0".to_string() } else { n(LINE) }) { (line) }
            }
        }
    }
}

/// A rough width of `text` at `size` px (for laying out legends).
fn text_width(text: &str, size: f64) -> f64 {
    text.chars().count() as f64 * size * 0.56
}

/// Whether a figure rests on enough forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reliability {
    /// Not told apart (factor profiles): class `bar`.
    Plain,
    /// Enough forms: class `bar reliable`.
    Reliable,
    /// "Chưa đủ mẫu": class `bar unreliable`.
    Unreliable,
}

impl Reliability {
    pub fn of(enough: bool) -> Reliability {
        if enough {
            Reliability::Reliable
        } else {
            Reliability::Unreliable
        }
    }

    fn class(self) -> &'static str {
        match self {
            Reliability::Plain => "bar",
            Reliability::Reliable => "bar reliable",
            Reliability::Unreliable => "bar unreliable",
        }
    }

    fn color(self) -> &'static str {
        match self {
            Reliability::Plain => COLOR_PLAIN,
            Reliability::Reliable => COLOR_RELIABLE,
            Reliability::Unreliable => COLOR_UNRELIABLE,
        }
    }
}

/// One row of a horizontal bar chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub label: String,
    /// The index (0..=1); `None`: no bar, `missing` is written instead.
    pub value: Option<f64>,
    /// Its 95% interval, drawn as a whisker.
    pub interval: Option<Interval>,
    pub reliability: Reliability,
    /// What stands in place of a bar without a value ("Chưa có phiếu").
    pub missing: String,
    /// Where the row leads (the unit's page): the row is then a link (SVG 2 `<a href>`),
    /// focusable by keyboard, named by its label and value.
    pub link: Option<String>,
}

/// A horizontal bar chart of indices (0..=1), one row per category, in the given order.
#[derive(Debug, Clone, PartialEq)]
pub struct BarChart {
    /// Prefix of the ids inside the chart (unique on the page).
    pub id: String,
    pub title: String,
    pub desc: String,
    /// Title of the category axis ("Đơn vị", "Yếu tố").
    pub category_axis: String,
    /// Title of the value axis ("Chỉ số hài lòng (%)").
    pub value_axis: String,
    pub bars: Vec<Bar>,
    /// The goals drawn as reference lines (the plan's, [`sipas_core::goals`]).
    pub targets: Vec<Goal>,
}

/// The ticks of a percentage axis: 0%, 20%, ..., 100%.
fn ticks() -> impl Iterator<Item = (f64, String)> {
    (0..=5).map(|i| (f64::from(i) / 5.0, format!("{}%", i * 20)))
}

/// The open tag's attributes shared by every chart, and its title and description.
fn frame(id: &str, title: &str, desc: &str, height: f64, body: Markup) -> Markup {
    frame_as("img", id, title, desc, height, body)
}

/// [`frame`] with another role: a chart whose rows are links is a `group` (an `img`'s content
/// is presentational, so it must hold nothing focusable).
fn frame_as(role: &str, id: &str, title: &str, desc: &str, height: f64, body: Markup) -> Markup {
    let title_id = format!("{id}-title");
    let desc_id = format!("{id}-desc");
    html! {
        svg.chart id=(id) xmlns="http://www.w3.org/2000/svg" role=(role)
            aria-labelledby={ (title_id) " " (desc_id) }
            viewBox={ "0 0 " (n(WIDTH)) " " (n(height)) } width="100%"
            preserveAspectRatio="xMinYMin meet"
            font-family=(FONT) font-size="13" fill=(COLOR_TEXT) {
            title id=(title_id) { (title) }
            desc id=(desc_id) { (desc) }
            rect x="0" y="0" width=(n(WIDTH)) height=(n(height)) fill="#ffffff" {}
            (body)
        }
    }
}

/// A legend entry: a swatch and its text, laid out left to right from `x`; returns the x after.
fn legend_swatch(x: f64, y: f64, color: &str, class: &str, text: &str) -> (Markup, f64) {
    let markup = html! {
        g class={ "legend-item " (class) } {
            rect x=(n(x)) y=(n(y - 10.0)) width="14" height="12" fill=(color) {}
            text x=(n(x + 20.0)) y=(n(y)) font-size="12" { (text) }
        }
    };
    (markup, x + 20.0 + text_width(text, 12.0) + 22.0)
}

/// What a bar says, in words: "UBND xã A: 82,66% (khoảng tin cậy 95%: 80,01% – 85,02%)".
fn bar_sentence(bar: &Bar) -> String {
    let mut said = format!(
        "{}: {}",
        bar.label,
        bar.value
            .map_or_else(|| bar.missing.clone(), format_percent)
    );
    if let Some(ci) = bar.interval {
        said.push_str(&format!(
            " (khoảng tin cậy 95%: {} – {})",
            format_percent(ci.low),
            format_percent(ci.high)
        ));
    }
    if bar.reliability == Reliability::Unreliable {
        said.push_str(", chưa đủ mẫu");
    }
    said
}

/// Horizontal bars of indices, with interval whiskers, the national targets and a legend of
/// reliability. Height grows with the number of rows.
pub fn bar_chart(chart: &BarChart) -> Markup {
    // Each row's label, wrapped, and the row's top: a row grows by a line per extra line.
    let labels: Vec<Vec<String>> = chart
        .bars
        .iter()
        .map(|b| wrap_lines(&b.label, LABEL_LINE_CHARS, MAX_LABEL_LINES))
        .collect();
    let row_height = |lines: usize| ROW + LINE * lines.saturating_sub(1) as f64;
    // Room above the rows for one line of label per goal beyond the first two.
    let goals = chart.targets.len().min(TARGET_COLORS.len());
    let top0 = TOP + 16.0 * goals.saturating_sub(2) as f64;
    let mut tops = Vec::with_capacity(labels.len());
    let mut plot_bottom = top0;
    for lines in &labels {
        tops.push(plot_bottom);
        plot_bottom += row_height(lines.len());
    }
    if labels.is_empty() {
        plot_bottom += ROW;
    }
    let axis_title_y = plot_bottom + 38.0;
    let told_apart = chart
        .bars
        .iter()
        .any(|b| b.reliability != Reliability::Plain);
    let whiskers = chart.bars.iter().any(|b| b.interval.is_some());
    let legend_y = axis_title_y + 26.0;
    let height = if told_apart || whiskers {
        legend_y + 14.0
    } else {
        axis_title_y + 12.0
    };
    let body = html! {
        // Grid and ticks.
        g.axis {
            @for (at, label) in ticks() {
                line.grid x1=(n(x_of(at))) x2=(n(x_of(at))) y1=(n(top0 - 4.0)) y2=(n(plot_bottom))
                    stroke=(COLOR_GRID) stroke-width="1" {}
                text.tick x=(n(x_of(at))) y=(n(plot_bottom + 17.0)) text-anchor="middle"
                    font-size="12" fill=(COLOR_MUTED) { (label) }
            }
            line x1=(n(PLOT_LEFT)) x2=(n(PLOT_LEFT)) y1=(n(top0 - 4.0)) y2=(n(plot_bottom))
                stroke=(COLOR_AXIS) stroke-width="1" {}
            line x1=(n(PLOT_LEFT)) x2=(n(PLOT_RIGHT)) y1=(n(plot_bottom)) y2=(n(plot_bottom))
                stroke=(COLOR_AXIS) stroke-width="1" {}
            text.axis-title x=(n((PLOT_LEFT + PLOT_RIGHT) / 2.0)) y=(n(axis_title_y))
                text-anchor="middle" font-weight="600" { (chart.value_axis) }
            text.axis-title x=(n(PLOT_LEFT - 10.0)) y=(n(top0 - 12.0)) text-anchor="end"
                font-weight="600" { (chart.category_axis) }
        }
        @for (i, bar) in chart.bars.iter().enumerate() {
            @let lines = &labels[i];
            @let top = tops[i];
            @let middle = top + row_height(lines.len()) / 2.0;
            @let said = bar_sentence(bar);
            @let row = html! {
                g.row {
                    title { (said) }
                    // The label's lines centred on the bar.
                    @let first = middle + 4.5 - LINE * (lines.len() - 1) as f64 / 2.0;
                    text.label x=(n(PLOT_LEFT - 8.0)) y=(n(first)) text-anchor="end" font-size="12" {
                        (label_lines(lines, PLOT_LEFT - 8.0))
                    }
                    @if let Some(value) = bar.value {
                        rect class=(bar.reliability.class()) x=(n(PLOT_LEFT)) y=(n(middle - BAR / 2.0))
                            width=(n((x_of(value) - PLOT_LEFT).max(MIN_BAR_WIDTH))) height=(n(BAR))
                            fill=(bar.reliability.color()) {}
                        @if let Some(ci) = bar.interval {
                            g.whisker stroke=(COLOR_WHISKER) stroke-width="1.5" {
                                line x1=(n(x_of(ci.low))) x2=(n(x_of(ci.high))) y1=(n(middle)) y2=(n(middle)) {}
                                line x1=(n(x_of(ci.low))) x2=(n(x_of(ci.low))) y1=(n(middle - 5.0)) y2=(n(middle + 5.0)) {}
                                line x1=(n(x_of(ci.high))) x2=(n(x_of(ci.high))) y1=(n(middle - 5.0)) y2=(n(middle + 5.0)) {}
                            }
                        }
                        text.value x=(n(PLOT_RIGHT + 8.0)) y=(n(middle + 4.5)) font-weight="600" {
                            (format_percent(value))
                        }
                    } @else {
                        text.missing x=(n(PLOT_LEFT + 6.0)) y=(n(middle + 4.5)) font-style="italic"
                            fill=(COLOR_MUTED) { (bar.missing) }
                    }
                }
            };
            @if let Some(link) = &bar.link {
                // Named by its visible text (the label and the value); the title says more.
                a.row-link href=(link) {
                    // A band the width of the chart, so that the whole row takes the click.
                    rect.hit x="0" y=(n(top)) width=(n(WIDTH)) height=(n(row_height(lines.len()))) fill="#ffffff" fill-opacity="0" {}
                    (row)
                }
            } @else {
                (row)
            }
        }
        @for (k, goal) in chart.targets.iter().take(goals).enumerate() {
            g class=(goal_class(goal)) {
                title { (goal.label) @if !goal.basis.is_empty() { " — " (goal.basis) } }
                line x1=(n(x_of(goal.index()))) x2=(n(x_of(goal.index()))) y1=(n(top0 - 6.0)) y2=(n(plot_bottom))
                    stroke=(TARGET_COLORS[k]) stroke-width="2" stroke-dasharray="6 4" {}
                text.target-label x=(n(x_of(goal.index()))) y=(n(14.0 + 16.0 * k as f64))
                    text-anchor="middle" font-size="12" font-weight="600" fill=(TARGET_COLORS[k]) {
                    (goal.label)
                }
            }
        }
        @if told_apart || whiskers {
            g.legend {
                @let (first, x) = if told_apart {
                    legend_swatch(LEGEND_LEFT, legend_y, COLOR_RELIABLE, "reliable", "Đủ mẫu")
                } else {
                    (html! {}, LEGEND_LEFT)
                };
                (first)
                @let (second, x) = if told_apart {
                    legend_swatch(x, legend_y, COLOR_UNRELIABLE, "unreliable",
                        "Chưa đủ mẫu (dưới 30 phiếu hoặc dưới chỉ tiêu)")
                } else {
                    (html! {}, x)
                };
                (second)
                @if whiskers {
                    g.legend-item {
                        line x1=(n(x)) x2=(n(x + 16.0)) y1=(n(legend_y - 4.0)) y2=(n(legend_y - 4.0))
                            stroke=(COLOR_WHISKER) stroke-width="1.5" {}
                        line x1=(n(x)) x2=(n(x)) y1=(n(legend_y - 9.0)) y2=(n(legend_y + 1.0))
                            stroke=(COLOR_WHISKER) stroke-width="1.5" {}
                        line x1=(n(x + 16.0)) x2=(n(x + 16.0)) y1=(n(legend_y - 9.0)) y2=(n(legend_y + 1.0))
                            stroke=(COLOR_WHISKER) stroke-width="1.5" {}
                        text x=(n(x + 22.0)) y=(n(legend_y)) font-size="12" { "Khoảng tin cậy 95%" }
                    }
                }
            }
        }
    };
    let linked = chart.bars.iter().any(|b| b.link.is_some());
    frame_as(
        if linked { "group" } else { "img" },
        &chart.id,
        &chart.title,
        &chart.desc,
        height,
        body,
    )
}

/// One row of a stacked bar chart: the shares of each level of a scale.
#[derive(Debug, Clone, PartialEq)]
pub struct StackedRow {
    /// Short label ("TC1").
    pub label: String,
    /// Full text (the criterion's question), in the row's title.
    pub title: String,
    /// Share of each level (0..=1), in the order of the chart's levels.
    pub shares: Vec<f64>,
    /// Valid answers behind the shares.
    pub n: u64,
    /// The index written at the end of the row.
    pub index: Option<f64>,
}

/// The distribution of answers over a scale, one stacked horizontal bar per row.
#[derive(Debug, Clone, PartialEq)]
pub struct StackedChart {
    pub id: String,
    pub title: String,
    pub desc: String,
    pub category_axis: String,
    pub value_axis: String,
    /// The scale's labels, in scale order (lowest first).
    pub levels: Vec<String>,
    pub rows: Vec<StackedRow>,
}

/// Fill and text colours of the levels of a scale of `count` levels: from red (lowest) through
/// grey to blue (highest).
pub fn level_colors(count: usize) -> Vec<(&'static str, &'static str)> {
    const RED_DARK: (&str, &str) = ("#b2182b", "#ffffff");
    const RED: (&str, &str) = ("#ef8a62", "#1a1a1a");
    const GREY: (&str, &str) = ("#d9d9d9", "#1a1a1a");
    const BLUE: (&str, &str) = ("#67a9cf", "#1a1a1a");
    const BLUE_DARK: (&str, &str) = ("#2166ac", "#ffffff");
    match count {
        0 => Vec::new(),
        1 => vec![BLUE_DARK],
        2 => vec![RED_DARK, BLUE_DARK],
        3 => vec![RED_DARK, BLUE, BLUE_DARK],
        4 => vec![RED_DARK, RED, BLUE, BLUE_DARK],
        5 => vec![RED_DARK, RED, GREY, BLUE, BLUE_DARK],
        _ => {
            let mut colors = vec![RED_DARK, RED];
            colors.extend(std::iter::repeat_n(GREY, count - 4));
            colors.extend([BLUE, BLUE_DARK]);
            colors
        }
    }
}

/// The drawn segments of a stacked row: (level, x, width, share), empty levels left out.
fn segments(shares: &[f64], plot_width: f64) -> Vec<(usize, f64, f64, f64)> {
    let mut start = STACK_LEFT;
    let mut out = Vec::new();
    for (k, share) in shares.iter().enumerate() {
        let width = share.clamp(0.0, 1.0) * plot_width;
        if width > 0.0 {
            out.push((k, start, width, *share));
        }
        start += width;
    }
    out
}

/// The x of a share (0..=1) on a stacked bar chart.
pub fn stack_x(share: f64) -> f64 {
    STACK_LEFT + share.clamp(0.0, 1.0) * (STACK_RIGHT - STACK_LEFT)
}

/// Stacked bars of shares, with the index of each row at its end and a legend of the levels.
pub fn stacked_chart(chart: &StackedChart) -> Markup {
    let top = 30.0;
    // Each row labelled with its words ("TC1. Cơ quan cung cấp thông tin..."), wrapped.
    let labels: Vec<Vec<String>> = chart
        .rows
        .iter()
        .map(|r| {
            let text = if r.title.is_empty() {
                r.label.clone()
            } else if r.label.is_empty() {
                r.title.clone()
            } else {
                format!("{}. {}", r.label, r.title)
            };
            wrap_lines(&text, STACK_LINE_CHARS, STACK_MAX_LINES)
        })
        .collect();
    let row_height = |lines: usize| ROW + LINE * lines.saturating_sub(1) as f64;
    let mut tops = Vec::with_capacity(labels.len());
    let mut plot_bottom = top;
    for lines in &labels {
        tops.push(plot_bottom);
        plot_bottom += row_height(lines.len());
    }
    if labels.is_empty() {
        plot_bottom += ROW;
    }
    let axis_title_y = plot_bottom + 38.0;
    let colors = level_colors(chart.levels.len());
    // The legend, wrapped over lines.
    let mut legend = Vec::new();
    let (mut x, mut line) = (LEGEND_LEFT, 0usize);
    for (k, level) in chart.levels.iter().enumerate() {
        let width = 20.0 + text_width(level, 12.0) + 22.0;
        if x + width > WIDTH && x > LEGEND_LEFT {
            x = LEGEND_LEFT;
            line += 1;
        }
        legend.push((k, x, line));
        x += width;
    }
    let legend_top = axis_title_y + 26.0;
    let height = legend_top + 18.0 * line as f64 + 14.0;
    let plot_width = STACK_RIGHT - STACK_LEFT;
    let body = html! {
        g.axis {
            @for (at, label) in ticks() {
                line.grid x1=(n(stack_x(at))) x2=(n(stack_x(at))) y1=(n(top - 4.0)) y2=(n(plot_bottom))
                    stroke=(COLOR_GRID) stroke-width="1" {}
                text.tick x=(n(stack_x(at))) y=(n(plot_bottom + 17.0)) text-anchor="middle"
                    font-size="12" fill=(COLOR_MUTED) { (label) }
            }
            text.axis-title x=(n((STACK_LEFT + STACK_RIGHT) / 2.0)) y=(n(axis_title_y))
                text-anchor="middle" font-weight="600" { (chart.value_axis) }
            text.axis-title x=(n(STACK_LEFT - 10.0)) y=(n(top - 12.0)) text-anchor="end"
                font-weight="600" { (chart.category_axis) }
            text.axis-title x=(n(STACK_RIGHT + 8.0)) y=(n(top - 12.0)) font-weight="600" { "Chỉ số" }
        }
        @for (i, row) in chart.rows.iter().enumerate() {
            @let lines = &labels[i];
            @let middle = tops[i] + row_height(lines.len()) / 2.0;
            @let first = middle + 4.5 - LINE * (lines.len() - 1) as f64 / 2.0;
            g.bar {
                title {
                    (row.label) ". " (row.title) " (" (row.n) " câu trả lời hợp lệ)"
                    @for (k, share) in row.shares.iter().enumerate() {
                        "; " (chart.levels.get(k).map(String::as_str).unwrap_or("")) ": " (format_percent(*share))
                    }
                }
                text.label x=(n(STACK_LEFT - 10.0)) y=(n(first)) text-anchor="end" font-size="12" {
                    (label_lines(lines, STACK_LEFT - 10.0))
                }
                @if row.n == 0 {
                    text.missing x=(n(STACK_LEFT + 6.0)) y=(n(middle + 4.5)) font-style="italic"
                        fill=(COLOR_MUTED) { "Chưa có câu trả lời hợp lệ" }
                } @else {
                    @for (k, start, width, share) in segments(&row.shares, plot_width) {
                        @let (fill, ink) = colors.get(k).copied().unwrap_or(("#999999", "#1a1a1a"));
                        rect class={ "segment level-" (k + 1) } x=(n(start)) y=(n(middle - BAR / 2.0))
                            width=(n(width)) height=(n(BAR)) fill=(fill) {}
                        @if width >= 34.0 {
                            text.share x=(n(start + width / 2.0)) y=(n(middle + 4.0))
                                text-anchor="middle" font-size="11" fill=(ink) {
                                (format!("{:.0}%", share * 100.0))
                            }
                        }
                    }
                    text.value x=(n(STACK_RIGHT + 8.0)) y=(n(middle + 4.5)) font-weight="600" {
                        @if let Some(index) = row.index { (format_percent(index)) } @else { "—" }
                    }
                }
            }
        }
        g.legend {
            @for (k, x, line) in &legend {
                @let (fill, _) = colors.get(*k).copied().unwrap_or(("#999999", "#1a1a1a"));
                @let (item, _) = legend_swatch(*x, legend_top + 18.0 * *line as f64, fill,
                    &format!("level-{}", k + 1), &chart.levels[*k]);
                (item)
            }
        }
    };
    frame(&chart.id, &chart.title, &chart.desc, height, body)
}

/// One column of a column chart (a period of a trend).
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// "T1/2026", "Quý I/2026".
    pub label: String,
    pub value: Option<f64>,
    /// Forms behind the value; `None`: withheld from the account (a filtered group too small
    /// to show).
    pub n: Option<u64>,
    pub reliability: Reliability,
}

/// Columns of indices over periods, with the number of forms under each and the targets.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnChart {
    pub id: String,
    pub title: String,
    pub desc: String,
    pub category_axis: String,
    pub value_axis: String,
    pub columns: Vec<Column>,
    /// The goals drawn as reference lines.
    pub targets: Vec<Goal>,
}

/// Column charts: the plot's frame (viewBox units).
pub const COLUMN_LEFT: f64 = 60.0;
pub const COLUMN_RIGHT: f64 = 610.0;
pub const COLUMN_TOP: f64 = 24.0;
pub const COLUMN_BOTTOM: f64 = 284.0;

/// The y of an index (0..=1) on a column chart.
pub fn y_of(index: f64) -> f64 {
    COLUMN_BOTTOM - index.clamp(0.0, 1.0) * (COLUMN_BOTTOM - COLUMN_TOP)
}

/// Columns of indices over periods (a trend).
pub fn column_chart(chart: &ColumnChart) -> Markup {
    let count = chart.columns.len().max(1) as f64;
    let slot = (COLUMN_RIGHT - COLUMN_LEFT) / count;
    let width = (slot * 0.6).min(56.0);
    // Values written across a column need about 52 units; narrower columns carry them upright.
    let narrow = slot < 56.0;
    let axis_title_y = COLUMN_BOTTOM + 58.0;
    let legend_y = axis_title_y + 26.0;
    let height = legend_y + 14.0;
    let told_apart = chart
        .columns
        .iter()
        .any(|c| c.reliability != Reliability::Plain);
    let body = html! {
        g.axis {
            @for (at, label) in ticks() {
                line.grid x1=(n(COLUMN_LEFT)) x2=(n(COLUMN_RIGHT)) y1=(n(y_of(at))) y2=(n(y_of(at)))
                    stroke=(COLOR_GRID) stroke-width="1" {}
                text.tick x=(n(COLUMN_LEFT - 8.0)) y=(n(y_of(at) + 4.0)) text-anchor="end"
                    font-size="12" fill=(COLOR_MUTED) { (label) }
            }
            line x1=(n(COLUMN_LEFT)) x2=(n(COLUMN_RIGHT)) y1=(n(COLUMN_BOTTOM)) y2=(n(COLUMN_BOTTOM))
                stroke=(COLOR_AXIS) stroke-width="1" {}
            text.axis-title x=(n((COLUMN_LEFT + COLUMN_RIGHT) / 2.0)) y=(n(axis_title_y))
                text-anchor="middle" font-weight="600" { (chart.category_axis) }
            text.axis-title x="16" y=(n((COLUMN_TOP + COLUMN_BOTTOM) / 2.0)) text-anchor="middle"
                font-weight="600" transform={ "rotate(-90 16 " (n((COLUMN_TOP + COLUMN_BOTTOM) / 2.0)) ")" } {
                (chart.value_axis)
            }
        }
        @for (k, goal) in chart.targets.iter().take(TARGET_COLORS.len()).enumerate() {
            g class=(goal_class(goal)) {
                title { (goal.label) @if !goal.basis.is_empty() { " — " (goal.basis) } }
                line x1=(n(COLUMN_LEFT)) x2=(n(COLUMN_RIGHT)) y1=(n(y_of(goal.index()))) y2=(n(y_of(goal.index())))
                    stroke=(TARGET_COLORS[k]) stroke-width="2" stroke-dasharray="6 4" {}
                text.target-label x=(n(COLUMN_RIGHT + 6.0)) y=(n(y_of(goal.index()) + 4.0))
                    font-size="12" font-weight="600" fill=(TARGET_COLORS[k]) { (goal.label) }
            }
        }
        @for (i, column) in chart.columns.iter().enumerate() {
            @let centre = COLUMN_LEFT + slot * (i as f64 + 0.5);
            g.column {
                title {
                    (column.label) ": "
                    @if let Some(value) = column.value { (format_percent(value)) }
                    @else if column.n.is_none() { "không hiển thị, nhóm quá nhỏ" }
                    @else { "chưa có phiếu" }
                    " (" (column.n.map_or_else(|| crate::small_cells::SUPPRESSED_SHARE.to_string(), |n| n.to_string())) " phiếu"
                    @if column.reliability == Reliability::Unreliable { ", chưa đủ mẫu" }
                    ")"
                }
                @if let Some(value) = column.value {
                    @let top = y_of(value).min(COLUMN_BOTTOM - MIN_BAR_WIDTH);
                    rect class=(column.reliability.class()) x=(n(centre - width / 2.0)) y=(n(top))
                        width=(n(width)) height=(n(COLUMN_BOTTOM - top)) fill=(column.reliability.color()) {}
                    @if narrow && COLUMN_BOTTOM - top >= 52.0 {
                        // Upright, inside the column, in white.
                        text.value x=(n(centre + 4.0)) y=(n(top + 5.0)) text-anchor="end" font-size="11"
                            font-weight="600" fill="#ffffff"
                            transform={ "rotate(-90 " (n(centre + 4.0)) " " (n(top + 5.0)) ")" } {
                            (format_percent(value))
                        }
                    } @else if narrow {
                        text.value x=(n(centre + 4.0)) y=(n(top - 4.0)) font-size="11" font-weight="600"
                            transform={ "rotate(-90 " (n(centre + 4.0)) " " (n(top - 4.0)) ")" } {
                            (format_percent(value))
                        }
                    } @else {
                        text.value x=(n(centre)) y=(n(top - 5.0)) text-anchor="middle" font-size="12"
                            font-weight="600" { (format_percent(value)) }
                    }
                } @else {
                    text.missing x=(n(centre)) y=(n(COLUMN_BOTTOM - 6.0)) text-anchor="middle"
                        font-size="12" fill=(COLOR_MUTED) { "—" }
                }
                text.label x=(n(centre)) y=(n(COLUMN_BOTTOM + 17.0)) text-anchor="middle" font-size="12" {
                    (column.label)
                }
                text.count x=(n(centre)) y=(n(COLUMN_BOTTOM + 33.0)) text-anchor="middle" font-size="11"
                    fill=(COLOR_MUTED) {
                    "n = " (column.n.map_or_else(|| crate::small_cells::SUPPRESSED_SHARE.to_string(), |n| n.to_string()))
                }
            }
        }
        @if told_apart {
            g.legend {
                @let (first, x) = legend_swatch(COLUMN_LEFT, legend_y, COLOR_RELIABLE, "reliable", "Đủ mẫu (từ 30 phiếu)");
                (first)
                @let (second, _) = legend_swatch(x, legend_y, COLOR_UNRELIABLE, "unreliable", "Chưa đủ mẫu (dưới 30 phiếu)");
                (second)
            }
        }
    };
    frame(&chart.id, &chart.title, &chart.desc, height, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(svg: &str, needle: &str) -> usize {
        svg.matches(needle).count()
    }

    /// The value of attribute `name` in the first tag containing `marker`.
    fn attr_after(svg: &str, marker: &str, name: &str) -> f64 {
        let start = svg.find(marker).unwrap_or_else(|| panic!("no {marker}"));
        let rest = &svg[start..];
        let key = format!("{name}=\"");
        let at = rest.find(&key).unwrap() + key.len();
        let end = rest[at..].find('"').unwrap() + at;
        rest[at..end].parse().unwrap()
    }

    fn bar(label: &str, value: Option<f64>, reliability: Reliability) -> Bar {
        Bar {
            label: label.into(),
            value,
            interval: value.map(|v| Interval {
                low: v - 0.05,
                high: (v + 0.05).min(1.0),
            }),
            reliability,
            missing: "Chưa có phiếu".into(),
            link: None,
        }
    }

    fn ranked() -> BarChart {
        BarChart {
            id: "xep-hang".into(),
            title: "Chỉ số SIPAS của các đơn vị".into(),
            desc: "Ba đơn vị, xếp theo chỉ số.".into(),
            category_axis: "Đơn vị".into(),
            value_axis: "Chỉ số hài lòng (%)".into(),
            bars: vec![
                bar("UBND xã Xuân Hiệp", Some(0.826_63), Reliability::Reliable),
                bar("Phòng Y tế & <Dân số>", Some(0.5), Reliability::Unreliable),
                bar("Thanh tra huyện", None, Reliability::Unreliable),
            ],
            targets: goals(),
        }
    }

    /// A plan's goals: the national 2025 level and one of the province's own.
    fn goals() -> Vec<Goal> {
        vec![
            Goal {
                label: "Mục tiêu 2025: 80%".into(),
                points: 8_000,
                basis: "NQ 76/NQ-CP".into(),
            },
            Goal {
                label: "Mục tiêu của tỉnh: 95%".into(),
                points: 9_500,
                basis: String::new(),
            },
        ]
    }

    #[test]
    fn the_ranked_chart_has_a_bar_label_and_whisker_per_unit_with_forms() {
        let svg = bar_chart(&ranked()).into_string();
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.contains("role=\"img\""));
        assert!(svg.contains("aria-labelledby=\"xep-hang-title xep-hang-desc\""));
        assert!(svg.contains("<title id=\"xep-hang-title\">Chỉ số SIPAS của các đơn vị</title>"));
        assert!(svg.contains("<desc id=\"xep-hang-desc\">"));
        assert!(svg.contains("width=\"100%\""));
        assert!(svg.contains("viewBox=\"0 0 760.0 "));
        assert_eq!(count(&svg, "class=\"bar reliable\""), 1);
        assert_eq!(count(&svg, "class=\"bar unreliable\""), 1);
        assert_eq!(count(&svg, "<g class=\"whisker\""), 2);
        assert_eq!(count(&svg, "<g class=\"row\""), 3);
        // Each bar labelled with its unit and its value; the unit without forms said so.
        assert!(svg.contains(">UBND xã Xuân Hiệp</text>"));
        assert!(svg.contains(">82,66%</text>"));
        assert!(svg.contains(">50,00%</text>"));
        assert!(svg.contains("Phòng Y tế &amp; &lt;Dân số&gt;"), "escaped");
        assert!(svg.contains("class=\"missing\""));
        assert!(svg.contains(">Chưa có phiếu</text>"));
        // Axes in Vietnamese, ticks 0%..100%.
        for tick in ["0%", "20%", "40%", "60%", "80%", "100%"] {
            assert!(svg.contains(&format!(">{tick}</text>")), "{tick}");
        }
        assert!(svg.contains(">Chỉ số hài lòng (%)</text>"));
        assert!(svg.contains(">Đơn vị</text>"));
        // Legend of reliability and of the whiskers.
        assert!(svg.contains(">Đủ mẫu</text>"));
        assert!(svg.contains("Chưa đủ mẫu (dưới 30 phiếu hoặc dưới chỉ tiêu)"));
        assert!(svg.contains(">Khoảng tin cậy 95%</text>"));
        // No inline style (forbidden by the Content-Security-Policy).
        assert!(!svg.contains(" style="));
    }

    #[test]
    fn bars_whiskers_and_targets_sit_at_their_values() {
        let svg = bar_chart(&ranked()).into_string();
        let plot = PLOT_RIGHT - PLOT_LEFT;
        // The first bar: from 0% to 82.663%.
        let width = attr_after(&svg, "class=\"bar reliable\"", "width");
        assert!((width - 0.826_63 * plot).abs() < 0.06, "{width}");
        assert_eq!(attr_after(&svg, "class=\"bar reliable\"", "x"), PLOT_LEFT);
        // Its whisker from 77.663% to 87.663%.
        let low = attr_after(&svg, "<g class=\"whisker\"", "x1");
        let high = attr_after(&svg, "<g class=\"whisker\"", "x2");
        assert!((low - x_of(0.776_63)).abs() < 0.06, "{low}");
        assert!((high - x_of(0.876_63)).abs() < 0.06, "{high}");
        // The targets at 80% and 95% of the axis, labelled.
        let at80 = attr_after(&svg, "class=\"target target-80\"", "x1");
        let at95 = attr_after(&svg, "class=\"target target-95\"", "x1");
        assert!((at80 - (PLOT_LEFT + 0.80 * plot)).abs() < 0.06, "{at80}");
        assert!((at95 - (PLOT_LEFT + 0.95 * plot)).abs() < 0.06, "{at95}");
        assert!(svg.contains(">Mục tiêu 2025: 80%</text>"));
        assert!(svg.contains(">Mục tiêu của tỉnh: 95%</text>"));
        // The goal's basis in its line's title (a tooltip).
        assert!(svg.contains("<title>Mục tiêu 2025: 80% — NQ 76/NQ-CP</title>"));
        // Four goals: each drawn with its label, the rows pushed down to make room.
        let mut four = ranked();
        four.targets.push(Goal {
            label: "Mục tiêu A: 82,5%".into(),
            points: 8_250,
            basis: String::new(),
        });
        four.targets.push(Goal {
            label: "Mục tiêu B: 70%".into(),
            points: 7_000,
            basis: String::new(),
        });
        let svg4 = bar_chart(&four).into_string();
        assert_eq!(count(&svg4, "class=\"target-label\""), 4);
        let at825 = attr_after(&svg4, "class=\"target target-82-5\"", "x1");
        assert!((at825 - (PLOT_LEFT + 0.825 * plot)).abs() < 0.06, "{at825}");
        let first_row = |svg: &str| attr_after(svg, "class=\"bar reliable\"", "y");
        assert!(first_row(&svg4) >= first_row(&svg) + 32.0 - 0.06);
        // A 0% index still shows a visible bar.
        let mut zero = ranked();
        zero.bars = vec![bar("Không ai hài lòng", Some(0.0), Reliability::Reliable)];
        let svg = bar_chart(&zero).into_string();
        assert_eq!(
            attr_after(&svg, "class=\"bar reliable\"", "width"),
            MIN_BAR_WIDTH
        );
    }

    #[test]
    fn a_plain_profile_has_no_reliability_legend_and_long_names_are_cut() {
        let chart = BarChart {
            id: "yeu-to".into(),
            title: "Chỉ số theo yếu tố".into(),
            desc: "Bốn yếu tố.".into(),
            category_axis: "Yếu tố".into(),
            value_axis: "Chỉ số hài lòng (%)".into(),
            bars: vec![Bar {
                label: "Một tên rất dài ".repeat(10),
                value: Some(0.9),
                interval: None,
                reliability: Reliability::Plain,
                missing: String::new(),
                link: None,
            }],
            targets: vec![],
        };
        let svg = bar_chart(&chart).into_string();
        assert_eq!(count(&svg, "class=\"bar\""), 1);
        assert!(!svg.contains("target"));
        assert!(!svg.contains("legend"));
        // Wrapped onto three lines, the third cut.
        assert_eq!(count(&svg, "<tspan"), MAX_LABEL_LINES);
        assert!(svg.contains("…</tspan>"));
        assert!(svg.contains(">90,00%</text>"));
    }

    #[test]
    fn names_wrap_at_words_and_are_whole_when_they_fit_on_three_lines() {
        let name = "Bộ phận Tiếp nhận và Trả kết quả thị trấn Gia Ray";
        let lines = wrap_lines(name, LABEL_LINE_CHARS, MAX_LABEL_LINES);
        assert_eq!(
            lines,
            ["Bộ phận Tiếp nhận và Trả", "kết quả thị trấn Gia Ray"]
        );
        assert_eq!(lines.join(" "), name);
        for line in &lines {
            assert!(line.chars().count() <= LABEL_LINE_CHARS);
        }
        assert_eq!(wrap_lines("UBND xã A", 34, 3), ["UBND xã A"]);
        assert_eq!(wrap_lines("", 34, 3), [""]);
        let cut = wrap_lines(&"abc ".repeat(20), 8, 2);
        assert_eq!(cut, ["abc abc", "abc abc…"]);
        let long_word = wrap_lines(&"x".repeat(20), 8, 2);
        assert_eq!(long_word, ["xxxxxxx…"]);
    }

    #[test]
    fn linked_bars_are_links_named_by_their_label_and_value() {
        let mut chart = ranked();
        for (i, bar) in chart.bars.iter_mut().enumerate() {
            bar.link = Some(format!("/staff/stats/units/{i}?year=2026&form=f"));
        }
        chart.bars[0].label = "Phòng Lao động - Thương binh và Xã hội".into();
        let svg = bar_chart(&chart).into_string();
        assert_eq!(
            count(&svg, "<a class=\"row-link\" href=\"/staff/stats/units/"),
            3
        );
        assert!(svg.contains("href=\"/staff/stats/units/0?year=2026&amp;form=f\""));
        // A chart of links is a group (an img holds nothing focusable); each link is named by
        // its visible text, its title saying more.
        assert!(svg.contains("role=\"group\""));
        assert!(!svg.contains("aria-label="));
        assert!(svg.contains(
            "<title>Phòng Lao động - Thương binh và Xã hội: 82,66% (khoảng tin cậy 95%: 77,66% – 87,66%)</title>"
        ));
        // The whole name, on two lines.
        assert!(svg.contains(">Phòng Lao động -</tspan>"), "{svg}");
        assert!(svg.contains(">Thương binh và Xã hội</tspan>"));
        assert!(!svg.contains('…'));
        // Without links, no `<a>`, and an img.
        let plain = bar_chart(&ranked()).into_string();
        assert!(!plain.contains("<a ") && plain.contains("role=\"img\""));
    }

    #[test]
    fn stacked_bars_split_each_row_by_level() {
        let chart = StackedChart {
            id: "phan-bo".into(),
            title: "Phân bố câu trả lời".into(),
            desc: "Hai tiêu chí.".into(),
            category_axis: "Tiêu chí".into(),
            value_axis: "Tỉ lệ câu trả lời hợp lệ (%)".into(),
            levels: [
                "Rất không hài lòng",
                "Không hài lòng",
                "Bình thường",
                "Hài lòng",
                "Rất hài lòng",
            ]
            .map(String::from)
            .to_vec(),
            rows: vec![
                StackedRow {
                    label: "TC1".into(),
                    title: "Nơi tiếp nhận".into(),
                    shares: vec![0.05, 0.1, 0.15, 0.4, 0.3],
                    n: 200,
                    index: Some(0.7),
                },
                StackedRow {
                    label: "TC2".into(),
                    title: "Hướng dẫn".into(),
                    shares: vec![0.0; 5],
                    n: 0,
                    index: None,
                },
            ],
        };
        let svg = stacked_chart(&chart).into_string();
        assert_eq!(count(&svg, "<g class=\"bar\""), 2);
        assert_eq!(count(&svg, "class=\"segment level-"), 5);
        // The segments follow each other: level 4 starts where level 3 ends.
        let x4 = attr_after(&svg, "class=\"segment level-4\"", "x");
        assert!((x4 - stack_x(0.30)).abs() < 0.06, "{x4}");
        assert!(svg.contains(">40%</text>"));
        assert!(svg.contains(">70,00%</text>"));
        assert!(svg.contains(">Chưa có câu trả lời hợp lệ</text>"));
        for level in &chart.levels {
            assert!(svg.contains(&format!(">{level}</text>")), "legend {level}");
        }
        assert!(svg.contains("aria-labelledby=\"phan-bo-title phan-bo-desc\""));
        // Rows labelled with their words, the code first.
        assert!(svg.contains(">TC1. Nơi tiếp nhận</text>"));
        assert!(svg.contains(">TC2. Hướng dẫn</text>"));
    }

    #[test]
    fn trend_columns_carry_value_and_count() {
        let chart = ColumnChart {
            id: "xu-huong".into(),
            title: "Chỉ số theo tháng".into(),
            desc: "Ba tháng.".into(),
            category_axis: "Tháng".into(),
            value_axis: "Chỉ số hài lòng (%)".into(),
            columns: vec![
                Column {
                    label: "T1/2026".into(),
                    value: Some(0.8),
                    n: Some(40),
                    reliability: Reliability::Reliable,
                },
                Column {
                    label: "T2/2026".into(),
                    value: None,
                    n: Some(0),
                    reliability: Reliability::Unreliable,
                },
                Column {
                    label: "T3/2026".into(),
                    value: Some(0.95),
                    n: Some(12),
                    reliability: Reliability::Unreliable,
                },
            ],
            targets: goals(),
        };
        let svg = column_chart(&chart).into_string();
        assert_eq!(count(&svg, "class=\"bar reliable\""), 1);
        assert_eq!(count(&svg, "class=\"bar unreliable\""), 1);
        assert!(svg.contains(">80,00%</text>"));
        assert!(svg.contains(">n = 40</text>"));
        assert!(svg.contains(">T2/2026</text>"));
        let top = attr_after(&svg, "class=\"bar reliable\"", "y");
        assert!((top - y_of(0.8)).abs() < 0.06);
        let at95 = attr_after(&svg, "class=\"target target-95\"", "y1");
        assert!((at95 - y_of(0.95)).abs() < 0.06);
        assert!(svg.contains(">Tháng</text>"));
        assert!(svg.contains(">100%</text>"));
    }
}
