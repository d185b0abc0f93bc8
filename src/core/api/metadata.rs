//! A key's `metadata`: the operator's own labels (a customer id, who asked
//! for the key), bounded so that the record, read on every request with
//! the key, stays small. A PATCH merges into it (RFC 7396: `null` removes).

use serde_json::{Map, Value};

/// Entries at most.
pub const MAX_ENTRIES: usize = 16;
/// Characters of a name at most.
pub const MAX_NAME: usize = 64;
/// Characters of a value at most.
pub const MAX_VALUE: usize = 256;
/// Bytes of the whole object as JSON at most.
pub const MAX_BYTES: usize = 2048;

fn valid_name(name: &str) -> bool {
    (1..=MAX_NAME).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
}

/// Checks entries of a metadata object or patch; `nulls` admits `null`
/// values (a patch). Errors name the entry (`metadata.<name>`).
pub fn check(v: &Value, nulls: bool) -> Result<&Map<String, Value>, (String, String)> {
    let map = v.as_object().ok_or_else(|| ("metadata".to_owned(), "an object of names to strings".to_owned()))?;
    if map.len() > MAX_ENTRIES {
        return Err(("metadata".into(), format!("at most {MAX_ENTRIES} entries")));
    }
    for (name, value) in map {
        let field = || format!("metadata.{name}");
        if !valid_name(name) {
            return Err((field(), format!("names are 1 to {MAX_NAME} characters A-Z a-z 0-9 _ . -")));
        }
        match value {
            Value::String(s) if s.chars().count() <= MAX_VALUE => {}
            Value::Null if nulls => {}
            _ => return Err((field(), format!("a string of at most {MAX_VALUE} characters"))),
        }
    }
    Ok(map)
}

/// The stored metadata after `patch` (a checked patch object, or `null`
/// for "remove all"); `None` when nothing remains. Errors when the result
/// is over the bounds.
pub fn merge(stored: Option<&Value>, patch: &Value) -> Result<Option<Value>, String> {
    let mut merged = match (stored, patch) {
        (_, Value::Null) => Map::new(),
        (Some(Value::Object(m)), _) => m.clone(),
        _ => Map::new(),
    };
    for (name, value) in patch.as_object().into_iter().flatten() {
        match value {
            Value::Null => merged.remove(name),
            v => merged.insert(name.clone(), v.clone()),
        };
    }
    bounded(merged)
}

/// A new key's metadata (checked entries), within the bounds; `None` if empty.
pub fn whole(map: &Map<String, Value>) -> Result<Option<Value>, String> {
    bounded(map.clone())
}

fn bounded(map: Map<String, Value>) -> Result<Option<Value>, String> {
    if map.len() > MAX_ENTRIES {
        return Err(format!("at most {MAX_ENTRIES} entries"));
    }
    let value = Value::Object(map);
    if value.to_string().len() > MAX_BYTES {
        return Err(format!("at most {MAX_BYTES} bytes as JSON"));
    }
    Ok(value.as_object().is_some_and(|m| !m.is_empty()).then_some(value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn entries_are_checked() {
        assert!(check(&json!({"team": "idp", "a.b-c_d": ""}), false).is_ok());
        assert_eq!(check(&json!({"bad name": "x"}), false).unwrap_err().0, "metadata.bad name");
        assert_eq!(check(&json!({"n": 1}), false).unwrap_err().0, "metadata.n");
        assert!(check(&json!({"n": null}), false).is_err() && check(&json!({"n": null}), true).is_ok());
        assert!(check(&json!({"n": "x".repeat(257)}), false).is_err());
        assert!(check(&json!([]), false).is_err());
        let seventeen: Map<String, Value> = (0..17).map(|i| (format!("k{i}"), json!("v"))).collect();
        assert!(check(&Value::Object(seventeen), false).is_err());
    }

    #[test]
    fn merge_patch_semantics() {
        let stored = json!({"a": "1", "b": "2"});
        assert_eq!(merge(Some(&stored), &json!({"b": null, "c": "3"})).unwrap(), Some(json!({"a": "1", "c": "3"})));
        assert_eq!(merge(Some(&stored), &Value::Null).unwrap(), None);
        assert_eq!(merge(None, &json!({"a": null})).unwrap(), None);
        assert_eq!(merge(None, &json!({"a": "x"})).unwrap(), Some(json!({"a": "x"})));
    }

    #[test]
    fn the_whole_object_is_bounded() {
        let big: Map<String, Value> = (0..16).map(|i| (format!("k{i}"), json!("v".repeat(200)))).collect();
        assert!(whole(&big).unwrap_err().contains("2048"));
        let stored = Value::Object((0..16).map(|i| (format!("k{i}"), json!("v"))).collect());
        assert!(merge(Some(&stored), &json!({"one_more": "v"})).unwrap_err().contains("16"));
    }
}
