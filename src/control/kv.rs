//! Workers KV for the management API and the keys' guards: reads, writes
//! with metadata, deletes and list pages, each bounded by
//! `BINDING_TIMEOUT_MS`. Any failure is `store_unavailable`: the call
//! fails, having written nothing after the failed step.
//!
//! The binding's methods are called directly, with arguments and answers
//! passed as JSON text: one small non-generic path for every operation
//! (the wasm's size budget has no room for a serde bridge per call).

use super::deadline;
use crate::core::api::io::Page;
use crate::core::api::{Kind, Problem};
use serde::Deserialize;
use serde_json::{json, Value};
use std::future::Future;
use std::pin::Pin;
use worker::js_sys::{Array, Function, Reflect, JSON};
use worker::wasm_bindgen::{JsCast, JsValue};
use worker::wasm_bindgen_futures::JsFuture;
use worker::Env;

/// The KV binding that holds key records (and the API's entries).
pub const BINDING: &str = "KEYS";

pub struct Kv {
    binding: JsValue,
    timeout_ms: u64,
}

#[derive(Deserialize)]
struct Listed {
    name: String,
    #[serde(default)]
    metadata: Option<Value>,
}

#[derive(Deserialize)]
struct Listing {
    keys: Vec<Listed>,
    #[serde(default)]
    list_complete: bool,
    #[serde(default)]
    cursor: Option<String>,
}

#[derive(Deserialize)]
struct WithMetadata {
    #[serde(default)]
    value: Option<String>,
    #[serde(default)]
    metadata: Option<Value>,
}

fn unavailable() -> Problem {
    Problem::new(Kind::StoreUnavailable, "the key store failed or did not answer in time; retry")
}

impl Kv {
    pub fn open(env: &Env, timeout_ms: u64) -> Result<Self, Problem> {
        let binding = Reflect::get(env, &JsValue::from_str(BINDING)).map_err(|_| unavailable())?;
        if binding.is_undefined() {
            return Err(unavailable());
        }
        Ok(Kv { binding, timeout_ms })
    }

    /// Calls `method` with `args` (each a JSON text, or a plain string) and
    /// awaits its promise, within the time bound.
    fn invoke<'a>(&'a self, method: &'a str, args: Vec<JsValue>) -> Pin<Box<dyn Future<Output = Result<JsValue, Problem>> + 'a>> {
        Box::pin(async move {
            let function: Function = Reflect::get(&self.binding, &JsValue::from_str(method)).map_err(|_| unavailable())?.dyn_into().map_err(|_| unavailable())?;
            let promise = function.apply(&self.binding, &args.into_iter().collect::<Array>()).map_err(|_| unavailable())?;
            match deadline::within(self.timeout_ms, JsFuture::from(worker::js_sys::Promise::from(promise))).await {
                Ok(Ok(v)) => Ok(v),
                _ => Err(unavailable()),
            }
        })
    }

    fn object(value: &Value) -> Result<JsValue, Problem> {
        JSON::parse(&value.to_string()).map_err(|_| unavailable())
    }

    /// The answer as JSON text (`null` for none).
    fn text_of(value: &JsValue) -> String {
        JSON::stringify(value).ok().and_then(|s| s.as_string()).unwrap_or_else(|| "null".into())
    }

    pub async fn get(&self, name: &str) -> Result<Option<String>, Problem> {
        Ok(self.invoke("get", vec![name.into(), JsValue::from_str("text")]).await?.as_string())
    }

    /// The value and its metadata.
    pub async fn get_with_metadata(&self, name: &str) -> Result<(Option<String>, Option<Value>), Problem> {
        let answer = self.invoke("getWithMetadata", vec![name.into(), JsValue::from_str("text")]).await?;
        let read: WithMetadata = serde_json::from_str(&Self::text_of(&answer)).map_err(|_| unavailable())?;
        Ok((read.value, read.metadata.filter(|m| !m.is_null())))
    }

    pub async fn put(&self, name: &str, value: &str, metadata: Option<&Value>) -> Result<(), Problem> {
        let options = Self::object(&metadata.map_or_else(|| json!({}), |m| json!({ "metadata": m })))?;
        self.invoke("put", vec![name.into(), value.into(), options]).await.map(|_| ())
    }

    pub async fn delete(&self, name: &str) -> Result<(), Problem> {
        self.invoke("delete", vec![name.into()]).await.map(|_| ())
    }

    /// One page of names with `prefix`, with their metadata.
    pub async fn list(&self, prefix: &str, limit: u64, cursor: Option<String>) -> Result<Page, Problem> {
        let mut options = json!({ "prefix": prefix, "limit": limit });
        if let Some(c) = cursor {
            options["cursor"] = c.into();
        }
        let options = Self::object(&options)?;
        let answer = self.invoke("list", vec![options]).await?;
        let listing: Listing = serde_json::from_str(&Self::text_of(&answer)).map_err(|_| unavailable())?;
        Ok(Page {
            keys: listing.keys.into_iter().map(|k| (k.name, k.metadata.filter(|m| !m.is_null()))).collect(),
            cursor: listing.cursor.filter(|c| !listing.list_complete && !c.is_empty()),
        })
    }
}
