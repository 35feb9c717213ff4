//! Embeds the survey forms shipped with the service (`survey-forms/*.toml`) in the binary:
//! writes `$OUT_DIR/embedded_forms.rs`, a list of `(name, include_str!(file))` in name order,
//! read by `forms::EMBEDDED`. Cargo reruns this when a file is added, removed or changed.

use std::fmt::Write as _;
use std::path::PathBuf;

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let dir = manifest.join("../../survey-forms");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no survey form in {}", dir.display());
    let mut out = String::from("&[\n");
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
        let name = file
            .file_name()
            .and_then(|n| n.to_str())
            .expect("a UTF-8 file name");
        let absolute = file.canonicalize().expect("an existing file");
        let absolute = absolute.to_str().expect("a UTF-8 path");
        writeln!(
            out,
            "    ({:?}, include_str!({absolute:?})),",
            format!("survey-forms/{name}")
        )
        .expect("writing to a string");
    }
    out.push(']');
    let target = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets it"))
        .join("embedded_forms.rs");
    std::fs::write(&target, out).unwrap_or_else(|e| panic!("writing {}: {e}", target.display()));
}
