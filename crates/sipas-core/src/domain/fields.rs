//! What a form's validation found, field by field.

use std::collections::BTreeMap;

/// Messages (Vietnamese, for the page) keyed by the field's name.
pub type FieldErrors = BTreeMap<&'static str, String>;
