//! A reorganisation act (issue 19): merge several units into a new or an existing one, split one
//! into several, rename one, move one under another parent. The rules are pure: [`plan`] takes
//! the act as the admin entered it and the rows it touches ([`World`], loaded by the caller) and
//! gives either the refusals (Vietnamese, by field) or everything the act will do
//! ([`ActPlan`]). The preview shows that plan; applying executes the same plan, computed again
//! under the unit tree's lock, so what is previewed is what is applied.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Serialize;

use super::fields::FieldErrors;
use super::tree::{self, TreeNode};

/// The kinds of act (the `reorganisations.kind` values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ActKind {
    Merge,
    Split,
    Rename,
    Move,
}

impl ActKind {
    pub const ALL: [ActKind; 4] = [
        ActKind::Merge,
        ActKind::Split,
        ActKind::Rename,
        ActKind::Move,
    ];

    pub fn parse(text: &str) -> Option<ActKind> {
        ActKind::ALL.into_iter().find(|k| k.as_str() == text)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ActKind::Merge => "merge",
            ActKind::Split => "split",
            ActKind::Rename => "rename",
            ActKind::Move => "move",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ActKind::Merge => "Sáp nhập",
            ActKind::Split => "Chia tách",
            ActKind::Rename => "Đổi tên",
            ActKind::Move => "Chuyển đơn vị cấp trên",
        }
    }
}

/// A unit as the rules need it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnitInfo {
    pub id: i32,
    pub parent_id: Option<i32>,
    pub code: String,
    pub name: String,
    pub admin_code: Option<String>,
    pub valid_from: Option<NaiveDate>,
    pub valid_until: Option<NaiveDate>,
    pub active: bool,
}

impl UnitInfo {
    /// Whether the unit still exists (no act ended it).
    pub fn current(&self) -> bool {
        self.valid_until.is_none()
    }
}

impl TreeNode for UnitInfo {
    fn id(&self) -> i32 {
        self.id
    }
    fn parent_id(&self) -> Option<i32> {
        self.parent_id
    }
    fn active(&self) -> bool {
        self.active
    }
}

/// An active desk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeskInfo {
    pub id: i32,
    pub unit_id: i32,
    pub name: String,
}

/// A unit's target in one plan period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TargetInfo {
    pub plan_id: i32,
    pub plan_title: String,
    pub period_id: i32,
    pub period_name: String,
    pub starts_on: NaiveDate,
    /// The last day of the period (inclusive).
    pub ends_on: NaiveDate,
    pub unit_id: i32,
    pub target: i32,
    pub expected_dossiers: Option<i32>,
}

/// The rows an act may touch: every unit, the active desks, the accounts' units and the plan
/// targets.
#[derive(Debug, Clone, Default)]
pub struct World {
    pub units: Vec<UnitInfo>,
    pub desks: Vec<DeskInfo>,
    /// (account id, unit id)
    pub account_units: Vec<(i32, i32)>,
    /// (account id, display name) of the accounts in `account_units`.
    pub account_names: Vec<(i32, String)>,
    pub targets: Vec<TargetInfo>,
}

impl World {
    pub fn unit(&self, id: i32) -> Option<&UnitInfo> {
        self.units.iter().find(|u| u.id == id)
    }

    /// The account's display name, or "#id".
    pub fn account_name(&self, id: i32) -> String {
        self.account_names
            .iter()
            .find(|(a, _)| *a == id)
            .map_or_else(|| format!("#{id}"), |(_, n)| n.clone())
    }

    /// The desk's name, or "#id".
    pub fn desk_name(&self, id: i32) -> String {
        self.desks
            .iter()
            .find(|d| d.id == id)
            .map_or_else(|| format!("#{id}"), |d| d.name.clone())
    }

    /// The unit's name, or "#id" for an unknown one.
    pub fn unit_name(&self, id: i32) -> String {
        self.unit(id)
            .map_or_else(|| format!("#{id}"), |u| u.name.clone())
    }
}

/// A unit created by the act (its code and name already checked for form by the caller).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewUnitSpec {
    pub code: String,
    pub name: String,
    pub kind: String,
    pub admin_code: Option<String>,
    pub parent_id: Option<i32>,
}

/// Where a predecessor's responses, desks and targets go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum SuccessorSpec {
    New(NewUnitSpec),
    Existing(i32),
}

/// What becomes of an active desk of an ending unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum DeskFate {
    /// To the successor of this index (0 for a merge's only successor).
    To(usize),
    Close,
}

/// The act as the admin entered it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Act {
    pub title: String,
    pub legal_basis: String,
    pub effective_date: NaiveDate,
    pub spec: ActSpec,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActSpec {
    Merge {
        predecessors: Vec<i32>,
        successor: SuccessorSpec,
        /// Desks not named here move to the successor.
        desks: BTreeMap<i32, DeskFate>,
    },
    Split {
        predecessor: i32,
        /// Each successor with its share in hundredths of a percent (all or none given).
        successors: Vec<(SuccessorSpec, Option<i32>)>,
        /// Desks not named here go to the first successor.
        desks: BTreeMap<i32, DeskFate>,
    },
    Rename {
        unit_id: i32,
        name: String,
    },
    Move {
        unit_id: i32,
        parent_id: Option<i32>,
    },
}

impl ActSpec {
    pub fn kind(&self) -> ActKind {
        match self {
            ActSpec::Merge { .. } => ActKind::Merge,
            ActSpec::Split { .. } => ActKind::Split,
            ActSpec::Rename { .. } => ActKind::Rename,
            ActSpec::Move { .. } => ActKind::Move,
        }
    }
}

/// A unit the plan names: an existing one, or the `i`-th unit it creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum UnitRef {
    Existing(i32),
    New(usize),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LineageRow {
    pub predecessor_id: i32,
    pub successor: UnitRef,
    pub share_points: Option<i32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeskMove {
    pub desk_id: i32,
    pub from_unit_id: i32,
    pub to: UnitRef,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChildMove {
    pub unit_id: i32,
    pub from_parent_id: i32,
    pub to: UnitRef,
}

/// A plan period's targets after the act: the predecessors' rows removed, the successors'
/// rows set to these values (a successor's own earlier target included).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TargetChange {
    pub period_id: i32,
    /// (unit id, target, expected dossiers) of the removed rows.
    pub removed: Vec<(i32, i32, Option<i32>)>,
    /// (unit, target, expected dossiers) written.
    pub set: Vec<(UnitRef, i32, Option<i32>)>,
}

/// Everything an act does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActPlan {
    pub kind: ActKind,
    pub title: String,
    pub legal_basis: String,
    pub effective_date: NaiveDate,
    pub new_units: Vec<NewUnitSpec>,
    /// Units that end (valid until the effective date, inactive).
    pub ended: Vec<i32>,
    pub lineage: Vec<LineageRow>,
    pub desk_moves: Vec<DeskMove>,
    /// (desk id, its unit) of the desks closed.
    pub desk_closures: Vec<(i32, i32)>,
    /// (account id, unit) of the accounts' new units.
    pub account_links: Vec<(i32, UnitRef)>,
    pub child_moves: Vec<ChildMove>,
    pub target_changes: Vec<TargetChange>,
    /// (unit id, from, to)
    pub rename: Option<(i32, String, String)>,
    /// (unit id, from parent, to parent)
    pub moved: Option<(i32, Option<i32>, Option<i32>)>,
    /// What the admin should know (periods spanning the act, targets left to the admin).
    pub warnings: Vec<String>,
}

impl ActPlan {
    /// What the act did, for `reorganisations.details` and the audit entry, once the new units
    /// have their ids (`new_ids[i]` for `UnitRef::New(i)`).
    pub fn details(&self, new_ids: &[i32]) -> serde_json::Value {
        use serde_json::json;
        let id = |r: UnitRef| match r {
            UnitRef::Existing(id) => id,
            UnitRef::New(i) => new_ids.get(i).copied().unwrap_or(0),
        };
        if let Some((unit, from, to)) = &self.rename {
            return json!({ "unit_id": unit, "from": from, "to": to });
        }
        if let Some((unit, from, to)) = &self.moved {
            return json!({ "unit_id": unit, "from_parent_id": from, "to_parent_id": to });
        }
        json!({
            "ended_unit_ids": self.ended,
            "new_units": self.new_units.iter().enumerate().map(|(i, n)| json!({
                "unit_id": new_ids.get(i), "code": n.code, "name": n.name, "kind": n.kind,
                "admin_code": n.admin_code, "parent_id": n.parent_id,
            })).collect::<Vec<_>>(),
            "lineage": self.lineage.iter().map(|l| json!({
                "predecessor_id": l.predecessor_id, "successor_id": id(l.successor),
                "share_points": l.share_points,
            })).collect::<Vec<_>>(),
            "desks": self.desk_moves.iter().map(|m| json!({
                "desk_id": m.desk_id, "from_unit_id": m.from_unit_id, "to_unit_id": id(m.to),
            })).collect::<Vec<_>>(),
            "closed_desks": self.desk_closures.iter().map(|(desk, unit)| json!({
                "desk_id": desk, "unit_id": unit,
            })).collect::<Vec<_>>(),
            "accounts": self.account_links.iter().map(|(account, unit)| json!({
                "account_id": account, "unit_id": id(*unit),
            })).collect::<Vec<_>>(),
            "child_units": self.child_moves.iter().map(|m| json!({
                "unit_id": m.unit_id, "from_parent_id": m.from_parent_id, "to_parent_id": id(m.to),
            })).collect::<Vec<_>>(),
            "targets": self.target_changes.iter().map(|c| json!({
                "period_id": c.period_id,
                "removed": c.removed.iter().map(|(u, t, e)| json!({
                    "unit_id": u, "target": t, "expected_dossiers": e,
                })).collect::<Vec<_>>(),
                "set": c.set.iter().map(|(u, t, e)| json!({
                    "unit_id": id(*u), "target": t, "expected_dossiers": e,
                })).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "warnings": self.warnings,
        })
    }
}

/// Longest title or legal basis, in characters (the table's CHECK).
pub const MAX_TEXT_CHARS: usize = 300;

/// Whether `code` is an official administrative unit code: 2, 3 or 5 digits.
pub fn is_valid_admin_code(code: &str) -> bool {
    matches!(code.len(), 2 | 3 | 5) && code.bytes().all(|b| b.is_ascii_digit())
}

/// "01/07/2025"
pub fn date_text(date: NaiveDate) -> String {
    super::format::format_date(date)
}

/// "33,33%" for 3333 hundredths of a percent.
pub fn share_text(points: i32) -> String {
    let whole = points / 100;
    let rest = points % 100;
    if rest == 0 {
        format!("{whole}%")
    } else if rest % 10 == 0 {
        format!("{whole},{}%", rest / 10)
    } else {
        format!("{whole},{rest:02}%")
    }
}

/// Parses a share typed as a percent ("25", "33,33", "12.5") into hundredths of a percent;
/// `None` for anything else (more than two decimals, a sign, letters).
pub fn parse_share(text: &str) -> Option<i32> {
    let text = text.trim().replace(',', ".");
    let (whole, frac) = match text.split_once('.') {
        Some((w, f)) => (w.to_string(), f.to_string()),
        None => (text.clone(), String::new()),
    };
    if whole.is_empty()
        || whole.len() > 3
        || frac.len() > 2
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let whole: i32 = whole.parse().ok()?;
    let frac: i32 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<2}").parse().ok()?
    };
    Some(whole * 100 + frac)
}

/// `total` divided by `shares` (hundredths of a percent summing to 10000) in whole numbers that
/// add up to `total`: each gets the floor of its part, the rest goes one by one to the largest
/// remainders (the earlier successor first on a tie).
pub fn divide(total: i32, shares: &[i32]) -> Vec<i32> {
    let total = i64::from(total);
    let mut parts: Vec<i64> = shares
        .iter()
        .map(|s| total * i64::from(*s) / 10000)
        .collect();
    let mut order: Vec<usize> = (0..shares.len()).collect();
    order.sort_by_key(|&i| (std::cmp::Reverse(total * i64::from(shares[i]) % 10000), i));
    let mut left = total - parts.iter().sum::<i64>();
    for i in order.into_iter().cycle().take(shares.len() * 2) {
        if left <= 0 {
            break;
        }
        parts[i] += 1;
        left -= 1;
    }
    parts
        .into_iter()
        .map(|p| i32::try_from(p).unwrap_or(i32::MAX))
        .collect()
}

fn check_text(value: &str, field: &'static str, empty: &str, errors: &mut FieldErrors) {
    let n = value.trim().chars().count();
    if n == 0 {
        errors.insert(field, empty.to_string());
    } else if n > MAX_TEXT_CHARS {
        errors.insert(
            field,
            format!("Không được dài quá {MAX_TEXT_CHARS} ký tự (hiện có {n} ký tự)."),
        );
    }
}

/// The plan of `act` over `world`, or why it is refused (nothing may be stored then).
pub fn plan(act: &Act, world: &World) -> Result<ActPlan, FieldErrors> {
    let mut errors = FieldErrors::new();
    check_text(
        &act.title,
        "title",
        "Vui lòng nhập tên văn bản (ví dụ: Nghị quyết về việc sắp xếp đơn vị hành chính cấp xã).",
        &mut errors,
    );
    check_text(
        &act.legal_basis,
        "legal_basis",
        "Vui lòng nhập căn cứ pháp lý (số, ký hiệu văn bản).",
        &mut errors,
    );
    let mut out = ActPlan {
        kind: act.spec.kind(),
        title: act.title.trim().to_string(),
        legal_basis: act.legal_basis.trim().to_string(),
        effective_date: act.effective_date,
        new_units: Vec::new(),
        ended: Vec::new(),
        lineage: Vec::new(),
        desk_moves: Vec::new(),
        desk_closures: Vec::new(),
        account_links: Vec::new(),
        child_moves: Vec::new(),
        target_changes: Vec::new(),
        rename: None,
        moved: None,
        warnings: Vec::new(),
    };
    let d = act.effective_date;
    match &act.spec {
        ActSpec::Merge {
            predecessors,
            successor,
            desks,
        } => {
            let preds = check_predecessors(predecessors, d, world, &mut errors);
            let existing_count = usize::from(matches!(successor, SuccessorSpec::Existing(_)));
            if predecessors.len() + existing_count < 2 {
                errors.entry("predecessors").or_insert_with(|| {
                    "Vui lòng chọn ít nhất hai đơn vị để sáp nhập (hoặc một đơn vị sáp nhập vào \
                     một đơn vị đang có)."
                        .to_string()
                });
            }
            let to = check_successor(successor, 0, predecessors, d, world, &mut out, &mut errors);
            if !errors.is_empty() {
                return Err(errors);
            }
            let to = to.expect("checked");
            for p in &preds {
                end_unit(p, &[(to, None)], desks, world, &mut out);
            }
            move_targets(predecessors, &[(to, None)], d, world, &mut out);
        }
        ActSpec::Split {
            predecessor,
            successors,
            desks,
        } => {
            let preds = check_predecessors(&[*predecessor], d, world, &mut errors);
            if successors.len() < 2 {
                errors.insert(
                    "successors",
                    "Vui lòng nhập ít nhất hai đơn vị kế thừa khi chia tách.".to_string(),
                );
            }
            let given: Vec<i32> = successors.iter().filter_map(|(_, s)| *s).collect();
            if !given.is_empty() {
                if given.len() != successors.len() {
                    errors.insert(
                        "shares",
                        "Vui lòng nhập tỷ lệ cho tất cả các đơn vị kế thừa, hoặc để trống tất cả."
                            .to_string(),
                    );
                } else if given.iter().any(|s| *s <= 0) {
                    errors.insert("shares", "Mỗi tỷ lệ phải lớn hơn 0%.".to_string());
                } else if given.iter().sum::<i32>() != 10000 {
                    errors.insert(
                        "shares",
                        format!(
                            "Tổng các tỷ lệ phải bằng 100% (hiện là {}).",
                            share_text(given.iter().sum())
                        ),
                    );
                }
            }
            let mut refs = Vec::new();
            let mut seen = Vec::new();
            for (i, (s, share)) in successors.iter().enumerate() {
                if let SuccessorSpec::Existing(id) = s {
                    if seen.contains(id) {
                        errors.insert(
                            "successors",
                            format!(
                                "Đơn vị «{}» được chọn hai lần làm đơn vị kế thừa.",
                                world.unit_name(*id)
                            ),
                        );
                    }
                    seen.push(*id);
                }
                if let Some(r) =
                    check_successor(s, i, &[*predecessor], d, world, &mut out, &mut errors)
                {
                    refs.push((r, *share));
                }
            }
            if !errors.is_empty() {
                return Err(errors);
            }
            for p in &preds {
                end_unit(p, &refs, desks, world, &mut out);
            }
            move_targets(&[*predecessor], &refs, d, world, &mut out);
        }
        ActSpec::Rename { unit_id, name } => {
            let unit = check_current(*unit_id, d, false, "unit", world, &mut errors);
            let name = name.trim();
            if name.is_empty() {
                errors.insert("name", "Vui lòng nhập tên mới của đơn vị.".to_string());
            } else if let Some(u) = unit
                && u.name == name
            {
                errors.insert(
                    "name",
                    "Tên mới trùng với tên hiện tại của đơn vị.".to_string(),
                );
            }
            if !errors.is_empty() {
                return Err(errors);
            }
            let u = unit.expect("checked");
            out.rename = Some((u.id, u.name.clone(), name.to_string()));
        }
        ActSpec::Move { unit_id, parent_id } => {
            let unit = check_current(*unit_id, d, false, "unit", world, &mut errors);
            if let Some(parent) = parent_id {
                match world.unit(*parent) {
                    None => {
                        errors.insert(
                            "parent",
                            "Đơn vị cấp trên không tồn tại. Vui lòng chọn trong danh sách."
                                .to_string(),
                        );
                    }
                    Some(p) if !p.current() => {
                        errors.insert(
                            "parent",
                            format!(
                                "Đơn vị «{}» đã kết thúc, không thể là đơn vị cấp trên.",
                                p.name
                            ),
                        );
                    }
                    Some(_) => {
                        if tree::subtree(&world.units, *unit_id).contains(parent) {
                            errors.insert(
                                "parent",
                                "Không thể chuyển đơn vị vào chính nó hoặc vào một đơn vị trực \
                                 thuộc của nó."
                                    .to_string(),
                            );
                        }
                    }
                }
            }
            if let Some(u) = unit
                && u.parent_id == *parent_id
                && !errors.contains_key("parent")
            {
                errors.insert(
                    "parent",
                    "Đơn vị đã ở dưới đơn vị cấp trên này.".to_string(),
                );
            }
            if !errors.is_empty() {
                return Err(errors);
            }
            let u = unit.expect("checked");
            out.moved = Some((u.id, u.parent_id, *parent_id));
        }
    }
    Ok(out)
}

/// A current unit `id` whose history the effective date does not precede (`ends`: the act ends
/// it, so the date must be after its first day).
fn check_current<'w>(
    id: i32,
    d: NaiveDate,
    ends: bool,
    field: &'static str,
    world: &'w World,
    errors: &mut FieldErrors,
) -> Option<&'w UnitInfo> {
    let Some(unit) = world.unit(id) else {
        errors.insert(
            field,
            "Đơn vị không tồn tại. Vui lòng chọn trong danh sách.".to_string(),
        );
        return None;
    };
    if let Some(until) = unit.valid_until {
        errors.insert(
            field,
            format!(
                "Đơn vị «{}» đã kết thúc từ ngày {}.",
                unit.name,
                date_text(until)
            ),
        );
        return None;
    }
    if let Some(from) = unit.valid_from
        && (d < from || (ends && d == from))
    {
        errors.insert(
            "effective_date",
            format!(
                "Ngày hiệu lực phải sau ngày đơn vị «{}» được thành lập ({}).",
                unit.name,
                date_text(from)
            ),
        );
    }
    Some(unit)
}

fn check_predecessors<'w>(
    ids: &[i32],
    d: NaiveDate,
    world: &'w World,
    errors: &mut FieldErrors,
) -> Vec<&'w UnitInfo> {
    let mut out: Vec<&UnitInfo> = Vec::new();
    for id in ids {
        if out.iter().any(|u| u.id == *id) {
            errors.insert(
                "predecessors",
                format!("Đơn vị «{}» được chọn hai lần.", world.unit_name(*id)),
            );
            continue;
        }
        if let Some(u) = check_current(*id, d, true, "predecessors", world, errors) {
            out.push(u);
        }
    }
    out
}

/// Checks the successor of index `i` (for a new one: its code and official code free, its
/// parent a current unit outside the predecessors' subtrees) and records a new one in `out`.
#[allow(clippy::too_many_arguments)]
fn check_successor(
    s: &SuccessorSpec,
    i: usize,
    predecessors: &[i32],
    d: NaiveDate,
    world: &World,
    out: &mut ActPlan,
    errors: &mut FieldErrors,
) -> Option<UnitRef> {
    let under_predecessor: Vec<i32> = predecessors
        .iter()
        .flat_map(|p| tree::subtree(&world.units, *p))
        .collect();
    match s {
        SuccessorSpec::Existing(id) => {
            if predecessors.contains(id) {
                let name = world.unit_name(*id);
                errors.insert(
                    "successors",
                    format!("Không thể sáp nhập đơn vị «{name}» vào chính nó."),
                );
                return None;
            }
            check_current(*id, d, false, "successors", world, errors)?;
            if under_predecessor.contains(id) {
                errors.insert(
                    "successors",
                    format!(
                        "Đơn vị kế thừa «{}» trực thuộc một đơn vị bị sắp xếp; vui lòng chọn \
                         đơn vị khác.",
                        world.unit_name(*id)
                    ),
                );
                return None;
            }
            Some(UnitRef::Existing(*id))
        }
        SuccessorSpec::New(new) => {
            let code = new.code.trim();
            if world.units.iter().any(|u| u.code == code)
                || out.new_units.iter().any(|n| n.code == code)
            {
                errors.insert(
                    "code",
                    format!("Mã đơn vị «{code}» đã được dùng cho một đơn vị khác."),
                );
            }
            if new.name.trim().is_empty() {
                errors.insert("name", "Vui lòng nhập tên đơn vị mới.".to_string());
            }
            if let Some(admin) = &new.admin_code {
                if !is_valid_admin_code(admin) {
                    errors.insert(
                        "admin_code",
                        "Mã đơn vị hành chính gồm 2, 3 hoặc 5 chữ số.".to_string(),
                    );
                } else if let Some(holder) = world.units.iter().find(|u| {
                    u.current()
                        && u.admin_code.as_deref() == Some(admin)
                        && !predecessors.contains(&u.id)
                }) {
                    errors.insert(
                        "admin_code",
                        format!(
                            "Mã đơn vị hành chính {admin} đang là mã của đơn vị «{}».",
                            holder.name
                        ),
                    );
                } else if out
                    .new_units
                    .iter()
                    .any(|n| n.admin_code.as_deref() == Some(admin))
                {
                    errors.insert(
                        "admin_code",
                        format!("Mã đơn vị hành chính {admin} được nhập hai lần."),
                    );
                }
            }
            if let Some(parent) = new.parent_id {
                match world.unit(parent) {
                    Some(p) if p.current() && !under_predecessor.contains(&parent) => {}
                    Some(p) if p.current() => {
                        errors.insert(
                            "parent",
                            format!(
                                "Đơn vị cấp trên «{}» là hoặc trực thuộc một đơn vị bị sắp xếp.",
                                p.name
                            ),
                        );
                    }
                    _ => {
                        errors.insert(
                            "parent",
                            "Đơn vị cấp trên không tồn tại hoặc đã kết thúc.".to_string(),
                        );
                    }
                }
            }
            let _ = i;
            out.new_units.push(NewUnitSpec {
                code: code.to_string(),
                name: new.name.trim().to_string(),
                kind: new.kind.clone(),
                admin_code: new.admin_code.clone(),
                parent_id: new.parent_id,
            });
            Some(UnitRef::New(out.new_units.len() - 1))
        }
    }
}

/// Ends the predecessor `p`: lineage to each successor, its active desks moved (as `desks`
/// says) or closed, its accounts linked to the successors, its children under the first
/// successor.
fn end_unit(
    p: &UnitInfo,
    successors: &[(UnitRef, Option<i32>)],
    desks: &BTreeMap<i32, DeskFate>,
    world: &World,
    out: &mut ActPlan,
) {
    out.ended.push(p.id);
    for (to, share) in successors {
        if *to != UnitRef::Existing(p.id) {
            out.lineage.push(LineageRow {
                predecessor_id: p.id,
                successor: *to,
                share_points: *share,
            });
        }
    }
    for desk in world.desks.iter().filter(|k| k.unit_id == p.id) {
        match desks.get(&desk.id).copied().unwrap_or(DeskFate::To(0)) {
            DeskFate::To(i) if i < successors.len() => out.desk_moves.push(DeskMove {
                desk_id: desk.id,
                from_unit_id: p.id,
                to: successors[i].0,
            }),
            _ => out.desk_closures.push((desk.id, p.id)),
        }
    }
    for (account, unit) in &world.account_units {
        if *unit != p.id {
            continue;
        }
        for (to, _) in successors {
            let has = match to {
                UnitRef::Existing(id) => world.account_units.contains(&(*account, *id)),
                UnitRef::New(_) => false,
            };
            if !has && !out.account_links.contains(&(*account, *to)) {
                out.account_links.push((*account, *to));
            }
        }
    }
    let children: Vec<&UnitInfo> = world
        .units
        .iter()
        .filter(|u| u.parent_id == Some(p.id) && u.current())
        .collect();
    if successors.len() > 1 && !children.is_empty() {
        out.warnings.push(format!(
            "Các đơn vị trực thuộc «{}» được chuyển về đơn vị kế thừa thứ nhất; có thể chuyển lại \
             sau bằng “Chuyển đơn vị cấp trên”.",
            p.name
        ));
    }
    for child in children {
        out.child_moves.push(ChildMove {
            unit_id: child.id,
            from_parent_id: p.id,
            to: successors[0].0,
        });
    }
}

/// For plan periods starting on or after `d`, the predecessors' targets go to the successors
/// (summed for a merge, divided by share for a split; without shares they stay, with a
/// warning); a period containing `d` is left as it is, with a warning.
fn move_targets(
    predecessors: &[i32],
    successors: &[(UnitRef, Option<i32>)],
    d: NaiveDate,
    world: &World,
    out: &mut ActPlan,
) {
    let mut periods: Vec<&TargetInfo> = world
        .targets
        .iter()
        .filter(|t| predecessors.contains(&t.unit_id))
        .collect();
    periods.sort_by_key(|t| (t.starts_on, t.period_id));
    periods.dedup_by_key(|t| t.period_id);
    let shares: Option<Vec<i32>> = successors.iter().map(|(_, s)| *s).collect();
    for period in periods {
        let of_period = |unit: i32| {
            world
                .targets
                .iter()
                .find(|t| t.period_id == period.period_id && t.unit_id == unit)
        };
        let removed: Vec<(i32, i32, Option<i32>)> = predecessors
            .iter()
            .filter_map(|p| of_period(*p).map(|t| (*p, t.target, t.expected_dossiers)))
            .collect();
        let names = removed
            .iter()
            .map(|(u, _, _)| format!("«{}»", world.unit_name(*u)))
            .collect::<Vec<_>>()
            .join(", ");
        if period.starts_on < d && d <= period.ends_on {
            out.warnings.push(format!(
                "Kỳ «{}» của kế hoạch «{}» ({} – {}) bao trùm ngày hiệu lực {}: chỉ tiêu của {} \
                 không được chuyển tự động; vui lòng tách kỳ hoặc điều chỉnh chỉ tiêu.",
                period.period_name,
                period.plan_title,
                date_text(period.starts_on),
                date_text(period.ends_on),
                date_text(d),
                names
            ));
            continue;
        }
        if period.starts_on < d {
            continue;
        }
        let total: i32 = removed.iter().map(|r| r.1).sum();
        let expected: Option<i32> = removed
            .iter()
            .map(|r| r.2)
            .reduce(|a, b| match (a, b) {
                (Some(a), Some(b)) => Some(a + b),
                (a, b) => a.or(b),
            })
            .flatten();
        let parts: Vec<(i32, Option<i32>)> = if successors.len() == 1 {
            vec![(total, expected)]
        } else if let Some(shares) = &shares {
            let t = divide(total, shares);
            let e = expected.map(|e| divide(e, shares));
            t.into_iter()
                .enumerate()
                .map(|(i, t)| (t, e.as_ref().map(|e| e[i])))
                .collect()
        } else {
            out.warnings.push(format!(
                "Kỳ «{}» của kế hoạch «{}»: chưa nhập tỷ lệ chia tách nên chỉ tiêu của {} \
                 không được chia cho các đơn vị kế thừa; vui lòng nhập chỉ tiêu cho từng đơn vị.",
                period.period_name, period.plan_title, names
            ));
            continue;
        };
        let set = successors
            .iter()
            .zip(parts)
            .map(|((to, _), (t, e))| {
                let own = match to {
                    UnitRef::Existing(id) => of_period(*id),
                    UnitRef::New(_) => None,
                };
                match own {
                    Some(own) => (
                        *to,
                        own.target + t,
                        match (own.expected_dossiers, e) {
                            (Some(a), Some(b)) => Some(a + b),
                            (a, b) => a.or(b),
                        },
                    ),
                    None => (*to, t, e),
                }
            })
            .collect();
        out.target_changes.push(TargetChange {
            period_id: period.period_id,
            removed,
            set,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn unit(id: i32, parent: Option<i32>, name: &str) -> UnitInfo {
        UnitInfo {
            id,
            parent_id: parent,
            code: format!("u{id}"),
            name: name.to_string(),
            admin_code: None,
            valid_from: None,
            valid_until: None,
            active: true,
        }
    }

    fn target(period: i32, starts: NaiveDate, ends: NaiveDate, unit: i32, t: i32) -> TargetInfo {
        TargetInfo {
            plan_id: 1,
            plan_title: "Kế hoạch".to_string(),
            period_id: period,
            period_name: format!("Kỳ {period}"),
            starts_on: starts,
            ends_on: ends,
            unit_id: unit,
            target: t,
            expected_dossiers: None,
        }
    }

    /// 1 province; 2, 3, 4 communes under it; 5 under 2; desks 10 (of 2), 11 (of 3).
    fn world() -> World {
        World {
            units: vec![
                unit(1, None, "Tỉnh Thử Nghiệm"),
                unit(2, Some(1), "Xã Thử Nghiệm A"),
                unit(3, Some(1), "Xã Thử Nghiệm B"),
                unit(4, Some(1), "Xã Thử Nghiệm C"),
                unit(5, Some(2), "Điểm Thử Nghiệm A1"),
            ],
            desks: vec![
                DeskInfo {
                    id: 10,
                    unit_id: 2,
                    name: "Quầy A".to_string(),
                },
                DeskInfo {
                    id: 11,
                    unit_id: 3,
                    name: "Quầy B".to_string(),
                },
            ],
            account_units: vec![(7, 2), (8, 3), (8, 4)],
            account_names: Vec::new(),
            targets: vec![
                target(100, day(2025, 1, 1), day(2025, 12, 31), 2, 40),
                target(101, day(2026, 1, 1), day(2026, 6, 30), 2, 40),
                target(101, day(2026, 1, 1), day(2026, 6, 30), 3, 25),
                target(101, day(2026, 1, 1), day(2026, 6, 30), 4, 5),
            ],
        }
    }

    fn act(spec: ActSpec) -> Act {
        Act {
            title: "Nghị quyết thử nghiệm".to_string(),
            legal_basis: "Số 1/NQ-THU".to_string(),
            effective_date: day(2025, 7, 1),
            spec,
        }
    }

    fn new_unit(code: &str) -> NewUnitSpec {
        NewUnitSpec {
            code: code.to_string(),
            name: "Xã Thử Nghiệm Mới".to_string(),
            kind: "commune".to_string(),
            admin_code: Some("26001".to_string()),
            parent_id: Some(1),
        }
    }

    #[test]
    fn a_merge_into_a_new_unit_ends_the_predecessors_and_moves_what_they_had() {
        let mut desks = BTreeMap::new();
        desks.insert(11, DeskFate::Close);
        let p = plan(
            &act(ActSpec::Merge {
                predecessors: vec![2, 3],
                successor: SuccessorSpec::New(new_unit("xa-moi")),
                desks,
            }),
            &world(),
        )
        .unwrap();
        assert_eq!(p.ended, vec![2, 3]);
        assert_eq!(p.new_units.len(), 1);
        let new = UnitRef::New(0);
        assert_eq!(
            p.lineage,
            vec![
                LineageRow {
                    predecessor_id: 2,
                    successor: new,
                    share_points: None
                },
                LineageRow {
                    predecessor_id: 3,
                    successor: new,
                    share_points: None
                },
            ]
        );
        assert_eq!(
            p.desk_moves,
            vec![DeskMove {
                desk_id: 10,
                from_unit_id: 2,
                to: new
            }]
        );
        assert_eq!(p.desk_closures, vec![(11, 3)]);
        assert_eq!(p.account_links, vec![(7, new), (8, new)]);
        assert_eq!(
            p.child_moves,
            vec![ChildMove {
                unit_id: 5,
                from_parent_id: 2,
                to: new
            }]
        );
        // Period 100 spans the act: left alone, warned about. Period 101 starts after: summed.
        assert_eq!(p.target_changes.len(), 1);
        assert_eq!(p.target_changes[0].period_id, 101);
        assert_eq!(p.target_changes[0].set, vec![(new, 65, None)]);
        assert_eq!(p.warnings.len(), 1);
        assert!(p.warnings[0].contains("Kỳ 100"));
    }

    #[test]
    fn a_merge_into_an_existing_unit_has_no_lineage_row_for_it_and_adds_its_target() {
        let p = plan(
            &act(ActSpec::Merge {
                predecessors: vec![3],
                successor: SuccessorSpec::Existing(4),
                desks: BTreeMap::new(),
            }),
            &world(),
        )
        .unwrap();
        assert_eq!(p.ended, vec![3]);
        assert_eq!(p.lineage.len(), 1);
        assert_eq!(p.lineage[0].successor, UnitRef::Existing(4));
        // Account 8 already has unit 4.
        assert!(p.account_links.is_empty());
        assert_eq!(
            p.target_changes[0].set,
            vec![(UnitRef::Existing(4), 30, None)]
        );
    }

    #[test]
    fn a_period_spanning_the_act_is_warned_about_and_left_alone() {
        let mut w = world();
        w.targets = vec![target(100, day(2025, 1, 1), day(2025, 12, 31), 2, 40)];
        let p = plan(
            &act(ActSpec::Merge {
                predecessors: vec![2, 3],
                successor: SuccessorSpec::Existing(4),
                desks: BTreeMap::new(),
            }),
            &w,
        )
        .unwrap();
        assert!(p.target_changes.is_empty());
        assert_eq!(p.warnings.len(), 1);
        assert!(p.warnings[0].contains("bao trùm ngày hiệu lực 01/07/2025"));
    }

    #[test]
    fn merges_are_refused_for_what_cannot_be() {
        let refused = |spec: ActSpec, w: &World| plan(&act(spec), w).unwrap_err();
        let w = world();
        let merge = |preds: Vec<i32>, s: SuccessorSpec| ActSpec::Merge {
            predecessors: preds,
            successor: s,
            desks: BTreeMap::new(),
        };
        let e = refused(merge(vec![2, 2], SuccessorSpec::Existing(4)), &w);
        assert!(e["predecessors"].contains("hai lần"));
        let e = refused(merge(vec![2, 3], SuccessorSpec::Existing(3)), &w);
        assert!(e["successors"].contains("vào chính nó"));
        let e = refused(merge(vec![2, 99], SuccessorSpec::Existing(4)), &w);
        assert!(e["predecessors"].contains("không tồn tại"));
        let e = refused(merge(vec![2], SuccessorSpec::New(new_unit("xa-moi"))), &w);
        assert!(e.contains_key("predecessors"));
        let e = refused(merge(vec![2, 3], SuccessorSpec::New(new_unit("u4"))), &w);
        assert!(e["code"].contains("đã được dùng"));
        let e = refused(merge(vec![2, 3], SuccessorSpec::Existing(5)), &w);
        assert!(e["successors"].contains("trực thuộc"));
        let mut ended = w.clone();
        ended.units[1].valid_until = Some(day(2024, 1, 1));
        let e = refused(merge(vec![2, 3], SuccessorSpec::Existing(4)), &ended);
        assert!(e["predecessors"].contains("đã kết thúc"));
        let mut young = w.clone();
        young.units[1].valid_from = Some(day(2025, 7, 1));
        let e = refused(merge(vec![2, 3], SuccessorSpec::Existing(4)), &young);
        assert!(e["effective_date"].contains("Xã Thử Nghiệm A"));
        let mut taken = w.clone();
        taken.units[3].admin_code = Some("26001".to_string());
        let e = refused(
            merge(vec![2, 3], SuccessorSpec::New(new_unit("xa-moi"))),
            &taken,
        );
        assert!(e["admin_code"].contains("Xã Thử Nghiệm C"));
        // A predecessor's own official code may pass to the new unit.
        let mut own = w.clone();
        own.units[1].admin_code = Some("26001".to_string());
        assert!(
            plan(
                &act(merge(vec![2, 3], SuccessorSpec::New(new_unit("xa-moi")))),
                &own
            )
            .is_ok()
        );
        let mut blank = act(merge(vec![2, 3], SuccessorSpec::Existing(4)));
        blank.title = " ".to_string();
        blank.legal_basis = String::new();
        let e = plan(&blank, &w).unwrap_err();
        assert!(e.contains_key("title") && e.contains_key("legal_basis"));
    }

    #[test]
    fn a_split_divides_targets_by_share_and_refuses_shares_not_summing_to_100() {
        let split = |shares: [Option<i32>; 2]| ActSpec::Split {
            predecessor: 2,
            successors: vec![
                (SuccessorSpec::New(new_unit("xa-moi")), shares[0]),
                (SuccessorSpec::Existing(4), shares[1]),
            ],
            desks: BTreeMap::new(),
        };
        let p = plan(&act(split([Some(3333), Some(6667)])), &world()).unwrap();
        assert_eq!(p.ended, vec![2]);
        assert_eq!(p.lineage.len(), 2);
        assert_eq!(p.lineage[0].share_points, Some(3333));
        // 40 * 33,33% = 13,33 -> 13; 40 * 66,67% = 26,67 -> 27 (+ 4's own 5).
        assert_eq!(
            p.target_changes[0].set,
            vec![
                (UnitRef::New(0), 13, None),
                (UnitRef::Existing(4), 32, None)
            ]
        );
        assert_eq!(p.desk_moves[0].to, UnitRef::New(0));
        assert_eq!(p.child_moves[0].to, UnitRef::New(0));
        let e = plan(&act(split([Some(5000), Some(4000)])), &world()).unwrap_err();
        assert!(e["shares"].contains("100%"));
        let e = plan(&act(split([Some(5000), None])), &world()).unwrap_err();
        assert!(e.contains_key("shares"));
        // Without shares: targets left to the admin, with a warning.
        let p = plan(&act(split([None, None])), &world()).unwrap();
        assert!(p.target_changes.is_empty());
        assert!(p.warnings.iter().any(|w| w.contains("chưa nhập tỷ lệ")));
    }

    #[test]
    fn rename_and_move_keep_the_unit_and_refuse_its_own_subtree() {
        let p = plan(
            &act(ActSpec::Rename {
                unit_id: 3,
                name: "Xã Thử Nghiệm Đổi".to_string(),
            }),
            &world(),
        )
        .unwrap();
        assert_eq!(
            p.rename,
            Some((
                3,
                "Xã Thử Nghiệm B".to_string(),
                "Xã Thử Nghiệm Đổi".to_string()
            ))
        );
        assert!(p.ended.is_empty() && p.lineage.is_empty());
        let p = plan(
            &act(ActSpec::Move {
                unit_id: 5,
                parent_id: Some(3),
            }),
            &world(),
        )
        .unwrap();
        assert_eq!(p.moved, Some((5, Some(2), Some(3))));
        let e = plan(
            &act(ActSpec::Move {
                unit_id: 2,
                parent_id: Some(5),
            }),
            &world(),
        )
        .unwrap_err();
        assert!(e["parent"].contains("trực thuộc"));
    }

    #[test]
    fn shares_parse_and_divide_exactly() {
        assert_eq!(parse_share("25"), Some(2500));
        assert_eq!(parse_share("33,33"), Some(3333));
        assert_eq!(parse_share("12.5"), Some(1250));
        assert_eq!(parse_share("1.234"), None);
        assert_eq!(parse_share("-5"), None);
        assert_eq!(parse_share("abc"), None);
        assert_eq!(share_text(3333), "33,33%");
        assert_eq!(share_text(1250), "12,5%");
        assert_eq!(divide(10, &[3333, 3333, 3334]), vec![3, 3, 4]);
        assert_eq!(divide(100, &[5000, 5000]), vec![50, 50]);
        assert_eq!(divide(1, &[5000, 5000]), vec![1, 0]);
        assert_eq!(divide(7, &[10000]), vec![7]);
    }
}
