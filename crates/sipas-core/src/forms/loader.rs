//! Reading and validating survey-form files. A broken file stops start-up with a message that
//! names the file, the line and what is wrong; every problem in the file is reported at once.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use toml::Spanned;

use super::raw::{RawForm, RawItem, RawScale, RawSection};
use super::{
    DEFAULT_NOT_APPLICABLE_LABEL, DEFAULT_TEXT_MAX_LENGTH, Form, IndexRule, Item, ItemKind,
    MAX_ITEMS, Scale, ScaleOption, Section, SectionRole,
};

/// Everything wrong with one form file (or with the forms directory as a whole).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormFileError {
    pub file: String,
    pub problems: Vec<Problem>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line and column, when the problem has a place in the file.
    pub position: Option<(usize, usize)>,
    pub message: String,
}

impl fmt::Display for FormFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, p) in self.problems.iter().enumerate() {
            if n > 0 {
                writeln!(f)?;
            }
            match p.position {
                Some((line, col)) => write!(f, "{}:{line}:{col}: {}", self.file, p.message)?,
                None => write!(f, "{}: {}", self.file, p.message)?,
            }
        }
        Ok(())
    }
}

impl std::error::Error for FormFileError {}

/// The survey forms shipped with the service, embedded at build time: `(name, text)` of every
/// `survey-forms/*.toml` of the source tree, by name (`survey-forms/x.toml`, the name their
/// messages give).
pub const EMBEDDED: &[(&str, &str)] = include!(concat!(env!("OUT_DIR"), "/embedded_forms.rs"));

/// The forms a process runs with, and where each came from.
#[derive(Debug, Clone)]
pub struct LoadedForms {
    /// Every form with its source (`survey-forms/x.toml` for an embedded one, the file's path
    /// for one from the directory): the embedded forms by name, an overridden one in its
    /// place, then the directory's additions by file name.
    pub files: Vec<(PathBuf, Form)>,
    /// The ids of the embedded forms used as shipped.
    pub embedded: Vec<String>,
    /// Forms of the directory that replace the embedded form of the same id: (id, file).
    pub overridden: Vec<(String, PathBuf)>,
    /// Forms of the directory with an id no embedded form has: (id, file).
    pub added: Vec<(String, PathBuf)>,
}

impl LoadedForms {
    /// Where the forms come from, in one line: `words` are the three labels ("embedded",
    /// "SIPAS_FORMS_DIR overrides", "SIPAS_FORMS_DIR adds" for the log; Vietnamese for
    /// `sipas doctor`), each followed by its ids (and files), parts joined by "; ".
    pub fn describe(&self, words: [&str; 3]) -> String {
        let listed = |forms: &[(String, PathBuf)]| {
            forms
                .iter()
                .map(|(id, path)| format!("{id} ({})", path.display()))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let [embedded, overridden, added] = words;
        let mut parts = Vec::new();
        if !self.embedded.is_empty() {
            parts.push(format!("{embedded} {}", self.embedded.join(", ")));
        }
        if !self.overridden.is_empty() {
            parts.push(format!("{overridden} {}", listed(&self.overridden)));
        }
        if !self.added.is_empty() {
            parts.push(format!("{added} {}", listed(&self.added)));
        }
        parts.join("; ")
    }
}

/// The forms to run with: the embedded ones ([`EMBEDDED`], unless `embedded` is false), and
/// those of `dir` (`SIPAS_FORMS_DIR`), each of which adds a form or overrides the embedded form
/// with the same id. Every file is validated; the first broken one fails with its problems.
/// A directory that is given must be readable; with the embedded forms it may hold none.
pub fn load(embedded: bool, dir: Option<&Path>) -> Result<LoadedForms, FormFileError> {
    let mut loaded = LoadedForms {
        files: Vec::new(),
        embedded: Vec::new(),
        overridden: Vec::new(),
        added: Vec::new(),
    };
    if embedded {
        for (name, text) in EMBEDDED {
            let form = parse_form(name, text)?;
            loaded.embedded.push(form.id.clone());
            loaded.files.push((PathBuf::from(name), form));
        }
    }
    let from_dir = match dir {
        Some(dir) => read_dir_forms(dir, embedded)?,
        None => Vec::new(),
    };
    for (path, form) in from_dir {
        match loaded.files.iter().position(|(_, f)| f.id == form.id) {
            Some(at) => {
                loaded.embedded.retain(|id| *id != form.id);
                loaded.overridden.push((form.id.clone(), path.clone()));
                loaded.files[at] = (path, form);
            }
            None => {
                loaded.added.push((form.id.clone(), path.clone()));
                loaded.files.push((path, form));
            }
        }
    }
    if loaded.files.is_empty() {
        return Err(FormFileError {
            file: dir.map_or_else(|| "survey-forms".into(), |d| d.display().to_string()),
            problems: vec![Problem {
                position: None,
                message: "no survey form (*.toml) found".into(),
            }],
        });
    }
    Ok(loaded)
}

/// Loads every `*.toml` file of `dir`, sorted by name. Fails on the first broken file, or when
/// two files declare the same form id.
pub fn load_dir(dir: &Path) -> Result<Vec<(PathBuf, Form)>, FormFileError> {
    read_dir_forms(dir, false)
}

/// The forms of `dir` (see [`load_dir`]); `may_be_empty`: a directory without forms is no error.
fn read_dir_forms(dir: &Path, may_be_empty: bool) -> Result<Vec<(PathBuf, Form)>, FormFileError> {
    let dir_error = |message: String| FormFileError {
        file: dir.display().to_string(),
        problems: vec![Problem {
            position: None,
            message,
        }],
    };
    let entries = std::fs::read_dir(dir)
        .map_err(|e| dir_error(format!("cannot read the survey-forms directory: {e}")))?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    if paths.is_empty() && !may_be_empty {
        return Err(dir_error("no survey form (*.toml) found".into()));
    }
    let mut forms: Vec<(PathBuf, Form)> = Vec::with_capacity(paths.len());
    for path in paths {
        let display = path.display().to_string();
        let text = std::fs::read_to_string(&path).map_err(|e| FormFileError {
            file: display.clone(),
            problems: vec![Problem {
                position: None,
                message: format!("cannot read the file: {e}"),
            }],
        })?;
        let form = parse_form(&display, &text)?;
        if let Some((other, _)) = forms.iter().find(|(_, f)| f.id == form.id) {
            return Err(FormFileError {
                file: display,
                problems: vec![Problem {
                    position: None,
                    message: format!(
                        "form id \"{}\" is also declared by {}",
                        form.id,
                        other.display()
                    ),
                }],
            });
        }
        forms.push((path, form));
    }
    Ok(forms)
}

/// Parses and validates one form file. `file` is only used in messages.
pub fn parse_form(file: &str, text: &str) -> Result<Form, FormFileError> {
    let mut checker = Checker {
        text,
        problems: Vec::new(),
    };
    let raw: RawForm = match toml::from_str(text) {
        Ok(raw) => raw,
        Err(e) => {
            checker.push(e.span(), e.message().trim().to_string());
            return Err(checker.into_error(file));
        }
    };
    let form = checker.form(raw);
    if checker.problems.is_empty() {
        Ok(form)
    } else {
        Err(checker.into_error(file))
    }
}

struct Checker<'t> {
    text: &'t str,
    problems: Vec<Problem>,
}

fn is_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
}

fn is_code(s: &str) -> bool {
    let mut bytes = s.bytes();
    matches!(bytes.next(), Some(b'A'..=b'Z'))
        && s.len() <= 32
        && bytes.all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

impl Checker<'_> {
    fn position(&self, offset: usize) -> (usize, usize) {
        let before = &self.text[..offset.min(self.text.len())];
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, col)
    }

    fn push(&mut self, span: Option<Range<usize>>, message: impl Into<String>) {
        let position = span.map(|s| self.position(s.start));
        self.problems.push(Problem {
            position,
            message: message.into(),
        });
    }

    fn at<T>(&mut self, spanned: &Spanned<T>, message: impl Into<String>) {
        self.push(Some(spanned.span()), message);
    }

    fn into_error(self, file: &str) -> FormFileError {
        FormFileError {
            file: file.to_string(),
            problems: self.problems,
        }
    }

    fn non_empty(&mut self, value: &Spanned<String>, what: &str) -> String {
        let trimmed = value.get_ref().trim();
        if trimmed.is_empty() {
            self.at(value, format!("{what} is empty"));
        }
        trimmed.to_string()
    }

    fn form(&mut self, raw: RawForm) -> Form {
        let id = raw.id.get_ref().clone();
        if !is_id(&id) {
            self.at(
                &raw.id,
                format!("form id \"{id}\" must be lowercase letters, digits and '-'"),
            );
        }
        let version = *raw.version.get_ref();
        if !(1..=i64::from(i32::MAX)).contains(&version) {
            self.at(&raw.version, "version must be a whole number of at least 1");
        }
        let title = self.non_empty(&raw.title, "title");
        let not_applicable_label = match &raw.not_applicable_label {
            Some(label) => self.non_empty(label, "not_applicable_label"),
            None => DEFAULT_NOT_APPLICABLE_LABEL.to_string(),
        };
        let index = match raw.index.get_ref().rule.get_ref().as_str() {
            "mean-of-factor-indices" => IndexRule::MeanOfFactorIndices,
            other => {
                self.at(
                    &raw.index.get_ref().rule,
                    format!("unknown index rule \"{other}\" (known: \"mean-of-factor-indices\")"),
                );
                IndexRule::MeanOfFactorIndices
            }
        };

        let mut scales = BTreeMap::new();
        for (name, scale) in &raw.scales {
            if !is_id(name.get_ref()) {
                self.at(
                    name,
                    format!(
                        "scale name \"{}\" must be lowercase letters, digits and '-'",
                        name.get_ref()
                    ),
                );
            }
            let checked = self.scale(name.get_ref(), scale);
            scales.insert(name.get_ref().clone(), checked);
        }

        let mut sections = Vec::with_capacity(raw.sections.len());
        let mut section_codes: HashMap<String, usize> = HashMap::new();
        let mut item_codes: HashMap<String, usize> = HashMap::new();
        for section in &raw.sections {
            let code = section.get_ref().code.get_ref();
            if let Some(line) = section_codes.get(code) {
                let message = format!("duplicate section code \"{code}\" (first at line {line})");
                self.at(&section.get_ref().code, message);
            } else {
                let line = self.position(section.get_ref().code.span().start).0;
                section_codes.insert(code.clone(), line);
            }
            sections.push(self.section(section, &raw.scales, &mut item_codes));
        }
        if raw.sections.is_empty() {
            self.push(None, "the form has no sections");
        }
        let residence: Vec<&str> = sections
            .iter()
            .flat_map(|s| &s.items)
            .filter(|i| i.is_residence())
            .map(|i| i.code.as_str())
            .collect();
        if residence.len() > 1 {
            self.push(
                None,
                format!(
                    "a form asks for the place of residence once (residence items: {})",
                    residence.join(", ")
                ),
            );
        }
        if index == IndexRule::MeanOfFactorIndices
            && !sections.iter().any(|s| s.role == SectionRole::Factor)
        {
            self.at(
                &raw.index,
                "the index rule needs at least one section with role = \"factor\"",
            );
        }

        Form {
            id,
            version: version.clamp(0, i64::from(i32::MAX)) as i32,
            title,
            short_title: raw.short_title.map(|s| s.trim().to_string()),
            source: raw.source.map(|s| s.trim().to_string()),
            introduction: raw.introduction.map(|s| s.trim().to_string()),
            thanks: raw.thanks.map(|s| s.trim().to_string()),
            not_applicable_label,
            index,
            scales,
            sections,
        }
    }

    fn scale(&mut self, name: &str, raw: &Spanned<RawScale>) -> Scale {
        let scale = raw.get_ref();
        if scale.options.is_empty() {
            self.at(raw, format!("scale \"{name}\" has no options"));
        }
        let mut options = Vec::with_capacity(scale.options.len());
        let mut codes = HashSet::new();
        let mut labels = HashSet::new();
        for option in &scale.options {
            let o = option.get_ref();
            let code = *o.code.get_ref();
            if !(1..=i64::from(i16::MAX)).contains(&code) {
                self.at(
                    &o.code,
                    format!("scale \"{name}\": option code {code} must be between 1 and 32767"),
                );
            } else if !codes.insert(code) {
                self.at(
                    &o.code,
                    format!("scale \"{name}\": duplicate option code {code}"),
                );
            }
            let label = self.non_empty(&o.label, &format!("scale \"{name}\": option label"));
            if !label.is_empty() && !labels.insert(label.clone()) {
                self.at(
                    &o.label,
                    format!("scale \"{name}\": duplicate option label \"{label}\""),
                );
            }
            options.push(ScaleOption {
                code: code.clamp(0, i64::from(i16::MAX)) as i16,
                label,
            });
        }
        let mut positive = Vec::with_capacity(scale.positive.len());
        for p in &scale.positive {
            let code = *p.get_ref();
            if !codes.contains(&code) {
                self.at(
                    p,
                    format!("scale \"{name}\": positive code {code} is not one of its options"),
                );
            } else {
                positive.push(code as i16);
            }
        }
        let descending = match scale.order.as_ref().map(|o| o.get_ref().as_str()) {
            None | Some("ascending") => false,
            Some("descending") => true,
            Some(other) => {
                let order = scale.order.as_ref().expect("matched Some");
                self.at(
                    order,
                    format!(
                        "scale \"{name}\": order must be \"ascending\" or \"descending\", not \"{other}\""
                    ),
                );
                false
            }
        };
        Scale {
            options,
            positive,
            descending,
        }
    }

    fn section(
        &mut self,
        raw: &Spanned<RawSection>,
        scales: &BTreeMap<Spanned<String>, Spanned<RawScale>>,
        item_codes: &mut HashMap<String, usize>,
    ) -> Section {
        let s = raw.get_ref();
        let code = s.code.get_ref().clone();
        if !is_code(&code) {
            self.at(
                &s.code,
                format!(
                    "section code \"{code}\" must start with A-Z and hold only A-Z, 0-9 and '_' (at most 32)"
                ),
            );
        }
        let title = self.non_empty(&s.title, &format!("section \"{code}\": title"));
        let role = match s.role.get_ref().as_str() {
            "factor" => SectionRole::Factor,
            "expectation" => SectionRole::Expectation,
            "respondent" => SectionRole::Respondent,
            "other" => SectionRole::Other,
            other => {
                self.at(
                    &s.role,
                    format!(
                        "section \"{code}\": unknown role \"{other}\" (factor, expectation, respondent or other)"
                    ),
                );
                SectionRole::Other
            }
        };
        if s.items.is_empty() {
            let what = if role == SectionRole::Factor {
                "factor section"
            } else {
                "section"
            };
            self.at(raw, format!("{what} \"{code}\" has no items"));
        }
        let mut items = Vec::with_capacity(s.items.len());
        for item in &s.items {
            let checked = self.item(item, scales, item_codes);
            if checked.is_residence() && role != SectionRole::Respondent {
                self.at(
                    &item.get_ref().code,
                    format!(
                        "residence item \"{}\" belongs in a section with role = \"respondent\"",
                        checked.code
                    ),
                );
            } else if role == SectionRole::Factor && !checked.is_choice() {
                self.at(
                    &item.get_ref().code,
                    format!(
                        "item \"{}\" is a text item in factor section \"{code}\": factors hold only choice items",
                        checked.code
                    ),
                );
            }
            if role == SectionRole::Factor
                && let ItemKind::Choice { scale, .. } = &checked.kind
                && scales
                    .iter()
                    .any(|(n, sc)| n.get_ref() == scale && sc.get_ref().positive.is_empty())
            {
                self.at(
                    &item.get_ref().code,
                    format!(
                        "item \"{}\" counts in the index but scale \"{scale}\" has no positive codes",
                        checked.code
                    ),
                );
            }
            items.push(checked);
        }
        Section {
            code,
            title,
            role,
            description: s.description.as_ref().map(|d| d.trim().to_string()),
            items,
        }
    }

    fn item(
        &mut self,
        raw: &Spanned<RawItem>,
        scales: &BTreeMap<Spanned<String>, Spanned<RawScale>>,
        item_codes: &mut HashMap<String, usize>,
    ) -> Item {
        let i = raw.get_ref();
        let code = i.code.get_ref().clone();
        if !is_code(&code) {
            self.at(
                &i.code,
                format!(
                    "item code \"{code}\" must start with A-Z and hold only A-Z, 0-9 and '_' (at most 32)"
                ),
            );
        }
        if let Some(line) = item_codes.get(&code) {
            let message = format!("duplicate item code \"{code}\" (first at line {line})");
            self.at(&i.code, message);
        } else {
            let line = self.position(i.code.span().start).0;
            item_codes.insert(code.clone(), line);
            if item_codes.len() == MAX_ITEMS + 1 {
                self.at(
                    &i.code,
                    format!("a form holds at most {MAX_ITEMS} items (item \"{code}\" is one more)"),
                );
            }
        }
        let text = self.non_empty(&i.text, &format!("item \"{code}\": text"));
        let kind_name = i.kind.as_ref().map_or("choice", |k| k.get_ref().as_str());
        let kind = match kind_name {
            "choice" => {
                let scale = match &i.scale {
                    None => {
                        self.at(&i.code, format!("choice item \"{code}\" has no scale"));
                        String::new()
                    }
                    Some(scale) => {
                        if !scales.keys().any(|k| k.get_ref() == scale.get_ref()) {
                            self.at(
                                scale,
                                format!(
                                    "item \"{code}\" uses unknown scale \"{}\"",
                                    scale.get_ref()
                                ),
                            );
                        }
                        scale.get_ref().clone()
                    }
                };
                if let Some(max) = &i.max_length {
                    self.at(
                        max,
                        format!("item \"{code}\": max_length is only for text items"),
                    );
                }
                ItemKind::Choice {
                    scale,
                    not_applicable: i.not_applicable,
                }
            }
            "text" => {
                if let Some(scale) = &i.scale {
                    self.at(scale, format!("text item \"{code}\" cannot have a scale"));
                }
                if i.not_applicable {
                    self.at(
                        &i.code,
                        format!("text item \"{code}\" cannot have a not-applicable answer"),
                    );
                }
                let max_length = match &i.max_length {
                    None => DEFAULT_TEXT_MAX_LENGTH,
                    Some(max) => {
                        let value = *max.get_ref();
                        if !(1..=10_000).contains(&value) {
                            self.at(
                                max,
                                format!("item \"{code}\": max_length must be between 1 and 10000"),
                            );
                        }
                        value.clamp(1, 10_000) as usize
                    }
                };
                ItemKind::Text { max_length }
            }
            "residence" => {
                if let Some(scale) = &i.scale
                    && !scales.keys().any(|k| k.get_ref() == scale.get_ref())
                {
                    self.at(
                        scale,
                        format!("item \"{code}\" uses unknown scale \"{}\"", scale.get_ref()),
                    );
                }
                if i.required {
                    self.at(
                        &i.code,
                        format!(
                            "residence item \"{code}\" cannot be required: the place of residence is optional for the citizen"
                        ),
                    );
                }
                if i.not_applicable {
                    self.at(
                        &i.code,
                        format!("residence item \"{code}\" cannot have a not-applicable answer"),
                    );
                }
                if let Some(max) = &i.max_length {
                    self.at(
                        max,
                        format!("item \"{code}\": max_length is only for text items"),
                    );
                }
                ItemKind::Residence {
                    places: i.scale.as_ref().map(|s| s.get_ref().clone()),
                }
            }
            other => {
                let kind = i.kind.as_ref().expect("a named kind");
                self.at(
                    kind,
                    format!(
                        "item \"{code}\": unknown type \"{other}\" (choice, text or residence)"
                    ),
                );
                ItemKind::Text {
                    max_length: DEFAULT_TEXT_MAX_LENGTH,
                }
            }
        };
        Item {
            code,
            text,
            kind,
            required: i.required,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
id = "mini"
version = 2
title = "Phiếu thử"

[index]
rule = "mean-of-factor-indices"

[scales.hl]
options = [ { code = 1, label = "Không hài lòng" }, { code = 2, label = "Hài lòng" } ]
positive = [2]
order = "descending"

[[sections]]
code = "A"
title = "Yếu tố A"
role = "factor"

[[sections.items]]
code = "A1"
text = "Câu một"
scale = "hl"
required = true

[[sections.items]]
code = "A2"
text = "Câu hai"
scale = "hl"
not_applicable = true

[[sections]]
code = "Y"
title = "Ý kiến"
role = "other"

[[sections.items]]
code = "Y1"
text = "Góp ý"
type = "text"
max_length = 300
"#;

    fn problems(text: &str) -> Vec<String> {
        match parse_form("f.toml", text) {
            Ok(_) => panic!("expected the form to be rejected"),
            Err(e) => e.to_string().lines().map(String::from).collect(),
        }
    }

    #[test]
    fn a_form_holds_at_most_max_items() {
        let with = |n: usize| {
            let mut text = GOOD.to_string();
            for i in 0..n {
                text.push_str(&format!(
                    "\n[[sections.items]]\ncode = \"Y{}\"\ntext = \"Thêm\"\ntype = \"text\"\n",
                    i + 2
                ));
            }
            text
        };
        assert!(parse_form("f.toml", &with(MAX_ITEMS - 3)).is_ok());
        let refused = problems(&with(MAX_ITEMS - 2));
        assert!(
            refused
                .iter()
                .any(|p| p.contains("a form holds at most 150 items (item \"Y149\" is one more)")),
            "{refused:?}"
        );
    }

    #[test]
    fn a_good_form_parses_into_the_model() {
        let form = parse_form("f.toml", GOOD).unwrap();
        assert_eq!(form.id, "mini");
        assert_eq!(form.version, 2);
        assert_eq!(form.not_applicable_label, DEFAULT_NOT_APPLICABLE_LABEL);
        let codes: Vec<&str> = form.choice_items().map(|i| i.code.as_str()).collect();
        assert_eq!(codes, ["A1", "A2"]);
        let scale = form.scale("hl").unwrap();
        assert_eq!(scale.positive, [2]);
        let shown: Vec<i16> = scale.display_options().iter().map(|o| o.code).collect();
        assert_eq!(shown, [2, 1]);
        assert_eq!(
            form.item("Y1").unwrap().kind,
            ItemKind::Text { max_length: 300 }
        );
    }

    #[test]
    fn the_hash_ignores_comments_and_the_version_but_not_wording() {
        let base = parse_form("f.toml", GOOD).unwrap();
        let commented = parse_form("f.toml", &format!("# note\n{GOOD}")).unwrap();
        assert_eq!(base.content_hash(), commented.content_hash());
        let bumped = parse_form("f.toml", &GOOD.replace("version = 2", "version = 3")).unwrap();
        assert_eq!(base.content_hash(), bumped.content_hash());
        let reworded = parse_form("f.toml", &GOOD.replace("Câu một", "Câu 1")).unwrap();
        assert_ne!(base.content_hash(), reworded.content_hash());
    }

    #[test]
    fn a_duplicate_item_code_is_named_with_its_line() {
        let text = GOOD.replace("code = \"A2\"", "code = \"A1\"");
        let p = problems(&text);
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(
            p[0].starts_with("f.toml:26:8: duplicate item code \"A1\" (first at line 20)"),
            "{p:?}"
        );
    }

    #[test]
    fn a_factor_with_no_items_is_rejected() {
        let text = GOOD.replace(
            "[[sections]]\ncode = \"Y\"",
            "[[sections]]\ncode = \"B\"\ntitle = \"Trống\"\nrole = \"factor\"\n\n[[sections]]\ncode = \"Y\"",
        );
        let p = problems(&text);
        assert!(
            p.iter()
                .any(|l| l.contains("factor section \"B\" has no items")),
            "{p:?}"
        );
    }

    #[test]
    fn a_scale_with_no_labels_is_rejected() {
        let text = GOOD.replace(
            "options = [ { code = 1, label = \"Không hài lòng\" }, { code = 2, label = \"Hài lòng\" } ]\npositive = [2]",
            "options = []",
        );
        let p = problems(&text);
        assert!(
            p.iter().any(|l| l.contains("scale \"hl\" has no options")),
            "{p:?}"
        );
    }

    #[test]
    fn scale_problems_are_each_reported() {
        let text = GOOD.replace(
            "{ code = 2, label = \"Hài lòng\" } ]\npositive = [2]",
            "{ code = 1, label = \"Không hài lòng\" }, { code = 0, label = \"\" } ]\npositive = [7]",
        );
        let p = problems(&text).join("\n");
        assert!(p.contains("duplicate option code 1"), "{p}");
        assert!(
            p.contains("duplicate option label \"Không hài lòng\""),
            "{p}"
        );
        assert!(
            p.contains("option code 0 must be between 1 and 32767"),
            "{p}"
        );
        assert!(p.contains("option label is empty"), "{p}");
        assert!(
            p.contains("positive code 7 is not one of its options"),
            "{p}"
        );
    }

    #[test]
    fn item_problems_are_each_reported() {
        let text = GOOD
            .replace("scale = \"hl\"\nrequired = true", "scale = \"nope\"")
            .replace("code = \"A2\"", "code = \"a-2\"")
            .replace("type = \"text\"", "type = \"text\"\nscale = \"hl\"");
        let p = problems(&text).join("\n");
        assert!(p.contains("item \"A1\" uses unknown scale \"nope\""), "{p}");
        assert!(p.contains("item code \"a-2\" must start with A-Z"), "{p}");
        assert!(p.contains("text item \"Y1\" cannot have a scale"), "{p}");
    }

    #[test]
    fn a_text_item_in_a_factor_and_a_choice_without_scale_are_rejected() {
        let text = GOOD.replace(
            "text = \"Câu hai\"\nscale = \"hl\"\nnot_applicable = true",
            "text = \"Câu hai\"\ntype = \"text\"",
        );
        let p = problems(&text).join("\n");
        assert!(
            p.contains("\"A2\" is a text item in factor section \"A\""),
            "{p}"
        );
        let text = GOOD.replace("text = \"Câu hai\"\nscale = \"hl\"", "text = \"Câu hai\"");
        assert!(
            problems(&text)
                .join("\n")
                .contains("choice item \"A2\" has no scale")
        );
    }

    #[test]
    fn unknown_keys_and_syntax_errors_name_the_place() {
        let p = problems(&GOOD.replace("required = true", "requird = true"));
        assert_eq!(p.len(), 1);
        assert!(
            p[0].starts_with("f.toml:23:1: unknown field `requird`"),
            "{p:?}"
        );
        let p = problems("id = \"x\"\nversion = \n");
        assert!(p[0].starts_with("f.toml:2:"), "{p:?}");
    }

    #[test]
    fn a_residence_item_is_optional_once_in_a_respondent_section() {
        let base = |extra: &str| {
            format!(
                "{GOOD}\n[[sections]]\ncode = \"NTL\"\ntitle = \"Người trả lời\"\nrole = \"respondent\"\n{extra}"
            )
        };
        let tree = "[[sections.items]]\ncode = \"NOI_CU_TRU\"\ntext = \"Nơi cư trú\"\ntype = \"residence\"\n";
        let form = parse_form("m.toml", &base(tree)).unwrap();
        assert_eq!(
            form.residence_item().unwrap().kind,
            ItemKind::Residence { places: None }
        );
        assert_eq!(form.residence_code_label(-1), Some("Nơi khác"));
        assert_eq!(form.residence_code_label(-2), Some("Không muốn trả lời"));
        assert_eq!(form.residence_code_label(3), None);
        assert!(form.text_items().all(|i| i.code != "NOI_CU_TRU"));
        let required = tree.replace("type", "required = true\ntype");
        assert!(
            problems(&base(&required))
                .iter()
                .any(|p| p.contains("cannot be required"))
        );
        let twice = format!("{tree}{}", tree.replace("NOI_CU_TRU", "NOI_O"));
        assert!(
            problems(&base(&twice))
                .iter()
                .any(|p| p.contains("place of residence once"))
        );
        let unknown = tree.replace("type", "scale = \"khong-co\"\ntype");
        assert!(
            problems(&base(&unknown))
                .iter()
                .any(|p| p.contains("unknown scale \"khong-co\""))
        );
        let other_role = base(tree).replace("role = \"respondent\"", "role = \"other\"");
        assert!(
            problems(&other_role)
                .iter()
                .any(|p| p.contains("role = \"respondent\""))
        );
    }

    #[test]
    fn the_index_rule_needs_a_factor() {
        let text = GOOD.replace("role = \"factor\"", "role = \"other\"");
        assert!(
            problems(&text)
                .join("\n")
                .contains("needs at least one section with role = \"factor\"")
        );
        let text = GOOD.replace("mean-of-factor-indices", "median");
        assert!(
            problems(&text)
                .join("\n")
                .contains("unknown index rule \"median\"")
        );
    }

    #[test]
    fn the_shipped_forms_load() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../survey-forms");
        let forms = load_dir(&dir).unwrap_or_else(|e| panic!("{e}"));
        let ids: Vec<&str> = forms.iter().map(|(_, f)| f.id.as_str()).collect();
        assert!(ids.contains(&"sipas-1001-dich-vu"), "{ids:?}");
        assert!(ids.contains(&"danh-gia-mot-cua"), "{ids:?}");
        let sipas = &forms
            .iter()
            .find(|(_, f)| f.id == "sipas-1001-dich-vu")
            .unwrap()
            .1;
        let factors: Vec<usize> = sipas
            .sections
            .iter()
            .filter(|s| s.role == SectionRole::Factor)
            .map(|s| s.items.len())
            .collect();
        assert_eq!(factors, [4, 4, 5, 3, 3], "the 19 criteria of QĐ 1001");
    }

    /// A private directory, removed when dropped.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(label: &str) -> Self {
            let path = std::env::temp_dir().join(format!(
                "sipas-forms-{label}-{}-{}",
                std::process::id(),
                rand::random::<u64>()
            ));
            std::fs::create_dir_all(&path).unwrap();
            TempDir(path)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn the_embedded_forms_are_the_shipped_files() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../survey-forms");
        let shipped = load_dir(&dir).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(EMBEDDED.len(), shipped.len());
        for ((name, text), (path, form)) in EMBEDDED.iter().zip(&shipped) {
            let file = path.file_name().unwrap().to_str().unwrap();
            assert_eq!(*name, format!("survey-forms/{file}"));
            assert_eq!(*text, std::fs::read_to_string(path).unwrap());
            assert_eq!(&parse_form(name, text).unwrap(), form);
        }
        let loaded = load(true, None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(loaded.embedded, ["danh-gia-mot-cua", "sipas-1001-dich-vu"]);
        assert!(loaded.overridden.is_empty() && loaded.added.is_empty());
        assert_eq!(
            loaded.files[1].0,
            Path::new("survey-forms/sipas-1001-dich-vu.toml")
        );
    }

    #[test]
    fn the_forms_directory_overrides_and_adds() {
        let dir = TempDir::new("override");
        let quick = EMBEDDED
            .iter()
            .find(|(name, _)| name.ends_with("danh-gia-mot-cua.toml"))
            .unwrap()
            .1;
        let changed = quick.replace("\nversion = 1\n", "\nversion = 7\n");
        assert_ne!(changed, quick);
        std::fs::write(dir.0.join("mot-cua.toml"), &changed).unwrap();
        let added = changed.replace("id = \"danh-gia-mot-cua\"", "id = \"danh-gia-rieng\"");
        std::fs::write(dir.0.join("rieng.toml"), added).unwrap();
        std::fs::write(dir.0.join("notes.txt"), "not a form").unwrap();

        let loaded = load(true, Some(&dir.0)).unwrap_or_else(|e| panic!("{e}"));
        let ids: Vec<(&str, i32)> = loaded
            .files
            .iter()
            .map(|(_, f)| (f.id.as_str(), f.version))
            .collect();
        assert_eq!(
            ids,
            [
                ("danh-gia-mot-cua", 7),
                ("sipas-1001-dich-vu", 1),
                ("danh-gia-rieng", 7)
            ]
        );
        assert_eq!(loaded.embedded, ["sipas-1001-dich-vu"]);
        assert_eq!(
            loaded.overridden,
            [("danh-gia-mot-cua".to_string(), dir.0.join("mot-cua.toml"))]
        );
        assert_eq!(
            loaded.added,
            [("danh-gia-rieng".to_string(), dir.0.join("rieng.toml"))]
        );
        // Without the embedded forms: only the directory's.
        let only = load(false, Some(&dir.0)).unwrap();
        assert_eq!(only.files.len(), 2);
        assert!(only.embedded.is_empty());

        // A broken override names its file, line and column.
        std::fs::write(dir.0.join("rieng.toml"), "id = \"x\"\nversion = \n").unwrap();
        let e = load(true, Some(&dir.0)).unwrap_err().to_string();
        let expected = format!("{}:2:", dir.0.join("rieng.toml").display());
        assert!(e.starts_with(&expected), "{e}");
    }

    #[test]
    fn an_empty_or_missing_forms_directory() {
        let dir = TempDir::new("empty");
        let loaded = load(true, Some(&dir.0)).unwrap();
        assert_eq!(loaded.files.len(), EMBEDDED.len());
        let e = load(false, Some(&dir.0)).unwrap_err().to_string();
        assert!(e.contains("no survey form (*.toml) found"), "{e}");
        let missing = dir.0.join("missing");
        let e = load(true, Some(&missing)).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!(
                "{}: cannot read the survey-forms directory",
                missing.display()
            )),
            "{e}"
        );
    }
}
