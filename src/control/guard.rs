//! A key's guard: one Durable Object per key id (binding `KEY_GUARD`). It
//! meters the key's rate with the core's GCRA, knows at once when the key
//! is revoked, and keeps the key's usage. The decisions are
//! `core::guard::decide` and `core::usage`; this file only keeps the state
//! and speaks HTTP to the edge (the `provgate` Worker asks it about every
//! request with a verified key; `edge::guard` is that side).
//!
//! It lives in this Worker, with all of provgate's state, so that the SCIM
//! Worker holds none of it. The management API revokes keys here, and a
//! management token's revocation lives in the guard named by the token's
//! id. The guard tells the key's records writer (`KEY_RECORDS`) of the
//! key's first use, then at most hourly, so that its listing summary shows
//! the last use.

use super::{deadline, object, unconfirmed};
use crate::core::guard::{decide_lease, Answer, Ask, Reply, TokenStanding, TokensEnd, TokensSuspended};
use crate::core::oauth::guard_ops::{apply, StateAsk, StateReply};
use crate::core::oauth::state::OAuthState;
use crate::core::usage::Usage;
use crate::core::UnixMillis;
use std::cell::{Cell, RefCell};
use worker::{durable_object, Date, DurableObject, Env, Request, Response, Result, State};

/// The keys' records writers.
const RECORDS_BINDING: &str = "KEY_RECORDS";
const REVOKED: &str = "revoked";
const USAGE: &str = "usage";
const OAUTH: &str = "oauth";
const TOKENS_END: &str = "tokens_end";
const TOKENS_SUSPENDED: &str = "tokens_suspended";
/// Usage is written at most this often (plus at once for a first use or a
/// new source); an alarm writes what is left. A guard that is evicted
/// between two writes loses at most this much of its counts.
const USAGE_FLUSH_MS: u64 = 10_000;

#[durable_object]
pub struct KeyGuard {
    state: State,
    /// GCRA state. In memory only: a restart forgets it, which can admit at
    /// most one extra burst (see docs/rate-limits.md).
    tat: Cell<Option<u64>>,
    /// Revocation, cached after the first read of durable storage.
    revoked: Cell<Option<bool>>,
    /// Usage, loaded from durable storage on first need.
    usage: RefCell<Option<Usage>>,
    /// When usage was last written, and whether it changed since.
    written_at: Cell<u64>,
    dirty: Cell<bool>,
    alarm_set: Cell<bool>,
    env: Env,
    /// The key's id, learnt from the edge's asks, for the records writer.
    key_id: RefCell<Option<String>>,
    /// When the writer was last told of a use (`None`: not read yet), and
    /// whether it is to be told.
    told_at: Cell<Option<u64>>,
    tell_due: Cell<bool>,
    /// The key's OAuth state (codes redeemed, refresh families), loaded
    /// from durable storage on first need.
    oauth: RefCell<Option<OAuthState>>,
    /// When the key's access tokens end (`None`: not read yet).
    ended: Cell<Option<Option<TokensEnd>>>,
    /// Until when they are suspended (`None`: not read yet).
    suspended: Cell<Option<Option<TokensSuspended>>>,
}

const TOLD: &str = "told";
/// How often the records writer is told of the key's use at most.
const TELL_INTERVAL_MS: u64 = 3_600_000;
/// How long after a failed tell the next is tried. Without it, a writer
/// that cannot write the key's summary (a record written by hand, with no
/// `id:` entry) was asked again on every request, each time through an
/// alarm write that held the guard's answers.
const TELL_RETRY_MS: u64 = 60_000;

impl DurableObject for KeyGuard {
    fn new(state: State, env: Env) -> Self {
        Self {
            env,
            key_id: RefCell::new(None),
            told_at: Cell::new(None),
            tell_due: Cell::new(false),
            oauth: RefCell::new(None),
            ended: Cell::new(None),
            suspended: Cell::new(None),
            state,
            tat: Cell::new(None),
            revoked: Cell::new(None),
            usage: RefCell::new(None),
            written_at: Cell::new(0),
            dirty: Cell::new(false),
            alarm_set: Cell::new(false),
        }
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        match req.path().as_str() {
            "/check" => {
                // One string across the boundary, parsed in wasm: cheaper than
                // JSON.parse plus a field-by-field conversion of the JS object.
                let ask: Ask = serde_json::from_str(&req.text().await?)?;
                let Some(quota) = ask.quota() else { return Response::error("zero quota", 400) };
                let revoked = self.is_revoked().await?;
                let asked_at = Date::now().as_millis();
                let standing = TokenStanding {
                    family_revoked: match ask.family {
                        Some(family) => !self.load_oauth().await?.admits(family),
                        None => false,
                    },
                    ended: match ask.token_issued_at {
                        Some(issued_at) => self.tokens_end().await?.is_some_and(|end| end.ends(issued_at, asked_at)),
                        None => false,
                    },
                    suspended: ask.token_issued_at.is_some() && self.tokens_suspended().await?.is_some_and(|s| s.suspends(asked_at)),
                };
                self.load_usage().await;
                // No await between reading and writing the GCRA state: the
                // object runs one event at a time, so this check-and-set is atomic.
                let now_ms = Date::now().as_millis();
                let want = ask.lease.unwrap_or(1);
                let (answer, class, tat, granted) = decide_lease(revoked, standing, ask.denied, &quota, self.tat.get(), now_ms.saturating_mul(1000), want);
                if tat.is_some() {
                    self.tat.set(tat);
                }
                let noted = self.with_usage(|usage| {
                    if let Some(report) = &ask.origin {
                        usage.note_origin(UnixMillis(now_ms), report);
                    }
                    usage.note_leased(UnixMillis(now_ms), ask.spent);
                    usage.note(UnixMillis(now_ms), ask.counted_as(class), ask.source.as_ref())
                });
                self.save_usage(noted.first_use || noted.new_source, now_ms).await;
                if let Some(key_id) = ask.key_id {
                    self.note_use(key_id, noted.first_use, now_ms).await;
                }
                let lease = ask.lease.filter(|_| granted > 0).map(|_| granted);
                Response::from_json(&Reply { answer, new_source: noted.new_source, lease })
            }
            "/status" => {
                // Revocation and usage, without metering: for the doctor and the API's usage route.
                let revoked = self.is_revoked().await?;
                self.load_usage().await;
                let usage = self.with_usage(|usage| usage.report(UnixMillis(Date::now().as_millis())));
                Response::from_json(&serde_json::json!({ "revoked": revoked, "usage": usage }))
            }
            "/revoke" => {
                self.set_revoked().await?;
                Response::from_json(&Reply { answer: Answer::Revoked, new_source: false, lease: None })
            }
            "/revoked" => Response::from_json(&serde_json::json!({ "revoked": self.is_revoked().await? })),
            "/tokens-end" => {
                // The key's expiry after a rotation or a PATCH of `expires_at`: its access
                // tokens end then too (`null`: the key no longer expires).
                let at = serde_json::from_str::<serde_json::Value>(&req.text().await?)?["at"].as_u64();
                let end = at.map(|at| TokensEnd { at, told: Date::now().as_millis() });
                self.put_or_delete(TOKENS_END, end.as_ref()).await?;
                self.ended.set(Some(end));
                Response::from_json(&serde_json::json!({ "tokens_end": at }))
            }
            "/tokens-suspend" => {
                // A PATCH moved the key's not_before later (`null`: lifted).
                let until = serde_json::from_str::<serde_json::Value>(&req.text().await?)?["until"].as_u64();
                let suspended = until.map(|until| TokensSuspended { until });
                self.put_or_delete(TOKENS_SUSPENDED, suspended.as_ref()).await?;
                self.suspended.set(Some(suspended));
                Response::from_json(&serde_json::json!({ "tokens_suspended_until": until }))
            }
            "/oauth" => {
                // Codes and refresh tokens of a revoked key are refused with it.
                if self.is_revoked().await? {
                    return Response::from_json(&StateReply::Refused { problem: "refresh_unknown".into(), revoked: None });
                }
                let ask: StateAsk = serde_json::from_str(&req.text().await?)?;
                let mut state = self.load_oauth().await?;
                let before = state.clone();
                let reply = apply(&mut state, ask, UnixMillis(Date::now().as_millis()));
                if state != before {
                    // Stored before the answer leaves (the output gate): a
                    // rotation or revocation is never lost after it was told.
                    self.state.storage().put(OAUTH, state.encode()).await?;
                }
                self.oauth.replace(Some(state));
                Response::from_json(&reply)
            }
            _ => Response::error("not found", 404),
        }
    }

    async fn alarm(&self) -> Result<Response> {
        self.alarm_set.set(false);
        self.save_usage(true, Date::now().as_millis()).await;
        self.tell_if_due().await;
        Response::empty()
    }
}

impl KeyGuard {
    /// When the key's access tokens end, if a rotation or a PATCH said so.
    async fn tokens_end(&self) -> Result<Option<TokensEnd>> {
        self.read_once(&self.ended, TOKENS_END).await
    }

    /// Until when the key's access tokens are suspended, if a PATCH said so.
    async fn tokens_suspended(&self) -> Result<Option<TokensSuspended>> {
        self.read_once(&self.suspended, TOKENS_SUSPENDED).await
    }

    /// `slot`, read from durable storage under `key` on first need (the
    /// guard is the only writer, so its copy stays true).
    async fn read_once<T: Copy + serde::de::DeserializeOwned>(&self, slot: &Cell<Option<Option<T>>>, key: &str) -> Result<Option<T>> {
        if let Some(known) = slot.get() {
            return Ok(known);
        }
        let stored = self.state.storage().get::<T>(key).await?;
        slot.set(Some(stored));
        Ok(stored)
    }

    /// Stores `value` under `key` (with the output gate: nothing answers
    /// before it is durable), or deletes `key` for `None`.
    async fn put_or_delete<T: serde::Serialize>(&self, key: &str, value: Option<&T>) -> Result<()> {
        match value {
            Some(value) => self.state.storage().put(key, value).await,
            None => self.state.storage().delete(key).await.map(|_| ()),
        }
    }

    /// The key's OAuth state; one that does not decode fails the call
    /// (fail closed: no code, refresh or family-bound token is accepted).
    async fn load_oauth(&self) -> Result<OAuthState> {
        if let Some(state) = self.oauth.borrow().as_ref() {
            return Ok(state.clone());
        }
        let stored = self.state.storage().get::<String>(OAUTH).await?;
        let state = match stored {
            Some(text) => OAuthState::decode(text.as_bytes()).map_err(worker::Error::RustError)?,
            None => OAuthState::default(),
        };
        self.oauth.replace(Some(state.clone()));
        Ok(state)
    }

    /// Refuses the key from now on, durably.
    async fn set_revoked(&self) -> Result<()> {
        self.state.storage().put(REVOKED, true).await?;
        self.revoked.set(Some(true));
        Ok(())
    }

    async fn is_revoked(&self) -> Result<bool> {
        if let Some(known) = self.revoked.get() {
            return Ok(known);
        }
        let stored = self.state.storage().get::<bool>(REVOKED).await?.unwrap_or(false);
        self.revoked.set(Some(stored));
        Ok(stored)
    }

    /// After a request with the key: its first use, and then at most
    /// hourly, is told to the key's records writer by an alarm (not while
    /// the request waits).
    async fn note_use(&self, key_id: String, first_use: bool, now_ms: u64) {
        let told_at = match self.told_at.get() {
            Some(t) => t,
            None => {
                let t = self.state.storage().get::<u64>(TOLD).await.ok().flatten().unwrap_or(0);
                self.told_at.set(Some(t));
                t
            }
        };
        if (first_use || now_ms.saturating_sub(told_at) >= TELL_INTERVAL_MS) && !self.tell_due.get() {
            self.key_id.replace(Some(key_id));
            self.tell_due.set(true);
            // Without the output gate, so that the key's first answer does not
            // wait for it: a lost alarm is a tell not made and `TOLD` not
            // written, so the guard's next first request tells again.
            if unconfirmed::set_alarm(&self.state, 0).await.is_ok() {
                self.alarm_set.set(true);
            }
        }
    }

    /// Tells the records writer the key's last use; retried at a use a
    /// minute later if the writer (or its Worker) could not write it.
    async fn tell_if_due(&self) {
        let Some(key_id) = self.key_id.borrow().clone().filter(|_| self.tell_due.get()) else { return };
        self.tell_due.set(false);
        let Some(last_used) = self.with_usage(|u| u.last_used()) else { return };
        let body = serde_json::json!({ "key_id": key_id, "last_used": last_used.0 }).to_string();
        let told = async {
            let stub = self.env.durable_object(RECORDS_BINDING)?.id_from_name(&key_id)?.get_stub()?;
            object::post(stub, "https://records/touch", Some(body)).await.map(|_| ())
        };
        let now = Date::now().as_millis();
        if let Ok(Ok(())) = deadline::within(30_000, told).await {
            self.told_at.set(Some(now));
            let _ = self.state.storage().put(TOLD, now).await;
        } else {
            // In memory only: as if told TELL_RETRY_MS before the interval ends.
            self.told_at.set(Some(now.saturating_sub(TELL_INTERVAL_MS - TELL_RETRY_MS)));
        }
    }

    /// Usage never stops the guard: unreadable storage starts a fresh record.
    async fn load_usage(&self) {
        if self.usage.borrow().is_some() {
            return;
        }
        let stored = self.state.storage().get::<String>(USAGE).await.ok().flatten();
        let mut slot = self.usage.borrow_mut();
        if slot.is_none() {
            *slot = Some(stored.as_deref().map(Usage::decode).unwrap_or_default());
        }
    }

    fn with_usage<T>(&self, f: impl FnOnce(&mut Usage) -> T) -> T {
        let mut slot = self.usage.borrow_mut();
        f(slot.get_or_insert_with(Usage::default))
    }

    /// Writes usage now if it matters or is due; otherwise makes sure an
    /// alarm writes it soon. A failed write is retried by the next request.
    /// Neither holds the guard's answers (see `unconfirmed`).
    async fn save_usage(&self, now_or_never: bool, now_ms: u64) {
        self.dirty.set(true);
        let due = now_ms.saturating_sub(self.written_at.get()) >= USAGE_FLUSH_MS;
        if now_or_never || due {
            let encoded = self.with_usage(|usage| usage.encode());
            if unconfirmed::put(&self.state, USAGE, &encoded).await.is_ok() {
                self.written_at.set(now_ms);
                self.dirty.set(false);
            }
        } else if !self.alarm_set.get() && unconfirmed::set_alarm(&self.state, USAGE_FLUSH_MS).await.is_ok() {
            self.alarm_set.set(true);
        }
    }
}

