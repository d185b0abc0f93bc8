//! Reading the Worker's secrets the CLI needs (`PEPPER`, `ROOT_TOKEN`).
//!
//! Order: the environment variable (CI, remote), then `.dev.vars` in the
//! current directory (local dev, written by `make dev`).

use std::path::Path;

/// The secret `name`, or an error saying where it was looked for.
pub fn load(name: &str) -> Result<String, String> {
    if let Some(v) = std::env::var(name).ok().filter(|v| !v.is_empty()) {
        return Ok(v);
    }
    let text = std::fs::read_to_string(Path::new(".dev.vars")).map_err(|_| {
        format!("no {name}: set the {name} environment variable or run from the directory holding .dev.vars")
    })?;
    from_dev_vars(&text, name).ok_or_else(|| format!(".dev.vars has no {name} line"))
}

/// Reads `NAME=…` (optionally quoted) from a dotenv file.
fn from_dev_vars(text: &str, name: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let value = line.trim().strip_prefix(name)?.trim_start().strip_prefix('=')?.trim();
        let value = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')).unwrap_or(value);
        (!value.is_empty()).then(|| value.to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::from_dev_vars;

    #[test]
    fn reads_plain_and_quoted_values() {
        assert_eq!(from_dev_vars("A=1\nPEPPER=abc\n", "PEPPER").as_deref(), Some("abc"));
        assert_eq!(from_dev_vars("PEPPER = \"x y\"", "PEPPER").as_deref(), Some("x y"));
        assert_eq!(from_dev_vars("PEPPER_PREVIOUS=old\n", "PEPPER"), None);
        assert_eq!(from_dev_vars("PEPPER=", "PEPPER"), None);
        assert_eq!(from_dev_vars("ROOT_TOKEN=t\n", "ROOT_TOKEN").as_deref(), Some("t"));
    }
}
