//! Every stored form version, held in memory: forms are small and change only with a restart.

use std::collections::HashMap;
use std::sync::Arc;

use super::Form;

/// One stored version of a form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormVersion {
    /// Database id of the version (`form_versions.id`).
    pub id: i32,
    /// The stored version number (what the CSV calls the form version).
    pub number: i32,
    pub form: Form,
    /// `form_items.id` of each item code of this version.
    pub item_ids: HashMap<String, i32>,
}

/// All stored versions, and which one is current for each form id (the one the files on disk
/// hold now). Old versions stay, so a form rendered before a change can still be submitted.
#[derive(Debug, Default, Clone)]
pub struct FormRegistry {
    by_id: HashMap<i32, Arc<FormVersion>>,
    current: HashMap<String, i32>,
}

impl FormRegistry {
    pub fn new(versions: Vec<FormVersion>, current: HashMap<String, i32>) -> Self {
        let by_id = versions.into_iter().map(|v| (v.id, Arc::new(v))).collect();
        FormRegistry { by_id, current }
    }

    /// The current version of a form.
    pub fn current(&self, form_id: &str) -> Option<Arc<FormVersion>> {
        self.current
            .get(form_id)
            .and_then(|id| self.by_id.get(id))
            .cloned()
    }

    /// The version a desk showing `form_id` uses: the current one, or, when the form's file was
    /// removed, its newest stored version (a form in use never vanishes with its file).
    pub fn latest(&self, form_id: &str) -> Option<Arc<FormVersion>> {
        self.current(form_id).or_else(|| {
            self.by_id
                .values()
                .filter(|v| v.form.id == form_id)
                .max_by_key(|v| v.number)
                .cloned()
        })
    }

    /// The form of [`FormRegistry::latest`], borrowed.
    pub fn latest_form(&self, form_id: &str) -> Option<&Form> {
        let id = self.current.get(form_id).copied().or_else(|| {
            self.by_id
                .values()
                .filter(|v| v.form.id == form_id)
                .max_by_key(|v| v.number)
                .map(|v| v.id)
        })?;
        self.by_id.get(&id).map(|v| &v.form)
    }

    /// A version by its database id.
    pub fn version(&self, version_id: i32) -> Option<Arc<FormVersion>> {
        self.by_id.get(&version_id).cloned()
    }

    /// Current form ids, sorted.
    pub fn form_ids(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = self.current.keys().map(String::as_str).collect();
        ids.sort_unstable();
        ids
    }

    /// All versions, ordered by database id.
    pub fn versions(&self) -> Vec<Arc<FormVersion>> {
        let mut all: Vec<Arc<FormVersion>> = self.by_id.values().cloned().collect();
        all.sort_by_key(|v| v.id);
        all
    }
}
