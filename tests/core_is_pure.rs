//! Holds the architecture's line: `src/core` (and its submodules) does no
//! I/O and reads no clock.
use std::fs;
use std::path::Path;

fn check(dir: &Path, checked: &mut usize) {
    let forbidden = ["worker::", "use worker", "SystemTime::now", "Instant::now", "Date::now", "getrandom", "std::fs", "TcpStream", "UdpSocket", "TcpListener", "std::process", "std::env"];
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            check(&path, checked);
            continue;
        }
        let text = fs::read_to_string(&path).unwrap();
        for needle in forbidden {
            assert!(!text.contains(needle), "{} mentions {needle}", path.display());
        }
        *checked += 1;
    }
}

#[test]
fn core_never_touches_the_runtime() {
    let mut checked = 0;
    check(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/src/core")), &mut checked);
    assert!(checked >= 25, "expected the core's modules and the API's, found {checked}");
}
