//! Management tokens: minted with the root token or `tokens:admin`, shown
//! once, stored as HMAC-named records with a `tok:` index; revoked at once
//! through their guard.

use super::{Cx, Facts, Reply};
use crate::core::api::io::{Replay, Stop};
use crate::core::api::list;
use crate::core::api::token::{self, ManagementToken, TokenRecord, INDEX_PREFIX};
use crate::core::api::Kind;
use crate::core::record::Status;
use serde_json::{json, Value};

fn index_name(token_id: &str) -> String {
    format!("{INDEX_PREFIX}{token_id}")
}

pub fn mint(cx: &Cx<'_>, io: &mut Replay, facts: &mut Facts) -> Result<Reply, Stop> {
    let req = token::parse_mint(cx.req.body)?;
    let mut rng = io.rng()?;
    let token = ManagementToken::generate(&mut rng);
    let record = req.record(&cx.actor, token::new_id(&mut rng), cx.req.now)?;
    facts.token_id = Some(record.token_id.clone());
    facts.tenant = record.tenant.clone();
    let name = token.record_name(cx.settings.pepper);
    // Index first: a failure before the record leaves a token that does not work.
    io.put(index_name(&record.token_id), json!({ "v": 1, "record": name }).to_string(), Some(record.summary()))?;
    io.put(name, record.encode(), None)?;
    let mut answer = record.view(cx.req.now, false);
    answer["token"] = token.expose().into();
    let location = format!("{}/tokens/{}", crate::core::api::route::PREFIX, record.token_id);
    Ok(Reply::json(201, &answer).with("location", location))
}

pub fn list(cx: &Cx<'_>, io: &mut Replay) -> Result<Reply, Stop> {
    let p = list::params(cx.req.query, &["limit", "cursor"])?;
    let page = list::page(&p, INDEX_PREFIX)?;
    let listed = io.list(INDEX_PREFIX, page.limit, page.cursor)?;
    let (mut items, mut errors) = (Vec::new(), Vec::new());
    for (name, metadata) in &listed.keys {
        let id = list::key_id_of(name, INDEX_PREFIX);
        match metadata.as_ref().and_then(|m| token::item(id, m, cx.req.now)) {
            Some(item) if cx.actor.sees(item["tenant"].as_str()) => items.push(item),
            Some(_) => {}
            None if cx.actor.tenant.is_none() => errors.push(json!({ "token_id": id, "problem": "summary_unreadable", "detail": "its index entry has no readable summary" })),
            None => {}
        }
    }
    let cursor = listed.cursor.map(|c| list::encode_cursor(INDEX_PREFIX, &c));
    Ok(Reply::json(200, &json!({ "items": items, "errors": errors, "cursor": cursor })))
}

/// The token's record, if the actor may see it (404 otherwise).
fn load(cx: &Cx<'_>, io: &mut Replay) -> Result<(String, TokenRecord), Stop> {
    let index = io.get(index_name(cx.req.id))?.ok_or(Kind::NotFound)?;
    let name = serde_json::from_str::<Value>(&index).ok().and_then(|v| v["record"].as_str().map(str::to_owned)).ok_or(Kind::NotFound)?;
    let record = io.get(name.clone())?.and_then(|r| TokenRecord::decode(r.as_bytes())).ok_or(Kind::NotFound)?;
    if record.token_id != cx.req.id || !cx.actor.sees(record.tenant.as_deref()) {
        return Err(Kind::NotFound.into());
    }
    Ok((name, record))
}

pub fn show(cx: &Cx<'_>, io: &mut Replay, facts: &mut Facts) -> Result<Reply, Stop> {
    let (_, record) = load(cx, io)?;
    facts.tenant = record.tenant.clone();
    let guard: Value = io.guard(cx.req.id, "/revoked", String::new())?;
    Ok(Reply::json(200, &record.view(cx.req.now, guard["revoked"] == true)))
}

/// The guard first (refused everywhere at once), then the record and summary.
pub fn revoke(cx: &Cx<'_>, io: &mut Replay, facts: &mut Facts) -> Result<Reply, Stop> {
    let (name, mut record) = load(cx, io)?;
    facts.tenant = record.tenant.clone();
    io.guard::<Value>(cx.req.id, "/revoke", String::new())?;
    record.status = Status::Revoked;
    io.put(name.clone(), record.encode(), None)?;
    io.put(index_name(cx.req.id), json!({ "v": 1, "record": name }).to_string(), Some(record.summary()))?;
    Ok(Reply::json(200, &record.view(cx.req.now, true)))
}
