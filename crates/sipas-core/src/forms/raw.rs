//! The survey-form file as written, before validation. Positions are kept (`Spanned`) so that
//! errors can name the line.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawForm {
    pub id: Spanned<String>,
    pub version: Spanned<i64>,
    pub title: Spanned<String>,
    pub short_title: Option<String>,
    pub source: Option<String>,
    pub introduction: Option<String>,
    pub thanks: Option<String>,
    pub not_applicable_label: Option<Spanned<String>>,
    pub index: Spanned<RawIndex>,
    #[serde(default)]
    pub scales: BTreeMap<Spanned<String>, Spanned<RawScale>>,
    #[serde(default)]
    pub sections: Vec<Spanned<RawSection>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawIndex {
    pub rule: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScale {
    #[serde(default)]
    pub options: Vec<Spanned<RawOption>>,
    #[serde(default)]
    pub positive: Vec<Spanned<i64>>,
    pub order: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOption {
    pub code: Spanned<i64>,
    pub label: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSection {
    pub code: Spanned<String>,
    pub title: Spanned<String>,
    pub role: Spanned<String>,
    pub description: Option<String>,
    #[serde(default)]
    pub items: Vec<Spanned<RawItem>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawItem {
    pub code: Spanned<String>,
    pub text: Spanned<String>,
    #[serde(rename = "type")]
    pub kind: Option<Spanned<String>>,
    pub scale: Option<Spanned<String>>,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub not_applicable: bool,
    pub max_length: Option<Spanned<i64>>,
}
