//! Which API call a request is: method × path below `/_provgate/api/v1`,
//! the action it names in the audit log and the scope it needs.

use super::actor::TokenScope;
use super::problem::{Kind, Problem};
use super::token::is_token_id;
use crate::core::key::KeyId;

/// The API's path prefix, outside any SCIM base path.
pub const PREFIX: &str = "/_provgate/api/v1";

/// Every API action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `POST /keys`
    KeyMint,
    /// `GET /keys`
    KeyList,
    /// `GET /keys/{id}`
    KeyShow,
    /// `PATCH /keys/{id}`
    KeyUpdate,
    /// `DELETE /keys/{id}`
    KeyDelete,
    /// `POST /keys/{id}/rotate`
    KeyRotate,
    /// `POST /keys/{id}/revoke`
    KeyRevoke,
    /// `GET /keys/{id}/usage`
    KeyUsage,
    /// `GET /usage/stale`
    UsageStale,
    /// `POST /tokens`
    TokenMint,
    /// `GET /tokens`
    TokenList,
    /// `GET /tokens/{id}`
    TokenShow,
    /// `POST /tokens/{id}/revoke`
    TokenRevoke,
    /// `POST /diagnostics/origin`
    DiagnosticsOrigin,
}

impl Action {
    /// The audit line's `action`.
    pub fn name(self) -> &'static str {
        match self {
            Action::KeyMint => "key.mint",
            Action::KeyList => "key.list",
            Action::KeyShow => "key.show",
            Action::KeyUpdate => "key.update",
            Action::KeyDelete => "key.delete",
            Action::KeyRotate => "key.rotate",
            Action::KeyRevoke => "key.revoke",
            Action::KeyUsage => "key.usage",
            Action::UsageStale => "usage.stale",
            Action::TokenMint => "token.mint",
            Action::TokenList => "token.list",
            Action::TokenShow => "token.show",
            Action::TokenRevoke => "token.revoke",
            Action::DiagnosticsOrigin => "diagnostics.origin",
        }
    }

    /// The scope the caller needs.
    pub fn scope(self) -> TokenScope {
        match self {
            Action::KeyList | Action::KeyShow => TokenScope::KeysRead,
            Action::KeyMint | Action::KeyUpdate | Action::KeyDelete | Action::KeyRotate => TokenScope::KeysWrite,
            Action::KeyRevoke => TokenScope::KeysRevoke,
            // The origin check is a monitoring read, like usage.
            Action::KeyUsage | Action::UsageStale | Action::DiagnosticsOrigin => TokenScope::UsageRead,
            Action::TokenMint | Action::TokenList | Action::TokenShow | Action::TokenRevoke => TokenScope::TokensAdmin,
        }
    }

    /// Whether it takes a JSON body.
    pub fn takes_body(self) -> bool {
        matches!(self, Action::KeyMint | Action::KeyUpdate | Action::KeyRotate | Action::TokenMint | Action::DiagnosticsOrigin)
    }
}

/// A routed call: the action and the id in its path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// What it does.
    pub action: Action,
    /// The key or token id of the path (already checked).
    pub id: Option<String>,
}

/// Routes `method` on `path` (below the prefix). An id that cannot exist
/// is 404 like any missing one; a known path with another method is 405.
pub fn route(method: &str, path: &str) -> Result<Call, Problem> {
    let segments: Vec<&str> = path.strip_prefix('/').unwrap_or("\u{0}").split('/').collect();
    let key = |id: &str| KeyId::parse(id).map(|k| k.as_str().to_owned());
    let token = |id: &str| is_token_id(id).then(|| id.to_owned());
    let (methods, id): (&[(&str, Action)], Option<Option<String>>) = match segments.as_slice() {
        ["keys"] => (&[("GET", Action::KeyList), ("POST", Action::KeyMint)], None),
        ["keys", id] => (&[("GET", Action::KeyShow), ("PATCH", Action::KeyUpdate), ("DELETE", Action::KeyDelete)], Some(key(id))),
        ["keys", id, "rotate"] => (&[("POST", Action::KeyRotate)], Some(key(id))),
        ["keys", id, "revoke"] => (&[("POST", Action::KeyRevoke)], Some(key(id))),
        ["keys", id, "usage"] => (&[("GET", Action::KeyUsage)], Some(key(id))),
        ["usage", "stale"] => (&[("GET", Action::UsageStale)], None),
        ["tokens"] => (&[("GET", Action::TokenList), ("POST", Action::TokenMint)], None),
        ["tokens", id] => (&[("GET", Action::TokenShow)], Some(token(id))),
        ["tokens", id, "revoke"] => (&[("POST", Action::TokenRevoke)], Some(token(id))),
        ["diagnostics", "origin"] => (&[("POST", Action::DiagnosticsOrigin)], None),
        _ => return Err(Kind::NotFound.into()),
    };
    let id = match id {
        Some(None) => return Err(Kind::NotFound.into()),
        Some(Some(id)) => Some(id),
        None => None,
    };
    match methods.iter().find(|(m, _)| *m == method) {
        Some((_, action)) => Ok(Call { action: *action, id }),
        None => Err(Problem { allow: Some(allow(methods)), ..Kind::MethodNotAllowed.into() }),
    }
}

fn allow(methods: &[(&str, Action)]) -> &'static str {
    match methods.iter().map(|(m, _)| *m).collect::<Vec<_>>().as_slice() {
        ["GET", "POST"] => "GET, POST",
        ["GET", "PATCH", "DELETE"] => "GET, PATCH, DELETE",
        ["POST"] => "POST",
        _ => "GET",
    }
}

/// Checks a body's media type: JSON (and, for PATCH, merge-patch JSON).
pub fn check_media_type(content_type: Option<&str>, action: Action) -> Result<(), Problem> {
    let essence = content_type.unwrap_or_default().split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    let ok = essence == "application/json" || (action == Action::KeyUpdate && essence == "application/merge-patch+json");
    if ok {
        Ok(())
    } else {
        Err(Problem::new(Kind::UnsupportedMediaType, "send the body as application/json"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        let call = |m, p| route(m, p).map(|c| (c.action, c.id));
        assert_eq!(call("POST", "/keys"), Ok((Action::KeyMint, None)));
        assert_eq!(call("PATCH", "/keys/key_abc"), Ok((Action::KeyUpdate, Some("key_abc".into()))));
        assert_eq!(call("POST", "/keys/key_abc/rotate").unwrap().0, Action::KeyRotate);
        assert_eq!(call("GET", "/usage/stale").unwrap().0, Action::UsageStale);
        assert_eq!(call("POST", "/tokens/tok_abc/revoke"), Ok((Action::TokenRevoke, Some("tok_abc".into()))));
        for missing in ["", "/", "/keys/", "/keys/pvk_abc", "/keys/key_a/b", "/tokens/key_abc", "/keys/key_%41", "/nope", "/keys/key_a/usage/x"] {
            assert_eq!(route("GET", missing).unwrap_err().kind, Kind::NotFound, "{missing:?}");
        }
        let wrong = route("PUT", "/keys/key_a").unwrap_err();
        assert_eq!((wrong.kind, wrong.allow), (Kind::MethodNotAllowed, Some("GET, PATCH, DELETE")));
        assert_eq!(route("DELETE", "/keys").unwrap_err().allow, Some("GET, POST"));
        assert_eq!(route("GET", "/keys/key_a/revoke").unwrap_err().allow, Some("POST"));
        assert_eq!(route("POST", "/usage/stale").unwrap_err().allow, Some("GET"));
        assert_eq!(call("POST", "/diagnostics/origin"), Ok((Action::DiagnosticsOrigin, None)));
        assert_eq!(route("GET", "/diagnostics/origin").unwrap_err().allow, Some("POST"));
        assert_eq!(Action::DiagnosticsOrigin.scope(), TokenScope::UsageRead);
    }

    #[test]
    fn scopes_and_media_types() {
        assert_eq!(Action::KeyRevoke.scope(), TokenScope::KeysRevoke);
        assert_eq!(Action::KeyRotate.scope(), TokenScope::KeysWrite);
        assert_eq!(Action::UsageStale.scope(), TokenScope::UsageRead);
        assert!(check_media_type(Some("application/json; charset=utf-8"), Action::KeyMint).is_ok());
        assert!(check_media_type(Some("application/merge-patch+json"), Action::KeyUpdate).is_ok());
        assert_eq!(check_media_type(Some("application/merge-patch+json"), Action::KeyMint).unwrap_err().kind, Kind::UnsupportedMediaType);
        assert!(check_media_type(None, Action::KeyMint).is_err() && check_media_type(Some("text/plain"), Action::TokenMint).is_err());
    }
}
