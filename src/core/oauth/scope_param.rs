//! The OAuth `scope` parameter (RFC 6749 §3.3): provgate's own scopes
//! (`users:read`, `*`, …), space-delimited. A token's scopes are always a
//! subset of what the key holds *now*: requested scopes narrow, and a
//! grant made earlier (a code, a refresh family) is cut to the key's
//! current scopes whenever a token is issued from it.

use crate::core::scope::Scope;

/// A `scope` parameter with a token outside the scope grammar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidScope;

/// Reads a `scope` parameter. Repeated tokens count once; runs of spaces
/// are tolerated, anything else outside the grammar is refused.
pub fn parse(param: &str) -> Result<Vec<Scope>, InvalidScope> {
    let mut scopes: Vec<Scope> = Vec::new();
    for token in param.split(' ').filter(|t| !t.is_empty()) {
        let scope: Scope = token.parse().map_err(|_| InvalidScope)?;
        if !scopes.contains(&scope) {
            scopes.push(scope);
        }
    }
    Ok(scopes)
}

/// Whether `held` grants `scope` (`*` grants every scope).
pub fn covers(held: &[Scope], scope: &Scope) -> bool {
    held.contains(&Scope::All) || held.contains(scope)
}

/// The scopes of a new grant: `requested` if `held` covers each of them,
/// all of `held` if nothing was requested.
///
/// ```
/// use provgate::core::{oauth::scope_param::{narrow, parse}, scope::parse_list};
/// let held = parse_list("users:read,users:write").unwrap();
/// assert_eq!(narrow(&held, Some(&parse("users:read").unwrap())), Ok(parse("users:read").unwrap()));
/// assert!(narrow(&held, Some(&parse("groups:read").unwrap())).is_err());
/// assert_eq!(narrow(&held, None), Ok(held.clone()));
/// ```
pub fn narrow(held: &[Scope], requested: Option<&[Scope]>) -> Result<Vec<Scope>, InvalidScope> {
    match requested {
        None => Ok(held.to_vec()),
        Some(r) if r.iter().all(|s| covers(held, s)) => Ok(r.to_vec()),
        Some(_) => Err(InvalidScope),
    }
}

/// What is left of an earlier grant under the key's current scopes: each
/// granted scope the key still holds; a granted `*` becomes whatever the
/// key holds now.
pub fn meet(granted: &[Scope], held: &[Scope]) -> Vec<Scope> {
    let mut out: Vec<Scope> = Vec::new();
    let mut add = |s: &Scope| {
        if !out.contains(s) {
            out.push(s.clone());
        }
    };
    for scope in granted {
        if covers(held, scope) {
            add(scope);
        } else if *scope == Scope::All {
            held.iter().for_each(&mut add);
        }
    }
    out
}

/// The parameter's value: the scopes, space-joined.
pub fn to_param(scopes: &[Scope]) -> String {
    scopes.iter().map(Scope::to_string).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::scope::parse_list;
    use proptest::prelude::*;

    fn list(s: &str) -> Vec<Scope> {
        parse_list(s).unwrap()
    }

    #[test]
    fn parse_and_print() {
        assert_eq!(parse("users:read  groups:read users:read "), Ok(list("users:read,groups:read")));
        assert_eq!(parse(""), Ok(vec![]));
        for bad in ["users:admin", "users:read,groups:read", "users:read\tgroups:read", "openid"] {
            assert_eq!(parse(bad), Err(InvalidScope), "{bad}");
        }
        assert_eq!(to_param(&list("*,users:read,me")), "* users:read me");
    }

    #[test]
    fn narrowing_and_meeting() {
        let all = list("*");
        assert_eq!(narrow(&all, Some(&list("devices:write"))), Ok(list("devices:write")));
        assert_eq!(narrow(&list("users:read"), Some(&all)), Err(InvalidScope));
        assert_eq!(narrow(&list("users:write"), Some(&list("users:read"))), Err(InvalidScope), "write does not imply read");
        assert_eq!(meet(&list("users:read,groups:read"), &list("users:read")), list("users:read"));
        assert_eq!(meet(&all, &list("users:read,me")), list("users:read,me"));
        assert_eq!(meet(&list("users:read,*"), &list("users:read,me")), list("users:read,me"));
        assert_eq!(meet(&all, &all), all);
        assert_eq!(meet(&list("users:read"), &all), list("users:read"));
    }

    proptest! {
        /// Whatever was granted, a token's scopes never exceed the key's.
        #[test]
        fn meet_never_exceeds_either_side(granted in prop::collection::vec(0usize..6, 0..6), held in prop::collection::vec(0usize..6, 0..6)) {
            const POOL: [&str; 6] = ["*", "users:read", "users:write", "groups:read", "me", "devices:read"];
            let pick = |v: &[usize]| -> Vec<Scope> { v.iter().map(|&i| POOL[i].parse().unwrap()).collect() };
            let (granted, held) = (pick(&granted), pick(&held));
            for s in meet(&granted, &held) {
                prop_assert!(covers(&held, &s), "{} not held", s);
                prop_assert!(covers(&granted, &s), "{} not granted", s);
            }
        }
    }
}
