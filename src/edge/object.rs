//! One POST to a Durable Object, its answer as text. Made on the runtime's
//! own stub and objects: a workers-rs `Request` and `Response` read their
//! `cf`, URL, method and headers back across the boundary when made, which
//! cost more than the call's own glue (BENCHMARKS.md, stage 6).

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use worker::wasm_bindgen_futures::JsFuture;
use worker::{web_sys, Result, Stub};

/// The text of the object's 200 answer to `POST url`; any other status is an error.
pub async fn post(stub: Stub, url: &str, body: Option<String>) -> Result<String> {
    let stub: RawStub = stub.into_rpc();
    let init = web_sys::RequestInit::new();
    init.set_method("POST");
    if let Some(body) = body {
        init.set_body(&JsValue::from_str(&body));
    }
    let answered = JsFuture::from(stub.fetch(url, &init)?).await?;
    let resp: web_sys::Response = answered.dyn_into()?;
    if resp.status() != 200 {
        return Err(worker::Error::RustError(format!("object answered {}", resp.status())));
    }
    // The answer whole through the runtime's text(), not chunk by chunk
    // through a stream reader (several boundary crossings per chunk).
    Ok(JsFuture::from(resp.text()?).await?.as_string().unwrap_or_default())
}

#[wasm_bindgen]
extern "C" {
    /// A Durable Object stub as the runtime has it.
    type RawStub;

    #[wasm_bindgen(method, catch)]
    fn fetch(this: &RawStub, url: &str, init: &web_sys::RequestInit) -> std::result::Result<worker::js_sys::Promise, JsValue>;
}
