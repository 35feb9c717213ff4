//! HTML pages, as maud functions returning `Markup`. Small, composable, no I/O; unit-tested by
//! rendering. The crate knows no web framework: handlers (`sipas::web`) call these and send
//! what they return.

// The lower layers under the names the pages use (`crate::db::units::Unit`, ...).
pub use sipas_app::signed_in::SignedIn;
use sipas_app::{
    config, db, disclosure, domain, forms, report_document, reports, small_cells, spool, stats,
};
use sipas_core::plans;

pub mod charts;
pub mod pages;
pub mod privacy;
pub mod public;
pub mod staff;
pub mod survey;

use maud::{DOCTYPE, Markup, html};

pub use crate::domain::format::{format_vietnam_time, group_thousands};
pub use crate::domain::time::vietnam_offset;

/// Name of the hidden field carrying the CSRF token in every staff form.
pub const CSRF_FIELD: &str = "_csrf";

/// The one stylesheet of the citizen's pages (kept small: the survey's budget is 30 KB), served
/// by `web`.
pub const STYLESHEET_PATH: &str = "/static/sipas.css";
/// Added by the staff pages.
pub const STAFF_STYLESHEET_PATH: &str = "/static/staff.css";
/// Added by the printable report (`/staff/report`); inlined in `sipas report` files.
pub const REPORT_STYLESHEET_PATH: &str = "/static/report.css";

/// The page shell shared by every page: Vietnamese, mobile viewport, one small stylesheet, no
/// scripts, no fonts, nothing from other sites.
pub fn layout(title: &str, body: Markup) -> Markup {
    shell(title, None, body)
}

/// [`layout`] with a class on `body` (the staff pages use "staff": wider, denser).
pub fn shell(title: &str, body_class: Option<&str>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="vi" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="robots" content="noindex";
                title { (title) }
                link rel="stylesheet" href=(crate::STYLESHEET_PATH);
                @if body_class == Some("staff") {
                    link rel="stylesheet" href=(crate::STAFF_STYLESHEET_PATH);
                }
            }
            body class=[body_class] {
                main { (body) }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    #[test]
    fn times_show_in_vietnam() {
        let at = Utc.with_ymd_and_hms(2026, 11, 26, 20, 5, 0).unwrap();
        assert_eq!(format_vietnam_time(at), "03:05 ngày 27/11/2026");
    }

    #[test]
    fn the_layout_escapes_and_links_only_our_stylesheet() {
        let page = layout("A & <B>", html! { p { "x" } }).into_string();
        assert!(page.contains("<title>A &amp; &lt;B&gt;</title>"));
        assert!(page.contains("lang=\"vi\""));
        assert!(!page.contains("<script"));
        assert!(!page.contains("http"));
    }
}
