//! The records writer class under the name `idem:<actor>:<SHA-256 of the
//! key>`: one Idempotency-Key's state. Each step is a storage read and write with no
//! other wait between them, so concurrent retries are decided one at a
//! time (the object's input gate). An alarm forgets the state after 24 h.

use super::records::KeyRecords;
use crate::core::api::idempotency::{self, Attempt, Stored};
use serde::Deserialize;
use serde_json::json;
use worker::{Date, Response, Result};

const IDEM: &str = "idem";

#[derive(Deserialize)]
struct Begin {
    fingerprint: String,
    attempt: Attempt,
}

#[derive(Deserialize)]
struct Finish {
    key_id: String,
    #[serde(default)]
    body: String,
}

impl KeyRecords {
    pub(super) async fn idempotency(&self, path: &str, body: &str) -> Result<Response> {
        let storage = self.state.storage();
        let stored: Option<Stored> = storage.get::<String>(IDEM).await?.and_then(|t| serde_json::from_str(&t).ok());
        match path {
            "/idem/begin" => {
                let begin: Begin = serde_json::from_str(body)?;
                let now = Date::now().as_millis();
                let (answer, next) = idempotency::begin(stored.as_ref(), &begin.fingerprint, &begin.attempt, now);
                if let Some(next) = next {
                    storage.put(IDEM, serde_json::to_string(&next)?).await?;
                    storage.set_alarm(idempotency::TTL_MS as i64).await?;
                }
                Response::from_json(&answer)
            }
            "/idem/finish" => {
                let finish: Finish = serde_json::from_str(body)?;
                let next = idempotency::finish(stored.as_ref(), &finish.key_id, finish.body);
                if let Some(next) = &next {
                    storage.put(IDEM, serde_json::to_string(next)?).await?;
                }
                Response::from_json(&json!({ "ok": next.is_some() }))
            }
            "/idem/abort" => {
                let finish: Finish = serde_json::from_str(body)?;
                let ok = idempotency::may_abort(stored.as_ref(), &finish.key_id);
                if ok {
                    storage.delete(IDEM).await?;
                }
                Response::from_json(&json!({ "ok": ok }))
            }
            _ => Response::error("not found", 404),
        }
    }

    /// The alarm of an idempotency object: forgets an expired state.
    pub(super) async fn expire_idempotency(&self) {
        let storage = self.state.storage();
        let Ok(Some(text)) = storage.get::<String>(IDEM).await else { return };
        let expired = serde_json::from_str::<Stored>(&text).map_or(true, |s| s.expires <= Date::now().as_millis());
        if expired {
            let _ = storage.delete_all().await;
        } else {
            let _ = storage.set_alarm(idempotency::TTL_MS as i64).await;
        }
    }
}
