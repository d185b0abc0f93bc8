//! Holds the architecture's line: `src/core` does no I/O and reads no clock.
use std::fs;

#[test]
fn core_never_touches_the_runtime() {
    let forbidden = ["worker::", "use worker", "SystemTime::now", "Instant::now", "Date::now", "getrandom", "std::fs", "TcpStream", "UdpSocket", "TcpListener", "std::process", "std::env"];
    let mut checked = 0;
    for entry in fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/src/core")).unwrap() {
        let path = entry.unwrap().path();
        let text = fs::read_to_string(&path).unwrap();
        for needle in forbidden {
            assert!(!text.contains(needle), "{} mentions {needle}", path.display());
        }
        checked += 1;
    }
    assert!(checked >= 10, "expected the core's modules, found {checked}");
}
