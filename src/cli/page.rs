//! Following a listing's cursor: the API filters each KV page, so a page
//! may hold fewer items than asked for, even none, while more follow; the
//! listing ends only when `cursor` is null (or `--limit` items are in).

use super::api::Api;
use super::fail::Fail;
use clap::Args;
use serde_json::{json, Value};

/// `--limit` and `--page-size`.
#[derive(Args, Debug, Clone)]
pub struct Paging {
    /// Stop after this many items (default: all of them).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub limit: Option<u32>,
    /// Entries the edge reads per page (1 to 1000).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub page_size: u32,
}

/// Every page of `path` merged into one answer of the same shape: `items`
/// and `errors` concatenated, `cursor` null at the end (or where `--limit`
/// stopped), other fields from the first page.
pub fn all(api: &Api, what: &str, path: &str, query: &[(&str, String)], paging: &Paging) -> Result<Value, Fail> {
    let mut merged = json!(null);
    let mut items = Vec::new();
    let mut errors = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        // Asking for no more than are still wanted keeps the cursor exact.
        let remaining = paging.limit.map(|l| l as usize - items.len());
        let size = remaining.map_or(paging.page_size, |r| paging.page_size.min(r as u32));
        let mut q = query.to_vec();
        q.push(("limit", size.to_string()));
        if let Some(c) = &cursor {
            q.push(("cursor", c.clone()));
        }
        let mut page = api.get(what, path, &q)?;
        items.extend(page["items"].as_array_mut().map(std::mem::take).unwrap_or_default());
        errors.extend(page["errors"].as_array_mut().map(std::mem::take).unwrap_or_default());
        cursor = page["cursor"].as_str().map(str::to_owned);
        if merged.is_null() {
            merged = page;
        }
        if cursor.is_none() || paging.limit.is_some_and(|l| items.len() >= l as usize) {
            break;
        }
    }
    merged["items"] = Value::Array(items);
    merged["errors"] = Value::Array(errors);
    merged["cursor"] = cursor.map_or(Value::Null, Value::String);
    Ok(merged)
}

/// Says on stderr that `--limit` left items out.
pub fn note_more(listing: &Value, noun: &str) {
    if !listing["cursor"].is_null() {
        eprintln!("more {noun} follow: --limit stopped the listing");
    }
}
