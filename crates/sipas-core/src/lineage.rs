//! Results across a reorganisation (issue 19): the one rule by which the figures of an earlier
//! period are regrouped "by lineage" into today's units.
//!
//! - For a period after an act, a unit's figures are its own (its subtree's responses).
//! - When a period is compared with a later one (or a trend crosses an act), the figures of the
//!   earlier period for a set of today's units are the responses of their predecessors
//!   (transitively through chains of acts; through a split, weighted by the share entered,
//!   `share_points / 10000`) plus their own. Only the acts effective after the earlier period's
//!   first day (and by the last day of the later period) matter ([`relevant`]).
//! - A split on the way whose shares were not entered refuses the comparison, naming the act
//!   ([`Refusal`]).
//! - Every such figure says so: [`note`] ("so sánh theo đơn vị trước sắp xếp: Xã A, Xã B").
//!
//! Rename and move keep the unit's id: their figures need no regrouping (today's tree carries
//! a moved unit's history to its new parent); a rename is named in the note by the old name.
//!
//! A unit that is a predecessor keeps what its links do not give away (`1 - Σ shares`, nothing
//! for a merge), so a unit in the set that also merged into another one in the set is not
//! counted twice.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::NaiveDate;

/// The kinds of acts (`reorganisations.kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActKind {
    Merge,
    Split,
    Rename,
    Move,
}

impl ActKind {
    pub fn parse(text: &str) -> Option<ActKind> {
        Some(match text {
            "merge" => ActKind::Merge,
            "split" => ActKind::Split,
            "rename" => ActKind::Rename,
            "move" => ActKind::Move,
            _ => return None,
        })
    }
}

/// One recorded act.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Act {
    pub id: i32,
    pub kind: ActKind,
    pub title: String,
    pub effective: NaiveDate,
    /// For a rename: the unit and its name before the act.
    pub renamed: Option<(i32, String)>,
}

/// One row of `unit_lineage`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub act: i32,
    pub predecessor: i32,
    pub successor: i32,
    /// Hundredths of a percent (1..=10000); `None` for a merge (all of them) or a split whose
    /// shares were not entered.
    pub share_points: Option<i32>,
}

/// Whether an act effective on `effective` regroups the figures of a period starting on
/// `earlier_from` compared with (or drawn in a series up to) a period ending on `later_to`.
pub fn relevant(effective: NaiveDate, earlier_from: NaiveDate, later_to: NaiveDate) -> bool {
    effective > earlier_from && effective <= later_to
}

/// Why a comparison across acts is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// A split on the way has no shares entered.
    SplitWithoutShares { act: i32, title: String },
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::SplitWithoutShares { title, .. } => write!(
                f,
                "Không so sánh được với kỳ trước sắp xếp: việc chia tách «{title}» chưa nhập tỷ \
                 lệ phân bổ phiếu cho các đơn vị mới."
            ),
        }
    }
}

/// The earlier period's figures of a set of today's units: the weight of each unit's rollup
/// rows (by unit id), and the units whose responses come in through an act.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Regrouped {
    /// (unit id, weight), by unit id; weights in (0, 1] per unit and target, summed over the
    /// targets a unit flows into.
    pub weights: Vec<(i32, f64)>,
    /// The units regrouped through an act (predecessors), by id.
    pub predecessors: Vec<i32>,
    /// The names of renamed units before the act, in act order.
    pub former_names: Vec<String>,
}

impl Regrouped {
    /// Whether any act changed the figures (else they are the units' own).
    pub fn by_lineage(&self) -> bool {
        !self.predecessors.is_empty() || !self.former_names.is_empty()
    }
}

/// The sentence every regrouped figure carries: "so sánh theo đơn vị trước sắp xếp: Xã A, Xã B".
pub fn note(names: &[String]) -> String {
    format!("so sánh theo đơn vị trước sắp xếp: {}", names.join(", "))
}

/// What a figure says about its regrouping (pages, API, exports, report): the predecessors
/// whose responses it counts, or why the comparison is refused.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ByLineage {
    /// "so sánh theo đơn vị trước sắp xếp: Xã A, Xã B" (`None` when refused).
    pub note: Option<String>,
    /// The units regrouped into the figure through an act.
    pub predecessors: Vec<crate::reports::UnitInfo>,
    /// The names of renamed units before the act.
    pub former_names: Vec<String>,
    /// Why the figure could not be regrouped (then it is not shown).
    pub refused: Option<String>,
}

impl ByLineage {
    /// The note of a regrouping, with the predecessors' names (then the former names).
    pub fn regrouped(
        predecessors: Vec<crate::reports::UnitInfo>,
        former_names: Vec<String>,
    ) -> ByLineage {
        let names: Vec<String> = predecessors
            .iter()
            .map(|u| u.name.clone())
            .chain(former_names.iter().cloned())
            .collect();
        ByLineage {
            note: Some(note(&names)),
            predecessors,
            former_names,
            refused: None,
        }
    }

    pub fn refused(reason: String) -> ByLineage {
        ByLineage {
            note: None,
            predecessors: Vec::new(),
            former_names: Vec::new(),
            refused: Some(reason),
        }
    }

    /// The note or the refusal, whichever applies.
    pub fn text(&self) -> &str {
        self.note
            .as_deref()
            .or(self.refused.as_deref())
            .unwrap_or_default()
    }
}

const EPSILON: f64 = 1e-9;

/// The weights of the earlier period's rollup rows for today's units `targets` (their subtree,
/// in the account's scope), by the acts relevant between `earlier_from` and `later_to`.
pub fn regroup(
    targets: &BTreeSet<i32>,
    acts: &[Act],
    links: &[Link],
    earlier_from: NaiveDate,
    later_to: NaiveDate,
) -> Result<Regrouped, Refusal> {
    let acts: BTreeMap<i32, &Act> = acts
        .iter()
        .filter(|a| relevant(a.effective, earlier_from, later_to))
        .map(|a| (a.id, a))
        .collect();
    let mut out_links: BTreeMap<i32, Vec<(&Link, &Act)>> = BTreeMap::new();
    for link in links {
        if let Some(act) = acts.get(&link.act) {
            out_links
                .entry(link.predecessor)
                .or_default()
                .push((link, act));
        }
    }
    // Every unit that reaches a target (walking links forward), with its weight and whether
    // it gets there through a link.
    let mut weights: BTreeMap<i32, f64> = BTreeMap::new();
    let mut predecessors: BTreeSet<i32> = BTreeSet::new();
    // Candidates: the targets and every unit with links (a unit with no link reaches a target
    // only by being one).
    let mut candidates: BTreeSet<i32> = targets.clone();
    candidates.extend(out_links.keys().copied());
    for unit in candidates {
        let (weight, via_link) = flow(unit, earlier_from, targets, &out_links, 0)?;
        if weight > EPSILON {
            weights.insert(unit, weight);
            if via_link {
                predecessors.insert(unit);
            }
        }
    }
    let mut former_names: Vec<(NaiveDate, i32, String)> = acts
        .values()
        .filter_map(|a| {
            let (unit, name) = a.renamed.as_ref()?;
            (targets.contains(unit) || predecessors.contains(unit))
                .then(|| (a.effective, a.id, name.clone()))
        })
        .collect();
    former_names.sort();
    Ok(Regrouped {
        weights: weights.into_iter().collect(),
        predecessors: predecessors.into_iter().collect(),
        former_names: former_names.into_iter().map(|(_, _, n)| n).collect(),
    })
}

/// How much of `unit`'s responses from `after` on end up in `targets`, and whether some of it
/// through a link: what its links (of acts after `after`) pass on, each successor followed from
/// that act's date on, plus what it keeps if it is a target. A split without shares refuses
/// only when its parts end up differently in `targets` (one inside, another outside): when all
/// or none of them count, the shares do not matter.
fn flow(
    unit: i32,
    after: NaiveDate,
    targets: &BTreeSet<i32>,
    out_links: &BTreeMap<i32, Vec<(&Link, &Act)>>,
    depth: usize,
) -> Result<(f64, bool), Refusal> {
    let mut given = 0.0;
    let mut reached = 0.0;
    let mut via_link = false;
    // The links of each act after `after`, by act.
    let mut by_act: BTreeMap<i32, (&Act, Vec<&Link>)> = BTreeMap::new();
    // Acts strictly later at each step: the walk ends (depth is a guard against bad data).
    if depth < 64 {
        for (link, act) in out_links.get(&unit).into_iter().flatten() {
            if act.effective > after {
                by_act
                    .entry(act.id)
                    .or_insert((act, Vec::new()))
                    .1
                    .push(link);
            }
        }
    }
    for (act, links) in by_act.values() {
        let mut parts = Vec::with_capacity(links.len());
        for link in links {
            let (w, _) = flow(link.successor, act.effective, targets, out_links, depth + 1)?;
            parts.push((link.share_points, w));
        }
        let unshared = act.kind == ActKind::Split && parts.iter().any(|(s, _)| s.is_none());
        let (act_given, act_reached) = if unshared {
            let first = parts.first().map_or(0.0, |(_, w)| *w);
            if parts.iter().any(|(_, w)| (w - first).abs() > EPSILON) {
                return Err(Refusal::SplitWithoutShares {
                    act: act.id,
                    title: act.title.clone(),
                });
            }
            (1.0, first)
        } else {
            parts.iter().fold((0.0, 0.0), |(g, r), (share, w)| {
                let share = share.map_or(1.0, |p| f64::from(p.clamp(0, 10_000)) / 10_000.0);
                (g + share, r + share * w)
            })
        };
        given += act_given;
        if act_reached > EPSILON {
            reached += act_reached;
            via_link = true;
        }
    }
    let kept = if targets.contains(&unit) {
        (1.0 - given).max(0.0)
    } else {
        0.0
    };
    Ok((kept + reached, via_link))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn act(id: i32, kind: ActKind, effective: NaiveDate) -> Act {
        Act {
            id,
            kind,
            title: format!("Act {id}"),
            effective,
            renamed: None,
        }
    }

    fn link(act: i32, predecessor: i32, successor: i32, share: Option<i32>) -> Link {
        Link {
            act,
            predecessor,
            successor,
            share_points: share,
        }
    }

    fn set(ids: &[i32]) -> BTreeSet<i32> {
        ids.iter().copied().collect()
    }

    fn july() -> NaiveDate {
        d(2025, 7, 1)
    }

    #[test]
    fn only_acts_after_the_earlier_start_and_by_the_later_end_matter() {
        assert!(relevant(july(), d(2025, 1, 1), d(2025, 12, 31)));
        assert!(relevant(july(), d(2025, 6, 30), d(2025, 7, 1)));
        // The earlier period starts on the act's day: already the new units.
        assert!(!relevant(july(), d(2025, 7, 1), d(2025, 12, 31)));
        // Both periods before the act.
        assert!(!relevant(july(), d(2024, 1, 1), d(2025, 6, 30)));
    }

    #[test]
    fn a_merge_brings_its_units_in_whole() {
        let acts = [act(1, ActKind::Merge, july())];
        let links = [
            link(1, 1, 4, None),
            link(1, 2, 4, None),
            link(1, 3, 4, None),
        ];
        let r = regroup(&set(&[4]), &acts, &links, d(2025, 1, 1), d(2025, 12, 31)).unwrap();
        assert_eq!(r.weights, vec![(1, 1.0), (2, 1.0), (3, 1.0), (4, 1.0)]);
        assert_eq!(r.predecessors, vec![1, 2, 3]);
        assert!(r.by_lineage());
        // Before the act both periods: the unit's own (the old units do not come in).
        let r = regroup(&set(&[4]), &acts, &links, d(2024, 1, 1), d(2024, 12, 31)).unwrap();
        assert_eq!(r.weights, vec![(4, 1.0)]);
        assert!(!r.by_lineage());
    }

    #[test]
    fn a_merged_unit_still_in_the_subtree_is_not_counted_twice() {
        // The district (subtree 1, 2, 4) where 1 and 2 merged into 4.
        let acts = [act(1, ActKind::Merge, july())];
        let links = [link(1, 1, 4, None), link(1, 2, 4, None)];
        let r = regroup(
            &set(&[1, 2, 4]),
            &acts,
            &links,
            d(2025, 1, 1),
            d(2026, 1, 1),
        )
        .unwrap();
        assert_eq!(r.weights, vec![(1, 1.0), (2, 1.0), (4, 1.0)]);
    }

    #[test]
    fn a_split_weighs_by_its_shares_or_is_refused() {
        let acts = [act(7, ActKind::Split, july())];
        let links = [link(7, 1, 2, Some(6000)), link(7, 1, 3, Some(4000))];
        let r = regroup(&set(&[3]), &acts, &links, d(2025, 1, 1), d(2025, 12, 31)).unwrap();
        assert_eq!(r.weights, vec![(1, 0.4), (3, 1.0)]);
        assert_eq!(r.predecessors, vec![1]);
        let r = regroup(&set(&[2, 3]), &acts, &links, d(2025, 1, 1), d(2025, 12, 31)).unwrap();
        assert_eq!(r.weights.len(), 3);
        assert!((r.weights[0].1 - 1.0).abs() < 1e-12);

        let unshared = [link(7, 1, 2, None), link(7, 1, 3, None)];
        let refusal =
            regroup(&set(&[3]), &acts, &unshared, d(2025, 1, 1), d(2025, 12, 31)).unwrap_err();
        assert_eq!(
            refusal,
            Refusal::SplitWithoutShares {
                act: 7,
                title: "Act 7".into()
            }
        );
        assert!(refusal.to_string().contains("«Act 7»"));
        // Both parts, or neither (an unrelated unit): the shares do not matter.
        let r = regroup(
            &set(&[2, 3]),
            &acts,
            &unshared,
            d(2025, 1, 1),
            d(2025, 12, 31),
        )
        .unwrap();
        assert_eq!(r.weights, vec![(1, 1.0), (2, 1.0), (3, 1.0)]);
        let r = regroup(&set(&[9]), &acts, &unshared, d(2025, 1, 1), d(2025, 12, 31)).unwrap();
        assert_eq!(r.weights, vec![(9, 1.0)]);
        assert!(!r.by_lineage());
        // Not relevant: no refusal.
        assert!(regroup(&set(&[3]), &acts, &unshared, d(2025, 7, 1), d(2025, 12, 31)).is_ok());
    }

    #[test]
    fn chains_of_acts_are_followed_in_time_order() {
        // 1 splits into 2 (30 %) and 3 (70 %) in July 2025; 3 and 5 merge into 6 in 2026.
        let acts = [
            act(1, ActKind::Split, july()),
            act(2, ActKind::Merge, d(2026, 1, 1)),
        ];
        let links = [
            link(1, 1, 2, Some(3000)),
            link(1, 1, 3, Some(7000)),
            link(2, 3, 6, None),
            link(2, 5, 6, None),
        ];
        let r = regroup(&set(&[6]), &acts, &links, d(2025, 1, 1), d(2026, 12, 31)).unwrap();
        let w: BTreeMap<i32, f64> = r.weights.iter().copied().collect();
        assert!((w[&1] - 0.7).abs() < 1e-12);
        assert_eq!((w[&3], w[&5], w[&6]), (1.0, 1.0, 1.0));
        assert_eq!(r.predecessors, vec![1, 3, 5]);
        // From the second half of 2025 on, only the merge matters.
        let r = regroup(&set(&[6]), &acts, &links, d(2025, 7, 1), d(2026, 12, 31)).unwrap();
        assert_eq!(r.predecessors, vec![3, 5]);
        // A split without shares earlier on the path refuses the longer comparison only.
        let unshared = [
            link(1, 1, 2, None),
            link(1, 1, 3, None),
            link(2, 3, 6, None),
            link(2, 5, 6, None),
        ];
        assert!(regroup(&set(&[6]), &acts, &unshared, d(2025, 1, 1), d(2026, 12, 31)).is_err());
        assert!(regroup(&set(&[6]), &acts, &unshared, d(2025, 7, 1), d(2026, 12, 31)).is_ok());
        // Unrelated units never come in.
        let r = regroup(&set(&[2]), &acts, &links, d(2025, 1, 1), d(2026, 12, 31)).unwrap();
        assert_eq!(r.weights, vec![(1, 0.3), (2, 1.0)]);
    }

    #[test]
    fn a_split_unit_that_continues_keeps_the_rest() {
        let acts = [act(1, ActKind::Split, july())];
        let links = [link(1, 1, 2, Some(2500))];
        let r = regroup(&set(&[1]), &acts, &links, d(2025, 1, 1), d(2025, 12, 31)).unwrap();
        assert_eq!(r.weights, vec![(1, 0.75)]);
    }

    #[test]
    fn renames_and_moves_keep_the_figures_and_renames_are_named() {
        let mut rename = act(3, ActKind::Rename, july());
        rename.renamed = Some((4, "Xã Thử Nghiệm Cũ".into()));
        let moved = act(4, ActKind::Move, july());
        let r = regroup(
            &set(&[4]),
            &[rename, moved],
            &[],
            d(2025, 1, 1),
            d(2025, 12, 31),
        )
        .unwrap();
        assert_eq!(r.weights, vec![(4, 1.0)]);
        assert!(r.predecessors.is_empty());
        assert_eq!(r.former_names, vec!["Xã Thử Nghiệm Cũ".to_string()]);
        assert!(r.by_lineage());
        assert_eq!(
            note(&["Xã A".into(), "Xã B".into(), "Xã C".into()]),
            "so sánh theo đơn vị trước sắp xếp: Xã A, Xã B, Xã C"
        );
    }
}
