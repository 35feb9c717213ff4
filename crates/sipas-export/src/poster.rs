//! Printable QR posters for one-stop reception desks.
//!
//! [`Poster::svg`] lays out an A5 portrait notice (unit name, desk name, a
//! heading, instructions, a large QR code, the short link and a footer) as a
//! standalone SVG document whose user units are millimetres.
//! [`Poster::png`] rasterises that document with resvg for printing, and
//! [`qr_svg`] produces the bare QR code for web pages.
//!
//! SVG 1.1 has no automatic text wrapping, so long names are wrapped and, if
//! necessary, shrunk here using advance widths estimated from DejaVu Sans
//! (a wide font: narrower fallbacks such as Liberation Sans or Arial only
//! leave a little more room).

use std::fmt::{self, Write as _};
use std::sync::{Arc, OnceLock};

use qrcode::types::{Color as Module, QrError};
use qrcode::{EcLevel, QrCode};
use resvg::tiny_skia;
use resvg::usvg::{self, fontdb};

/// Font stack used for all proportional text on the poster.
pub const FONT_FAMILY: &str = "DejaVu Sans, Noto Sans, Liberation Sans, Arial, sans-serif";
/// Font stack used for the printed link (0/O and 1/l stay distinguishable).
const MONO_FAMILY: &str = "DejaVu Sans Mono, Noto Sans Mono, Liberation Mono, Consolas, monospace";

/// Families tried, in order, as the generic `sans-serif` / `monospace` of the font database.
const SANS_CANDIDATES: [&str; 4] = ["DejaVu Sans", "Noto Sans", "Liberation Sans", "Arial"];
const MONO_CANDIDATES: [&str; 4] = [
    "DejaVu Sans Mono",
    "Noto Sans Mono",
    "Liberation Mono",
    "Consolas",
];

/// Highest accepted resolution for [`Poster::png`]; A5 at 600 dpi is 3496 x 4961 px (~69 MB RGBA).
pub const MAX_DPI: u32 = 600;

const PAGE_W: f64 = 148.0;
const PAGE_H: f64 = 210.0;
const CENTER_X: f64 = PAGE_W / 2.0;
/// Width available to text (14 mm side margins).
const CONTENT_W: f64 = 120.0;
/// Top of the first text block and bottom of the footer block.
const CONTENT_TOP: f64 = 13.5;
const CONTENT_BOTTOM: f64 = 200.5;
/// Largest QR square, quiet zone included.
const QR_MAX: f64 = 106.0;
/// Quiet zone around the QR symbol, in modules.
const QUIET_ZONE: usize = 4;

const BLUE: &str = "#0f3679";
const INK: &str = "#1a1a1a";
const MUTED: &str = "#4a4a4a";

const HEADING: &str = "ĐÁNH GIÁ MỨC ĐỘ HÀI LÒNG";
const INSTRUCTION: &str = "Quét mã QR để đánh giá mức độ hài lòng của Anh/Chị về sự phục vụ của cơ quan hành chính nhà nước";
const FOOTER: [&str; 2] = [
    "Ý kiến của Anh/Chị giúp cải thiện chất lượng phục vụ.",
    "Phiếu khảo sát không ghi tên.",
];

/// Errors from QR encoding and PNG rendering.
#[derive(Debug, thiserror::Error)]
pub enum PosterError {
    /// The URL cannot be encoded (longer than a version 40-M QR code holds, about 2,300 bytes).
    #[error("cannot encode the survey link as a QR code: {0}")]
    Qr(#[from] QrError),
    /// No font was found, so the poster text would be invisible.
    #[error(
        "no fonts found on this system, poster text cannot be rendered; \
         install a font package with Vietnamese support (Debian/Ubuntu: fonts-dejavu-core)"
    )]
    NoFonts,
    /// `dpi` is zero or above [`MAX_DPI`].
    #[error("unsupported resolution {0} dpi (expected 1..={MAX_DPI})")]
    InvalidDpi(u32),
    /// The generated SVG could not be parsed (a bug in this module).
    #[error("cannot parse the poster SVG: {0}")]
    Svg(#[from] usvg::Error),
    /// Pixmap allocation or PNG encoding failed.
    #[error("cannot encode the poster PNG: {0}")]
    Png(String),
}

/// An A5 QR poster for one reception desk.
#[derive(Debug, Clone, Copy)]
pub struct Poster<'a> {
    /// Name of the administrative unit, e.g. "UBND xã Xuân Bắc".
    pub unit_name: &'a str,
    /// Name of the desk, e.g. "Bộ phận Tiếp nhận và Trả kết quả".
    pub desk_name: &'a str,
    /// Survey link encoded in the QR code, e.g. "https://sipas.xuanloc.gov.vn/s/7k3m9qxa".
    pub url: &'a str,
    /// Superior body, printed as a small line on top, e.g. "UBND huyện Xuân Lộc, tỉnh Đồng Nai".
    pub parent_name: Option<&'a str>,
}

impl Poster<'_> {
    /// A5 portrait poster (148 x 210 mm; `width="148mm" height="210mm"`,
    /// viewBox in mm units) as a standalone SVG document.
    ///
    /// If the URL cannot be encoded as a QR code (far too long), the code is
    /// replaced by a visible error notice; [`Poster::png`] returns
    /// [`PosterError::Qr`] in that case.
    pub fn svg(&self) -> String {
        self.compose().svg
    }

    /// The same poster rendered to PNG at `dpi` (300 for print) via resvg,
    /// with system fonts. The PNG carries a pHYs chunk so that it prints at
    /// A5 size.
    pub fn png(&self, dpi: u32) -> Result<Vec<u8>, PosterError> {
        if dpi == 0 || dpi > MAX_DPI {
            return Err(PosterError::InvalidDpi(dpi));
        }
        let composed = self.compose();
        if let Some(err) = composed.qr_error {
            return Err(PosterError::Qr(err));
        }
        let width = mm_to_px(PAGE_W, dpi);
        let height = mm_to_px(PAGE_H, dpi);
        render_png(&composed.svg, width, height, dpi)
    }

    fn compose(&self) -> Composed {
        let qr = QrCode::with_error_correction_level(self.url.as_bytes(), EcLevel::M);
        let mut out = Svg::new();
        let mut y = CONTENT_TOP;

        // Top flow: parent line, unit name, desk name, heading, instruction.
        if let Some(parent) = self.parent_name.map(normalize).filter(|p| !p.is_empty()) {
            let block = fit_block(&parent, Face::Regular, &[3.6, 3.3, 3.0], 2, 3);
            out.block(&block, y, MUTED, Face::Regular);
            y += block.height() + 1.2;
        }

        let unit = normalize(self.unit_name);
        let unit_block = fit_block(
            &unit,
            Face::Bold,
            &[7.6, 7.0, 6.5, 6.0, 5.5, 5.0, 4.6],
            3,
            4,
        );
        let unit_band = (y, y + unit_block.height());
        out.block(&unit_block, y, BLUE, Face::Bold);
        y += unit_block.height() + 2.0;
        // Short rule under the unit name, as in Vietnamese official headers.
        out.line(CENTER_X - 16.0, y, CENTER_X + 16.0, y, BLUE, 0.35);
        y += 2.4;

        let desk = normalize(self.desk_name);
        if !desk.is_empty() {
            let block = fit_block(&desk, Face::Regular, &[4.8, 4.4, 4.0, 3.6], 2, 3);
            out.block(&block, y, INK, Face::Regular);
            y += block.height();
        }
        y += 4.0;

        let heading = fit_block(HEADING, Face::Bold, &[6.2, 5.8, 5.4, 5.0], 1, 2);
        let band_h = heading.height() + 4.2;
        out.rect(CENTER_X - CONTENT_W / 2.0, y, CONTENT_W, band_h, 1.2, BLUE);
        out.block(&heading, y + 2.2, "#ffffff", Face::Bold);
        y += band_h + 3.0;

        let instruction = fit_block(INSTRUCTION, Face::Regular, &[4.2, 4.0, 3.8, 3.6], 3, 4);
        out.block(&instruction, y, INK, Face::Regular);
        y += instruction.height();
        let region_top = y + 1.0;

        // Bottom flow, anchored to the border: footer with a thin rule above it.
        let footer = fit_paragraphs(&FOOTER, Face::Italic, &[3.4, 3.2, 3.0], 2, 3);
        let footer_top = CONTENT_BOTTOM - footer.height();
        out.block(&footer, footer_top, MUTED, Face::Italic);
        let rule_y = footer_top - 2.0;
        out.line(
            CENTER_X - 45.0,
            rule_y,
            CENTER_X + 45.0,
            rule_y,
            "#9aa7bd",
            0.25,
        );
        let region_bottom = rule_y - 2.5;

        // Middle: the QR square (quiet zone included) with the link under it,
        // centred vertically in the remaining space.
        let link = link_block(self.url);
        let available = region_bottom - region_top;
        let qr_side = (available - link.height()).clamp(40.0, QR_MAX);
        let group_top = region_top + ((available - qr_side - link.height()) / 2.0).max(0.0);
        let qr_x = CENTER_X - qr_side / 2.0;
        let qr_error = match &qr {
            Ok(code) => {
                out.qr(code, qr_x, group_top, qr_side);
                None
            }
            Err(err) => {
                out.qr_placeholder(qr_x, group_top, qr_side);
                Some(*err)
            }
        };
        out.block(&link, group_top + qr_side, INK, Face::Mono);

        Composed {
            svg: out.finish(unit.as_str()),
            qr_error,
            unit_band,
            qr_side,
        }
    }
}

/// The bare QR code (error correction level M) as a square SVG document with
/// a quiet zone of 4 modules, for web pages. It is 8 px per module by default
/// and scales freely with CSS (it has a viewBox).
pub fn qr_svg(url: &str) -> Result<String, PosterError> {
    let code = QrCode::with_error_correction_level(url.as_bytes(), EcLevel::M)?;
    let side = code.width() + 2 * QUIET_ZONE;
    let px = side * 8;
    let mut s = String::with_capacity(4096);
    let _ = write!(
        s,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"{px}\" height=\"{px}\" \
         viewBox=\"0 0 {side} {side}\" role=\"img\" aria-label=\"{label}\">\n\
         <rect width=\"{side}\" height=\"{side}\" fill=\"#ffffff\"/>\n\
         <path fill=\"#000000\" shape-rendering=\"crispEdges\" d=\"{d}\"/>\n\
         </svg>\n",
        label = Esc(url),
        d = qr_path_data(&code),
    );
    Ok(s)
}

/// Output of [`Poster::compose`].
struct Composed {
    svg: String,
    qr_error: Option<QrError>,
    /// Vertical extent of the unit name block, in mm (used by tests).
    #[cfg_attr(not(test), allow(dead_code))]
    unit_band: (f64, f64),
    /// Side of the QR square including its quiet zone, in mm (used by tests).
    #[cfg_attr(not(test), allow(dead_code))]
    qr_side: f64,
}

// ---------------------------------------------------------------------------
// Rendering

fn mm_to_px(mm: f64, dpi: u32) -> u32 {
    (mm * f64::from(dpi) / 25.4).round() as u32
}

fn render_png(svg: &str, width: u32, height: u32, dpi: u32) -> Result<Vec<u8>, PosterError> {
    let db = font_database()?;
    let options = usvg::Options {
        font_family: db.family_name(&fontdb::Family::SansSerif).to_owned(),
        fontdb: db,
        ..usvg::Options::default()
    };
    let tree = usvg::Tree::from_str(svg, &options)?;
    let mut pixmap = tiny_skia::Pixmap::new(width, height)
        .ok_or_else(|| PosterError::Png(format!("cannot allocate a {width}x{height} pixmap")))?;
    pixmap.fill(tiny_skia::Color::WHITE);
    let size = tree.size();
    let transform = tiny_skia::Transform::from_scale(
        width as f32 / size.width(),
        height as f32 / size.height(),
    );
    resvg::render(&tree, transform, &mut pixmap.as_mut());
    let png = pixmap
        .encode_png()
        .map_err(|e| PosterError::Png(e.to_string()))?;
    Ok(insert_phys(png, dpi))
}

/// System fonts, loaded once per process (loading takes tens of milliseconds).
/// An empty result is not cached, so installing fonts needs no restart.
fn font_database() -> Result<Arc<fontdb::Database>, PosterError> {
    static DB: OnceLock<Arc<fontdb::Database>> = OnceLock::new();
    if let Some(db) = DB.get() {
        return Ok(Arc::clone(db));
    }
    let mut db = fontdb::Database::new();
    db.load_system_fonts();
    if db.is_empty() {
        return Err(PosterError::NoFonts);
    }
    // Make the generic families resolve to a font that is actually installed.
    if let Some(family) = first_installed(&db, &SANS_CANDIDATES).or_else(|| any_family(&db)) {
        db.set_sans_serif_family(family);
    }
    if let Some(family) = first_installed(&db, &MONO_CANDIDATES).or_else(|| any_family(&db)) {
        db.set_monospace_family(family);
    }
    Ok(Arc::clone(DB.get_or_init(|| Arc::new(db))))
}

fn first_installed(db: &fontdb::Database, candidates: &[&str]) -> Option<String> {
    candidates.iter().find_map(|name| {
        db.faces()
            .flat_map(|face| face.families.iter())
            .find(|(family, _)| family.eq_ignore_ascii_case(name))
            .map(|(family, _)| family.clone())
    })
}

fn any_family(db: &fontdb::Database) -> Option<String> {
    db.faces()
        .find_map(|face| face.families.first())
        .map(|(family, _)| family.clone())
}

/// Inserts a pHYs chunk (physical pixel density) right after IHDR so that
/// image viewers and print dialogs know the intended size.
fn insert_phys(png: Vec<u8>, dpi: u32) -> Vec<u8> {
    // 8-byte signature, then IHDR: length (4) + type (4) + data (13) + CRC (4).
    const IHDR_END: usize = 8 + 4 + 4 + 13 + 4;
    if png.len() < IHDR_END || &png[12..16] != b"IHDR" {
        return png;
    }
    let per_metre = (f64::from(dpi) / 0.0254).round() as u32;
    let mut chunk = Vec::with_capacity(21);
    chunk.extend_from_slice(&9u32.to_be_bytes());
    chunk.extend_from_slice(b"pHYs");
    chunk.extend_from_slice(&per_metre.to_be_bytes());
    chunk.extend_from_slice(&per_metre.to_be_bytes());
    chunk.push(1); // unit: metre
    let crc = crc32(&chunk[4..]);
    chunk.extend_from_slice(&crc.to_be_bytes());

    let mut out = Vec::with_capacity(png.len() + chunk.len());
    out.extend_from_slice(&png[..IHDR_END]);
    out.extend_from_slice(&chunk);
    out.extend_from_slice(&png[IHDR_END..]);
    out
}

/// CRC-32 (IEEE 802.3) as used by PNG chunks.
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

// ---------------------------------------------------------------------------
// SVG writing

/// XML-escapes text and attribute values; drops characters XML 1.0 forbids.
struct Esc<'a>(&'a str);

impl fmt::Display for Esc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.0.chars() {
            match c {
                '&' => f.write_str("&amp;")?,
                '<' => f.write_str("&lt;")?,
                '>' => f.write_str("&gt;")?,
                '"' => f.write_str("&quot;")?,
                '\'' => f.write_str("&apos;")?,
                '\t' | '\n' | '\r' => f.write_char(c)?,
                c if c < ' ' || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
                c => f.write_char(c)?,
            }
        }
        Ok(())
    }
}

/// A length in mm, printed with at most 2 decimals and no trailing zeros.
struct N(f64);

impl fmt::Display for N {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = format!("{:.2}", self.0);
        let s = s.trim_end_matches('0').trim_end_matches('.');
        f.write_str(if s == "-0" { "0" } else { s })
    }
}

struct Svg {
    body: String,
}

impl Svg {
    fn new() -> Self {
        Svg {
            body: String::with_capacity(8192),
        }
    }

    fn block(&mut self, block: &TextBlock, top: f64, fill: &str, face: Face) {
        let style = match face {
            Face::Regular => String::new(),
            Face::Bold => " font-weight=\"bold\"".to_owned(),
            Face::Italic => " font-style=\"italic\"".to_owned(),
            Face::Mono => format!(" font-family=\"{MONO_FAMILY}\""),
        };
        for (i, line) in block.lines.iter().enumerate() {
            let baseline = block.baseline(top, i);
            let _ = writeln!(
                self.body,
                "<text x=\"{}\" y=\"{}\" font-size=\"{}\" fill=\"{fill}\"{style}>{}</text>",
                N(CENTER_X),
                N(baseline),
                N(block.size),
                Esc(line),
            );
        }
    }

    fn line(&mut self, x1: f64, y1: f64, x2: f64, y2: f64, stroke: &str, width: f64) {
        let _ = writeln!(
            self.body,
            "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{stroke}\" stroke-width=\"{}\"/>",
            N(x1),
            N(y1),
            N(x2),
            N(y2),
            N(width),
        );
    }

    fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, radius: f64, fill: &str) {
        let _ = writeln!(
            self.body,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"{}\" fill=\"{fill}\"/>",
            N(x),
            N(y),
            N(w),
            N(h),
            N(radius),
        );
    }

    fn qr(&mut self, code: &QrCode, x: f64, y: f64, side: f64) {
        let module = side / (code.width() + 2 * QUIET_ZONE) as f64;
        let _ = writeln!(
            self.body,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#ffffff\"/>\n\
             <path transform=\"translate({} {}) scale({:.5})\" fill=\"#000000\" \
             shape-rendering=\"crispEdges\" d=\"{}\"/>",
            N(x),
            N(y),
            N(side),
            N(side),
            N(x),
            N(y),
            module,
            qr_path_data(code),
        );
    }

    fn qr_placeholder(&mut self, x: f64, y: f64, side: f64) {
        let inset = side * 0.1;
        let _ = writeln!(
            self.body,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#b00020\" \
             stroke-width=\"0.6\" stroke-dasharray=\"2 1.5\"/>",
            N(x + inset),
            N(y + inset),
            N(side - 2.0 * inset),
            N(side - 2.0 * inset),
        );
        let msg = fit_block(
            "Không tạo được mã QR: liên kết khảo sát quá dài",
            Face::Bold,
            &[4.0, 3.6],
            3,
            3,
        );
        let top = y + side / 2.0 - msg.height() / 2.0;
        self.block(&msg, top, "#b00020", Face::Bold);
    }

    fn finish(self, title: &str) -> String {
        let mut s = String::with_capacity(self.body.len() + 1024);
        let _ = write!(
            s,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" xml:lang=\"vi\" \
             width=\"148mm\" height=\"210mm\" viewBox=\"0 0 148 210\">\n\
             <title>{} – {}</title>\n\
             <rect width=\"148\" height=\"210\" fill=\"#ffffff\"/>\n\
             <rect x=\"5\" y=\"5\" width=\"138\" height=\"200\" rx=\"2.5\" fill=\"none\" \
             stroke=\"{BLUE}\" stroke-width=\"0.7\"/>\n\
             <rect x=\"6.6\" y=\"6.6\" width=\"134.8\" height=\"196.8\" rx=\"1.6\" fill=\"none\" \
             stroke=\"{BLUE}\" stroke-width=\"0.25\"/>\n\
             <g font-family=\"{FONT_FAMILY}\" text-anchor=\"middle\">\n",
            Esc(HEADING),
            Esc(title),
        );
        s.push_str(&self.body);
        s.push_str("</g>\n</svg>\n");
        s
    }
}

/// Path data of the dark modules in module units, offset by the quiet zone:
/// one subpath per horizontal run of dark modules.
fn qr_path_data(code: &QrCode) -> String {
    let n = code.width();
    let colors = code.to_colors();
    let mut d = String::with_capacity(n * n);
    for (y, row) in colors.chunks(n).enumerate() {
        let mut x = 0;
        while x < n {
            if row[x] != Module::Dark {
                x += 1;
                continue;
            }
            let start = x;
            while x < n && row[x] == Module::Dark {
                x += 1;
            }
            let len = x - start;
            let _ = write!(
                d,
                "M{} {}h{len}v1h-{len}z",
                start + QUIET_ZONE,
                y + QUIET_ZONE
            );
        }
    }
    d
}

// ---------------------------------------------------------------------------
// Text measurement and wrapping

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Face {
    Regular,
    Bold,
    Italic,
    Mono,
}

/// Advance widths of ASCII 0x20..=0x7E in DejaVu Sans, 1/1000 em.
const REGULAR_ADV: [u16; 95] = [
    318, 401, 460, 838, 636, 950, 780, 275, 390, 390, 500, 838, 318, 361, 318, 337, 636, 636, 636,
    636, 636, 636, 636, 636, 636, 636, 337, 337, 838, 838, 838, 531, 1000, 684, 686, 698, 770, 632,
    575, 775, 752, 295, 295, 656, 557, 863, 748, 787, 603, 787, 695, 635, 611, 732, 684, 989, 685,
    611, 685, 390, 337, 390, 838, 500, 500, 613, 635, 550, 635, 615, 352, 635, 634, 278, 278, 579,
    278, 974, 634, 612, 635, 635, 411, 521, 392, 634, 592, 818, 592, 592, 525, 636, 337, 636, 838,
];
/// Advance widths of ASCII 0x20..=0x7E in DejaVu Sans Bold, 1/1000 em.
const BOLD_ADV: [u16; 95] = [
    348, 456, 521, 838, 696, 1002, 872, 306, 457, 457, 523, 838, 380, 415, 380, 365, 696, 696, 696,
    696, 696, 696, 696, 696, 696, 696, 400, 400, 838, 838, 838, 580, 1000, 774, 762, 734, 830, 683,
    683, 821, 837, 372, 372, 775, 637, 995, 837, 850, 733, 850, 770, 720, 682, 812, 774, 1103, 771,
    724, 725, 457, 365, 457, 838, 500, 500, 675, 716, 593, 716, 678, 435, 716, 712, 343, 343, 665,
    343, 1042, 712, 687, 716, 716, 493, 595, 478, 712, 652, 924, 645, 652, 582, 712, 365, 712, 838,
];
const MONO_ADV: f64 = 0.602;

/// The ASCII letter whose width a Vietnamese letter shares (diacritics do not
/// change the advance in DejaVu Sans, except for the horned capitals).
fn vietnamese_base(c: char) -> Option<char> {
    const GROUPS: [(char, &str); 14] = [
        ('a', "àáảãạăằắẳẵặâầấẩẫậ"),
        ('A', "ÀÁẢÃẠĂẰẮẲẴẶÂẦẤẨẪẬ"),
        ('e', "èéẻẽẹêềếểễệ"),
        ('E', "ÈÉẺẼẸÊỀẾỂỄỆ"),
        ('i', "ìíỉĩị"),
        ('I', "ÌÍỈĨỊ"),
        ('o', "òóỏõọôồốổỗộơờớởỡợ"),
        ('O', "ÒÓỎÕỌÔỒỐỔỖỘ"),
        ('u', "ùúủũụưừứửữự"),
        ('U', "ÙÚỦŨỤ"),
        ('y', "ỳýỷỹỵ"),
        ('Y', "ỲÝỶỸỴ"),
        ('d', "đ"),
        ('D', "Đ"),
    ];
    GROUPS
        .iter()
        .find(|(_, letters)| letters.contains(c))
        .map(|&(base, _)| base)
}

/// Estimated advance of `c` in em.
fn char_em(c: char, face: Face) -> f64 {
    if face == Face::Mono {
        return MONO_ADV;
    }
    let table = if face == Face::Bold {
        &BOLD_ADV
    } else {
        &REGULAR_ADV
    };
    let ascii = |c: char| f64::from(table[c as usize - 0x20]) / 1000.0;
    match c {
        ' '..='~' => ascii(c),
        'Ơ' | 'Ờ' | 'Ớ' | 'Ở' | 'Ỡ' | 'Ợ' => 0.92,
        'Ư' | 'Ừ' | 'Ứ' | 'Ử' | 'Ữ' | 'Ự' => 0.86,
        _ => match vietnamese_base(c) {
            Some(base) => ascii(base),
            // Unknown characters (dashes, quotes, other scripts): a wide guess.
            None => 0.8,
        },
    }
}

fn text_width(text: &str, size: f64, face: Face) -> f64 {
    text.chars().map(|c| char_em(c, face)).sum::<f64>() * size
}

/// Collapses whitespace (including newlines) into single spaces.
fn normalize(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[derive(Debug, Clone)]
struct TextBlock {
    lines: Vec<String>,
    /// Font size in mm.
    size: f64,
}

impl TextBlock {
    /// Line advance: generous, Vietnamese capitals stack diacritics high.
    fn line_height(&self) -> f64 {
        self.size * 1.3
    }

    fn height(&self) -> f64 {
        self.lines.len() as f64 * self.line_height()
    }

    fn baseline(&self, top: f64, index: usize) -> f64 {
        top + self.size * 0.98 + index as f64 * self.line_height()
    }
}

/// Greedy word wrap to `max_width`; words wider than a line are split.
fn wrap(text: &str, size: f64, face: Face, max_width: f64) -> Vec<String> {
    let mut lines = Vec::new();
    let mut current = String::new();
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let candidate = if current.is_empty() {
            word.to_owned()
        } else {
            format!("{current} {word}")
        };
        if text_width(&candidate, size, face) <= max_width {
            current = candidate;
            continue;
        }
        if !current.is_empty() {
            lines.push(std::mem::take(&mut current));
        }
        // Split an over-long word (e.g. a URL) by characters.
        for c in word.chars() {
            current.push(c);
            if text_width(&current, size, face) > max_width && current.chars().count() > 1 {
                current.pop();
                lines.push(std::mem::replace(&mut current, c.to_string()));
            }
        }
    }
    if !current.is_empty() {
        lines.push(current);
    }
    lines
}

/// Wraps into the same number of lines as a greedy wrap at `max_width`, but
/// with the narrowest possible width, so that lines come out balanced
/// ("Văn phòng HĐND và / UBND huyện" instead of a lone last word).
fn wrap_balanced(text: &str, size: f64, face: Face, max_width: f64) -> Vec<String> {
    let greedy = wrap(text, size, face, max_width);
    if greedy.len() < 2 {
        return greedy;
    }
    let (mut lo, mut hi) = (0.0, max_width);
    for _ in 0..24 {
        let mid = (lo + hi) / 2.0;
        if wrap(text, size, face, mid).len() <= greedy.len() {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    wrap(text, size, face, hi)
}

/// Packs phrases (split after commas and after a free-standing dash) into
/// lines; `None` if there is only one phrase or one is wider than a line.
fn wrap_phrases(text: &str, size: f64, face: Face, max_width: f64) -> Option<Vec<String>> {
    let mut phrases = Vec::new();
    let mut current = String::new();
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(word);
        if word.ends_with(',') || word.ends_with(';') || matches!(word, "-" | "–" | "—") {
            phrases.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        phrases.push(current);
    }
    if phrases.len() < 2 {
        return None;
    }
    let mut lines: Vec<String> = Vec::new();
    for phrase in phrases {
        if text_width(&phrase, size, face) > max_width {
            return None;
        }
        match lines.last_mut() {
            Some(last) if text_width(&format!("{last} {phrase}"), size, face) <= max_width => {
                last.push(' ');
                last.push_str(&phrase);
            }
            _ => lines.push(phrase),
        }
    }
    Some(lines)
}

/// Wraps `text` to the content width: balanced lines, but breaking at
/// phrase boundaries ("Phòng Lao động - / Thương binh và Xã hội") when that
/// needs no extra line and keeps the lines reasonably even.
fn wrap_text(text: &str, size: f64, face: Face) -> Vec<String> {
    let balanced = wrap_balanced(text, size, face, CONTENT_W);
    if balanced.len() < 2 {
        return balanced;
    }
    if let Some(phrased) = wrap_phrases(text, size, face, CONTENT_W) {
        let widths: Vec<f64> = phrased.iter().map(|l| text_width(l, size, face)).collect();
        let longest = widths.iter().copied().fold(0.0, f64::max);
        let shortest = widths.iter().copied().fold(f64::INFINITY, f64::min);
        if phrased.len() == balanced.len() && shortest >= 0.4 * longest {
            return phrased;
        }
    }
    balanced
}

/// Chooses the largest size at which `text` wraps into at most `max_lines`
/// lines; at the smallest size it allows up to `hard_max` lines and ends the
/// last one with an ellipsis if even that is not enough.
fn fit_block(
    text: &str,
    face: Face,
    sizes: &[f64],
    max_lines: usize,
    hard_max: usize,
) -> TextBlock {
    for &size in sizes {
        let lines = wrap_text(text, size, face);
        if lines.len() <= max_lines {
            return TextBlock { lines, size };
        }
    }
    let size = sizes.last().copied().unwrap_or(4.0);
    let mut lines = wrap_text(text, size, face);
    if lines.len() > hard_max {
        lines.truncate(hard_max);
        if let Some(last) = lines.last_mut() {
            while !last.is_empty() && text_width(&format!("{last}…"), size, face) > CONTENT_W {
                last.pop();
            }
            last.push('…');
        }
    }
    TextBlock { lines, size }
}

/// Like [`fit_block`] for several paragraphs that each start on a new line.
fn fit_paragraphs(
    paragraphs: &[&str],
    face: Face,
    sizes: &[f64],
    max_lines: usize,
    hard_max: usize,
) -> TextBlock {
    let wrap_all = |size: f64| -> Vec<String> {
        paragraphs
            .iter()
            .flat_map(|p| wrap_text(p, size, face))
            .collect()
    };
    for &size in sizes {
        let lines = wrap_all(size);
        if lines.len() <= max_lines {
            return TextBlock { lines, size };
        }
    }
    let size = sizes.last().copied().unwrap_or(3.0);
    let mut lines = wrap_all(size);
    lines.truncate(hard_max);
    TextBlock { lines, size }
}

/// The printed link: the full URL if it fits, otherwise without the scheme,
/// shrinking and finally breaking it over up to three lines.
fn link_block(url: &str) -> TextBlock {
    const SIZES: [f64; 4] = [4.4, 4.0, 3.6, 3.2];
    let url = normalize(url);
    if text_width(&url, SIZES[0], Face::Mono) <= CONTENT_W {
        return TextBlock {
            lines: vec![url],
            size: SIZES[0],
        };
    }
    let short = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .unwrap_or(&url)
        .to_owned();
    fit_block(&short, Face::Mono, &SIZES, 1, 3)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    const URL: &str = "https://sipas.xuanloc.gov.vn/s/7k3m9qxa";

    fn tricky() -> Poster<'static> {
        Poster {
            unit_name: "Phòng Lao động - Thương binh & Xã hội <test>",
            desk_name: "Bộ phận Tiếp nhận và Trả kết quả \"một cửa\"",
            url: URL,
            parent_name: Some("UBND huyện Xuân Lộc, tỉnh Đồng Nai"),
        }
    }

    fn decode_qr(luma: image::GrayImage) -> Vec<String> {
        let mut prepared = rqrr::PreparedImage::prepare(luma);
        prepared
            .detect_grids()
            .iter()
            .map(|grid| grid.decode().expect("QR decodes").1)
            .collect()
    }

    #[test]
    fn svg_is_valid_a5_and_escaped() {
        let svg = tricky().svg();
        assert!(svg.contains(r#"width="148mm""#));
        assert!(svg.contains(r#"height="210mm""#));
        assert!(svg.contains(r#"viewBox="0 0 148 210""#));
        assert!(svg.contains("&amp; Xã hội &lt;test&gt;"), "{svg}");
        assert!(svg.contains("&quot;một cửa&quot;"));
        assert!(!svg.contains("<test>"));
        assert!(svg.contains("ĐÁNH GIÁ MỨC ĐỘ HÀI LÒNG"));
        assert!(svg.contains(FONT_FAMILY));

        let options = usvg::Options {
            fontdb: font_database().expect("fonts installed"),
            ..usvg::Options::default()
        };
        let tree = usvg::Tree::from_str(&svg, &options).expect("SVG parses");
        let size = tree.size();
        let text = first_text(tree.root()).expect("text node survives parsing");
        let families = text.chunks()[0].spans()[0].font().families();
        assert_eq!(families.len(), 5, "{families:?}");
        assert!(matches!(&families[0], usvg::FontFamily::Named(n) if n == "DejaVu Sans"));
        assert!((size.width() - 148.0 / 25.4 * 96.0).abs() < 0.01);
        assert!((size.height() - 210.0 / 25.4 * 96.0).abs() < 0.01);
    }

    fn first_text(group: &usvg::Group) -> Option<&usvg::Text> {
        group.children().iter().find_map(|node| match node {
            usvg::Node::Text(text) => Some(&**text),
            usvg::Node::Group(group) => first_text(group),
            _ => None,
        })
    }

    #[test]
    fn hostile_text_stays_well_formed() {
        let poster = Poster {
            unit_name: "A'B\"C<D>&E\u{0}\u{1b}\nF\u{FFFF}",
            desk_name: "]]> <!-- -->",
            url: "https://x.vn/?a=1&b='2'",
            parent_name: Some("<script>alert(1)</script>"),
        };
        let svg = poster.svg();
        usvg::Tree::from_str(&svg, &usvg::Options::default()).expect("SVG parses");
        assert!(svg.contains("A&apos;B&quot;C&lt;D&gt;&amp;E F"));
        assert!(!svg.contains("<script>"));
    }

    #[test]
    fn png_scans_at_150_and_300_dpi() {
        let poster = tricky();
        for (dpi, w, h) in [(150u32, 874u32, 1240u32), (300, 1748, 2480)] {
            let started = Instant::now();
            let png = poster.png(dpi).expect("PNG renders");
            eprintln!("{dpi} dpi: {} bytes in {:?}", png.len(), started.elapsed());
            let img = image::load_from_memory(&png).expect("PNG decodes");
            assert!(
                img.width().abs_diff(w) <= 1,
                "width {} at {dpi} dpi",
                img.width()
            );
            assert!(
                img.height().abs_diff(h) <= 1,
                "height {} at {dpi} dpi",
                img.height()
            );
            assert_eq!(
                decode_qr(img.to_luma8()),
                vec![URL.to_owned()],
                "at {dpi} dpi"
            );

            // pHYs chunk: dots per metre.
            let pos = png
                .windows(4)
                .position(|w| w == b"pHYs")
                .expect("pHYs chunk");
            let ppm = u32::from_be_bytes(png[pos + 4..pos + 8].try_into().unwrap());
            assert_eq!(ppm, (f64::from(dpi) / 0.0254).round() as u32);
        }
    }

    #[test]
    fn text_is_rendered() {
        let poster = tricky();
        let dpi = 150;
        let img = image::load_from_memory(&poster.png(dpi).unwrap())
            .unwrap()
            .to_luma8();
        let (top, bottom) = poster.compose().unit_band;
        let y0 = mm_to_px(top, dpi);
        let y1 = mm_to_px(bottom, dpi);
        let x0 = mm_to_px(14.0, dpi);
        let x1 = mm_to_px(134.0, dpi);
        let mut dark = 0u32;
        for y in y0..y1 {
            for x in x0..x1 {
                if img.get_pixel(x, y).0[0] < 128 {
                    dark += 1;
                }
            }
        }
        let total = (y1 - y0) * (x1 - x0);
        // Bold text covers roughly 10-20 % of its band; no fonts means 0.
        assert!(dark * 25 > total, "only {dark} of {total} pixels are dark");
    }

    #[test]
    fn qr_svg_scans() {
        let svg = qr_svg(URL).unwrap();
        assert!(svg.contains("viewBox=\"0 0 37 37\""), "{svg}");
        let tree = usvg::Tree::from_str(&svg, &usvg::Options::default()).unwrap();
        let side = 37 * 6;
        let mut pixmap = tiny_skia::Pixmap::new(side, side).unwrap();
        let scale = side as f32 / tree.size().width();
        resvg::render(
            &tree,
            tiny_skia::Transform::from_scale(scale, scale),
            &mut pixmap.as_mut(),
        );
        let png = pixmap.encode_png().unwrap();
        let img = image::load_from_memory(&png).unwrap().to_luma8();
        assert_eq!(decode_qr(img), vec![URL.to_owned()]);
    }

    #[test]
    fn long_names_wrap_within_the_page() {
        for name in [
            "Văn phòng HĐND và UBND huyện",
            "Phòng Lao động - Thương binh và Xã hội",
            "Trung tâm Phục vụ hành chính công tỉnh Bà Rịa - Vũng Tàu và các cơ quan chuyên môn trực thuộc Ủy ban nhân dân tỉnh",
            "Siêudàikhôngcókhoảngtrắngsiêudàikhôngcókhoảngtrắngsiêudàikhôngcókhoảngtrắng",
        ] {
            let block = fit_block(name, Face::Bold, &[7.6, 7.0, 6.5, 6.0, 5.5, 5.0, 4.6], 3, 4);
            assert!(block.lines.len() <= 4, "{name}: {:?}", block.lines);
            for line in &block.lines {
                assert!(
                    text_width(line, block.size, Face::Bold) <= CONTENT_W + 1e-9,
                    "{line}"
                );
            }
        }
        let balanced = wrap_text("Văn phòng HĐND và UBND huyện", 7.6, Face::Bold);
        assert_eq!(balanced, ["Văn phòng HĐND", "và UBND huyện"]);
        let phrased = wrap_text("Phòng Lao động - Thương binh và Xã hội", 7.6, Face::Bold);
        assert_eq!(phrased, ["Phòng Lao động -", "Thương binh và Xã hội"]);
    }

    #[test]
    fn worst_case_content_keeps_a_large_qr() {
        let long = "Trung tâm Phục vụ hành chính công và Kiểm soát thủ tục hành chính ".repeat(4);
        let url = format!("https://sipas.example.gov.vn/s/{}", "x".repeat(300));
        let poster = Poster {
            unit_name: &long,
            desk_name: &long,
            url: &url,
            parent_name: Some(&long),
        };
        let composed = poster.compose();
        assert!(composed.qr_error.is_none());
        assert!(composed.qr_side >= 70.0, "QR only {} mm", composed.qr_side);
        assert!(composed.svg.contains('…'));
        let typical = tricky().compose();
        assert!(typical.qr_side >= 100.0, "QR only {} mm", typical.qr_side);
    }

    #[test]
    fn long_link_drops_scheme() {
        let url = "https://sipas.trungtamphucvuhanhchinhcong.dongnai.gov.vn/s/7k3m9qxa";
        let block = link_block(url);
        assert!(!block.lines.concat().starts_with("https://"));
        assert_eq!(link_block(URL).lines, vec![URL.to_owned()]);
    }

    #[test]
    fn too_long_url_is_reported() {
        let url = format!("https://x.vn/{}", "a".repeat(4000));
        let poster = Poster {
            url: &url,
            ..tricky()
        };
        assert!(poster.svg().contains("Không tạo được mã QR"));
        assert!(matches!(poster.png(72), Err(PosterError::Qr(_))));
        assert!(matches!(qr_svg(&url), Err(PosterError::Qr(_))));
        assert!(matches!(tricky().png(0), Err(PosterError::InvalidDpi(0))));
    }

    #[test]
    fn crc_matches_reference() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }
}
