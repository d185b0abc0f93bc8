//! Minting, reading and listing keys, and the Idempotency-Key steps that
//! mint and rotate share.

use super::{Cx, Facts, Reply};
use crate::core::api::idempotency::{fingerprint, object_name, Attempt, Begin};
use crate::core::api::io::{Replay, Stop};
use crate::core::api::list::{self, Params};
use crate::core::api::summary::Summary;
use crate::core::api::write::Held;
use crate::core::api::{fields, mint, view, Kind, Problem};
use crate::core::key::{KeyId, ProvisioningKey};
use crate::core::lookup::{index_name, record_name, tenant_entry, IndexEntry};
use crate::core::record::KeyRecord;
use crate::core::time::UnixMillis;
use serde_json::{json, Value};

/// A key's index entry and summary, once the actor may see the key.
pub struct Visible {
    pub index: IndexEntry,
    pub summary: Option<Summary>,
    /// The record, when it had to be read to learn the key's tenant.
    pub record: Option<Option<String>>,
}

impl Visible {
    pub fn tenant(&self) -> Option<String> {
        self.summary.as_ref().and_then(|s| s.tenant.clone())
    }

    pub fn last_used(&self) -> Option<UnixMillis> {
        self.summary.as_ref().and_then(|s| s.last_used)
    }
}

/// 404 for a key that does not exist or that the actor may not see.
pub fn visible(cx: &Cx<'_>, io: &mut Replay, key_id: &str) -> Result<Visible, Stop> {
    let (value, metadata) = io.get_meta(index_name(key_id))?;
    let index: IndexEntry = serde_json::from_str(&value.ok_or(Kind::NotFound)?).map_err(|_| Problem::new(Kind::KeyIncomplete, "the key's index entry is unreadable"))?;
    let summary = metadata.as_ref().and_then(Summary::from_json);
    let mut record = None;
    if cx.actor.tenant.is_some() {
        let tenant = match &summary {
            Some(s) => s.tenant.clone(),
            None => {
                let stored = io.get(index.record.clone())?;
                let tenant = stored.as_deref().and_then(|r| KeyRecord::decode(r.as_bytes()).ok()).and_then(|r| r.tenant);
                record = Some(stored);
                tenant
            }
        };
        if !cx.actor.sees(tenant.as_deref()) {
            return Err(Kind::NotFound.into());
        }
    }
    Ok(Visible { index, summary, record })
}

/// What is known of a key now: whether its writer deleted it, its record
/// (as the writer holds it, or else as KV has it), and its guard's flag.
pub struct Current {
    pub deleted: bool,
    pub record: Option<String>,
    pub revoked: bool,
}

pub fn current(io: &mut Replay, key_id: &str, v: &Visible) -> Result<Current, Stop> {
    let held: Held = io.guard(key_id, "/record", String::new())?;
    let record = match (held.held, &v.record) {
        (true, _) => held.record.clone(),
        (false, Some(read)) => read.clone(),
        (false, None) => io.get(v.index.record.clone())?,
    };
    let guard: Value = io.guard(key_id, "/revoked", String::new())?;
    Ok(Current { deleted: held.deleted, record, revoked: guard["revoked"] == true })
}

/// Writes a new key's entries in order: index, tenant entry, record (last:
/// a failure before it leaves no working key that no id reaches).
pub fn write_new(cx: &Cx<'_>, io: &mut Replay, attempt: &Attempt, record: &str) -> Result<(), Stop> {
    let decoded = KeyRecord::decode(record.as_bytes()).map_err(|e| Problem::new(Kind::RecordMalformed, e.to_string()))?;
    let summary = Summary::of(&decoded, Some(cx.settings.pepper_id), None).to_json();
    let index = IndexEntry { v: 1, record: attempt.record.clone(), pepper: Some(cx.settings.pepper_id.to_owned()) };
    io.put(index_name(&attempt.key_id), serde_json::to_string(&index).unwrap_or_default(), Some(summary.clone()))?;
    if let Some(t) = &decoded.tenant {
        io.put(tenant_entry(t, &attempt.key_id), "", Some(summary))?;
    }
    io.put(attempt.record.clone(), record, None)
}

/// A new key, its id and its record's name.
pub fn new_key(cx: &Cx<'_>, io: &mut Replay, tenant: Option<String>) -> Result<(ProvisioningKey, Attempt), Stop> {
    let mut rng = io.rng()?;
    let key = ProvisioningKey::generate(&mut rng);
    let key_id = KeyId::generate(&mut rng).as_str().to_owned();
    let record = record_name(cx.settings.pepper, &key);
    Ok((key, Attempt { key_id, record, tenant }))
}

/// Writes the new key, answering through the Idempotency-Key's steps.
pub fn mint_and_answer(cx: &Cx<'_>, io: &mut Replay, attempt: &Attempt, record: &str, answer: impl FnOnce(&mut Replay) -> Result<Value, Stop>) -> Result<Reply, Stop> {
    match write_new(cx, io, attempt, record) {
        Ok(()) => {}
        // A failed write lets a retry start afresh; a step still to perform is not a failure.
        Err(Stop::Fail(p)) => {
            abort(cx, io, &attempt.key_id)?;
            return Err(p.into());
        }
        Err(need) => return Err(need),
    }
    let answer = answer(io)?;
    finish(cx, io, &attempt.key_id, &answer)?;
    let location = format!("{}/keys/{}", crate::core::api::route::PREFIX, attempt.key_id);
    Ok(Reply::json(201, &answer).with("location", location).tagged(&answer))
}

pub fn mint(cx: &Cx<'_>, io: &mut Replay, facts: &mut Facts) -> Result<Reply, Stop> {
    let req = mint::parse(cx.req.body)?;
    let tenant = cx.actor.minting_tenant(req.tenant.as_deref())?;
    facts.tenant = tenant.clone();
    let (key, attempt) = new_key(cx, io, tenant.clone())?;
    if let Some(replay) = begin(cx, io, "POST /keys", &attempt)? {
        return Ok(replay);
    }
    facts.key_id = Some(attempt.key_id.clone());
    let record = req.record(&KeyId::parse(&attempt.key_id).ok_or(Kind::StoreUnavailable)?, tenant, cx.req.now);
    mint_and_answer(cx, io, &attempt, &record, |_| Ok(view::minted(&attempt.key_id, key.expose(), &record, cx.req.now)))
}

/// The first Idempotency-Key step: `Some` answers at once (a replay).
pub fn begin(cx: &Cx<'_>, io: &mut Replay, route: &str, attempt: &Attempt) -> Result<Option<Reply>, Stop> {
    let Some(key) = cx.req.idempotency_key else { return Ok(None) };
    let body = json!({ "fingerprint": fingerprint(route, cx.req.body), "attempt": attempt }).to_string();
    match io.guard::<Begin>(&object_name(&cx.actor.id, key), "/idem/begin", body)? {
        Begin::Proceed => Ok(None),
        Begin::Takeover { previous } => purge(io, &previous).map(|()| None),
        Begin::Replay { body } => Ok(Some(Reply { status: 200, body: Some(body), headers: vec![("idempotent-replayed", "true".into())] })),
        Begin::Reused => Err(Problem::new(Kind::IdempotencyKeyReused, "this Idempotency-Key was used with another body or route: use a new key per intended operation").into()),
        Begin::InProgress => Err(Problem { retry_after: Some(1), ..Problem::new(Kind::IdempotencyInProgress, "the first request with this Idempotency-Key is still running: retry in a moment") }.into()),
    }
}

/// A stopped call's key can never work: refused at its guard, then its
/// entries deleted.
fn purge(io: &mut Replay, previous: &Attempt) -> Result<(), Stop> {
    io.guard::<Value>(&previous.key_id, "/revoke", String::new())?;
    io.delete(previous.record.clone())?;
    if let Some(t) = &previous.tenant {
        io.delete(tenant_entry(t, &previous.key_id))?;
    }
    io.delete(index_name(&previous.key_id))
}

/// The last Idempotency-Key step: the answer, without the key, for replays.
fn finish(cx: &Cx<'_>, io: &mut Replay, key_id: &str, answer: &Value) -> Result<(), Stop> {
    let Some(key) = cx.req.idempotency_key else { return Ok(()) };
    let body = json!({ "key_id": key_id, "body": view::replay_of(answer) }).to_string();
    let done: Value = io.guard(&object_name(&cx.actor.id, key), "/idem/finish", body)?;
    if done["ok"] == true {
        Ok(())
    } else {
        Err(Problem::new(Kind::StoreUnavailable, "this request took so long that a retry replaced it, and its key was revoked: retry with the same Idempotency-Key").into())
    }
}

/// After a failed mint: a retry may start afresh.
fn abort(cx: &Cx<'_>, io: &mut Replay, key_id: &str) -> Result<(), Stop> {
    if let Some(key) = cx.req.idempotency_key {
        io.guard::<Value>(&object_name(&cx.actor.id, key), "/idem/abort", json!({ "key_id": key_id }).to_string())?;
    }
    Ok(())
}

pub fn show(cx: &Cx<'_>, io: &mut Replay, facts: &mut Facts) -> Result<Reply, Stop> {
    let v = visible(cx, io, cx.req.id)?;
    facts.tenant = v.tenant();
    let now = current(io, cx.req.id, &v)?;
    if now.deleted {
        return Err(Kind::NotFound.into());
    }
    let answer = view::key(cx.req.id, now.record.as_deref(), v.last_used(), now.revoked, cx.req.now);
    Ok(Reply::json(200, &answer).tagged(&answer))
}

pub fn usage(cx: &Cx<'_>, io: &mut Replay, facts: &mut Facts) -> Result<Reply, Stop> {
    let v = visible(cx, io, cx.req.id)?;
    facts.tenant = v.tenant();
    let id = cx.req.id;
    if v.summary.is_some() && v.last_used().is_none() {
        // Never used: answered from the summary, without creating the key's guard.
        return Ok(Reply::json(200, &json!({ "key_id": id, "never_used": true, "last_used_at": null, "usage": null, "revoked_at_edge": null })));
    }
    let status: Value = io.guard(id, "/status", String::new())?;
    let last = status["usage"]["last_used"].as_str().map(str::to_owned).or(v.last_used().map(|t| t.to_rfc3339_exact()));
    Ok(Reply::json(200, &json!({ "key_id": id, "never_used": last.is_none(), "last_used_at": last, "usage": status["usage"], "revoked_at_edge": status["revoked"] == true })))
}

/// One KV list page of `prefix`, turned into items (or error entries) by `item`.
fn page(io: &mut Replay, p: &Params, prefix: &str, mut item: impl FnMut(&str, Summary) -> Option<Value>) -> Result<Value, Stop> {
    let page = list::page(p, prefix)?;
    let listed = io.list(prefix, page.limit, page.cursor)?;
    let (mut items, mut errors) = (Vec::new(), Vec::new());
    for (name, metadata) in &listed.keys {
        let key_id = list::key_id_of(name, prefix);
        match list::summary_or_error(key_id, metadata.as_ref()) {
            Ok(s) => items.extend(item(key_id, s)),
            Err(e) => errors.push(e),
        }
    }
    let cursor = listed.cursor.map(|c| list::encode_cursor(prefix, &c));
    Ok(json!({ "items": items, "errors": errors, "cursor": cursor }))
}

pub fn list(cx: &Cx<'_>, io: &mut Replay) -> Result<Reply, Stop> {
    let p = list::params(cx.req.query, &["tenant", "status", "expiring_within", "label_prefix", "limit", "cursor"])?;
    let tenant = cx.actor.listing_tenant(list::tenant_param(&p)?)?;
    let filter = list::key_filter(&p)?;
    let now = cx.req.now;
    let body = page(io, &p, &list::prefix(tenant.as_deref()), |id, s| filter.keeps(&s, now).then(|| list::key_item(id, &s, now)))?;
    Ok(Reply::json(200, &body))
}

pub fn stale(cx: &Cx<'_>, io: &mut Replay) -> Result<Reply, Stop> {
    let p = list::params(cx.req.query, &["unused_for", "tenant", "limit", "cursor"])?;
    let unused_for = p.get("unused_for").and_then(|d| fields::positive_duration(d));
    let unused_for = unused_for.ok_or_else(|| Problem::field(Kind::InvalidField, "unused_for", "required: a duration that is not zero, e.g. 30d"))?;
    let tenant = cx.actor.listing_tenant(list::tenant_param(&p)?)?;
    let now = cx.req.now;
    let mut body = page(io, &p, &list::prefix(tenant.as_deref()), |id, s| list::is_stale_key(&s, now, unused_for).then(|| list::stale_item(id, &s, now)))?;
    body["unused_before"] = UnixMillis(now.0.saturating_sub(unused_for.as_millis() as u64)).to_rfc3339().into();
    Ok(Reply::json(200, &body))
}
