//! Changing existing keys: every write goes through the key's records
//! writer (one Durable Object per key id), which serialises them on its
//! authoritative copy of the record.

use super::keys::{self, current, visible, Visible};
use super::{Cx, Facts, Reply};
use crate::core::api::io::{Replay, Stop};
use crate::core::api::write::{Op, WriteReply, WriteRequest};
use crate::core::api::{mint, patch, view, Kind, Problem};
use crate::core::key::KeyId;
use crate::core::record::KeyRecord;
use crate::core::status::{self, KeyStatus};
use crate::core::time::UnixMillis;
use serde_json::Value;

/// Sends `op` to the key's records writer: the record after it and the
/// guard's revoked flag, or `None` once deleted.
fn through_guard(io: &mut Replay, key_id: &str, v: &Visible, op: Op) -> Result<Option<(Option<String>, bool)>, Stop> {
    let request = WriteRequest { key_id: key_id.to_owned(), op, index: Some(v.index.clone()) };
    match io.guard::<WriteReply>(key_id, "/write", serde_json::to_string(&request).unwrap_or_default())? {
        WriteReply::Written { summary_written: false, .. } => Err(Problem::new(
            Kind::SummaryNotWritten,
            "the change is saved, but the key's listing summary could not be written: the next write (PATCH {}) repairs it",
        )
        .into()),
        WriteReply::Written { record, revoked, .. } => Ok(Some((record, revoked))),
        WriteReply::Deleted => Ok(None),
        WriteReply::Failed { kind, detail, errors } => Err(WriteReply::problem(&kind, &detail, &errors).into()),
    }
}

/// The key after a write, with its ETag.
fn changed(cx: &Cx<'_>, io: &mut Replay, facts: &mut Facts, op: Op) -> Result<Reply, Stop> {
    let v = visible(cx, io, cx.req.id)?;
    facts.tenant = v.tenant();
    let (record, revoked) = through_guard(io, cx.req.id, &v, op)?.ok_or(Kind::NotFound)?;
    let answer = view::key(cx.req.id, record.as_deref(), v.last_used(), revoked, cx.req.now);
    Ok(Reply::json(200, &answer).tagged(&answer))
}

pub fn update(cx: &Cx<'_>, io: &mut Replay, facts: &mut Facts) -> Result<Reply, Stop> {
    let patch = patch::parse(cx.req.body)?;
    let (ends, suspends) = (patch.names("expires_at"), patch.names("not_before"));
    if !ends && !suspends {
        return changed(cx, io, facts, Op::Patch { patch: patch.to_json(), if_match: cx.req.if_match.map(str::to_owned) });
    }
    let v = visible(cx, io, cx.req.id)?;
    facts.tenant = v.tenant();
    let (record, revoked) = through_guard(io, cx.req.id, &v, Op::Patch { patch: patch.to_json(), if_match: cx.req.if_match.map(str::to_owned) })?.ok_or(Kind::NotFound)?;
    let written = record.as_deref().and_then(|r| KeyRecord::decode(r.as_bytes()).ok());
    if ends {
        tokens_end(io, cx.req.id, written.as_ref().and_then(|r| r.expires_at))?;
    }
    if suspends {
        // A not_before still ahead suspends the key's tokens until then; one
        // that is past (or none) lifts a suspension.
        let until = written.as_ref().and_then(|r| r.not_before).filter(|at| *at > cx.req.now);
        io.guard::<serde_json::Value>(cx.req.id, "/tokens-suspend", serde_json::json!({ "until": until.map(|t| t.0) }).to_string())?;
    }
    let answer = view::key(cx.req.id, record.as_deref(), v.last_used(), revoked, cx.req.now);
    Ok(Reply::json(200, &answer).tagged(&answer))
}

/// Tells the key's guard when the key's OAuth access tokens end: when the
/// key does (`None`: never), whatever their own expiry, so that a key cut
/// short by a rotation or a new `expires_at` takes its tokens with it.
fn tokens_end(io: &mut Replay, key_id: &str, at: Option<UnixMillis>) -> Result<(), Stop> {
    io.guard::<serde_json::Value>(key_id, "/tokens-end", serde_json::json!({ "at": at.map(|t| t.0) }).to_string()).map(|_| ())
}

pub fn revoke(cx: &Cx<'_>, io: &mut Replay, facts: &mut Facts) -> Result<Reply, Stop> {
    changed(cx, io, facts, Op::Revoke)
}

pub fn delete(cx: &Cx<'_>, io: &mut Replay, facts: &mut Facts) -> Result<Reply, Stop> {
    let v = visible(cx, io, cx.req.id)?;
    facts.tenant = v.tenant();
    match through_guard(io, cx.req.id, &v, Op::Delete)? {
        None => Ok(Reply { status: 204, body: None, headers: Vec::new() }),
        Some(_) => Err(Kind::NotFound.into()),
    }
}

/// Mints the successor first, then shortens the old key through its guard.
pub fn rotate(cx: &Cx<'_>, io: &mut Replay, facts: &mut Facts) -> Result<Reply, Stop> {
    let req = mint::parse_rotate(cx.req.body)?;
    let v = visible(cx, io, cx.req.id)?;
    facts.tenant = v.tenant();
    let known = current(io, cx.req.id, &v)?;
    if known.deleted {
        return Err(Kind::NotFound.into());
    }
    let old = known.record.ok_or_else(|| Problem::new(Kind::KeyIncomplete, "the key has no record: nothing to rotate"))?;
    let decoded = KeyRecord::decode(old.as_bytes()).map_err(|e| Problem::new(Kind::RecordMalformed, e.to_string()))?;
    let now = cx.req.now;
    if known.revoked || matches!(status::of(decoded.status, decoded.not_before, decoded.expires_at, now), KeyStatus::Revoked | KeyStatus::Expired) {
        return Err(Problem::new(Kind::KeyNotActive, "the key is revoked or expired: mint a new key instead").into());
    }
    let old_value: Value = serde_json::from_str(&old).map_err(|_| Problem::from(Kind::RecordMalformed))?;
    let (key, attempt) = keys::new_key(cx, io, decoded.tenant.clone())?;
    if let Some(replay) = keys::begin(cx, io, &format!("POST /keys/{}/rotate", cx.req.id), &attempt)? {
        return Ok(replay);
    }
    facts.key_id = Some(attempt.key_id.clone());
    let record = mint::rotated(&old_value, &decoded, &KeyId::parse(&attempt.key_id).ok_or(Kind::StoreUnavailable)?, req.label.as_deref(), now)?;
    let until = now.plus(req.grace);
    keys::mint_and_answer(cx, io, &attempt, &record, |io| {
        let (after, _) = through_guard(io, cx.req.id, &v, Op::ExpireBy { at: until })?.ok_or(Kind::NotFound)?;
        let previous = after.as_deref().and_then(|r| KeyRecord::decode(r.as_bytes()).ok()).and_then(|r| r.expires_at).unwrap_or(until);
        tokens_end(io, cx.req.id, Some(previous))?;
        let mut answer = view::minted(&attempt.key_id, key.expose(), &record, now);
        answer["rotated_from"] = cx.req.id.into();
        answer["previous_expires_at"] = previous.to_rfc3339_exact().into();
        Ok(answer)
    })
}
