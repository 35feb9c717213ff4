//! Survey forms: the questionnaires are data, read from TOML files: those of `survey-forms/`,
//! embedded in the binary at build time, and those of `SIPAS_FORMS_DIR`.
//!
//! A file is parsed into [`raw`] structures (which keep source positions), then validated into a
//! [`Form`]. Everything past this module only sees validated forms. The format is documented in
//! `survey-forms/README.md`.

mod loader;
mod raw;
pub mod registry;
pub mod submission;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub use loader::{EMBEDDED, FormFileError, LoadedForms, load, load_dir, parse_form};
pub use registry::{FormRegistry, FormVersion};

/// The label shown for the "not applicable" answer when a form does not set its own.
pub const DEFAULT_NOT_APPLICABLE_LABEL: &str = "Không áp dụng";
/// Code stored in the answers array for an explicit "not applicable" answer. Scale codes are
/// validated to be at least 1, so 0 never collides with a real answer.
pub const NOT_APPLICABLE_CODE: i16 = 0;
/// Default maximum length (in characters) of an open answer.
pub const DEFAULT_TEXT_MAX_LENGTH: usize = 2000;
/// Most items a form may hold (the QĐ 1001 form has 35). Bounds what a survey body may send
/// ([`submission::MAX_FIELDS`]).
pub const MAX_ITEMS: usize = 150;

/// A validated survey form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Form {
    pub id: String,
    pub version: i32,
    pub title: String,
    pub short_title: Option<String>,
    pub source: Option<String>,
    pub introduction: Option<String>,
    pub thanks: Option<String>,
    pub not_applicable_label: String,
    pub index: IndexRule,
    pub scales: BTreeMap<String, Scale>,
    pub sections: Vec<Section>,
}

/// How the form's index is aggregated. Kept here, in one place, because the national rule can
/// change between survey periods.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IndexRule {
    /// Criterion index = share of the scale's positive codes among valid answers; factor index =
    /// unweighted mean of its criterion indices; form index = unweighted mean of factor indices
    /// (QĐ 1001/QĐ-BNV).
    MeanOfFactorIndices,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scale {
    /// Options in their canonical order (as written in the file).
    pub options: Vec<ScaleOption>,
    /// Codes counted as "satisfied" (or "high" for expectations).
    pub positive: Vec<i16>,
    /// Show the options in reverse order on the page.
    pub descending: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScaleOption {
    pub code: i16,
    pub label: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SectionRole {
    Factor,
    Expectation,
    Respondent,
    Other,
}

impl SectionRole {
    pub fn as_str(self) -> &'static str {
        match self {
            SectionRole::Factor => "factor",
            SectionRole::Expectation => "expectation",
            SectionRole::Respondent => "respondent",
            SectionRole::Other => "other",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Section {
    pub code: String,
    pub title: String,
    pub role: SectionRole,
    pub description: Option<String>,
    pub items: Vec<Item>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    pub code: String,
    pub text: String,
    pub kind: ItemKind,
    pub required: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "type")]
pub enum ItemKind {
    /// One answer out of a named scale.
    Choice { scale: String, not_applicable: bool },
    /// Free text.
    Text { max_length: usize },
    /// The respondent's place of residence (commune or ward), always optional. `places`: the
    /// name of a scale of this form listing the places; `None`: the current communes, wards and
    /// towns of the unit tree. "Nơi khác" and "Không muốn trả lời" are always offered. Stored
    /// beside the answers array (`responses.residence_unit_id` / `residence_code`), not in it.
    Residence { places: Option<String> },
}

/// The label of the "elsewhere" answer of a residence item.
pub const RESIDENCE_ELSEWHERE_LABEL: &str = "Nơi khác";
/// The label of the "would rather not say" answer of a residence item.
pub const RESIDENCE_DECLINED_LABEL: &str = "Không muốn trả lời";
/// Stored code (`responses.residence_code`) of "Nơi khác". Listed places have codes >= 1.
pub const RESIDENCE_ELSEWHERE_CODE: i16 = -1;
/// Stored code of "Không muốn trả lời".
pub const RESIDENCE_DECLINED_CODE: i16 = -2;
/// The form value of "Nơi khác".
pub const RESIDENCE_ELSEWHERE_VALUE: &str = "khac";
/// The form value of "Không muốn trả lời".
pub const RESIDENCE_DECLINED_VALUE: &str = "tu-choi";

/// A place of residence offered from the unit tree: a current commune, ward or town.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResidencePlace {
    /// `units.id`: the value sent by the form.
    pub unit_id: i32,
    pub name: String,
    /// What the place is grouped under on the page (its parent unit's name).
    pub group: String,
}

/// A respondent's answer to the residence item, as validated against the form (a unit of the
/// tree is checked against the units when it is stored: one that is not a current commune,
/// ward or town is stored as no answer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ResidenceAnswer {
    /// A unit of the tree (`units.id`).
    Unit(i32),
    /// A place listed in the form (its code in the form's scale, >= 1).
    Listed(i16),
    Elsewhere,
    Declined,
}

impl ResidenceAnswer {
    /// The stored pair `(residence_unit_id, residence_code)`.
    pub fn columns(answer: Option<Self>) -> (Option<i32>, Option<i16>) {
        match answer {
            None => (None, None),
            Some(ResidenceAnswer::Unit(id)) => (Some(id), None),
            Some(ResidenceAnswer::Listed(code)) => (None, Some(code)),
            Some(ResidenceAnswer::Elsewhere) => (None, Some(RESIDENCE_ELSEWHERE_CODE)),
            Some(ResidenceAnswer::Declined) => (None, Some(RESIDENCE_DECLINED_CODE)),
        }
    }
}

impl Item {
    pub fn is_choice(&self) -> bool {
        matches!(self.kind, ItemKind::Choice { .. })
    }

    pub fn is_text(&self) -> bool {
        matches!(self.kind, ItemKind::Text { .. })
    }

    pub fn is_residence(&self) -> bool {
        matches!(self.kind, ItemKind::Residence { .. })
    }

    /// The name stored in `form_items.kind`.
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            ItemKind::Choice { .. } => "choice",
            ItemKind::Text { .. } => "text",
            ItemKind::Residence { .. } => "residence",
        }
    }
}

impl Form {
    /// All items in page order, with their section.
    pub fn items(&self) -> impl Iterator<Item = (&Section, &Item)> {
        self.sections
            .iter()
            .flat_map(|s| s.items.iter().map(move |i| (s, i)))
    }

    /// Choice items in page order. A response stores its coded answers in an array in exactly
    /// this order (position 1 = the first choice item).
    pub fn choice_items(&self) -> impl Iterator<Item = &Item> {
        self.items().map(|(_, i)| i).filter(|i| i.is_choice())
    }

    /// Text items in page order.
    pub fn text_items(&self) -> impl Iterator<Item = &Item> {
        self.items().map(|(_, i)| i).filter(|i| i.is_text())
    }

    /// The residence item, if the form asks for the place of residence (at most one).
    pub fn residence_item(&self) -> Option<&Item> {
        self.items().map(|(_, i)| i).find(|i| i.is_residence())
    }

    /// The label of a stored residence code of this form (a listed place, "Nơi khác" or "Không
    /// muốn trả lời"); places of the unit tree are named by the units.
    pub fn residence_code_label(&self, code: i16) -> Option<&str> {
        match code {
            RESIDENCE_ELSEWHERE_CODE => Some(RESIDENCE_ELSEWHERE_LABEL),
            RESIDENCE_DECLINED_CODE => Some(RESIDENCE_DECLINED_LABEL),
            _ => match &self.residence_item()?.kind {
                ItemKind::Residence {
                    places: Some(scale),
                } => self.scale(scale)?.label(code),
                _ => None,
            },
        }
    }

    pub fn item(&self, code: &str) -> Option<&Item> {
        self.items().map(|(_, i)| i).find(|i| i.code == code)
    }

    pub fn scale(&self, name: &str) -> Option<&Scale> {
        self.scales.get(name)
    }

    /// SHA-256 of the form's content, without its declared version number. Comments and
    /// formatting of the file do not count; any change of wording, codes or structure does.
    pub fn content_hash(&self) -> [u8; 32] {
        let mut unversioned = self.clone();
        unversioned.version = 0;
        let json = serde_json::to_vec(&unversioned).expect("a form always serialises");
        Sha256::digest(&json).into()
    }
}

impl Scale {
    pub fn label(&self, code: i16) -> Option<&str> {
        self.options
            .iter()
            .find(|o| o.code == code)
            .map(|o| o.label.as_str())
    }

    /// Options in display order.
    pub fn display_options(&self) -> Vec<&ScaleOption> {
        let mut options: Vec<&ScaleOption> = self.options.iter().collect();
        if self.descending {
            options.reverse();
        }
        options
    }
}
