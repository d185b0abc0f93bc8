//! Management tokens: the API's credentials. Same format as provisioning
//! keys with their own prefix (`pvm_`: the checksum covers it, so a token
//! never passes for a key nor a key for a token), public ids `tok_…`, and
//! records named by an HMAC of the token, never the token.

use super::actor::{Actor, Scopes};
use super::fields::{self, Form};
use super::problem::Problem;
use crate::core::key::{check_secret, generate_secret, is_id, random_id, KeyFormatError};
use crate::core::lookup::hmac_hex;
use crate::core::record::Status;
use crate::core::status::{self, KeyStatus};
use crate::core::time::UnixMillis;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::time::Duration;

/// Every management token starts with this.
pub const TOKEN_PREFIX: &str = "pvm_";
/// Every token id starts with this.
pub const TOKEN_ID_PREFIX: &str = "tok_";
/// Prefix of token records: `mtoken:` + hex(HMAC-SHA256(PEPPER, token)).
pub const RECORD_PREFIX: &str = "mtoken:";
/// Prefix of token index entries: `tok:<token id>`.
pub const INDEX_PREFIX: &str = "tok:";

/// A management token that passed the format and checksum checks. No
/// `Debug` or `Display`, like a key.
pub struct ManagementToken(String);

impl ManagementToken {
    /// Checks a presented token's format and checksum.
    pub fn parse(presented: &str) -> Result<Self, KeyFormatError> {
        check_secret(TOKEN_PREFIX, presented).map(|()| Self(presented.to_owned()))
    }

    /// A new token from a source of random bytes.
    pub fn generate(fill_random: impl FnMut(&mut [u8])) -> Self {
        Self(generate_secret(TOKEN_PREFIX, fill_random))
    }

    /// The token's text, to hash or to show once.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The KV name of its record under `pepper`.
    pub fn record_name(&self, pepper: &[u8]) -> String {
        format!("{RECORD_PREFIX}{}", hmac_hex(pepper, &self.0))
    }
}

/// A fresh token id.
pub fn new_id(fill_random: impl FnMut(&mut [u8])) -> String {
    random_id(TOKEN_ID_PREFIX, 16, fill_random)
}

/// Whether `text` is a token id.
pub fn is_token_id(text: &str) -> bool {
    is_id(TOKEN_ID_PREFIX, text)
}

/// A token's stored record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRecord {
    /// Format version (1).
    pub v: u32,
    /// Its public id.
    pub token_id: String,
    /// What it is for.
    pub label: String,
    /// Its scopes' names.
    pub scopes: Vec<String>,
    /// The only tenant it acts for, if restricted.
    pub tenant: Option<String>,
    /// Active or revoked.
    pub status: Status,
    /// When it was minted.
    pub created_at: UnixMillis,
    /// When it stops working, if ever.
    pub expires_at: Option<UnixMillis>,
    /// Who minted it: `root` or a token id.
    pub created_by: String,
}

impl TokenRecord {
    /// Decodes a stored record; anything off fails (and the token is refused).
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let r: TokenRecord = serde_json::from_slice(bytes).ok()?;
        let valid = r.v == 1 && is_token_id(&r.token_id) && Scopes::parse(r.scopes.iter().map(String::as_str)).is_ok();
        valid.then_some(r)
    }

    /// The stored form.
    pub fn encode(&self) -> String {
        serde_json::to_string(self).expect("a token record serialises")
    }

    /// Its status at `now` (the keys' function: tokens have no `not_before`).
    pub fn status_at(&self, now: UnixMillis) -> KeyStatus {
        status::of(self.status, None, self.expires_at, now)
    }

    /// The actor a call with this token is, if the token may still be used.
    pub fn actor(&self, now: UnixMillis) -> Option<Actor> {
        let scopes = Scopes::parse(self.scopes.iter().map(String::as_str)).ok()?;
        (self.status_at(now) == KeyStatus::Active).then(|| Actor { id: self.token_id.clone(), scopes, tenant: self.tenant.clone() })
    }

    /// The summary kept as its index entry's KV metadata.
    pub fn summary(&self) -> Value {
        json!({ "v": 1, "l": self.label.chars().take(64).collect::<String>(), "sc": self.scopes, "t": self.tenant,
            "s": if self.status == Status::Revoked { "revoked" } else { "active" }, "c": self.created_at.0, "x": self.expires_at.map(|t| t.0) })
    }

    /// The view the API shows (never the token or its hash).
    pub fn view(&self, now: UnixMillis, revoked_at_edge: bool) -> Value {
        let status = if revoked_at_edge { KeyStatus::Revoked } else { self.status_at(now) };
        json!({ "token_id": self.token_id, "status": status.name(), "record": self, "revoked_at_edge": revoked_at_edge })
    }
}

/// A listed token, from its index entry's summary.
pub fn item(token_id: &str, summary: &Value, now: UnixMillis) -> Option<Value> {
    let time = |name: &str| summary[name].as_u64().filter(|t| *t <= UnixMillis::LAST.0).map(UnixMillis);
    let expires_at = time("x");
    let stored = match summary["s"].as_str()? {
        "revoked" => Status::Revoked,
        _ => Status::Active,
    };
    let text = |t: Option<UnixMillis>| t.map(|t| t.to_rfc3339_exact());
    Some(json!({
        "token_id": token_id, "label": summary["l"].as_str()?, "scopes": summary["sc"].as_array()?, "tenant": summary["t"].as_str(),
        "status": status::of(stored, None, expires_at, now).name(),
        "created_at": text(time("c")), "expires_at": text(expires_at),
    }))
}

/// A token mint's body, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct MintTokenRequest {
    /// What it is for.
    pub label: String,
    /// Its scopes.
    pub scopes: Scopes,
    /// The tenant asked for.
    pub tenant: Option<String>,
    /// `expires_at`.
    pub expires_at: Option<UnixMillis>,
    /// `expires_in`.
    pub expires_in: Option<Duration>,
}

/// Reads `POST /tokens`'s body.
pub fn parse_mint(body: &[u8]) -> Result<MintTokenRequest, Problem> {
    let mut f = Form::parse(body, &["label", "scopes", "tenant", "expires_at", "expires_in"], false)?;
    f.require("label");
    f.require("scopes");
    if f.has("expires_at") && f.has("expires_in") {
        f.fail("expires_in", "give expires_at or expires_in, not both");
    }
    let scopes = f.get("scopes", |v| {
        let names = fields::list(v, 5, |s| Some(s.to_owned()), "scope names")?;
        let mut unique = names.clone();
        unique.sort();
        unique.dedup();
        if names.is_empty() || unique.len() != names.len() {
            return Err("1 to 5 different scopes".into());
        }
        Scopes::parse(names.iter().map(String::as_str)).map_err(|n| format!("unknown scope {n:?}: keys:read, keys:write, keys:revoke, usage:read, tokens:admin"))
    });
    let req = MintTokenRequest {
        label: f.get("label", fields::label).unwrap_or_default(),
        scopes: scopes.unwrap_or_default(),
        tenant: f.nullable("tenant", fields::tenant).flatten(),
        expires_at: f.get("expires_at", fields::timestamp),
        expires_in: f.get("expires_in", fields::lifetime),
    };
    f.finish()?;
    Ok(req)
}

impl MintTokenRequest {
    /// The record of a token minted by `actor` at `now`, after the actor's
    /// limits (tenant, scopes) were checked.
    pub fn record(&self, actor: &Actor, token_id: String, now: UnixMillis) -> Result<TokenRecord, Problem> {
        let tenant = actor.minting_tenant(self.tenant.as_deref())?;
        actor.may_grant(self.scopes)?;
        let created_at = UnixMillis(now.0 / 1000 * 1000);
        Ok(TokenRecord {
            v: 1,
            token_id,
            label: self.label.clone(),
            scopes: self.scopes.names().into_iter().map(str::to_owned).collect(),
            tenant,
            status: Status::Active,
            created_at,
            expires_at: self.expires_at.or(self.expires_in.map(|d| created_at.plus(d))),
            created_by: actor.id.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::key::ProvisioningKey;
    use crate::core::api::problem::Kind;

    fn rng() -> impl FnMut(&mut [u8]) {
        let mut n = 3u8;
        move |b: &mut [u8]| b.iter_mut().for_each(|x| {
            n = n.wrapping_mul(31).wrapping_add(7);
            *x = n
        })
    }

    #[test]
    fn tokens_and_keys_never_pass_for_each_other() {
        let token = ManagementToken::generate(rng());
        assert!(token.expose().starts_with("pvm_") && token.expose().len() == 53);
        assert!(ManagementToken::parse(token.expose()).is_ok());
        assert!(ProvisioningKey::parse(token.expose()).is_err());
        let as_key = token.expose().replacen("pvm_", "pvk_", 1);
        assert_eq!(ProvisioningKey::parse(&as_key).err(), Some(KeyFormatError::BadChecksum), "the checksum covers the prefix");
        let key = ProvisioningKey::generate(rng());
        assert!(ManagementToken::parse(key.expose()).is_err());
        assert_eq!(ManagementToken::parse(&key.expose().replacen("pvk_", "pvm_", 1)).err(), Some(KeyFormatError::BadChecksum));
        assert!(token.record_name(b"pepper").starts_with("mtoken:") && token.record_name(b"pepper").len() == 7 + 64);
        assert!(is_token_id(&new_id(rng())) && !is_token_id("key_abc"));
    }

    #[test]
    fn mint_limits_and_record() {
        let req = parse_mint(br#"{"label":"ui","scopes":["keys:read","keys:write"],"expires_in":"30d"}"#).unwrap();
        let acme = Actor { id: "tok_admin".into(), scopes: Scopes::parse(["keys:read", "keys:write", "tokens:admin"]).unwrap(), tenant: Some("acme".into()) };
        let rec = req.record(&acme, "tok_new".into(), UnixMillis(1_500)).unwrap();
        assert_eq!((rec.tenant.as_deref(), rec.created_by.as_str(), rec.created_at), (Some("acme"), "tok_admin", UnixMillis(1_000)));
        assert_eq!(rec.expires_at, Some(UnixMillis(1_000 + 30 * 86_400_000)));
        assert_eq!(TokenRecord::decode(rec.encode().as_bytes()), Some(rec.clone()));
        let actor = rec.actor(UnixMillis(2_000)).unwrap();
        assert_eq!((actor.id.as_str(), actor.tenant.as_deref()), ("tok_new", Some("acme")));
        assert_eq!(rec.actor(UnixMillis(1_000 + 30 * 86_400_000)), None, "expired");
        assert_eq!(TokenRecord { status: Status::Revoked, ..rec.clone() }.actor(UnixMillis(2_000)), None);

        let other = parse_mint(br#"{"label":"x","scopes":["keys:read"],"tenant":"other"}"#).unwrap();
        assert_eq!(other.record(&acme, "tok_x".into(), UnixMillis(0)).unwrap_err().kind, Kind::Forbidden);
        let stronger = parse_mint(br#"{"label":"x","scopes":["usage:read"]}"#).unwrap();
        assert_eq!(stronger.record(&acme, "tok_x".into(), UnixMillis(0)).unwrap_err().kind, Kind::Forbidden);
        assert_eq!(parse_mint(br#"{"label":"x","scopes":["keys:read","keys:read"]}"#).unwrap_err().errors[0].field, "scopes");
        assert_eq!(parse_mint(br#"{"label":"x","scopes":["keys:admin"]}"#).unwrap_err().errors[0].field, "scopes");
        let listed = item("tok_new", &rec.summary(), UnixMillis(2_000)).unwrap();
        assert_eq!((listed["status"].as_str(), listed["tenant"].as_str()), (Some("active"), Some("acme")));
        let view = rec.view(UnixMillis(2_000), true);
        assert_eq!(view["status"], "revoked");
        assert!(!view.to_string().contains("pvm_"));
    }
}
