//! Durable Object storage writes that the guard's answers need not wait for.
//!
//! A Durable Object holds every outgoing message until its storage writes
//! are confirmed (the output gate), so a usage write held the answers of
//! every request in flight to that guard. Usage counts may be lost with an
//! isolate anyway (docs/usage.md), so their writes, and the alarm that
//! flushes them, go with `allowUnconfirmed`. A revocation is still written
//! with the gate: no answer leaves before it is durable.
//!
//! workers-rs 0.8.7 has no such option for `put`, and its `SetAlarmOptions`
//! serialises `allow_unconfirmed` in snake case, which the runtime ignores:
//! both are called here through wasm-bindgen.

use wasm_bindgen::prelude::*;
use worker::js_sys::{Object, Promise, Reflect};
use worker::wasm_bindgen_futures::JsFuture;
use worker::{Date, State};

#[wasm_bindgen]
extern "C" {
    /// The runtime's `DurableObjectStorage`, for the two methods below.
    type Storage;

    #[wasm_bindgen(method, catch, js_name = put)]
    fn put_with_options(this: &Storage, key: &str, value: JsValue, options: &Object) -> Result<Promise, JsValue>;

    #[wasm_bindgen(method, catch, js_name = setAlarm)]
    fn set_alarm_with_options(this: &Storage, scheduled_time: f64, options: &Object) -> Result<Promise, JsValue>;
}

fn options() -> Object {
    let options = Object::new();
    let _ = Reflect::set(&options, &"allowUnconfirmed".into(), &JsValue::TRUE);
    options
}

/// `storage.put(key, value, { allowUnconfirmed: true })` for a string value
/// (read back with `storage().get::<String>`).
pub async fn put(state: &State, key: &str, value: &str) -> worker::Result<()> {
    let storage: Storage = state.as_raw().storage()?.unchecked_into();
    JsFuture::from(storage.put_with_options(key, JsValue::from_str(value), &options())?).await?;
    Ok(())
}

/// `storage.setAlarm(now + in_ms, { allowUnconfirmed: true })`.
pub async fn set_alarm(state: &State, in_ms: u64) -> worker::Result<()> {
    let storage: Storage = state.as_raw().storage()?.unchecked_into();
    let at = Date::now().as_millis().saturating_add(in_ms) as f64;
    JsFuture::from(storage.set_alarm_with_options(at, &options())?).await?;
    Ok(())
}
