//! The KV record decoder: any bytes, and records built field by field from
//! plausible values. Whatever decodes must survive encode → decode
//! unchanged, and encoding must be stable.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use provgate::core::decide::verify;
use provgate::core::record::{valid_tenant, KeyRecord};
use serde_json::{json, Value};

/// Inputs are `[mode][rest]`: an even mode takes the rest as the stored
/// bytes (so seeds are real records), an odd one builds a record.
#[derive(Arbitrary, Debug)]
struct Fields {
    key_id: Pick<String>,
    label: String,
    tenant: Option<Pick<String>>,
    scopes: Vec<Pick<String>>,
    revoked: bool,
    created_at: Pick<String>,
    expires_at: Option<Pick<String>>,
    allow_ips: Vec<Pick<String>>,
    rate_per_minute: Option<u32>,
    burst: Option<u32>,
    rotated_from: Option<String>,
    extra: Option<(String, String)>,
}

/// A value from a pool of realistic ones, or anything at all.
#[derive(Arbitrary, Debug)]
enum Pick<T> {
    Pool(u8),
    Any(T),
}

impl Pick<String> {
    fn get(&self, pool: &[&str]) -> String {
        match self {
            Pick::Pool(i) => pool[usize::from(*i) % pool.len()].to_owned(),
            Pick::Any(s) => s.clone(),
        }
    }
}

const KEY_IDS: [&str; 3] = ["key_3mXqT8aZ0b1c2d3e", "key_a", "key_"];
const TENANTS: [&str; 4] = ["acme", "a.b_c-1", ".acme", "x"];
const SCOPES: [&str; 6] = ["*", "users:read", "groups:write", "me", "bulk", "Users:read"];
const TIMES: [&str; 6] = [
    "2026-11-29T08:00:00Z",
    "2026-11-29T08:00:00.5Z",
    "2026-11-29T08:00:00.123456Z",
    "1970-01-01T00:00:00Z",
    "9999-12-31T23:59:59.999Z",
    "2026-11-29T09:00:00+01:00",
];
const NETWORKS: [&str; 6] = ["203.0.113.0/24", "203.0.113.9/24", "2001:db8::1", "::ffff:10.0.0.1/120", "10.0.0.0/33", " 10.0.0.1 "];

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let fields = if mode % 2 == 0 { None } else { Fields::arbitrary_take_rest(Unstructured::new(rest)).ok() };
    let bytes = match fields {
        None => rest.to_vec(),
        Some(Fields { key_id, label, tenant, scopes, revoked, created_at, expires_at, allow_ips, rate_per_minute, burst, rotated_from, extra }) => {
            let mut record = json!({
                "v": 1,
                "key_id": key_id.get(&KEY_IDS),
                "label": label,
                "tenant": tenant.map(|t| t.get(&TENANTS)),
                "scopes": scopes.iter().take(8).map(|s| s.get(&SCOPES)).collect::<Vec<_>>(),
                "status": if revoked { "revoked" } else { "active" },
                "created_at": created_at.get(&TIMES),
                "expires_at": expires_at.map(|t| t.get(&TIMES)),
                "allow_ips": allow_ips.iter().take(8).map(|n| n.get(&NETWORKS)).collect::<Vec<_>>(),
                "rate_per_minute": rate_per_minute,
                "burst": burst,
                "rotated_from": rotated_from,
            });
            if let (Some((name, value)), Value::Object(fields)) = (extra, &mut record) {
                fields.entry(name).or_insert(Value::String(value));
            }
            record.to_string().into_bytes()
        }
    };
    let Ok(record) = KeyRecord::decode(&bytes) else {
        assert!(verify(Some(&bytes)).is_err(), "an undecodable record must deny");
        return;
    };
    assert_eq!(verify(Some(&bytes)).as_ref(), Ok(&record));
    if let Some(t) = &record.tenant {
        assert!(valid_tenant(t), "{t:?}");
    }
    assert_ne!(record.rate_per_minute, Some(0));
    assert_ne!(record.burst, Some(0));
    let encoded = record.encode();
    let again = KeyRecord::decode(encoded.as_bytes()).unwrap_or_else(|e| panic!("{encoded} does not decode: {e}"));
    assert_eq!(again, record, "{} → {encoded}", String::from_utf8_lossy(&bytes));
    assert_eq!(again.encode(), encoded, "encoding is not stable");
});
