//! Value parsers for the command line: a bad value is refused by clap
//! (exit 2) before anything is sent, by the functions the API itself reads
//! its fields with (`core::api`), so a value the CLI accepts is one the
//! edge will too.

use crate::core::api::actor::TokenScope;
use crate::core::api::{fields, idempotency};
use crate::core::key::{KeyId, KEY_ID_PREFIX, KEY_PREFIX};
use crate::core::record::{parse_network, valid_tenant};
use crate::core::scope::Scope;
use crate::core::UnixMillis;
use clap::builder::TypedValueParser;
use clap::error::ErrorKind;
use serde_json::Value;
use std::ffi::OsStr;
use std::net::IpAddr;
use url::Url;

/// Prefix of management tokens (the API's credentials).
pub const TOKEN_PREFIX: &str = "pvm_";
/// Prefix of management token ids.
pub const TOKEN_ID_PREFIX: &str = "tok_";

/// `90d`, `24h`, `0s`: a number (up to six digits) and one unit of `s m h d w`.
pub fn duration(text: &str) -> Result<String, String> {
    fields::duration(text).map(|_| text.to_owned()).ok_or_else(|| "expected a number and a unit (s, m, h, d or w), e.g. 90d, 24h, 30m".into())
}

/// A duration that is not zero.
pub fn positive_duration(text: &str) -> Result<String, String> {
    let d = duration(text)?;
    fields::positive_duration(&d).map(|_| d).ok_or_else(|| "must not be zero (e.g. 30d)".into())
}

/// The length of a duration accepted by [`duration`], in milliseconds.
pub fn duration_millis(text: &str) -> u64 {
    fields::duration(text).map_or(0, |d| d.as_millis() as u64)
}

/// A label: 1 to 256 characters.
pub fn label(text: &str) -> Result<String, String> {
    fields::label(&Value::from(text)).map_err(|e| format!("expected {e}"))
}

/// An RFC 3339 timestamp in UTC, rewritten as the API stores it.
pub fn timestamp(text: &str) -> Result<String, String> {
    fields::timestamp(&Value::from(text)).map(UnixMillis::to_rfc3339_exact).map_err(|_| "expected an RFC 3339 time in UTC, e.g. 2027-01-31T00:00:00Z".into())
}

/// A CIDR or a single address, as the edge will store it (`10.0.0.1` → `10.0.0.1/32`).
pub fn network(text: &str) -> Result<String, String> {
    parse_network(text).map(|n| n.to_string()).ok_or_else(|| "expected a CIDR such as 203.0.113.0/24 or an address".into())
}

/// A way of using a key: `bearer`, `client_credentials` or `authorization_code`.
pub fn auth_mode(text: &str) -> Result<String, String> {
    use crate::core::parsed::FromText;
    crate::core::oauth::policy::Mode::from_text(text.trim()).map(|m| m.as_str().to_owned()).ok_or_else(|| "expected bearer, client_credentials or authorization_code".into())
}

/// An OAuth redirect URI: exact `https://…`, no fragment, at most 512 characters.
pub fn redirect_uri(text: &str) -> Result<String, String> {
    crate::core::oauth::policy::RedirectUri::parse(text).map(|u| u.as_str().to_owned()).ok_or_else(|| "expected an https:// URI without fragment or user, at most 512 visible ASCII characters".into())
}

/// A provisioning key scope: `*`, `me`, `bulk` or `<resource>:read|write`.
pub fn scope(text: &str) -> Result<String, String> {
    text.trim().parse::<Scope>().map(|s| s.to_string()).map_err(|_| "expected '*', 'me', 'bulk' or '<resource>:read|write' (e.g. users:read)".into())
}

/// A management token scope.
pub fn token_scope(text: &str) -> Result<String, String> {
    let names: Vec<&str> = TokenScope::ALL.iter().map(|s| s.name()).collect();
    TokenScope::parse(text.trim()).map(|s| s.name().to_owned()).ok_or_else(|| format!("expected one of {}", names.join(", ")))
}

/// A tenant: a letter or digit, then letters, digits and `._-`, at most 128.
pub fn tenant(text: &str) -> Result<String, String> {
    valid_tenant(text).then(|| text.to_owned()).ok_or_else(|| "expected a letter or digit, then letters, digits and ._- (at most 128 characters)".into())
}

/// `NAME=VALUE` for a key's metadata.
pub fn metadata_entry(text: &str) -> Result<(String, String), String> {
    let (name, value) = text.split_once('=').ok_or("expected NAME=VALUE")?;
    metadata_name(name)?;
    if value.chars().count() > 256 {
        return Err("a metadata value has at most 256 characters".into());
    }
    Ok((name.to_owned(), value.to_owned()))
}

/// A metadata entry's name: 1 to 64 of `A-Z a-z 0-9 _ . -`.
pub fn metadata_name(name: &str) -> Result<String, String> {
    let valid = (1..=64).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
    valid.then(|| name.to_owned()).ok_or_else(|| "a metadata name is 1 to 64 of A-Z a-z 0-9 _ . -".into())
}

/// An `Idempotency-Key`: 1 to 255 printable ASCII characters.
pub fn idempotency_key(text: &str) -> Result<String, String> {
    idempotency::valid_key(text).then(|| text.to_owned()).ok_or_else(|| "expected 1 to 255 printable ASCII characters (e.g. a UUID)".into())
}

/// A quota preset's name, checked against the core's presets.
pub fn preset(text: &str) -> Result<String, String> {
    match crate::core::preset::named(text) {
        Some(_) => Ok(text.trim().to_ascii_lowercase()),
        None => Err(format!("expected one of {}", crate::core::preset::PRESETS.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", "))),
    }
}

/// The edge's base URL: `https://host[:port]`, or `http://` for a loopback
/// address only (a token must never cross a network in clear text). No
/// path, query, fragment or credentials: the API's paths are fixed, and a
/// password in a URL lands in shell history.
pub fn edge_url(text: &str) -> Result<Url, String> {
    let url = Url::parse(text.trim()).map_err(|e| format!("not a URL ({e}); expected e.g. https://scim.example.com"))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err("a URL with credentials in it: the token comes from PROVGATE_TOKEN only".into());
    }
    if url.query().is_some() || url.fragment().is_some() || url.path() != "/" {
        return Err("expected the edge's address only, without a path or query (e.g. https://scim.example.com)".into());
    }
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        "http" => Err("plain http:// is only for a loopback dev edge (127.0.0.1); use https://".into()),
        _ => Err("expected an https:// URL".into()),
    }
}

/// Whether the URL names this machine (the dev edge).
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// A key id (`key_…`). Refuses without echoing what was passed unless it is
/// id-shaped: a key pasted where its id belongs would land in scrollback
/// and CI logs (clap's own messages quote the value, so this parser builds
/// its own).
#[derive(Clone)]
pub struct KeyIdParser;

impl TypedValueParser for KeyIdParser {
    type Value = String;
    fn parse_ref(&self, cmd: &clap::Command, _arg: Option<&clap::Arg>, value: &OsStr) -> Result<String, clap::Error> {
        let text = value.to_str().unwrap_or_default();
        KeyId::parse(text).map(|id| id.as_str().to_owned()).ok_or_else(|| {
            let message = if text.starts_with(KEY_PREFIX) {
                "that is a provisioning key, not a key id: pass its id (key_…, from `provgate key list`); the key itself is secret".to_owned()
            } else if text.starts_with(KEY_ID_PREFIX) && text.len() <= 80 && text.bytes().all(|b| b.is_ascii_graphic()) {
                format!("{text:?} is not a key id (key_ and 1 to 64 letters or digits)")
            } else {
                "the argument is not a key id (key_…; see `provgate key list`)".to_owned()
            };
            refuse(cmd, message)
        })
    }
}

/// A management token id (`tok_…`), refused like [`KeyIdParser`] refuses.
#[derive(Clone)]
pub struct TokenIdParser;

impl TypedValueParser for TokenIdParser {
    type Value = String;
    fn parse_ref(&self, cmd: &clap::Command, _arg: Option<&clap::Arg>, value: &OsStr) -> Result<String, clap::Error> {
        let text = value.to_str().unwrap_or_default();
        let body = text.strip_prefix(TOKEN_ID_PREFIX).unwrap_or_default();
        if (1..=64).contains(&body.len()) && body.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Ok(text.to_owned());
        }
        let message = if text.starts_with(TOKEN_PREFIX) {
            "that is a management token, not a token id: pass its id (tok_…, from `provgate token list`); the token itself is secret"
        } else {
            "the argument is not a token id (tok_…; see `provgate token list`)"
        };
        Err(refuse(cmd, message.to_owned()))
    }
}

fn refuse(cmd: &clap::Command, message: String) -> clap::Error {
    clap::Error::raw(ErrorKind::ValueValidation, format!("{message}\n")).with_cmd(cmd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_follow_the_apis_grammar() {
        for ok in ["90d", "24h", "0s", "1w", "999999m"] {
            assert_eq!(duration(ok).as_deref(), Ok(ok));
        }
        for bad in ["", "d", "90", "1h30m", "90 d", "1000000s", "-1d", "1y", "9D"] {
            assert!(duration(bad).is_err(), "{bad}");
        }
        assert!(positive_duration("0s").is_err() && positive_duration("000d").is_err() && positive_duration("1s").is_ok());
        assert_eq!(duration_millis("2d"), 2 * 86_400_000);
        assert_eq!(duration_millis("3w"), 21 * 86_400_000);
        assert_eq!(duration_millis("0s"), 0);
    }

    #[test]
    fn values_are_rewritten_as_the_edge_stores_them() {
        assert_eq!(timestamp("2027-01-31T00:00:00Z").as_deref(), Ok("2027-01-31T00:00:00Z"));
        assert_eq!(timestamp("2027-01-31T00:00:00.500Z").as_deref(), Ok("2027-01-31T00:00:00.500Z"));
        assert!(timestamp("tomorrow").is_err());
        assert_eq!(network("10.0.0.1").as_deref(), Ok("10.0.0.1/32"));
        assert_eq!(network("10.1.2.3/8").as_deref(), Ok("10.0.0.0/8"));
        assert!(network("10.0.0.0/40").is_err());
        assert_eq!(scope("users:read").as_deref(), Ok("users:read"));
        assert!(scope("users:admin").is_err());
        assert!(token_scope("keys:write").is_ok() && token_scope("keys:admin").is_err());
        assert!(tenant("acme-1.eu").is_ok() && tenant("a b").is_err() && tenant("-a").is_err());
        assert_eq!(metadata_entry("team=id-platform"), Ok(("team".into(), "id-platform".into())));
        assert_eq!(metadata_entry("empty="), Ok(("empty".into(), String::new())));
        assert!(metadata_entry("no value").is_err() && metadata_entry("a b=c").is_err());
        assert!(idempotency_key("5f1c0c2b-9e8a").is_ok() && idempotency_key("").is_err() && idempotency_key("tab\there").is_err());
    }

    #[test]
    fn edge_urls_are_https_or_loopback_and_bare() {
        assert!(edge_url("https://scim.example.com").is_ok());
        assert!(edge_url("https://scim.example.com/").is_ok());
        assert!(edge_url("http://127.0.0.1:8787").is_ok());
        assert!(edge_url("http://[::1]:8787").is_ok());
        assert!(edge_url("http://localhost:8787").is_ok());
        for bad in ["http://scim.example.com", "ftp://x", "https://u:p@scim.example.com", "https://scim.example.com/scim/v2", "https://x?a=b", "scim.example.com", "http://10.0.0.1"] {
            assert!(edge_url(bad).is_err(), "{bad}");
        }
    }
}
