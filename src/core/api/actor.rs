//! Who is calling the API and what it may do: the root token (every scope,
//! every tenant) or a management token (its scopes, optionally one tenant).
//! A tenant-restricted actor sees other tenants' keys as absent (404, no
//! existence oracle), lists only its tenant, mints only for it, and can
//! never grant more than it holds.

use super::problem::{Kind, Problem};

/// The scopes of management tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenScope {
    /// `keys:read`: list and show keys.
    KeysRead,
    /// `keys:write`: mint, update, rotate and delete keys.
    KeysWrite,
    /// `keys:revoke`: revoke keys.
    KeysRevoke,
    /// `usage:read`: a key's usage and the stale report.
    UsageRead,
    /// `tokens:admin`: mint, list, show and revoke management tokens.
    TokensAdmin,
}

impl TokenScope {
    /// Every scope, in the order they are written.
    pub const ALL: [TokenScope; 5] = [TokenScope::KeysRead, TokenScope::KeysWrite, TokenScope::KeysRevoke, TokenScope::UsageRead, TokenScope::TokensAdmin];

    /// The scope's name.
    pub fn name(self) -> &'static str {
        match self {
            TokenScope::KeysRead => "keys:read",
            TokenScope::KeysWrite => "keys:write",
            TokenScope::KeysRevoke => "keys:revoke",
            TokenScope::UsageRead => "usage:read",
            TokenScope::TokensAdmin => "tokens:admin",
        }
    }

    /// The scope named `name`.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// A set of token scopes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Scopes(u8);

impl Scopes {
    /// Every scope (the root token).
    pub const EVERY: Scopes = Scopes(0b1_1111);

    /// Whether `scope` is in the set.
    pub fn has(self, scope: TokenScope) -> bool {
        self.0 & (1 << scope as u8) != 0
    }

    /// The set with `scope` added.
    pub fn with(self, scope: TokenScope) -> Self {
        Scopes(self.0 | (1 << scope as u8))
    }

    /// Whether every scope of `other` is in this set.
    pub fn covers(self, other: Scopes) -> bool {
        other.0 & !self.0 == 0
    }

    /// The names, in canonical order.
    pub fn names(self) -> Vec<&'static str> {
        TokenScope::ALL.into_iter().filter(|s| self.has(*s)).map(TokenScope::name).collect()
    }

    /// The set of the named scopes; `Err` carries the first unknown name.
    pub fn parse<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<Self, &'a str> {
        names.into_iter().try_fold(Scopes::default(), |set, n| TokenScope::parse(n).map(|s| set.with(s)).ok_or(n))
    }
}

/// The caller of an API request, once its token is verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// `root`, or the management token's id: the audit line's `actor`.
    pub id: String,
    /// What it may do.
    pub scopes: Scopes,
    /// The only tenant it may act for, if restricted.
    pub tenant: Option<String>,
}

/// The id of the root token's actor.
pub const ROOT: &str = "root";

impl Actor {
    /// The root token's actor.
    pub fn root() -> Self {
        Actor { id: ROOT.into(), scopes: Scopes::EVERY, tenant: None }
    }

    /// `Ok` if the actor holds `scope`, else 403.
    pub fn require(&self, scope: TokenScope) -> Result<(), Problem> {
        if self.scopes.has(scope) {
            Ok(())
        } else {
            Err(Problem::new(Kind::Forbidden, format!("this token lacks the scope {}", scope.name())))
        }
    }

    /// Whether the actor may see a key or token of `tenant` at all; when it
    /// may not, the API answers as if it did not exist.
    pub fn sees(&self, tenant: Option<&str>) -> bool {
        self.tenant.as_deref().is_none_or(|mine| tenant == Some(mine))
    }

    /// The tenant a listing covers: the one asked for, forced to the
    /// actor's own when it is restricted (another one is 403).
    pub fn listing_tenant(&self, asked: Option<&str>) -> Result<Option<String>, Problem> {
        match (&self.tenant, asked) {
            (None, asked) => Ok(asked.map(str::to_owned)),
            (Some(mine), None) => Ok(Some(mine.clone())),
            (Some(mine), Some(asked)) if asked == mine => Ok(Some(mine.clone())),
            (Some(_), Some(_)) => Err(Problem::field(Kind::Forbidden, "tenant", "this token is restricted to another tenant")),
        }
    }

    /// The tenant a new key or token gets: the one asked for, or the
    /// actor's own when it is restricted and none was asked for.
    pub fn minting_tenant(&self, asked: Option<&str>) -> Result<Option<String>, Problem> {
        self.listing_tenant(asked)
    }

    /// `Ok` if the actor may mint a token with `scopes`: root may grant
    /// anything, any other actor only scopes it holds itself.
    pub fn may_grant(&self, scopes: Scopes) -> Result<(), Problem> {
        if self.id == ROOT || self.scopes.covers(scopes) {
            Ok(())
        } else {
            Err(Problem::field(Kind::Forbidden, "scopes", "a token can grant only scopes it holds itself"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn acme(scopes: &[&str]) -> Actor {
        Actor { id: "tok_a".into(), scopes: Scopes::parse(scopes.iter().copied()).unwrap(), tenant: Some("acme".into()) }
    }

    #[test]
    fn scopes_parse_and_cover() {
        let s = Scopes::parse(["keys:read", "usage:read"]).unwrap();
        assert!(s.has(TokenScope::KeysRead) && !s.has(TokenScope::KeysWrite));
        assert_eq!(s.names(), ["keys:read", "usage:read"]);
        assert_eq!(Scopes::parse(["keys:read", "keys:admin"]), Err("keys:admin"));
        assert!(Scopes::EVERY.covers(s) && !s.covers(Scopes::EVERY));
        assert_eq!(Scopes::EVERY.names().len(), 5);
    }

    #[test]
    fn tenant_restriction() {
        let a = acme(&["keys:read", "tokens:admin"]);
        assert!(a.sees(Some("acme")) && !a.sees(Some("other")) && !a.sees(None));
        assert!(Actor::root().sees(None) && Actor::root().sees(Some("x")));
        assert_eq!(a.listing_tenant(None).unwrap().as_deref(), Some("acme"));
        assert_eq!(a.listing_tenant(Some("acme")).unwrap().as_deref(), Some("acme"));
        assert_eq!(a.listing_tenant(Some("other")).unwrap_err().kind, Kind::Forbidden);
        assert_eq!(Actor::root().minting_tenant(None).unwrap(), None);
        assert_eq!(a.require(TokenScope::KeysWrite).unwrap_err().kind, Kind::Forbidden);
        assert!(a.require(TokenScope::KeysRead).is_ok());
    }

    #[test]
    fn no_token_grants_more_than_it_holds() {
        let a = acme(&["keys:read", "tokens:admin"]);
        assert!(a.may_grant(Scopes::parse(["keys:read"]).unwrap()).is_ok());
        assert_eq!(a.may_grant(Scopes::parse(["keys:write"]).unwrap()).unwrap_err().kind, Kind::Forbidden);
        assert!(Actor::root().may_grant(Scopes::EVERY).is_ok());
    }
}
