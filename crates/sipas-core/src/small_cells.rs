//! Small cells (Luật Bảo vệ dữ liệu cá nhân, số 91/2025/QH15): counts of respondents by an
//! attribute they gave about themselves (gender, age band, ethnicity, education, occupation,
//! channel, field of procedure: the items of a form's "respondent" section) are not shown to a
//! unit's own staff when they concern fewer than [`THRESHOLD`] people. Three respondents of a
//! desk broken down by gender and age band are three people the desk's staff can name.
//!
//! The rule, applied to one breakdown (the counts of one question, and their total):
//! 1. a cell of 1 to 4 respondents is suppressed;
//! 2. when the total itself is 1 to 4, every cell (zeros too: "nobody of this group" is as
//!    telling) and the total are suppressed;
//! 3. otherwise, when the suppressed cells add up to fewer than 5 respondents (one small cell
//!    alone, or two of 1 and 2), they could be computed back from the total and the cells shown
//!    (or would make a small group together): the smallest other non-zero cells are suppressed
//!    too, one by one, until the suppressed cells add up to 5 or more.
//!
//! Every suppressed cell is shown the same way, [`SUPPRESSED`] ("< 5"), so that a reader cannot
//! tell the small cell from the one hidden with it; the pages say so. A share (percent) of a
//! suppressed cell is suppressed with it. Zeros stay visible unless rule 2 applies.
//!
//! Who sees what is [`Disclosure`]: unit accounts get the protected figures, admins (Phòng Nội
//! vụ) and viewers (district leaders) the exact ones.
//!
//! Pure and total: any slice of counts gives an answer.

use serde::{Serialize, Serializer};

pub use crate::disclosure::Disclosure;

/// Fewer respondents than this in a cell are not shown to unit accounts.
pub const THRESHOLD: u64 = 5;

/// How a suppressed count is written, on pages, in the API and in exports.
pub const SUPPRESSED: &str = "< 5";

/// How the share (percent) of a suppressed count is written ("hidden").
pub const SUPPRESSED_SHARE: &str = "ẩn";

/// A count of respondents as it may be shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    Exact(u64),
    /// Hidden: fewer than [`THRESHOLD`] respondents, or hidden together with such a cell.
    Suppressed,
}

impl Count {
    /// The number, when it may be shown.
    pub fn exact(self) -> Option<u64> {
        match self {
            Count::Exact(n) => Some(n),
            Count::Suppressed => None,
        }
    }

    pub fn is_suppressed(self) -> bool {
        self == Count::Suppressed
    }

    /// `self` as a share of `total` (0..=1), when both are shown and the total is not zero.
    pub fn share_of(self, total: Count) -> Option<f64> {
        match (self, total) {
            (Count::Exact(n), Count::Exact(t)) if t > 0 => Some(n as f64 / t as f64),
            _ => None,
        }
    }
}

/// As JSON: the number, or the string `"< 5"`.
impl Serialize for Count {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Count::Exact(n) => serializer.serialize_u64(*n),
            Count::Suppressed => serializer.serialize_str(SUPPRESSED),
        }
    }
}

/// A breakdown as it may be shown: its cells (in the order given) and their total.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Protected {
    pub cells: Vec<Count>,
    pub total: Count,
}

/// The rule of this module applied to the counts of one breakdown (see the module's
/// documentation).
pub fn protect(counts: &[u64]) -> Protected {
    let small = |n: u64| (1..THRESHOLD).contains(&n);
    let total: u64 = counts.iter().fold(0u64, |a, n| a.saturating_add(*n));
    if small(total) {
        return Protected {
            cells: vec![Count::Suppressed; counts.len()],
            total: Count::Suppressed,
        };
    }
    let mut hidden: Vec<bool> = counts.iter().map(|n| small(*n)).collect();
    let hidden_sum = |hidden: &[bool]| -> u64 {
        counts
            .iter()
            .zip(hidden)
            .filter(|(_, h)| **h)
            .fold(0u64, |a, (n, _)| a.saturating_add(*n))
    };
    // Complementary suppression: never leave the hidden cells adding up to a small group that
    // the total minus the cells shown would give back. Smallest first, the first such cell on
    // a tie, so that the result does not depend on anything but the counts.
    while hidden.iter().any(|h| *h) && hidden_sum(&hidden) < THRESHOLD {
        let next = counts
            .iter()
            .enumerate()
            .filter(|(i, n)| !hidden[*i] && **n > 0)
            .min_by_key(|(i, n)| (**n, *i))
            .map(|(i, _)| i);
        match next {
            Some(i) => hidden[i] = true,
            // Cannot happen (the total is 5 or more, so cells outside the hidden ones hold
            // the rest), but if it did, hiding the total too keeps the rule.
            None => {
                return Protected {
                    cells: vec![Count::Suppressed; counts.len()],
                    total: Count::Suppressed,
                };
            }
        }
    }
    Protected {
        cells: counts
            .iter()
            .zip(&hidden)
            .map(|(n, h)| {
                if *h {
                    Count::Suppressed
                } else {
                    Count::Exact(*n)
                }
            })
            .collect(),
        total: Count::Exact(total),
    }
}

/// The counts as they are, for accounts that see exact figures.
pub fn exact(counts: &[u64]) -> Protected {
    Protected {
        cells: counts.iter().map(|n| Count::Exact(*n)).collect(),
        total: Count::Exact(counts.iter().fold(0u64, |a, n| a.saturating_add(*n))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Count::{Exact as E, Suppressed as S};

    fn cells(counts: &[u64]) -> Vec<Count> {
        protect(counts).cells
    }

    #[test]
    fn cells_of_five_or_more_are_exact() {
        assert_eq!(
            protect(&[5, 7, 0]),
            Protected {
                cells: vec![E(5), E(7), E(0)],
                total: E(12)
            }
        );
        assert_eq!(
            protect(&[]),
            Protected {
                cells: vec![],
                total: E(0)
            }
        );
        assert_eq!(
            protect(&[0, 0]),
            Protected {
                cells: vec![E(0), E(0)],
                total: E(0)
            }
        );
    }

    #[test]
    fn cells_of_one_to_four_are_suppressed() {
        // Two small cells adding up to 5 or more: nothing else is hidden.
        assert_eq!(cells(&[4, 1, 20, 0]), [S, S, E(20), E(0)]);
        assert_eq!(cells(&[2, 3, 4, 9]), [S, S, S, E(9)]);
        assert_eq!(protect(&[2, 3, 4, 9]).total, E(18));
    }

    #[test]
    fn a_small_total_hides_the_whole_breakdown() {
        for counts in [[3u64, 0, 0], [1, 1, 2], [0, 4, 0], [1, 0, 0]] {
            assert_eq!(
                protect(&counts),
                Protected {
                    cells: vec![S, S, S],
                    total: S
                },
                "{counts:?}"
            );
        }
    }

    #[test]
    fn one_small_cell_is_hidden_with_another() {
        // Nam 3, Nữ 10: the total minus 10 would give 3 back.
        assert_eq!(
            protect(&[3, 10]),
            Protected {
                cells: vec![S, S],
                total: E(13)
            }
        );
        // The smallest other non-zero cell, never a zero (a zero hidden with 3 would still
        // give a group of 3), the first one on a tie.
        assert_eq!(cells(&[0, 3, 12, 6, 6]), [E(0), S, E(12), S, E(6)]);
        assert_eq!(cells(&[40, 1, 0, 8]), [E(40), S, E(0), S]);
    }

    #[test]
    fn small_cells_adding_up_to_a_small_group_are_hidden_with_another() {
        // 1 + 2 = 3: the total minus the cells shown gives the group of 3 back.
        assert_eq!(cells(&[1, 2, 30, 7]), [S, S, E(30), S]);
        // 1 + 1 + 1 + 1 = 4, then the smallest other non-zero cell.
        assert_eq!(cells(&[1, 1, 1, 1, 9, 5]), [S, S, S, S, E(9), S]);
    }

    #[test]
    fn no_shown_figure_gives_a_small_cell_back() {
        // Exhaustively over small breakdowns: the cells shown and the total never determine a
        // suppressed cell, nor a suppressed group smaller than the threshold.
        let mut counts = [0u64; 4];
        for a in 0..12 {
            for b in 0..12 {
                for c in 0..8 {
                    for d in 0..8 {
                        counts.copy_from_slice(&[a, b, c, d]);
                        let p = protect(&counts);
                        assert_eq!(p.cells.len(), 4);
                        for (n, cell) in counts.iter().zip(&p.cells) {
                            match cell {
                                E(shown) => {
                                    assert_eq!(shown, n);
                                    assert!(*n == 0 || *n >= THRESHOLD, "{counts:?}");
                                }
                                S => {}
                            }
                        }
                        let hidden: Vec<u64> = counts
                            .iter()
                            .zip(&p.cells)
                            .filter(|(_, c)| c.is_suppressed())
                            .map(|(n, _)| *n)
                            .collect();
                        match p.total {
                            E(total) => {
                                assert_eq!(total, a + b + c + d);
                                if !hidden.is_empty() {
                                    assert!(hidden.len() >= 2, "{counts:?}");
                                    assert!(hidden.iter().sum::<u64>() >= THRESHOLD, "{counts:?}");
                                }
                            }
                            S => assert!((1..THRESHOLD).contains(&(a + b + c + d)), "{counts:?}"),
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn shares_of_suppressed_cells_are_suppressed() {
        assert_eq!(E(5).share_of(E(20)), Some(0.25));
        assert_eq!(S.share_of(E(20)), None);
        assert_eq!(E(5).share_of(S), None);
        assert_eq!(E(0).share_of(E(0)), None);
    }

    #[test]
    fn suppressed_counts_are_written_as_fewer_than_five() {
        assert_eq!(serde_json::to_string(&[E(12), S]).unwrap(), r#"[12,"< 5"]"#);
        assert_eq!(
            exact(&[3, 10]),
            Protected {
                cells: vec![E(3), E(10)],
                total: E(13)
            }
        );
    }
}
