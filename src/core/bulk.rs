//! Reading a `/Bulk` request's operations, so each one is authorised on
//! its own before anything is forwarded (RFC 7644 §3.7).
//!
//! SCIM attribute names are case-insensitive, so `operations`, `METHOD` and
//! friends are found whatever their case, and a name given twice (in any
//! case) makes the body ambiguous: it is refused rather than guessed at,
//! since the origin's JSON parser might pick the other copy. Member names
//! outside ASCII are refused too, at the top level and in each operation:
//! under Unicode case folding (Java's `equalsIgnoreCase`, Python's
//! `casefold()`) `Operatıons` (dotless ı) and `Operationſ` (long s) are
//! `Operations`, and ASCII names fold alike everywhere.

use super::scim::{classify, Action, PathError, ScimRequest};
use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::{value::RawValue, Value};
use std::fmt;

/// One operation of a bulk request, classified like a top-level request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkOperation {
    /// The operation's `bulkId`, if it has one.
    pub bulk_id: Option<String>,
    /// Its position in `Operations`, from 0.
    pub index: usize,
    /// What it addresses.
    pub request: ScimRequest,
}

/// Why a bulk body cannot be authorised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BulkError {
    /// Not a readable bulk request (bad JSON, missing or repeated fields).
    Malformed(String),
    /// An operation's method and path are not a SCIM write.
    BadOperation {
        /// The operation's position.
        index: usize,
        /// Its `bulkId`, if it has one.
        bulk_id: Option<String>,
        /// What is wrong with it.
        why: String,
    },
}

/// A JSON object kept as its list of entries, so that repeated names are
/// visible (a map would silently keep one of them).
struct Entries<V>(Vec<(String, V)>);

impl<'de, V: Deserialize<'de>> Deserialize<'de> for Entries<V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Collect<V>(std::marker::PhantomData<V>);
        impl<'de, V: Deserialize<'de>> Visitor<'de> for Collect<V> {
            type Value = Entries<V>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entries<V>, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry::<String, V>()? {
                    entries.push(entry);
                }
                Ok(Entries(entries))
            }
        }
        d.deserialize_map(Collect(std::marker::PhantomData))
    }
}

impl<V> Entries<V> {
    /// Refuses names outside ASCII and names given twice in any case, so
    /// that every reader of the body sees the same members.
    fn unambiguous(self, what: &str) -> Result<Self, BulkError> {
        if self.0.iter().any(|(k, _)| !k.is_ascii()) {
            return Err(BulkError::Malformed(format!("{what} has a member name outside ASCII")));
        }
        let mut names: Vec<String> = self.0.iter().map(|(k, _)| k.to_ascii_lowercase()).collect();
        names.sort_unstable();
        if let Some(pair) = names.windows(2).find(|w| w[0] == w[1]) {
            let name: String = pair[0].chars().take(32).collect();
            return Err(BulkError::Malformed(format!("the attribute {name:?} appears more than once in {what}")));
        }
        Ok(self)
    }

    /// The one value named `name` (any case); two of them is an error.
    fn field(&self, name: &str) -> Result<Option<&V>, BulkError> {
        let mut found = self.0.iter().filter(|(k, _)| k.eq_ignore_ascii_case(name));
        let first = found.next().map(|(_, v)| v);
        if found.next().is_some() {
            return Err(BulkError::Malformed(format!("the attribute {name:?} appears more than once")));
        }
        Ok(first)
    }
}

/// Extracts and classifies every operation of a bulk request body.
///
/// ```
/// use provgate::core::bulk::operations;
/// let body = br#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
///   "Operations":[{"method":"POST","path":"/Users","bulkId":"u1","data":{}}]}"#;
/// let ops = operations(body).unwrap();
/// assert_eq!((ops[0].bulk_id.as_deref(), ops[0].request.path.as_str()), (Some("u1"), "/Users"));
/// ```
pub fn operations(body: &[u8]) -> Result<Vec<BulkOperation>, BulkError> {
    // Raw values down to each operation's own fields, so that a repeated
    // name is seen at every level that matters for authorisation.
    let top: Entries<Box<RawValue>> = serde_json::from_slice::<Entries<Box<RawValue>>>(body)
        .map_err(|e| BulkError::Malformed(format!("the body is not a JSON object: {e}")))?
        .unambiguous("the body")?;
    let ops = top
        .field("Operations")?
        .ok_or_else(|| BulkError::Malformed("the body has no Operations".into()))?;
    let ops: Vec<Box<RawValue>> =
        serde_json::from_str(ops.get()).map_err(|_| BulkError::Malformed("Operations is not an array".into()))?;
    ops.iter().enumerate().map(|(index, op)| operation(index, op)).collect()
}

fn operation(index: usize, op: &RawValue) -> Result<BulkOperation, BulkError> {
    let entries: Entries<Value> = serde_json::from_str::<Entries<Value>>(op.get())
        .map_err(|_| BulkError::Malformed(format!("operation {index} is not an object")))?
        .unambiguous(&format!("operation {index}"))?;
    let text = |name: &str| -> Result<Option<String>, BulkError> {
        match entries.field(name)? {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(BulkError::Malformed(format!("operation {index}: {name} is not a string"))),
        }
    };
    let bulk_id = text("bulkId")?;
    let bad = |why: &str| BulkError::BadOperation { index, bulk_id: bulk_id.clone(), why: why.to_owned() };
    // Servers may match the method case-insensitively; decide on what they would run.
    let method = text("method")?.ok_or_else(|| bad("it has no method"))?.to_ascii_uppercase();
    let path = text("path")?.ok_or_else(|| bad("it has no path"))?;
    if !matches!(method.as_str(), "POST" | "PUT" | "PATCH" | "DELETE") {
        return Err(bad("bulk operations must be POST, PUT, PATCH or DELETE"));
    }
    let request = classify(&method, &path).map_err(|e| match e {
        PathError::NotCanonical(why) => bad(why),
        PathError::NotFound => bad("its path is not a SCIM resource"),
        PathError::MethodNotAllowed => bad("its method is not allowed on its path"),
    })?;
    // `POST /Users/.search` classifies as a read; inside a bulk request an
    // origin could route it as a create on /Users, so only writes pass.
    if request.action != Action::Write
        || request.resource.is_discovery()
        || matches!(request.resource, super::scim::Resource::Bulk | super::scim::Resource::RootSearch)
    {
        return Err(bad("bulk operations may only change resources"));
    }
    Ok(BulkOperation { bulk_id, index, request })
}

impl fmt::Display for BulkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BulkError::Malformed(why) => write!(f, "{why}"),
            BulkError::BadOperation { index, bulk_id: Some(id), why } => write!(f, "operation {index} (bulkId {id:?}): {why}"),
            BulkError::BadOperation { index, bulk_id: None, why } => write!(f, "operation {index}: {why}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::scim::Resource;

    fn body(ops: &str) -> Vec<u8> {
        format!(r#"{{"schemas":["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],"Operations":[{ops}]}}"#).into_bytes()
    }

    #[test]
    fn classifies_each_operation() {
        let ops = operations(&body(
            r#"{"method":"POST","path":"/Users","bulkId":"a","data":{}},
               {"method":"patch","path":"/groups/g1","data":{}},
               {"method":"DELETE","path":"/Users/bulkId:a"}"#,
        ))
        .unwrap();
        let seen: Vec<_> = ops.iter().map(|o| (o.index, o.request.resource.clone(), o.request.action)).collect();
        assert_eq!(seen, vec![(0, Resource::Users, Action::Write), (1, Resource::Groups, Action::Write), (2, Resource::Users, Action::Write)]);
        assert_eq!(ops[2].request.path, "/Users/bulkId:a");
    }

    #[test]
    fn case_variants_are_found_and_duplicates_refused() {
        let lower = br#"{"operations":[{"METHOD":"POST","Path":"/Groups","BULKID":"x"}]}"#;
        let ops = operations(lower).unwrap();
        assert_eq!((ops[0].request.resource.clone(), ops[0].bulk_id.as_deref()), (Resource::Groups, Some("x")));
        for ambiguous in [
            &br#"{"Operations":[],"operations":[{"method":"POST","path":"/Groups"}]}"#[..],
            br#"{"Operations":[{"method":"POST","method":"DELETE","path":"/Groups/1"}]}"#,
            br#"{"Operations":[{"method":"POST","path":"/Users","Path":"/Groups"}]}"#,
        ] {
            assert!(matches!(operations(ambiguous), Err(BulkError::Malformed(_))), "{}", String::from_utf8_lossy(ambiguous));
        }
    }

    #[test]
    fn unicode_lookalike_and_repeated_member_names_are_refused() {
        for ambiguous in [
            r#"{"Operations":[],"Operatıons":[{"method":"POST","path":"/Groups"}]}"#,
            r#"{"Operations":[],"Operationſ":[{"method":"POST","path":"/Groups"}]}"#,
            r#"{"Operatıons":[{"method":"POST","path":"/Users"}]}"#,
            r#"{"Operations":[{"method":"POST","path":"/Users","path":"/Groups"}]}"#,
            r#"{"Operations":[{"method":"POST","path":"/Users","Key":1}]}"#,
            r#"{"Operations":[{"method":"POST","path":"/Users","data":{},"DATA":{}}]}"#,
            r#"{"Operations":[{"method":"POST","path":"/Users"}],"schemas":[],"Schemas":[]}"#,
            r#"{"Operations":[{"method":"POST","path":"/Users","bulkid":"a","bulkId":"b"}]}"#,
        ] {
            assert!(matches!(operations(ambiguous.as_bytes()), Err(BulkError::Malformed(_))), "{ambiguous}");
        }
        // Non-ASCII values (not names) are the data's business.
        assert!(operations(r#"{"Operations":[{"method":"POST","path":"/Users","data":{"displayName":"Zoë","näme":1}}]}"#.as_bytes()).is_ok());
    }

    /// A search is a read: a users:read key must not slip a POST to
    /// `/Users/.search` into a bulk request that the origin may run as a create.
    #[test]
    fn searches_are_refused_as_bulk_operations() {
        for (ops, bulk_id) in [
            (r#"{"method":"POST","path":"/Users/.search","bulkId":"s"}"#, Some("s")),
            (r#"{"method":"post","path":"/groups/.SEARCH/"}"#, None),
            (r#"{"method":"POST","path":"/Devices/.search"}"#, None),
        ] {
            match operations(&body(ops)) {
                Err(BulkError::BadOperation { bulk_id: got, why, .. }) => {
                    assert_eq!(got.as_deref(), bulk_id, "{ops}");
                    assert_eq!(why, "bulk operations may only change resources");
                }
                other => panic!("{ops}: {other:?}"),
            }
        }
    }

    #[test]
    fn unreadable_or_unsafe_operations_are_refused() {
        for (ops, bulk_id) in [
            (r#"{"method":"GET","path":"/Users","bulkId":"g"}"#, Some("g")),
            (r#"{"method":"POST","path":"/Users/../Groups","bulkId":"d"}"#, Some("d")),
            (r#"{"method":"POST","path":"/Bulk"}"#, None),
            (r#"{"method":"POST","path":"/.search"}"#, None),
            (r#"{"method":"POST","path":"Users"}"#, None),
            (r#"{"method":"POST","path":"/Users?x=1"}"#, None),
            (r#"{"method":"POST"}"#, None),
            (r#"{"path":"/Users"}"#, None),
        ] {
            match operations(&body(ops)) {
                Err(BulkError::BadOperation { bulk_id: got, .. }) => assert_eq!(got.as_deref(), bulk_id, "{ops}"),
                other => panic!("{ops}: {other:?}"),
            }
        }
        for junk in [&b""[..], b"[]", b"{}", br#"{"Operations":{}}"#, br#"{"Operations":[1]}"#, br#"{"Operations":[{"method":1,"path":"/Users"}]}"#] {
            assert!(matches!(operations(junk), Err(BulkError::Malformed(_))), "{}", String::from_utf8_lossy(junk));
        }
    }
}
