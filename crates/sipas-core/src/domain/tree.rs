//! The tree of units (a province, its communes and their service centres; before 2025 a
//! district and its communes): the subtree below a unit, the subtree within an account's
//! scope, and the unit a view starts from. One rule each, for every listing of units that
//! implements [`TreeNode`] (the report's, the dashboard's, the export's, the units page's).

use super::access::Scope;

/// A unit of the tree, as these rules need it.
pub trait TreeNode {
    fn id(&self) -> i32;
    fn parent_id(&self) -> Option<i32>;
    fn active(&self) -> bool;
}

/// `root` and every unit below it.
pub fn subtree<U: TreeNode>(units: &[U], root: i32) -> Vec<i32> {
    let mut ids = vec![root];
    let mut i = 0;
    while i < ids.len() {
        let parent = ids[i];
        for u in units.iter().filter(|u| u.parent_id() == Some(parent)) {
            if !ids.contains(&u.id()) {
                ids.push(u.id());
            }
        }
        i += 1;
    }
    ids
}

/// The default root of a scope: for everything, the top unit, walking down while a unit has a
/// single child (a one-district installation starts at the district); for a unit account, its
/// unit when it has one, else the top of its units.
pub fn default_root<U: TreeNode>(units: &[U], scope: &Scope) -> Option<i32> {
    let visible = |id: i32| scope.contains(id);
    let mut root = units
        .iter()
        .find(|u| visible(u.id()) && u.parent_id().is_none_or(|p| !visible(p)))?
        .id();
    loop {
        let children: Vec<&U> = units
            .iter()
            .filter(|u| u.parent_id() == Some(root) && u.active() && visible(u.id()))
            .collect();
        match children.as_slice() {
            [only] => root = only.id(),
            _ => return Some(root),
        }
    }
}

/// The unit a page or a report is about: `asked` when it is a unit of `units` within `scope`,
/// else (none asked) [`default_root`]; `None` for a unit asked outside the tree or the scope.
pub fn selected_root<'u, U: TreeNode>(
    units: &'u [U],
    scope: &Scope,
    asked: Option<i32>,
) -> Option<&'u U> {
    let id = match asked {
        Some(id) if scope.contains(id) => id,
        Some(_) => return None,
        None => default_root(units, scope)?,
    };
    units.iter().find(|u| u.id() == id)
}

/// `root` and every unit below it, within `scope`.
pub fn subtree_in_scope<U: TreeNode>(units: &[U], root: i32, scope: &Scope) -> Vec<i32> {
    let mut ids = subtree(units, root);
    ids.retain(|id| scope.contains(*id));
    ids
}

/// `id` and the units above it, nearest first (a cycle in the parents stops the walk).
pub fn ancestors<U: TreeNode>(units: &[U], id: i32) -> Vec<i32> {
    let mut chain = vec![id];
    while let Some(parent) = units
        .iter()
        .find(|u| u.id() == *chain.last().expect("not empty"))
        .and_then(|u| u.parent_id())
    {
        if chain.contains(&parent) {
            break;
        }
        chain.push(parent);
    }
    chain
}

#[cfg(test)]
mod tests {
    use super::*;

    struct U(i32, Option<i32>, bool);

    impl TreeNode for U {
        fn id(&self) -> i32 {
            self.0
        }
        fn parent_id(&self) -> Option<i32> {
            self.1
        }
        fn active(&self) -> bool {
            self.2
        }
    }

    #[test]
    fn subtrees_and_default_roots() {
        // 1 (province) > 2 (district) > 3, 4; 4 > 5; 6 is a closed unit under 1.
        let units = [
            U(1, None, true),
            U(2, Some(1), true),
            U(3, Some(2), true),
            U(4, Some(2), true),
            U(5, Some(4), true),
            U(6, Some(1), false),
        ];
        assert_eq!(subtree(&units, 2), [2, 3, 4, 5]);
        assert_eq!(subtree(&units, 5), [5]);
        assert_eq!(ancestors(&units, 5), [5, 4, 2, 1]);
        assert_eq!(ancestors(&units, 1), [1]);
        let cycle = [U(1, Some(2), true), U(2, Some(1), true)];
        assert_eq!(ancestors(&cycle, 1), [1, 2]);
        assert_eq!(
            subtree_in_scope(&units, 2, &Scope::Units(vec![4, 5])),
            [4, 5]
        );
        assert_eq!(subtree_in_scope(&units, 2, &Scope::All), [2, 3, 4, 5]);
        // Everything: down from the province while a unit has one active child.
        assert_eq!(default_root(&units, &Scope::All), Some(2));
        // A unit account: the top of its units, walking down the same way.
        assert_eq!(default_root(&units, &Scope::Units(vec![4, 5])), Some(5));
        assert_eq!(default_root(&units, &Scope::Units(vec![3, 5])), Some(3));
        assert_eq!(default_root(&units, &Scope::Units(vec![])), None);
        // The unit asked for, within the scope and the tree; else the default root.
        let picked = |scope: &Scope, asked| selected_root(&units, scope, asked).map(|u| u.0);
        assert_eq!(picked(&Scope::All, Some(3)), Some(3));
        assert_eq!(picked(&Scope::All, None), Some(2));
        assert_eq!(picked(&Scope::All, Some(99)), None);
        assert_eq!(picked(&Scope::Units(vec![4, 5]), Some(3)), None);
        assert_eq!(picked(&Scope::Units(vec![4, 5]), None), Some(5));
    }
}
