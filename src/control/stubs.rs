//! Calls to Durable Objects: the keys' guards (`KEY_GUARD`, in the
//! `provgate` Worker) and records writers (`KEY_RECORDS`, here). One
//! non-generic, boxed path, bounded in time; the answer is text.

use super::deadline;
use std::future::Future;
use std::pin::Pin;
use worker::wasm_bindgen_futures::JsFuture;
use worker::{Env, Method, Request, RequestInit, Result};

/// The keys' guards.
pub const GUARDS: &str = "KEY_GUARD";
/// The keys' records writers.
pub const RECORDS: &str = "KEY_RECORDS";

/// Which namespace serves `path`: the writer's own paths, else the guard.
pub fn binding_for(path: &str) -> &'static str {
    if matches!(path, "/write" | "/record" | "/touch") || path.starts_with("/idem/") {
        RECORDS
    } else {
        GUARDS
    }
}

pub fn call<'a>(env: &'a Env, binding: &'a str, name: &'a str, path: &'a str, body: Option<String>, timeout_ms: u64) -> Pin<Box<dyn Future<Output = Result<String>> + 'a>> {
    Box::pin(async move {
        let call = async {
            let stub = env.durable_object(binding)?.id_from_name(name)?.get_stub()?;
            let mut init = RequestInit::new();
            init.with_method(Method::Post).with_body(body.map(Into::into));
            let resp = stub.fetch_with_request(Request::new_with_init(&format!("https://object{path}"), &init)?).await?;
            if resp.status_code() != 200 {
                return Err(worker::Error::RustError(format!("object answered {}", resp.status_code())));
            }
            let raw = worker::web_sys::Response::from(resp);
            Ok(JsFuture::from(raw.text()?).await?.as_string().unwrap_or_default())
        };
        deadline::within(timeout_ms, call).await.unwrap_or_else(|deadline::TimedOut| Err(worker::Error::RustError("no answer in time".into())))
    })
}
