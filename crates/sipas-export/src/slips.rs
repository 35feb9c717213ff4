//! Slips of one-time codes ("mã đánh giá"), handed out with the receipt: an A4 sheet of 3 × 7
//! slips to cut, or one slip. Each slip: the unit, the desk, the QR code of
//! `{SIPAS_PUBLIC_URL}/v/{code}`, the code in text and one line of instruction. SVG documents in
//! millimetres (they print at size from a browser), rasterised to PNG with resvg.

use std::fmt::Write as _;
use std::sync::{Arc, OnceLock};

use qrcode::types::Color as Module;
use qrcode::{EcLevel, QrCode};
use resvg::tiny_skia;
use resvg::usvg::{self, fontdb};

/// The line printed on every slip.
pub const INSTRUCTION: &str = "Quét mã để đánh giá sự phục vụ — mỗi mã dùng một lần";
pub use crate::domain::slips::{COLUMNS, PER_SHEET, ROWS};

const SHEET_W: f64 = 210.0;
const SHEET_H: f64 = 297.0;
const SLIP_W: f64 = SHEET_W / COLUMNS as f64;
const SLIP_H: f64 = SHEET_H / ROWS as f64;
const QR_SIDE: f64 = 30.0;
const QUIET: usize = 4;
const FONT: &str = "DejaVu Sans, Noto Sans, Liberation Sans, Arial, sans-serif";
const MONO: &str = "DejaVu Sans Mono, Noto Sans Mono, Liberation Mono, monospace";

/// What one slip shows.
#[derive(Debug, Clone)]
pub struct Slip<'a> {
    pub unit_name: &'a str,
    pub desk_name: &'a str,
    /// The code's link (`{public URL}/v/{code}`), in the QR code.
    pub url: &'a str,
    pub code: &'a str,
    pub dossier_no: Option<&'a str>,
}

#[derive(Debug, thiserror::Error)]
pub enum SlipError {
    #[error("the link cannot be put in a QR code: {0}")]
    Qr(#[from] qrcode::types::QrError),
    #[error("cannot render the slips: {0}")]
    Render(String),
}

fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Splits `text` into at most `max_lines` lines of at most `width` characters (by words; the
/// last line ends with "…" when text is left over).
fn wrap(text: &str, width: usize, max_lines: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut current = String::new();
    for word in text.split_whitespace() {
        let fits = current.chars().count() + 1 + word.chars().count() <= width;
        if current.is_empty() || fits {
            if !current.is_empty() {
                current.push(' ');
            }
            current.push_str(word);
        } else {
            lines.push(std::mem::take(&mut current));
            current.push_str(word);
        }
    }
    if !current.is_empty() {
        lines.push(current);
    }
    if lines.len() > max_lines {
        lines.truncate(max_lines);
        if let Some(last) = lines.last_mut() {
            let keep: String = last.chars().take(width.saturating_sub(1)).collect();
            *last = format!("{keep}…");
        }
    }
    lines
}

/// One slip drawn at (`x`, `y`), in millimetres.
fn draw_slip(out: &mut String, slip: &Slip<'_>, x: f64, y: f64) -> Result<(), SlipError> {
    let code = QrCode::with_error_correction_level(slip.url.as_bytes(), EcLevel::M)?;
    let modules = code.width() + 2 * QUIET;
    let module = QR_SIDE / modules as f64;
    // Cutting guide.
    let _ = writeln!(
        out,
        "<rect x=\"{x:.2}\" y=\"{y:.2}\" width=\"{SLIP_W:.2}\" height=\"{SLIP_H:.2}\" fill=\"none\" stroke=\"#b8b8b8\" stroke-width=\"0.2\" stroke-dasharray=\"1.5 1.5\"/>"
    );
    let qx = x + 2.5;
    let qy = y + (SLIP_H - QR_SIDE) / 2.0 - 2.5;
    let _ = write!(
        out,
        "<g transform=\"translate({qx:.3} {qy:.3}) scale({module:.5})\"><rect width=\"{modules}\" height=\"{modules}\" fill=\"#ffffff\"/><path fill=\"#000000\" shape-rendering=\"crispEdges\" d=\""
    );
    let n = code.width();
    let colors = code.to_colors();
    for (row, line) in colors.chunks(n).enumerate() {
        let mut col = 0;
        while col < n {
            if line[col] != Module::Dark {
                col += 1;
                continue;
            }
            let start = col;
            while col < n && line[col] == Module::Dark {
                col += 1;
            }
            let _ = write!(
                out,
                "M{} {}h{}v1h-{}z",
                start + QUIET,
                row + QUIET,
                col - start,
                col - start
            );
        }
    }
    out.push_str("\"/></g>\n");
    // The code under the QR code, in groups of five for reading aloud.
    let grouped: Vec<String> = slip
        .code
        .as_bytes()
        .chunks(5)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    let _ = writeln!(
        out,
        "<text x=\"{:.2}\" y=\"{:.2}\" font-family=\"{MONO}\" font-size=\"3.6\" font-weight=\"bold\" text-anchor=\"middle\">{}</text>",
        qx + QR_SIDE / 2.0,
        qy + QR_SIDE + 3.6,
        esc(&grouped.join(" "))
    );
    // Text column on the right.
    let tx = qx + QR_SIDE + 2.0;
    let mut ty = y + 5.5;
    for line in wrap(slip.unit_name, 22, 3) {
        let _ = writeln!(
            out,
            "<text x=\"{tx:.2}\" y=\"{ty:.2}\" font-family=\"{FONT}\" font-size=\"2.7\" font-weight=\"bold\" fill=\"#0f3679\">{}</text>",
            esc(&line)
        );
        ty += 3.3;
    }
    ty += 0.6;
    for line in wrap(slip.desk_name, 26, 2) {
        let _ = writeln!(
            out,
            "<text x=\"{tx:.2}\" y=\"{ty:.2}\" font-family=\"{FONT}\" font-size=\"2.3\">{}</text>",
            esc(&line)
        );
        ty += 2.9;
    }
    if let Some(dossier) = slip.dossier_no {
        ty += 0.4;
        for line in wrap(&format!("Mã hồ sơ: {dossier}"), 26, 2) {
            let _ = writeln!(
                out,
                "<text x=\"{tx:.2}\" y=\"{ty:.2}\" font-family=\"{FONT}\" font-size=\"2.3\">{}</text>",
                esc(&line)
            );
            ty += 2.9;
        }
    }
    let mut iy = y + SLIP_H - 9.0;
    for line in wrap(INSTRUCTION, 26, 3) {
        let _ = writeln!(
            out,
            "<text x=\"{tx:.2}\" y=\"{iy:.2}\" font-family=\"{FONT}\" font-size=\"2.3\" font-style=\"italic\" fill=\"#333333\">{}</text>",
            esc(&line)
        );
        iy += 2.9;
    }
    Ok(())
}

fn document(width: f64, height: f64, title: &str, body: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"{width}mm\" height=\"{height}mm\" viewBox=\"0 0 {width} {height}\">\n\
         <title>{}</title>\n<rect width=\"{width}\" height=\"{height}\" fill=\"#ffffff\"/>\n{body}</svg>\n",
        esc(title)
    )
}

/// An A4 portrait sheet (210 × 297 mm) of up to [`PER_SHEET`] slips, row by row.
pub fn sheet_svg(slips: &[Slip<'_>]) -> Result<String, SlipError> {
    let mut body = String::with_capacity(slips.len() * 6000);
    for (n, slip) in slips.iter().take(PER_SHEET).enumerate() {
        let x = (n % COLUMNS) as f64 * SLIP_W;
        let y = (n / COLUMNS) as f64 * SLIP_H;
        draw_slip(&mut body, slip, x, y)?;
    }
    Ok(document(SHEET_W, SHEET_H, "Mã đánh giá", &body))
}

/// One slip alone (70 × 42.4 mm).
pub fn slip_svg(slip: &Slip<'_>) -> Result<String, SlipError> {
    let mut body = String::with_capacity(6000);
    draw_slip(&mut body, slip, 0.0, 0.0)?;
    Ok(document(SLIP_W, SLIP_H, slip.code, &body))
}

/// The size in millimetres of a document made here (from its viewBox).
fn size_mm(svg: &str) -> Option<(f64, f64)> {
    let start = svg.find("viewBox=\"0 0 ")? + "viewBox=\"0 0 ".len();
    let rest = &svg[start..];
    let end = rest.find('"')?;
    let mut parts = rest[..end].split(' ');
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

fn fonts() -> Arc<fontdb::Database> {
    static DB: OnceLock<Arc<fontdb::Database>> = OnceLock::new();
    DB.get_or_init(|| {
        let mut db = fontdb::Database::new();
        db.load_system_fonts();
        for family in ["DejaVu Sans", "Noto Sans", "Liberation Sans"] {
            if db
                .faces()
                .any(|f| f.families.iter().any(|(n, _)| n == family))
            {
                db.set_sans_serif_family(family);
                break;
            }
        }
        Arc::new(db)
    })
    .clone()
}

/// A document made here (a sheet, a slip, or the bare QR code of
/// [`crate::poster::qr_svg`]) as PNG at `dpi` (`px_per_unit` for documents without
/// millimetre units).
pub fn png(svg: &str, dpi: u32) -> Result<Vec<u8>, SlipError> {
    let options = usvg::Options {
        fontdb: fonts(),
        ..usvg::Options::default()
    };
    let tree = usvg::Tree::from_str(svg, &options).map_err(|e| SlipError::Render(e.to_string()))?;
    let (width, height) = if svg.contains("mm\" height=") {
        let (w, h) = size_mm(svg).ok_or_else(|| SlipError::Render("no viewBox".into()))?;
        let px = |mm: f64| (mm * f64::from(dpi) / 25.4).round() as u32;
        (px(w), px(h))
    } else {
        let size = tree.size();
        (size.width().round() as u32, size.height().round() as u32)
    };
    let mut pixmap = tiny_skia::Pixmap::new(width.max(1), height.max(1))
        .ok_or_else(|| SlipError::Render(format!("cannot allocate {width}x{height}")))?;
    pixmap.fill(tiny_skia::Color::WHITE);
    let size = tree.size();
    let transform = tiny_skia::Transform::from_scale(
        width as f32 / size.width(),
        height as f32 / size.height(),
    );
    resvg::render(&tree, transform, &mut pixmap.as_mut());
    pixmap
        .encode_png()
        .map_err(|e| SlipError::Render(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slip<'a>(code: &'a str, url: &'a str) -> Slip<'a> {
        Slip {
            unit_name: "Văn phòng HĐND và UBND huyện Xuân Lộc, tỉnh Đồng Nai",
            desk_name: "Bộ phận Tiếp nhận và Trả kết quả",
            url,
            code,
            dossier_no: Some("000.00.21.H19-261127-0001"),
        }
    }

    #[test]
    fn a_sheet_holds_21_slips_with_their_text() {
        let urls: Vec<String> = (0..25)
            .map(|n| format!("https://hailong.example.gov.vn/v/abcdefgh{n:02}"))
            .collect();
        let slips: Vec<Slip<'_>> = urls.iter().map(|u| slip("abcdefghjk", u)).collect();
        let svg = sheet_svg(&slips).unwrap();
        assert_eq!(svg.matches("stroke-dasharray").count(), PER_SHEET);
        assert!(svg.contains("width=\"210mm\" height=\"297mm\""));
        assert!(svg.contains("abcde fghjk"));
        assert!(svg.contains("Quét mã để đánh giá"));
        assert!(svg.contains("Mã hồ sơ:") && svg.contains(">000.00.21.H19-261127-0001<"));
    }

    #[test]
    fn long_names_wrap_and_are_cut_with_an_ellipsis() {
        let lines = wrap("một hai ba bốn năm sáu bảy tám chín mười", 10, 2);
        assert_eq!(lines.len(), 2);
        assert!(lines[1].ends_with('…'));
        assert!(lines.iter().all(|l| l.chars().count() <= 10));
    }
}
