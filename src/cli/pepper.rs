//! Finding the pepper the Worker uses, so the CLI hashes keys the same way.
//!
//! Order: the `PEPPER` environment variable (CI, remote), then `.dev.vars`
//! in the current directory (local dev, written by `make dev`).

use std::path::Path;

pub fn load() -> Result<Vec<u8>, String> {
    if let Some(p) = std::env::var("PEPPER").ok().filter(|p| !p.is_empty()) {
        return Ok(p.into_bytes());
    }
    let text = std::fs::read_to_string(Path::new(".dev.vars"))
        .map_err(|_| "no PEPPER: set the PEPPER environment variable or run from the directory holding .dev.vars".to_owned())?;
    from_dev_vars(&text).ok_or_else(|| ".dev.vars has no PEPPER line".to_owned())
}

/// Reads `PEPPER=…` (optionally quoted) from a dotenv file.
fn from_dev_vars(text: &str) -> Option<Vec<u8>> {
    text.lines().find_map(|line| {
        let value = line.trim().strip_prefix("PEPPER")?.trim_start().strip_prefix('=')?.trim();
        let value = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')).unwrap_or(value);
        (!value.is_empty()).then(|| value.as_bytes().to_vec())
    })
}

#[cfg(test)]
mod tests {
    use super::from_dev_vars;

    #[test]
    fn reads_plain_and_quoted_values() {
        assert_eq!(from_dev_vars("A=1\nPEPPER=abc\n"), Some(b"abc".to_vec()));
        assert_eq!(from_dev_vars("PEPPER = \"x y\""), Some(b"x y".to_vec()));
        assert_eq!(from_dev_vars("PEPPER_PREVIOUS=old\n"), None);
        assert_eq!(from_dev_vars("PEPPER="), None);
    }
}
