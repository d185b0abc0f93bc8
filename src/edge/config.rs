//! The Worker's settings, read from `[vars]` and secrets once per isolate.

use crate::core::forward::extra_forwarded;
use crate::core::gcra::Quota;
use crate::core::oauth::keys::TokenKeys;
use crate::core::lease::LeaseSetting;
use crate::core::preset;
use crate::core::sign::SigningKey;
use crate::core::Outcome;
use worker::Env;

/// Everything the pipeline needs from the environment.
pub struct Config {
    /// HMAC key for record names (secret `PEPPER`).
    pub pepper: Vec<u8>,
    /// The pepper being retired (`PEPPER_PREVIOUS`): keys minted under it
    /// keep working until rotated.
    pub previous_pepper: Option<Vec<u8>>,
    /// Where SCIM calls go (`ORIGIN_URL`), e.g. `https://api.example.com/scim/v2`.
    pub origin_url: String,
    /// The origin's own `Authorization` value (secret `ORIGIN_AUTHORIZATION`).
    pub origin_authorization: Option<String>,
    /// The edge's SCIM base path (`SCIM_BASE_PATH`, default `/scim/v2`).
    pub base_path: String,
    /// How long to wait for the origin's response headers (`ORIGIN_TIMEOUT_MS`).
    pub origin_timeout_ms: u64,
    /// How long to wait for a binding: a key's record in KV, or a key's
    /// guard (`BINDING_TIMEOUT_MS`).
    pub binding_timeout_ms: u64,
    /// Largest request body accepted (`MAX_BODY_BYTES`).
    pub max_body_bytes: usize,
    /// The origin's resource types, lowercase (`RESOURCE_TYPES`, default
    /// `users,groups`): root `/.search` needs read on each.
    pub resource_types: Vec<String>,
    /// Whether `GET /ServiceProviderConfig` is served without a key
    /// (`PUBLIC_DISCOVERY`, default true: RFC 7643 §5).
    pub public_discovery: bool,
    /// `Retry-After` for callers over the failed-attempt limit
    /// (`AUTH_FAILURE_RETRY_AFTER`, seconds, default 60: the binding's period).
    pub auth_failure_retry_after: u64,
    /// The quota of keys whose record sets none (`RATE_PER_MINUTE`, `BURST`).
    pub default_quota: Quota,
    /// `RATE_LIMIT_FAILURE_MODE=open`: forward unmetered when a key's guard
    /// cannot be asked. Default `closed`: deny with 503.
    pub limiter_fails_open: bool,

    /// Keys that sign forwards (`ORIGIN_SIGNING_SECRET`, then the optional
    /// `ORIGIN_SIGNING_SECRET_PREVIOUS` during a rotation).
    pub signing_keys: Vec<SigningKey>,
    /// How long a signature is valid (`SIGNATURE_TTL_SECONDS`, default 60).
    pub signature_ttl: u64,
    /// How long this isolate reuses a key record it read from KV
    /// (`RECORD_CACHE_TTL_SECONDS`, default 10, at most 300; 0: never).
    pub record_cache_ttl_ms: u64,
    /// Where alerts are posted (secret `ALERT_WEBHOOK_URL`); none: no alerts.
    pub alert_webhook_url: Option<String>,
    /// The same alert (kind and key or address) is sent at most once per
    /// this window per isolate (`ALERT_DEDUP_SECONDS`, default 300).
    pub alert_dedup_ms: u64,
    /// Where new guards are placed (`GUARD_LOCATION_HINT`); none: near their first caller.
    pub guard_location_hint: Option<&'static str>,
    /// Request headers forwarded beyond the built-in allowlist
    /// (`FORWARD_HEADERS`, comma-separated; none the edge owns).
    pub forward_headers: Vec<String>,
    /// Whether `/_provgate/check` answers (`DOCTOR`, `on` by default).
    pub doctor: bool,
    /// Whether plain `http:` requests are refused, except from loopback
    /// (`REQUIRE_HTTPS`, default true).
    pub require_https: bool,
    /// What verifies OAuth access tokens (`TOKEN_SIGNING_SECRET`, and
    /// `TOKEN_SIGNING_SECRET_PREVIOUS` during a rotation); none: OAuth is
    /// off and every token is refused.
    pub token_keys: Option<TokenKeys>,
    /// `GUARD_LEASE`: admissions this isolate asks its keys' guards for at
    /// once, and for how long it may spend them (`core::lease`); `None`
    /// (`exact`, the default): every request asks.
    pub guard_lease: Option<LeaseSetting>,
}

/// The longest `ALERT_DEDUP_SECONDS` accepted: a day.
const MAX_ALERT_DEDUP_SECONDS: u64 = 86_400;

/// The location hints Durable Objects accept.
const LOCATION_HINTS: &[&str] = &["wnam", "enam", "sam", "weur", "eeur", "apac", "oc", "afr", "me"];

/// The longest `RECORD_CACHE_TTL_SECONDS` accepted: beyond it, a change
/// written only to KV would wait for the isolate to be recycled.
const MAX_RECORD_CACHE_TTL_SECONDS: u64 = 300;

/// The shortest pepper accepted: 32 characters (e.g. `openssl rand -hex 32` gives 64).
const MIN_PEPPER_LEN: usize = 32;

fn setting(env: &Env, name: &str) -> Option<String> {
    env.secret(name).ok().map(|v| v.to_string()).filter(|v| !v.is_empty())
}

fn number<T: std::str::FromStr>(env: &Env, name: &str, default: T) -> Result<T, Outcome> {
    match setting(env, name) {
        None => Ok(default),
        Some(v) => v.trim().parse().map_err(|_| Outcome::Misconfigured),
    }
}

thread_local! {
    /// The settings of this isolate. `[vars]` and secrets only change with a
    /// new deployment, which starts new isolates, so they are read once.
    static CACHED: std::cell::RefCell<Option<std::rc::Rc<Config>>> = const { std::cell::RefCell::new(None) };
}

impl Config {
    /// This isolate's settings, read from the environment on first use. A
    /// misconfiguration is not cached: every request re-reads and denies.
    pub fn for_isolate(env: &Env) -> Result<std::rc::Rc<Self>, Outcome> {
        if let Some(config) = CACHED.with(|c| c.borrow().clone()) {
            return Ok(config);
        }
        let config = std::rc::Rc::new(Self::from_env(env)?);
        CACHED.with(|c| *c.borrow_mut() = Some(config.clone()));
        Ok(config)
    }

    /// Reads and validates the settings; anything missing or invalid is
    /// `Misconfigured`, which denies every request (fail closed). Once per
    /// isolate: kept out of line.
    #[cold]
    #[inline(never)]
    pub fn from_env(env: &Env) -> Result<Self, Outcome> {
        let pepper = setting(env, "PEPPER").filter(|p| p.len() >= MIN_PEPPER_LEN).ok_or(Outcome::Misconfigured)?;
        // A published PEPPER_ID catches a pepper that is not production's
        // (a dev one, a typo) before any key is looked up under it.
        if setting(env, "PEPPER_ID").is_some_and(|published| published.trim() != crate::core::lookup::pepper_id(pepper.as_bytes())) {
            return Err(Outcome::Misconfigured);
        }
        // Unsigned forwards would let the origin be reached around the edge unnoticed.
        if setting(env, "ORIGIN_SIGNING_SECRET").is_none() {
            return Err(Outcome::Misconfigured);
        }
        let origin_url = setting(env, "ORIGIN_URL")
            .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
            .ok_or(Outcome::Misconfigured)?;
        let base_path = setting(env, "SCIM_BASE_PATH").unwrap_or_else(|| "/scim/v2".into());
        let base_path = base_path.trim_end_matches('/').to_owned();
        if !base_path.starts_with('/') {
            return Err(Outcome::Misconfigured);
        }
        let resource_types: Vec<String> = setting(env, "RESOURCE_TYPES")
            .unwrap_or_else(|| "users,groups".into())
            .split(',')
            .map(|t| t.trim().to_ascii_lowercase())
            .filter(|t| !t.is_empty())
            .collect();
        // No types would make root /.search need no read scope at all.
        if resource_types.is_empty() {
            return Err(Outcome::Misconfigured);
        }
        Ok(Self {
            pepper: pepper.into_bytes(),
            previous_pepper: match setting(env, "PEPPER_PREVIOUS") {
                None => None,
                Some(p) if p.len() >= MIN_PEPPER_LEN => Some(p.into_bytes()),
                Some(_) => return Err(Outcome::Misconfigured),
            },
            origin_url,
            origin_authorization: setting(env, "ORIGIN_AUTHORIZATION"),
            base_path,
            origin_timeout_ms: number(env, "ORIGIN_TIMEOUT_MS", 30_000)?,
            binding_timeout_ms: number(env, "BINDING_TIMEOUT_MS", 5_000)?,
            max_body_bytes: number(env, "MAX_BODY_BYTES", 1_048_576)?,
            resource_types,
            public_discovery: number(env, "PUBLIC_DISCOVERY", true)?,
            auth_failure_retry_after: number(env, "AUTH_FAILURE_RETRY_AFTER", 60)?,
            default_quota: Quota::new(
                number(env, "RATE_PER_MINUTE", preset::DEFAULT.rate_per_minute.get())?,
                number(env, "BURST", preset::DEFAULT.burst.get())?,
            )
                .ok_or(Outcome::Misconfigured)?,
            limiter_fails_open: match setting(env, "RATE_LIMIT_FAILURE_MODE").as_deref() {
                None | Some("closed") => false,
                Some("open") => true,
                Some(_) => return Err(Outcome::Misconfigured),
            },
            signing_keys: ["ORIGIN_SIGNING_SECRET", "ORIGIN_SIGNING_SECRET_PREVIOUS"]
                .iter()
                .filter_map(|name| setting(env, name))
                .map(|s| if s.len() >= MIN_PEPPER_LEN { Ok(SigningKey::new(s.as_bytes())) } else { Err(Outcome::Misconfigured) })
                .collect::<Result<Vec<_>, _>>()?,
            signature_ttl: number(env, "SIGNATURE_TTL_SECONDS", 60)?,
            record_cache_ttl_ms: Some(number(env, "RECORD_CACHE_TTL_SECONDS", 10u64)?)
                .filter(|s| *s <= MAX_RECORD_CACHE_TTL_SECONDS)
                .ok_or(Outcome::Misconfigured)?
                * 1000,
            alert_webhook_url: match setting(env, "ALERT_WEBHOOK_URL") {
                None => None,
                Some(url) if url.starts_with("https://") || url.starts_with("http://") => Some(url),
                Some(_) => return Err(Outcome::Misconfigured),
            },
            alert_dedup_ms: Some(number(env, "ALERT_DEDUP_SECONDS", 300u64)?)
                .filter(|s| (1..=MAX_ALERT_DEDUP_SECONDS).contains(s))
                .ok_or(Outcome::Misconfigured)?
                * 1000,
            guard_location_hint: match setting(env, "GUARD_LOCATION_HINT") {
                None => None,
                Some(hint) => Some(*LOCATION_HINTS.iter().find(|h| **h == hint.trim()).ok_or(Outcome::Misconfigured)?),
            },
            forward_headers: extra_forwarded(&setting(env, "FORWARD_HEADERS").unwrap_or_default()).map_err(|_| Outcome::Misconfigured)?,
            doctor: match setting(env, "DOCTOR").as_deref() {
                None | Some("on") => true,
                Some("off") => false,
                Some(_) => return Err(Outcome::Misconfigured),
            },
            require_https: number(env, "REQUIRE_HTTPS", true)?,
            token_keys: token_keys(env)?,
            guard_lease: LeaseSetting::parse(&setting(env, "GUARD_LEASE").unwrap_or_default()).map_err(|_| Outcome::Misconfigured)?,
        })
    }
}

/// The token signing secrets; a short one, or a previous one without a
/// current one, is a misconfiguration.
pub fn token_keys(env: &Env) -> Result<Option<TokenKeys>, Outcome> {
    let previous = setting(env, "TOKEN_SIGNING_SECRET_PREVIOUS");
    match setting(env, "TOKEN_SIGNING_SECRET") {
        None if previous.is_some() => Err(Outcome::Misconfigured),
        None => Ok(None),
        Some(current) => TokenKeys::new(current.as_bytes(), previous.as_deref().map(str::as_bytes)).map(Some).map_err(|_| Outcome::Misconfigured),
    }
}
