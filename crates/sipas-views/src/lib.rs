//! HTML pages, as maud functions returning `Markup`. Small, composable, no I/O; unit-tested by
//! rendering. The crate knows no web framework: handlers (`sipas::web`) call these and send
//! what they return.

// The lower layers under the names the pages use (`crate::db::units::Unit`, ...).
pub use sipas_app::signed_in::SignedIn;
use sipas_app::{
    config, db, disclosure, domain, forms, report_document, reports, small_cells, spool, stats,
};
use sipas_core::{plans, respondent_filter};

pub mod charts;
pub mod pages;
pub mod privacy;
pub mod public;
pub mod staff;
pub mod survey;

use std::sync::LazyLock;

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

/// The stylesheets' bytes, as the web serves them.
pub const STYLESHEET: &str = include_str!("../../../static/sipas.css");
pub const STAFF_STYLESHEET: &str = include_str!("../../../static/staff.css");

/// The site's icon (32 × 32, a PNG in an ICO file), served at [`FAVICON_PATH`].
pub const FAVICON: &[u8] = include_bytes!("../../../static/favicon.ico");
pub const FAVICON_PATH: &str = "/favicon.ico";

/// FNV-1a (64 bits) of `bytes`: a content hash for cache busting (not a security measure),
/// computed at compile time.
pub const fn content_hash(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        i += 1;
    }
    hash
}

/// "/static/sipas.css" with the hash of `body` before its extension: "/static/sipas.1a2b….css".
/// A changed file gets a new address, so the address can be cached for a year ("immutable").
pub fn hashed_path(path: &str, body: &str) -> String {
    let hash = format!("{:016x}", content_hash(body.as_bytes()));
    match path.rsplit_once('.') {
        Some((stem, ext)) => format!("{stem}.{hash}.{ext}"),
        None => format!("{path}.{hash}"),
    }
}

/// The addresses the pages link: the stylesheets under their content hash.
pub static STYLESHEET_HREF: LazyLock<String> =
    LazyLock::new(|| hashed_path(STYLESHEET_PATH, STYLESHEET));
pub static STAFF_STYLESHEET_HREF: LazyLock<String> =
    LazyLock::new(|| hashed_path(STAFF_STYLESHEET_PATH, STAFF_STYLESHEET));
pub static REPORT_STYLESHEET_HREF: LazyLock<String> =
    LazyLock::new(|| hashed_path(REPORT_STYLESHEET_PATH, staff::report::REPORT_STYLESHEET));

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
                link rel="icon" href=(FAVICON_PATH) sizes="32x32";
                link rel="stylesheet" href=(*STYLESHEET_HREF);
                @if body_class == Some("staff") {
                    link rel="stylesheet" href=(*STAFF_STYLESHEET_HREF);
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
        assert!(
            page.contains("<link rel=\"icon\" href=\"/favicon.ico\""),
            "{page}"
        );
    }

    #[test]
    fn stylesheets_are_linked_under_their_content_hash() {
        let page = layout("x", html! {}).into_string();
        let href = STYLESHEET_HREF.as_str();
        assert!(page.contains(&format!("href=\"{href}\"")), "{page}");
        assert!(
            href.starts_with("/static/sipas.") && href.ends_with(".css"),
            "{href}"
        );
        assert_eq!(href.len(), "/static/sipas.".len() + 16 + ".css".len());
        assert_eq!(*STYLESHEET_HREF, hashed_path(STYLESHEET_PATH, STYLESHEET));
        // One changed byte, another address.
        assert_ne!(hashed_path("/a.css", "p{}"), hashed_path("/a.css", "p{ }"));
        assert_eq!(hashed_path("/a.css", ""), "/a.cbf29ce484222325.css");
        let staff = shell("x", Some("staff"), html! {}).into_string();
        assert!(staff.contains(STAFF_STYLESHEET_HREF.as_str()), "{staff}");
    }
}
