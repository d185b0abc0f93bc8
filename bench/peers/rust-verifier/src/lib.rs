//! The JavaScript peer's verifier in Rust (see Cargo.toml): HMAC of the
//! key, one KV read, status and scope checks, forward.
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use worker::{event, Context, Env, Fetch, Headers, Method, Request, RequestInit, Response, Result};

fn deny(status: u16) -> Result<Response> {
    Response::error(r#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"]}"#, status)
}

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    let auth = req.headers().get("authorization")?.unwrap_or_default();
    let key = auth.strip_prefix("Bearer ").unwrap_or("");
    if key.len() != 53 || !key.starts_with("pvk_") {
        return deny(401);
    }
    let pepper = env.var("PEPPER")?.to_string();
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(pepper.as_bytes()).expect("any length");
    mac.update(key.as_bytes());
    let name = format!("hash:{}", hex::encode(mac.finalize().into_bytes()));
    let Some(stored) = env.kv("KEYS")?.get(&name).cache_ttl(60).text().await? else { return deny(401) };
    let record: serde_json::Value = serde_json::from_str(&stored)?;
    if record["status"] != "active" {
        return deny(401);
    }
    let url = req.url()?;
    let path = url.path().strip_prefix("/scim/v2").unwrap_or("");
    let resource = path.trim_start_matches('/').split('/').next().unwrap_or("").to_ascii_lowercase();
    let needed = format!("{resource}:{}", if matches!(req.method(), Method::Get | Method::Head) { "read" } else { "write" });
    let scopes = record["scopes"].as_array().cloned().unwrap_or_default();
    if !scopes.iter().any(|s| s == "*" || *s == needed.as_str()) {
        return deny(403);
    }
    let headers = Headers::new();
    headers.set("authorization", &env.var("ORIGIN_AUTHORIZATION")?.to_string())?;
    headers.set("x-provgate-key-id", record["key_id"].as_str().unwrap_or(""))?;
    let mut init = RequestInit::new();
    init.with_method(req.method()).with_headers(headers);
    let target = format!("{}{}{}", env.var("ORIGIN_URL")?.to_string(), path, url.query().map(|q| format!("?{q}")).unwrap_or_default());
    let response = Fetch::Request(Request::new_with_init(&target, &init)?).send().await?;
    worker::console_log!("{}", serde_json::json!({ "key_id": record["key_id"], "decision": "allow", "status": response.status_code() }));
    Ok(response)
}
