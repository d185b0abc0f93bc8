//! Holds the architecture's line: `src/core` (and every module under it)
//! does no I/O and reads no clock.
use std::fs;
use std::path::{Path, PathBuf};

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn core_never_touches_the_runtime() {
    let forbidden = ["worker::", "use worker", "SystemTime::now", "Instant::now", "Date::now", "getrandom", "std::fs", "TcpStream", "UdpSocket", "TcpListener", "std::process", "std::env"];
    let mut files = Vec::new();
    sources(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/src/core")), &mut files);
    for path in &files {
        let text = fs::read_to_string(path).unwrap();
        for needle in forbidden {
            assert!(!text.contains(needle), "{} mentions {needle}", path.display());
        }
    }
    assert!(files.len() >= 25, "expected the core's modules and the API's, found {}", files.len());
    assert!(files.iter().any(|p| p.ends_with("oauth/access.rs")), "the walk reaches src/core/oauth");
}
