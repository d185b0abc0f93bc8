//! The `/Bulk` body: operation extraction and the per-operation scope
//! check, on raw bytes and on bodies built from operations whose expected
//! fate is known.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use provgate::core::bulk::{operations, BulkError, BulkOperation};
use provgate::core::decide::{authorize_bulk, Context};
use provgate::core::outcome::Outcome;
use provgate::core::scim::{classify, Action, Resource};
use provgate::core::UnixMillis;
use provgate_fuzz::{active_record, assert_canonical, oracle_permits, scope_picks_then_text};
use serde_json::{Map, Value};

/// Inputs are `[mode][n][n scope picks][rest]`: an even mode takes the
/// rest as the body (so seeds are real bulk requests), an odd one builds a
/// body from `Built`.
#[derive(Arbitrary, Debug)]
struct Built {
    ops: Vec<Op>,
    operations_case: u8,
    repeat_operations: bool,
}

#[derive(Arbitrary, Debug)]
struct Op {
    method: u8,
    path: u8,
    id: Option<String>,
    bulk_id: Option<String>,
    name_case: u8,
    /// Repeats `path` under another case of its name.
    repeat_path: bool,
}

const METHODS: [&str; 7] = ["POST", "PUT", "PATCH", "DELETE", "GET", "post", "Delete"];
const PATHS: [&str; 13] = [
    "/Users", "/Groups", "/users", "/Devices", "/Me", "/Bulk", "/.search", "/Schemas", "/Users/../Groups", "Users",
    "/Users/2819c223-7f76-453a-919d-413861904646", "/Users/.search", "/groups/.SEARCH",
];

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let types = ["users".to_owned(), "groups".to_owned()];
    let (scopes, rest) = scope_picks_then_text(rest);
    let (bytes, expect) = if mode % 2 == 0 {
        (rest.to_vec(), None)
    } else {
        let Ok(built) = Built::arbitrary_take_rest(Unstructured::new(rest)) else { return };
        let (body, expect) = build(&built.ops, built.operations_case, built.repeat_operations);
        (body.into_bytes(), Some(expect))
    };
    let result = operations(&bytes);
    if let Some(expect) = expect {
        match (&result, expect) {
            (Ok(ops), Expect::Ok(n)) => assert_eq!(ops.len(), n),
            (Err(BulkError::Malformed(_)), Expect::Malformed) => {}
            (Err(BulkError::BadOperation { index, .. }), Expect::Bad(first)) => assert_eq!(*index, first),
            (got, want) => panic!("{}: got {got:?}, expected {want:?}", String::from_utf8_lossy(&bytes)),
        }
    }
    let Ok(ops) = result else { return };
    for (i, op) in ops.iter().enumerate() {
        check_operation(i, op);
    }
    let record = active_record(scopes.clone());
    let ctx = Context { now: UnixMillis(1), client_ip: None, resource_types: &types };
    let first_denied = ops.iter().find(|op| !oracle_permits(&scopes, &op.request, &types));
    match (authorize_bulk(&record, &ops, &ctx), first_denied) {
        (Ok(()), None) => {}
        (Err(Outcome::InsufficientScope { bulk_id: Some(named), .. }), Some(op)) => {
            let want = op.bulk_id.clone().unwrap_or_else(|| format!("operation {}", op.index));
            assert_eq!(named, want);
        }
        (got, want) => panic!("authorize_bulk gave {got:?}, the scope table says {want:?}"),
    }
});

/// Every extracted operation is a write on a resource, at a canonical path.
fn check_operation(position: usize, op: &BulkOperation) {
    assert_eq!(op.index, position);
    assert_eq!(op.request.action, Action::Write);
    assert!(!op.request.resource.is_discovery());
    assert!(!matches!(op.request.resource, Resource::Bulk | Resource::RootSearch));
    assert_canonical(&op.request.path);
    let method = if op.request.path[1..].contains('/') { "DELETE" } else { "POST" };
    assert_eq!(classify(method, &op.request.path).map(|r| r.resource), Ok(op.request.resource.clone()));
}

#[derive(Debug, Clone, Copy)]
enum Expect {
    Ok(usize),
    Malformed,
    /// The first operation that must be refused.
    Bad(usize),
}

fn cased(name: &str, bits: u8) -> String {
    name.chars().enumerate().map(|(i, c)| if bits >> (i % 8) & 1 == 1 { c.to_ascii_uppercase() } else { c.to_ascii_lowercase() }).collect()
}

/// A JSON body, written by hand so that a name can appear twice, and what
/// `operations` must make of it.
fn build(ops: &[Op], operations_case: u8, repeat_operations: bool) -> (String, Expect) {
    let mut expect = Expect::Ok(ops.len());
    let mut texts = Vec::new();
    for (i, op) in ops.iter().take(8).enumerate() {
        let method = METHODS[usize::from(op.method) % METHODS.len()];
        let mut path = PATHS[usize::from(op.path) % PATHS.len()].to_owned();
        if let Some(id) = &op.id {
            path = format!("{path}/{id}");
        }
        let mut fields = Map::new();
        fields.insert(cased("method", op.name_case), method.into());
        fields.insert(cased("path", op.name_case.rotate_left(3)), path.clone().into());
        if let Some(b) = &op.bulk_id {
            fields.insert(cased("bulkId", op.name_case.rotate_left(5)), b.clone().into());
        }
        fields.insert("data".into(), Value::Object(Map::new()));
        let mut text = Value::Object(fields).to_string();
        if op.repeat_path {
            let again = serde_json::to_string(&path).expect("a string serialises");
            text = format!("{{\"{}\":{again},{}", cased("path", !op.name_case), &text[1..]);
        }
        texts.push(text);
        let fate = if op.repeat_path {
            Some(Expect::Malformed)
        } else {
            let upper = method.to_ascii_uppercase();
            match classify(&upper, &path) {
                Ok(req) if req.action == Action::Write
                    && !req.resource.is_discovery()
                    && !matches!(req.resource, Resource::Bulk | Resource::RootSearch) => None,
                _ => Some(Expect::Bad(i)),
            }
        };
        if let (Expect::Ok(_), Some(f)) = (expect, fate) {
            expect = f;
        }
    }
    if ops.len() > 8 {
        expect = match expect {
            Expect::Ok(_) => Expect::Ok(8),
            other => other,
        };
    }
    let name = cased("Operations", operations_case);
    let mut body = format!("{{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:BulkRequest\"],\"{name}\":[{}]", texts.join(","));
    if repeat_operations {
        body.push_str(&format!(",\"{}\":[]", cased("operations", !operations_case)));
        expect = Expect::Malformed;
    }
    body.push('}');
    (body, expect)
}
