//! Whole API calls against an in-memory world: KV, the keys' guards and
//! records writers (played by the core's own decisions), randomness, the
//! failed-attempt counter. Every step a call takes is recorded, so the
//! tests can check write orders and what was (not) asked.

use super::*;
use crate::core::api::idempotency::{self, Begin, Stored};
use crate::core::api::io::{self, Answer, Io, Page};
use crate::core::api::route::route;
use crate::core::api::write::{self, Applied, Held, Op, WriteReply, WriteRequest};
use crate::core::key::ProvisioningKey;
use crate::core::record::KeyRecord;
use serde_json::json;
use std::collections::{BTreeMap, HashMap};

const ROOT: &str = "root-token-root-token-root-token-root";
const PEPPER: &[u8] = b"pepper-pepper-pepper-pepper-pepper";
const T0: UnixMillis = UnixMillis(1_800_000_000_000);

struct World {
    kv: BTreeMap<String, (String, Option<Value>)>,
    revoked: HashMap<String, bool>,
    /// When each key's OAuth tokens end (its guard's `/tokens-end`).
    tokens_end: HashMap<String, u64>,
    /// Until when each key's OAuth tokens are suspended (`/tokens-suspend`).
    tokens_suspended: HashMap<String, u64>,
    /// The records writers' copies: key id → record (None: incomplete), deleted.
    copies: HashMap<String, (Option<String>, bool)>,
    idem: HashMap<String, Stored>,
    /// Guards that were asked anything, by name and path.
    asked: Vec<(String, &'static str)>,
    steps: Vec<Io>,
    failures: u32,
    /// A put whose name starts with this fails.
    fail_put: Option<String>,
    seed: u8,
    now: UnixMillis,
}

impl World {
    fn new() -> Self {
        World {
            kv: BTreeMap::new(),
            revoked: HashMap::new(),
            tokens_end: HashMap::new(),
            tokens_suspended: HashMap::new(),
            copies: HashMap::new(),
            idem: HashMap::new(),
            asked: Vec::new(),
            steps: Vec::new(),
            failures: 0,
            fail_put: None,
            seed: 0,
            now: T0,
        }
    }

    fn perform(&mut self, io: Io) -> Result<Answer, Problem> {
        self.steps.push(io.clone());
        Ok(match io {
            Io::Get(name) => Answer::Text(self.kv.get(&name).map(|(v, _)| v.clone())),
            Io::GetMeta(name) => {
                let entry = self.kv.get(&name);
                Answer::Meta(entry.map(|(v, _)| v.clone()), entry.and_then(|(_, m)| m.clone()))
            }
            Io::Put(name, value, meta) => {
                if self.fail_put.as_deref().is_some_and(|p| name.starts_with(p)) {
                    return Err(Kind::StoreUnavailable.into());
                }
                self.kv.insert(name, (value, meta));
                Answer::Done
            }
            Io::Delete(name) => {
                self.kv.remove(&name);
                Answer::Done
            }
            Io::List(prefix, limit, cursor) => {
                let names: Vec<(String, Option<Value>)> = self
                    .kv
                    .iter()
                    .filter(|(n, _)| n.starts_with(&prefix) && cursor.as_deref().is_none_or(|c| n.as_str() > c))
                    .map(|(n, (_, m))| (n.clone(), m.clone()))
                    .collect();
                let page: Vec<_> = names.iter().take(limit as usize).cloned().collect();
                let cursor = (names.len() > page.len()).then(|| page.last().unwrap().0.clone());
                Answer::Page(Page { keys: page, cursor })
            }
            Io::Guard(name, path, body) => {
                self.asked.push((name.clone(), path));
                Answer::Text(Some(self.object(&name, path, &body)))
            }
            Io::Random(n) => {
                self.seed = self.seed.wrapping_add(1);
                let seed = self.seed;
                Answer::Bytes((0..n).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed.wrapping_mul(17))).collect())
            }
            Io::Failure => {
                self.failures += 1;
                Answer::Throttled((self.failures > 4).then_some(60))
            }
        })
    }

    /// The Durable Objects: the key's guard, its records writer, idempotency.
    fn object(&mut self, name: &str, path: &str, body: &str) -> String {
        match path {
            "/revoke" => {
                self.revoked.insert(name.into(), true);
                "{}".into()
            }
            "/revoked" => json!({ "revoked": self.revoked.get(name).copied().unwrap_or(false) }).to_string(),
            "/status" => json!({ "revoked": false, "usage": { "last_used": "2027-01-01T00:00:00Z" } }).to_string(),
            "/tokens-end" => {
                match serde_json::from_str::<Value>(body).unwrap()["at"].as_u64() {
                    Some(at) => self.tokens_end.insert(name.into(), at),
                    None => self.tokens_end.remove(name),
                };
                "{}".into()
            }
            "/tokens-suspend" => {
                match serde_json::from_str::<Value>(body).unwrap()["until"].as_u64() {
                    Some(until) => self.tokens_suspended.insert(name.into(), until),
                    None => self.tokens_suspended.remove(name),
                };
                "{}".into()
            }
            "/record" => {
                let held = self.copies.get(name).map_or_else(Held::default, |(record, deleted)| Held { held: true, record: record.clone(), deleted: *deleted });
                serde_json::to_string(&held).unwrap()
            }
            "/write" => serde_json::to_string(&self.write(serde_json::from_str(body).unwrap())).unwrap(),
            p if p.starts_with("/idem/") => self.idempotency(name, p, body),
            _ => panic!("no object path {path}"),
        }
    }

    fn write(&mut self, req: WriteRequest) -> WriteReply {
        let id = req.key_id.clone();
        if req.op == Op::Revoke {
            self.revoked.insert(id.clone(), true);
        }
        let index = req.index.clone().unwrap();
        let (record, deleted) = self.copies.get(&id).cloned().unwrap_or_else(|| (self.kv.get(&index.record).map(|(v, _)| v.clone()), false));
        if deleted {
            return WriteReply::from(&Problem::from(Kind::NotFound));
        }
        let revoked = self.revoked.get(&id).copied().unwrap_or(false);
        match write::apply(&req.op, record.as_deref(), revoked, self.now) {
            Ok(Applied::Write(bytes)) => {
                self.kv.insert(index.record.clone(), (bytes.clone(), None));
                self.copies.insert(id, (Some(bytes.clone()), false));
                WriteReply::Written { record: Some(bytes), summary_written: true, revoked: self.revoked.get(&req.key_id).copied().unwrap_or(false) }
            }
            Ok(Applied::Keep) => WriteReply::Written { record, summary_written: true, revoked },
            Ok(Applied::Delete) => {
                self.revoked.insert(id.clone(), true);
                self.kv.remove(&index.record);
                self.kv.retain(|n, _| !n.ends_with(&format!(":{id}")));
                self.copies.insert(id, (None, true));
                WriteReply::Deleted
            }
            Err(p) => WriteReply::from(&p),
        }
    }

    fn idempotency(&mut self, name: &str, path: &str, body: &str) -> String {
        let v: Value = serde_json::from_str(body).unwrap();
        let stored = self.idem.get(name).cloned();
        match path {
            "/idem/begin" => {
                let attempt = serde_json::from_value(v["attempt"].clone()).unwrap();
                let (answer, next) = idempotency::begin(stored.as_ref(), v["fingerprint"].as_str().unwrap(), &attempt, self.now.0);
                if let Some(next) = next {
                    self.idem.insert(name.into(), next);
                }
                serde_json::to_string(&answer).unwrap()
            }
            "/idem/finish" => {
                let next = idempotency::finish(stored.as_ref(), v["key_id"].as_str().unwrap(), v["body"].as_str().unwrap().into());
                let ok = next.is_some();
                if let Some(next) = next {
                    self.idem.insert(name.into(), next);
                }
                json!({ "ok": ok }).to_string()
            }
            _ => {
                let ok = idempotency::may_abort(stored.as_ref(), v["key_id"].as_str().unwrap());
                if ok {
                    self.idem.remove(name);
                }
                json!({ "ok": ok }).to_string()
            }
        }
    }

    /// One call: method, path (below the prefix), token, body, headers.
    fn call(&mut self, method: &str, path: &str, token: &str, body: Value, headers: &[(&str, &str)]) -> (u16, Value, Vec<(&'static str, String)>, Facts) {
        let (path, query) = path.split_once('?').map_or((path, None), |(p, q)| (p, Some(q)));
        let routed = match route(method, path) {
            Ok(r) => r,
            Err(p) => return (p.kind.status(), json!({ "type": p.kind.slug() }), vec![], Facts::default()),
        };
        let body = if body.is_null() { String::new() } else { body.to_string() };
        let header = |name: &str| headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| *v);
        let authorization = format!("Bearer {token}");
        let req = Request {
            action: routed.action,
            id: routed.id.as_deref().unwrap_or_default(),
            query,
            authorization: (!token.is_empty()).then_some(authorization.as_str()),
            idempotency_key: header("idempotency-key"),
            if_match: header("if-match"),
            content_type: header("content-type").or(Some("application/json")),
            body: body.as_bytes(),
            now: self.now,
        };
        let settings = Settings { pepper: PEPPER, previous_pepper: None, pepper_id: "0123456789abcdef", root_token: ROOT };
        let mut facts = Facts::default();
        let result = io::run(
            |io| {
                facts = Facts::default();
                serve(&req, &settings, io, &mut facts)
            },
            |step| self.perform(step),
        );
        match result {
            Ok(reply) => (reply.status, reply.body.map_or(Value::Null, |b| serde_json::from_str(&b).unwrap()), reply.headers, facts),
            Err(p) => (p.kind.status(), json!({ "type": p.kind.slug(), "detail": p.detail, "errors": p.errors.iter().map(|e| e.field.clone()).collect::<Vec<_>>() }), vec![], facts),
        }
    }

    fn root(&mut self, method: &str, path: &str, body: Value) -> (u16, Value) {
        let (status, body, _, _) = self.call(method, path, ROOT, body, &[]);
        (status, body)
    }

    fn mint(&mut self, body: Value) -> Value {
        let (status, minted) = self.root("POST", "/keys", body);
        assert_eq!(status, 201, "{minted}");
        minted
    }

    fn token(&mut self, scopes: &[&str], tenant: Option<&str>) -> String {
        let (status, minted) = self.root("POST", "/tokens", json!({ "label": "t", "scopes": scopes, "tenant": tenant }));
        assert_eq!(status, 201, "{minted}");
        minted["token"].as_str().unwrap().to_owned()
    }

    fn puts(&self) -> Vec<String> {
        self.steps.iter().filter_map(|s| if let Io::Put(n, ..) = s { Some(n.split(':').next().unwrap().to_owned()) } else { None }).collect()
    }
}

fn key_body() -> Value {
    json!({ "label": "Okta", "tenant": "acme", "scopes": ["users:read"], "expires_in": "30d" })
}

#[test]
fn mint_writes_index_tenant_then_record_and_the_key_works() {
    let mut w = World::new();
    let minted = w.mint(key_body());
    assert_eq!(w.puts(), ["id", "tenant", "hash"], "record last");
    let key = ProvisioningKey::parse(minted["key"].as_str().unwrap()).ok().unwrap();
    let name = crate::core::lookup::record_name(PEPPER, &key);
    let record = KeyRecord::decode(w.kv[&name].0.as_bytes()).unwrap();
    assert_eq!((record.key_id.as_str(), record.tenant.as_deref()), (minted["key_id"].as_str().unwrap(), Some("acme")));
    assert_eq!(minted["status"], "active");
    assert_eq!(minted["usable_everywhere_by"], T0.plus(std::time::Duration::from_secs(60)).to_rfc3339());
    let summary = w.kv[&format!("id:{}", record.key_id)].1.clone().unwrap();
    assert_eq!((summary["t"].as_str(), summary["s"].as_str()), (Some("acme"), Some("active")));
    assert!(w.kv.contains_key(&format!("tenant:acme:{}", record.key_id)));
}

#[test]
fn a_mint_that_fails_before_its_record_leaves_an_incomplete_deletable_key() {
    let mut w = World::new();
    w.fail_put = Some("hash:".into());
    let (status, _) = w.root("POST", "/keys", key_body());
    assert_eq!(status, 503);
    w.fail_put = None;
    let id = w.kv.keys().find_map(|n| n.strip_prefix("id:")).unwrap().to_owned();
    let (status, shown) = w.root("GET", &format!("/keys/{id}"), Value::Null);
    assert_eq!((status, shown["status"].as_str(), shown["record"].clone()), (200, Some("incomplete"), Value::Null));
    assert_eq!(w.root("PATCH", &format!("/keys/{id}"), json!({ "label": "x" })).1["type"], "key_incomplete");
    assert_eq!(w.root("DELETE", &format!("/keys/{id}"), Value::Null).0, 204);
    assert!(w.kv.is_empty(), "index and tenant entry gone: {:?}", w.kv.keys().collect::<Vec<_>>());
    assert_eq!(w.revoked.get(&id), Some(&true), "and its id refused for good");
}

#[test]
fn tenant_restricted_tokens_see_act_and_mint_for_their_tenant_only() {
    let mut w = World::new();
    let theirs = w.mint(json!({ "label": "other", "tenant": "globex", "scopes": ["*"] }));
    let untenanted = w.mint(json!({ "label": "none", "scopes": ["*"] }));
    let acme = w.token(&["keys:read", "keys:write", "keys:revoke", "usage:read"], Some("acme"));
    for id in [theirs["key_id"].as_str().unwrap(), untenanted["key_id"].as_str().unwrap(), "key_doesnotexist"] {
        for (method, path) in [("GET", format!("/keys/{id}")), ("PATCH", format!("/keys/{id}")), ("POST", format!("/keys/{id}/revoke")), ("GET", format!("/keys/{id}/usage")), ("DELETE", format!("/keys/{id}")), ("POST", format!("/keys/{id}/rotate"))] {
            let body = if method == "PATCH" { json!({ "label": "x" }) } else { Value::Null };
            let (status, answer, _, _) = w.call(method, &path, &acme, body, &[]);
            assert_eq!((status, answer["type"].as_str()), (404, Some("not_found")), "{method} {path}");
        }
    }
    let (status, mine, _, facts) = w.call("POST", "/keys", &acme, json!({ "label": "mine", "scopes": ["users:read"] }), &[]);
    assert_eq!((status, mine["record"]["tenant"].as_str()), (201, Some("acme")), "the tenant defaults to the token's");
    assert_eq!((facts.actor.as_deref().map(|a| a.starts_with("tok_")), facts.tenant.as_deref()), (Some(true), Some("acme")));
    assert_eq!(w.call("POST", "/keys", &acme, json!({ "label": "x", "tenant": "globex", "scopes": ["*"] }), &[]).0, 403);
    let (_, listed, _, _) = w.call("GET", "/keys", &acme, Value::Null, &[]);
    let ids: Vec<&str> = listed["items"].as_array().unwrap().iter().map(|i| i["key_id"].as_str().unwrap()).collect();
    assert_eq!(ids, [mine["key_id"].as_str().unwrap()], "the listing is forced to the token's tenant");
    assert_eq!(w.call("GET", "/keys?tenant=globex", &acme, Value::Null, &[]).0, 403);
    assert_eq!(w.call("GET", "/usage/stale?unused_for=1d&tenant=globex", &acme, Value::Null, &[]).0, 403);
    assert_eq!(w.call("POST", "/tokens", &acme, json!({ "label": "x", "scopes": ["keys:read"] }), &[]).0, 403, "tokens:admin needed");
}

#[test]
fn tokens_admin_grants_no_more_than_it_holds_and_revocation_is_instant() {
    let mut w = World::new();
    let admin = w.token(&["tokens:admin", "keys:read"], Some("acme"));
    let (status, minted, _, _) = w.call("POST", "/tokens", &admin, json!({ "label": "ro", "scopes": ["keys:read"] }), &[]);
    assert_eq!((status, minted["record"]["tenant"].as_str(), minted["record"]["created_by"].as_str().map(|c| c.starts_with("tok_"))), (201, Some("acme"), Some(true)));
    assert_eq!(w.call("POST", "/tokens", &admin, json!({ "label": "x", "scopes": ["keys:write"] }), &[]).0, 403);
    assert_eq!(w.call("POST", "/tokens", &admin, json!({ "label": "x", "scopes": ["keys:read"], "tenant": "globex" }), &[]).0, 403);
    let ro = minted["token"].as_str().unwrap().to_owned();
    assert_eq!(w.call("GET", "/keys", &ro, Value::Null, &[]).0, 200);
    let id = minted["token_id"].as_str().unwrap();
    let (status, revoked, _, _) = w.call("POST", &format!("/tokens/{id}/revoke"), &admin, Value::Null, &[]);
    assert_eq!((status, revoked["status"].as_str()), (200, Some("revoked")));
    let before = w.failures;
    assert_eq!(w.call("GET", "/keys", &ro, Value::Null, &[]).0, 401, "refused at the next call");
    assert_eq!(w.failures, before + 1, "a failed attempt");
    let (_, listed) = w.root("GET", "/tokens", Value::Null);
    assert!(!listed.to_string().contains("pvm_"), "never a token in a listing");
}

#[test]
fn wrong_tokens_and_keys_as_tokens_are_failed_attempts_then_throttled() {
    let mut w = World::new();
    let key = w.mint(key_body())["key"].as_str().unwrap().to_owned();
    let as_key = w.token(&["keys:read"], None).replacen("pvm_", "pvk_", 1);
    for token in [key.as_str(), "", "nope", as_key.as_str()] {
        assert_eq!(w.call("GET", "/keys", token, Value::Null, &[]).0, 401, "{token}");
    }
    let (status, answer, _, facts) = w.call("GET", "/keys", "nope", Value::Null, &[]);
    assert_eq!((status, answer["type"].as_str(), facts.actor), (429, Some("auth_throttled"), None));
}

#[test]
fn idempotent_mints_replay_without_the_key_and_refuse_another_body() {
    let mut w = World::new();
    let idem = [("Idempotency-Key", "order-42")];
    let (status, first, _, _) = w.call("POST", "/keys", ROOT, key_body(), &idem);
    assert_eq!(status, 201);
    let (status, again, headers, _) = w.call("POST", "/keys", ROOT, key_body(), &idem);
    assert_eq!((status, again["key_id"].clone(), again["replayed"].as_bool()), (200, first["key_id"].clone(), Some(true)));
    assert!(again.get("key").is_none() && headers.contains(&("idempotent-replayed", "true".into())));
    assert_eq!(w.kv.keys().filter(|n| n.starts_with("hash:")).count(), 1, "one key");
    let (status, reused, _, _) = w.call("POST", "/keys", ROOT, json!({ "label": "Entra", "scopes": ["*"] }), &idem);
    assert_eq!((status, reused["type"].as_str()), (422, Some("idempotency_key_reused")));
    let other = w.token(&["keys:write"], None);
    let (status, other_actor, _, _) = w.call("POST", "/keys", &other, key_body(), &idem);
    assert_eq!(status, 201, "idempotency keys are per actor: {other_actor}");
}

#[test]
fn a_stopped_mint_is_taken_over_without_two_working_keys() {
    let mut w = World::new();
    let idem = [("Idempotency-Key", "k1")];
    // The first call reserves its key id, then stops before writing its record.
    w.fail_put = Some("hash:".into());
    w.call("POST", "/keys", ROOT, key_body(), &idem);
    w.fail_put = None;
    // The abort cleared the state: this retry starts afresh.
    let (status, _, _, _) = w.call("POST", "/keys", ROOT, key_body(), &idem);
    assert_eq!(status, 201);
    // A call that stops without any answer leaves its state pending.
    let idem2 = [("Idempotency-Key", "k2")];
    let name = idempotency::object_name("root", "k2");
    let attempt = idempotency::Attempt { key_id: "key_stopped".into(), record: "hash:stopped".into(), tenant: Some("acme".into()) };
    let (_, pending) = idempotency::begin(None, &idempotency::fingerprint("POST /keys", key_body().to_string().as_bytes()), &attempt, T0.0);
    w.idem.insert(name, pending.unwrap());
    w.kv.insert("hash:stopped".into(), ("{}".into(), None));
    w.kv.insert("id:key_stopped".into(), ("{}".into(), None));
    let (status, answer, _, _) = w.call("POST", "/keys", ROOT, key_body(), &idem2);
    assert_eq!((status, answer["type"].as_str()), (409, Some("idempotency_in_progress")));
    w.now = UnixMillis(T0.0 + idempotency::PENDING_MS);
    let (status, replaced, _, _) = w.call("POST", "/keys", ROOT, key_body(), &idem2);
    assert_eq!(status, 201);
    assert_ne!(replaced["key_id"], "key_stopped");
    assert_eq!(w.revoked.get("key_stopped"), Some(&true), "the stopped call's key id is refused");
    assert!(!w.kv.contains_key("hash:stopped") && !w.kv.contains_key("id:key_stopped"));
    assert!(matches!(serde_json::from_str::<Begin>(&w.object(&idempotency::object_name("root", "k2"), "/idem/begin", &json!({"fingerprint": "x", "attempt": attempt}).to_string())).unwrap(), Begin::Reused));
}

#[test]
fn patches_keep_unknown_fields_check_if_match_and_refuse_the_tenant() {
    let mut w = World::new();
    let minted = w.mint(key_body());
    let id = minted["key_id"].as_str().unwrap();
    let name = w.kv.iter().find(|(n, _)| n.starts_with("hash:")).unwrap().0.clone();
    let mut stored: Value = serde_json::from_str(&w.kv[&name].0).unwrap();
    stored["written_by_a_newer_edge"] = json!({ "x": 1 });
    w.kv.get_mut(&name).unwrap().0 = stored.to_string();
    let (_, shown, _, _) = w.call("GET", &format!("/keys/{id}"), ROOT, Value::Null, &[]);
    let etag = shown["etag"].as_str().unwrap().to_owned();
    let (status, patched, headers, _) = w.call("PATCH", &format!("/keys/{id}"), ROOT, json!({ "label": "Okta 2" }), &[("If-Match", etag.as_str())]);
    assert_eq!((status, patched["record"]["label"].as_str()), (200, Some("Okta 2")));
    assert_eq!(patched["record"]["written_by_a_newer_edge"], json!({ "x": 1 }));
    assert!(headers.iter().any(|(n, v)| *n == "etag" && *v != etag));
    let (status, stale, _, _) = w.call("PATCH", &format!("/keys/{id}"), ROOT, json!({ "label": "Okta 3" }), &[("If-Match", etag.as_str())]);
    assert_eq!((status, stale["type"].as_str()), (412, Some("precondition_failed")));
    let (status, tenant) = w.root("PATCH", &format!("/keys/{id}"), json!({ "tenant": "globex" }));
    assert_eq!((status, tenant["type"].as_str()), (400, Some("tenant_immutable")));
    let (status, typo) = w.root("PATCH", &format!("/keys/{id}"), json!({ "lable": "x" }));
    assert_eq!((status, typo["type"].as_str(), typo["errors"][0].as_str()), (400, Some("unknown_field"), Some("lable")));
}

#[test]
fn usage_of_a_never_used_key_asks_no_guard_and_the_stale_report_names_unreadable_summaries() {
    let mut w = World::new();
    let id = w.mint(key_body())["key_id"].as_str().unwrap().to_owned();
    w.asked.clear();
    let (status, usage) = w.root("GET", &format!("/keys/{id}/usage"), Value::Null);
    assert_eq!((status, usage["never_used"].as_bool(), usage["usage"].clone()), (200, Some(true), Value::Null));
    assert!(w.asked.iter().all(|(name, _)| name != &id), "the key's guard was not asked: {:?}", w.asked);
    // Used: the summary says so, and the guard is asked.
    let mut summary = w.kv[&format!("id:{id}")].1.clone().unwrap();
    summary["u"] = (T0.0 - 1).into();
    w.kv.get_mut(&format!("id:{id}")).unwrap().1 = Some(summary);
    assert_eq!(w.root("GET", &format!("/keys/{id}/usage"), Value::Null).1["never_used"], false);
    assert!(w.asked.iter().any(|(name, path)| name == &id && *path == "/status"));
    // A key written around the API has no summary: named, never dropped.
    w.kv.insert("id:key_offline".into(), (json!({ "v": 1, "record": "hash:x" }).to_string(), None));
    w.now = UnixMillis(T0.0 + 40 * 86_400_000);
    let (status, report) = w.root("GET", "/usage/stale?unused_for=30d", Value::Null);
    assert_eq!(status, 200);
    assert_eq!(report["errors"][0]["key_id"], "key_offline");
    assert_eq!(report["items"][0]["key_id"], id.as_str());
}

#[test]
fn delete_refuses_active_keys_and_rotation_mints_first() {
    let mut w = World::new();
    let minted = w.mint(key_body());
    let id = minted["key_id"].as_str().unwrap().to_owned();
    assert_eq!(w.root("DELETE", &format!("/keys/{id}"), Value::Null).1["type"], "key_active");
    w.steps.clear();
    let (status, rotated) = w.root("POST", &format!("/keys/{id}/rotate"), json!({ "grace": "1h" }));
    assert_eq!((status, rotated["rotated_from"].as_str()), (201, Some(id.as_str())));
    let record_put = w.steps.iter().position(|s| matches!(s, Io::Put(n, ..) if n.starts_with("hash:"))).unwrap();
    let shortened = w.steps.iter().position(|s| matches!(s, Io::Guard(n, "/write", _) if *n == id)).unwrap();
    assert!(record_put < shortened, "the successor exists before the old key is cut short");
    assert_eq!(rotated["previous_expires_at"], T0.plus(std::time::Duration::from_secs(3600)).to_rfc3339());
    let ended = w.steps.iter().position(|s| matches!(s, Io::Guard(n, "/tokens-end", _) if *n == id)).unwrap();
    assert!(shortened < ended, "the old key's tokens end when it does");
    assert_eq!(w.tokens_end.get(&id).copied(), Some(T0.plus(std::time::Duration::from_secs(3600)).0));
    assert_eq!(w.root("POST", &format!("/keys/{id}/revoke"), Value::Null).1["status"], "revoked");
    assert_eq!(w.root("POST", &format!("/keys/{id}/rotate"), Value::Null).1["type"], "key_not_active");
    assert_eq!(w.root("DELETE", &format!("/keys/{id}"), Value::Null).0, 204);
    assert_eq!(w.root("GET", &format!("/keys/{id}"), Value::Null).0, 404);
}

#[test]
fn listings_page_with_cursors_and_filters() {
    let mut w = World::new();
    for i in 0..5 {
        w.mint(json!({ "label": format!("k{i}"), "tenant": "acme", "scopes": ["*"], "expires_in": if i < 2 { "1d" } else { "90d" } }));
    }
    let (_, page) = w.root("GET", "/keys?tenant=acme&limit=2", Value::Null);
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let cursor = page["cursor"].as_str().unwrap().to_owned();
    let (_, next) = w.root("GET", &format!("/keys?tenant=acme&limit=2&cursor={cursor}"), Value::Null);
    assert_eq!(next["items"].as_array().unwrap().len(), 2);
    assert_eq!(w.root("GET", &format!("/keys?limit=2&cursor={cursor}"), Value::Null).1["type"], "invalid_field", "a cursor of another listing");
    let (_, soon) = w.root("GET", "/keys?tenant=acme&expiring_within=2d", Value::Null);
    assert_eq!(soon["items"].as_array().unwrap().len(), 2);
    assert_eq!(w.root("GET", "/keys?tenat=acme", Value::Null).1["errors"][0], "tenat");
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(200))]
    /// Whatever a client sends to whichever route, the call answers (a
    /// status from the contract), and never panics.
    #[test]
    fn any_call_answers(route in 0usize..13, body in "\\PC{0,60}", query in "[a-z_=&0-9%]{0,30}", grace in 0u32..1_000_000, far in proptest::prelude::any::<bool>()) {
        let mut w = World::new();
        let minted = w.mint(json!({ "label": "p", "scopes": ["*"], "tenant": "t" }));
        let id = minted["key_id"].as_str().unwrap().to_owned();
        let calls = [
            ("POST", "/keys".to_owned()), ("GET", format!("/keys?{query}")), ("GET", format!("/keys/{id}")), ("PATCH", format!("/keys/{id}")),
            ("DELETE", format!("/keys/{id}")), ("POST", format!("/keys/{id}/rotate")), ("POST", format!("/keys/{id}/revoke")), ("GET", format!("/keys/{id}/usage")),
            ("GET", format!("/usage/stale?{query}")), ("POST", "/tokens".to_owned()), ("GET", format!("/tokens?{query}")), ("GET", "/tokens/tok_x".to_owned()), ("POST", "/tokens/tok_x/revoke".to_owned()),
        ];
        let (method, path) = &calls[route];
        let body: Value = serde_json::from_str(&body).unwrap_or(Value::String(body));
        let body = if far { json!({ "grace": format!("{grace}w"), "label": "x", "scopes": ["*"], "expires_in": format!("{grace}w") }) } else { body };
        let (status, answer, _, _) = w.call(method, path, ROOT, body, &[]);
        proptest::prop_assert!([200, 201, 204, 400, 403, 404, 405, 409, 412, 413, 415, 422].contains(&status), "{method} {path}: {status} {answer}");
    }
}

#[test]
fn a_new_expires_at_tells_the_guard_when_the_key_s_tokens_end() {
    let mut w = World::new();
    let id = w.mint(key_body())["key_id"].as_str().unwrap().to_owned();
    w.steps.clear();
    assert_eq!(w.root("PATCH", &format!("/keys/{id}"), json!({ "label": "relabelled" })).0, 200);
    assert!(!w.steps.iter().any(|s| matches!(s, Io::Guard(_, "/tokens-end", _))), "only a change of expires_at is told");
    assert_eq!(w.root("PATCH", &format!("/keys/{id}"), json!({ "expires_at": "2027-06-01T00:00:00Z" })).0, 200);
    let told = UnixMillis::parse_rfc3339("2027-06-01T00:00:00Z").unwrap().0;
    assert_eq!(w.tokens_end.get(&id).copied(), Some(told));
    assert_eq!(w.root("PATCH", &format!("/keys/{id}"), json!({ "expires_at": null })).0, 200);
    assert_eq!(w.tokens_end.get(&id), None, "a key that no longer expires: its tokens keep their own expiry");
    assert!(!w.steps.iter().any(|s| matches!(s, Io::Guard(_, "/tokens-suspend", _))), "only a change of not_before suspends");
}

#[test]
fn a_later_not_before_suspends_the_key_s_tokens_and_an_earlier_one_lifts_it() {
    let mut w = World::new();
    let id = w.mint(key_body())["key_id"].as_str().unwrap().to_owned();
    assert_eq!(w.root("PATCH", &format!("/keys/{id}"), json!({ "not_before": "2099-01-01T00:00:00Z" })).0, 200);
    let until = UnixMillis::parse_rfc3339("2099-01-01T00:00:00Z").unwrap().0;
    assert_eq!(w.tokens_suspended.get(&id).copied(), Some(until));
    assert_eq!(w.root("PATCH", &format!("/keys/{id}"), json!({ "not_before": "2020-01-01T00:00:00Z" })).0, 200);
    assert_eq!(w.tokens_suspended.get(&id), None, "a not_before already past lifts it");
    assert_eq!(w.root("PATCH", &format!("/keys/{id}"), json!({ "not_before": "2099-01-01T00:00:00Z" })).0, 200);
    assert_eq!(w.root("PATCH", &format!("/keys/{id}"), json!({ "not_before": null })).0, 200);
    assert_eq!(w.tokens_suspended.get(&id), None, "and so does none");
}
