//! Fingerprints the migrations at build time, so that tests name their template database after
//! exactly the migrations compiled into the binary (never after files changed since).

use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
    let mut files = Vec::new();
    collect(Path::new("../../migrations"), &mut files);
    files.sort();
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for file in files {
        let name = file.to_string_lossy().into_owned();
        let bytes = std::fs::read(&file).expect("readable migration");
        for b in name.bytes().chain(bytes) {
            hash ^= u64::from(b);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    println!("cargo:rustc-env=SIPAS_MIGRATIONS_FINGERPRINT={hash:016x}");
}

fn collect(dir: &Path, files: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("a migrations directory") {
        let path = entry.expect("a directory entry").path();
        println!("cargo:rerun-if-changed={}", path.display());
        if path.is_dir() {
            collect(&path, files);
        } else {
            files.push(path);
        }
    }
}
