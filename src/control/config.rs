//! The control Worker's settings, read once per isolate.

use crate::core::gcra::Quota;
use crate::core::lookup::pepper_id;
use crate::core::oauth::keys::TokenKeys;
use crate::core::oauth::lifetime::AccessLifetime;
use crate::core::preset;
use crate::core::Outcome;
use std::rc::Rc;
use worker::Env;

pub struct Config {
    pub pepper: Vec<u8>,
    pub previous_pepper: Option<Vec<u8>>,
    pub pepper_id: String,
    /// Secret `ROOT_TOKEN`; without it the API does not exist.
    pub root_token: Option<String>,
    pub binding_timeout_ms: u64,
    pub auth_failure_retry_after: u64,
    /// Where alerts are posted (secret `ALERT_WEBHOOK_URL`); none: no alerts.
    pub alert_webhook_url: Option<String>,
    /// The same alert is sent at most once per this many ms per isolate (`ALERT_DEDUP_SECONDS`).
    pub alert_dedup_ms: u64,
    /// What seals OAuth access tokens and codes (`TOKEN_SIGNING_SECRET`,
    /// `_PREVIOUS`); none: the OAuth endpoints do not exist.
    pub token_keys: Option<TokenKeys>,
    /// How long an access token lives (`ACCESS_TOKEN_LIFETIME_SECONDS`).
    pub access_lifetime: AccessLifetime,
    /// The quota of keys whose record sets none (`RATE_PER_MINUTE`, `BURST`,
    /// as the edge's): the token endpoint is metered by the key's guard.
    pub default_quota: Quota,
}

/// Secrets shorter than this are refused (as the edge's).
const MIN_SECRET_LEN: usize = 32;

fn setting(env: &Env, name: &str) -> Option<String> {
    env.secret(name).ok().map(|v| v.to_string()).filter(|v| !v.is_empty())
}

fn secret(env: &Env, name: &str) -> Result<Option<String>, Outcome> {
    match setting(env, name) {
        Some(s) if s.len() < MIN_SECRET_LEN => Err(Outcome::Misconfigured),
        other => Ok(other),
    }
}

fn number(env: &Env, name: &str, default: u64) -> Result<u64, Outcome> {
    setting(env, name).map_or(Ok(default), |v| v.trim().parse().map_err(|_| Outcome::Misconfigured))
}

thread_local! {
    static CACHED: std::cell::RefCell<Option<Rc<Config>>> = const { std::cell::RefCell::new(None) };
}

impl Config {
    /// This isolate's settings; a misconfiguration is re-read (and denies) on every call.
    pub fn for_isolate(env: &Env) -> Result<Rc<Self>, Outcome> {
        if let Some(config) = CACHED.with(|c| c.borrow().clone()) {
            return Ok(config);
        }
        let pepper = secret(env, "PEPPER")?.ok_or(Outcome::Misconfigured)?;
        let id = pepper_id(pepper.as_bytes());
        // Keys minted under a pepper that is not production's would never work.
        if setting(env, "PEPPER_ID").is_some_and(|published| published.trim() != id) {
            return Err(Outcome::Misconfigured);
        }
        let config = Rc::new(Config {
            pepper: pepper.into_bytes(),
            previous_pepper: secret(env, "PEPPER_PREVIOUS")?.map(String::into_bytes),
            pepper_id: id,
            root_token: secret(env, "ROOT_TOKEN")?,
            binding_timeout_ms: number(env, "BINDING_TIMEOUT_MS", 5_000)?,
            auth_failure_retry_after: number(env, "AUTH_FAILURE_RETRY_AFTER", 60)?,
            // Read as the SCIM Worker reads them (edge::config).
            alert_webhook_url: match setting(env, "ALERT_WEBHOOK_URL") {
                None => None,
                Some(url) if url.starts_with("https://") || url.starts_with("http://") => Some(url),
                Some(_) => return Err(Outcome::Misconfigured),
            },
            alert_dedup_ms: Some(number(env, "ALERT_DEDUP_SECONDS", 300)?).filter(|s| (1..=86_400).contains(s)).ok_or(Outcome::Misconfigured)? * 1000,
            token_keys: token_keys(env)?,
            access_lifetime: match setting(env, "ACCESS_TOKEN_LIFETIME_SECONDS") {
                None => AccessLifetime::default(),
                Some(v) => v.trim().parse().ok().and_then(AccessLifetime::new).ok_or(Outcome::Misconfigured)?,
            },
            default_quota: Quota::new(
                number(env, "RATE_PER_MINUTE", preset::DEFAULT.rate_per_minute.get().into())?.try_into().map_err(|_| Outcome::Misconfigured)?,
                number(env, "BURST", preset::DEFAULT.burst.get().into())?.try_into().map_err(|_| Outcome::Misconfigured)?,
            )
            .ok_or(Outcome::Misconfigured)?,
        });
        CACHED.with(|c| *c.borrow_mut() = Some(config.clone()));
        Ok(config)
    }

    /// The same, read by a records writer (which needs only the timeout).
    pub fn timeout(env: &Env) -> u64 {
        setting(env, "BINDING_TIMEOUT_MS").and_then(|v| v.trim().parse().ok()).unwrap_or(5_000)
    }
}

/// The token signing secrets, read as the SCIM Worker reads them: a short
/// one, or a previous one without a current one, is a misconfiguration.
fn token_keys(env: &Env) -> Result<Option<TokenKeys>, Outcome> {
    let previous = setting(env, "TOKEN_SIGNING_SECRET_PREVIOUS");
    match setting(env, "TOKEN_SIGNING_SECRET") {
        None if previous.is_some() => Err(Outcome::Misconfigured),
        None => Ok(None),
        Some(current) => TokenKeys::new(current.as_bytes(), previous.as_deref().map(str::as_bytes)).map(Some).map_err(|_| Outcome::Misconfigured),
    }
}
