//! A key's records writer (`KeyRecords`, binding `KEY_RECORDS`): one
//! Durable Object per key id, the one writer of the key's KV entries once
//! the API has written them. It holds the authoritative copy of the record
//! from its first write on (read from KV that first time, then kept in its
//! own storage). Writes queue up; whoever holds the lock applies every
//! queued operation in order (`core::api::write::apply`) and commits them
//! together: the record, then the summaries (`id:`, `tenant:`). The lock is
//! held across those KV writes, so no two commits interleave, and a commit
//! waits until a second after the previous one (KV takes one write per
//! entry per second), gathering what arrives meanwhile. Revocations go to
//! the key's guard (`KEY_GUARD`) first, which refuses the key at once.
//!
//! The same class, named `idem:…`, holds an Idempotency-Key's state
//! (`idempotency`).

use super::config::Config;
use super::kv::Kv;
use super::stubs::{self, GUARDS};
use crate::core::api::summary::Summary;
use crate::core::api::write::{self, Applied, Held, Op, WriteReply, WriteRequest};
use crate::core::api::{Kind, Problem};
use crate::core::lookup::{index_name, tenant_entry, IndexEntry};
use crate::core::record::KeyRecord;
use crate::core::UnixMillis;
use futures_util::lock::Mutex;
use serde::{Deserialize, Serialize};
use std::cell::{Cell, RefCell};
use std::time::Duration;
use worker::{durable_object, Date, Delay, DurableObject, Env, Request, Response, Result, State};

/// Storage key of the copy.
const COPY: &str = "copy";
/// KV accepts one write per entry per second.
const MIN_WRITE_INTERVAL_MS: u64 = 1_000;

/// The writer's copy of the key's entries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Copy {
    /// The record's bytes; `None`: the index points at no record.
    record: Option<String>,
    index: IndexEntry,
    deleted: bool,
    /// The key's last use as its guard told it (Unix ms).
    #[serde(default)]
    last_used: Option<u64>,
    /// Its tenant, as its summary says (for an incomplete key's tenant entry).
    #[serde(default)]
    tenant: Option<String>,
}

#[durable_object]
pub struct KeyRecords {
    pub(super) state: State,
    env: Env,
    timeout_ms: u64,
    lock: Mutex<()>,
    queue: RefCell<Vec<(u64, WriteRequest)>>,
    done: RefCell<Vec<(u64, WriteReply)>>,
    next_ticket: Cell<u64>,
    copy: RefCell<Option<Copy>>,
    last_write: Cell<u64>,
}

#[derive(Deserialize)]
struct Touch {
    key_id: String,
    last_used: u64,
}

fn failed(kind: Kind) -> WriteReply {
    WriteReply::from(&Problem::from(kind))
}

impl DurableObject for KeyRecords {
    fn new(state: State, env: Env) -> Self {
        Self {
            timeout_ms: Config::timeout(&env),
            state,
            env,
            lock: Mutex::new(()),
            queue: RefCell::new(Vec::new()),
            done: RefCell::new(Vec::new()),
            next_ticket: Cell::new(0),
            copy: RefCell::new(None),
            last_write: Cell::new(0),
        }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let path = req.path();
        let body = req.text().await?;
        match path.as_str() {
            "/write" => Response::from_json(&self.write(serde_json::from_str(&body)?).await),
            "/touch" => {
                let touch: Touch = serde_json::from_str(&body)?;
                let op = Op::Touch { last_used: UnixMillis(touch.last_used) };
                match self.write(WriteRequest { key_id: touch.key_id, op, index: None }).await {
                    WriteReply::Written { summary_written: true, .. } => Response::ok("told"),
                    _ => Response::error("not written", 503),
                }
            }
            "/record" => Response::from_json(&self.held().await?),
            path if path.starts_with("/idem/") => self.idempotency(path, &body).await,
            _ => Response::error("not found", 404),
        }
    }

    async fn alarm(&self) -> Result<Response> {
        self.expire_idempotency().await;
        Response::empty()
    }
}

impl KeyRecords {
    /// Asks the key's guard; `Err` when it cannot be asked.
    async fn guard(&self, key_id: &str, path: &str) -> std::result::Result<bool, Problem> {
        let answer = stubs::call(&self.env, GUARDS, key_id, path, None, self.timeout_ms).await.map_err(|_| Problem::new(Kind::StoreUnavailable, "the key's guard failed or did not answer in time; retry"))?;
        Ok(path == "/revoke" || serde_json::from_str::<serde_json::Value>(&answer).is_ok_and(|v| v["revoked"] == true))
    }

    /// Applies one write, with whatever else is queued, and answers it.
    async fn write(&self, request: WriteRequest) -> WriteReply {
        if request.op == Op::Revoke {
            // Refused everywhere first; the record follows.
            if let Err(p) = self.guard(&request.key_id, "/revoke").await {
                return WriteReply::from(&p);
            }
        }
        let ticket = self.next_ticket.get();
        self.next_ticket.set(ticket + 1);
        self.queue.borrow_mut().push((ticket, request));
        let _held = self.lock.lock().await;
        if self.done.borrow().iter().all(|(t, _)| *t != ticket) {
            self.commit_queue().await;
        }
        let mut done = self.done.borrow_mut();
        let i = done.iter().position(|(t, _)| *t == ticket);
        i.map_or_else(|| failed(Kind::StoreUnavailable), |i| done.swap_remove(i).1)
    }

    async fn commit_queue(&self) {
        let wait = (self.last_write.get() + MIN_WRITE_INTERVAL_MS).saturating_sub(Date::now().as_millis());
        if wait > 0 {
            Delay::from(Duration::from_millis(wait)).await;
        }
        let batch: Vec<(u64, WriteRequest)> = self.queue.borrow_mut().drain(..).collect();
        let Some((_, first)) = batch.first() else { return };
        let key_id = first.key_id.clone();
        let replies = match self.load(&key_id, first.index.clone()).await {
            Ok(before) => self.apply_all(&key_id, before, &batch).await,
            Err(p) => batch.iter().map(|(t, _)| (*t, WriteReply::from(&p))).collect(),
        };
        self.done.borrow_mut().extend(replies);
    }

    async fn apply_all(&self, key_id: &str, before: Copy, batch: &[(u64, WriteRequest)]) -> Vec<(u64, WriteReply)> {
        let now = UnixMillis(Date::now().as_millis());
        let revoked = match self.guard(key_id, "/revoked").await {
            Ok(r) => r,
            Err(p) => return batch.iter().map(|(t, _)| (*t, WriteReply::from(&p))).collect(),
        };
        let mut after = before.clone();
        let mut results = Vec::with_capacity(batch.len());
        for (ticket, request) in batch {
            if let Op::Touch { last_used } = request.op {
                after.last_used = after.last_used.max(Some(last_used.0));
            }
            let applied = if after.deleted { Err(Problem::from(Kind::NotFound)) } else { write::apply(&request.op, after.record.as_deref(), revoked, now) };
            results.push((*ticket, match applied {
                Ok(Applied::Write(bytes)) => {
                    after.record = Some(bytes);
                    Ok(after.record.clone())
                }
                Ok(Applied::Keep) => Ok(after.record.clone()),
                Ok(Applied::Delete) => {
                    after.deleted = true;
                    Ok(None)
                }
                Err(p) => Err(p),
            }));
        }
        let succeeded = results.iter().any(|(_, r)| r.is_ok());
        let committed = if succeeded { self.commit(key_id, &before, &after).await } else { Ok(false) };
        let revoked = revoked || after.deleted || batch.iter().any(|(_, r)| r.op == Op::Revoke);
        results
            .into_iter()
            .map(|(ticket, result)| {
                let reply = match (&result, &committed) {
                    (Err(p), _) | (Ok(_), Err(p)) => WriteReply::from(p),
                    (Ok(_), Ok(_)) if after.deleted => WriteReply::Deleted,
                    (Ok(record), Ok(summary_written)) => WriteReply::Written { record: record.clone(), summary_written: *summary_written, revoked },
                };
                (ticket, reply)
            })
            .collect()
    }

    /// Writes what changed from `before` to `after`, in order, and keeps
    /// `after` as the copy; `Ok(false)` when the summaries failed.
    async fn commit(&self, key_id: &str, before: &Copy, after: &Copy) -> std::result::Result<bool, Problem> {
        let kv = Kv::open(&self.env, self.timeout_ms)?;
        let decoded = |c: &Copy| c.record.as_deref().and_then(|r| KeyRecord::decode(r.as_bytes()).ok());
        if after.deleted {
            // Refused everywhere first: whatever stays behind can never work.
            self.guard(key_id, "/revoke").await?;
            let tenant = decoded(before).and_then(|r| r.tenant).or(before.tenant.clone());
            kv.delete(&after.index.record).await?;
            if let Some(t) = &tenant {
                kv.delete(&tenant_entry(t, key_id)).await?;
            }
            kv.delete(&index_name(key_id)).await?;
            self.keep(after.clone()).await;
            return Ok(true);
        }
        if after.record != before.record {
            kv.put(&after.index.record, after.record.as_deref().unwrap_or_default(), None).await?;
            self.last_write.set(Date::now().as_millis());
        }
        self.keep(after.clone()).await;
        let Some(record) = decoded(after) else { return Ok(false) };
        let summary = Summary::of(&record, after.index.pepper.as_deref(), after.last_used.map(UnixMillis)).to_json();
        let index = serde_json::to_string(&after.index).unwrap_or_default();
        let mut written = kv.put(&index_name(key_id), &index, Some(&summary)).await.is_ok();
        if let (true, Some(t)) = (written, &record.tenant) {
            written = kv.put(&tenant_entry(t, key_id), "", Some(&summary)).await.is_ok();
        }
        self.last_write.set(Date::now().as_millis());
        Ok(written)
    }

    /// Keeps the copy in memory and in storage. If storage fails, the next
    /// load reads KV again (which holds what was written).
    async fn keep(&self, copy: Copy) {
        let stored = match serde_json::to_string(&copy) {
            Ok(text) => self.state.storage().put(COPY, text).await.is_ok(),
            Err(_) => false,
        };
        if stored {
            self.copy.replace(Some(copy));
        } else {
            let _ = self.state.storage().delete(COPY).await;
            self.copy.replace(None);
        }
    }

    /// The copy: in memory, in storage, or read from KV the first time.
    async fn load(&self, key_id: &str, index: Option<IndexEntry>) -> std::result::Result<Copy, Problem> {
        if let Some(copy) = self.copy.borrow().clone() {
            return Ok(copy);
        }
        let unavailable = || Problem::from(Kind::StoreUnavailable);
        if let Some(text) = self.state.storage().get::<String>(COPY).await.map_err(|_| unavailable())? {
            let copy: Copy = serde_json::from_str(&text).map_err(|_| unavailable())?;
            self.copy.replace(Some(copy.clone()));
            return Ok(copy);
        }
        let kv = Kv::open(&self.env, self.timeout_ms)?;
        let (stored_index, metadata) = kv.get_with_metadata(&index_name(key_id)).await?;
        let index = match index {
            Some(index) => index,
            None => serde_json::from_str(&stored_index.ok_or(Kind::NotFound)?).map_err(|_| Problem::new(Kind::KeyIncomplete, "the key's index entry is unreadable"))?,
        };
        let summary = metadata.as_ref().and_then(Summary::from_json);
        let record = kv.get(&index.record).await?;
        let copy = Copy {
            record,
            index,
            deleted: false,
            last_used: summary.as_ref().and_then(|s| s.last_used).map(|t| t.0),
            tenant: summary.and_then(|s| s.tenant),
        };
        self.copy.replace(Some(copy.clone()));
        Ok(copy)
    }

    /// What it holds, without reading KV or writing anything.
    async fn held(&self) -> Result<Held> {
        let copy = match self.copy.borrow().clone() {
            Some(c) => Some(c),
            None => self.state.storage().get::<String>(COPY).await?.and_then(|t| serde_json::from_str::<Copy>(&t).ok()),
        };
        Ok(copy.map_or_else(Held::default, |c| Held { held: true, record: c.record, deleted: c.deleted }))
    }
}
