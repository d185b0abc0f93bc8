//! `POST /diagnostics/origin`, the part the API decides: who may ask, and
//! for which tenant's origin. The SCIM Worker, which alone holds the
//! origin's credential and the signing secret, makes the signed forward
//! once this has answered (`edge::diagnostics`, docs/api.md#diagnostics).

use super::{Cx, Facts, Reply};
use crate::core::api::diagnostics;
use crate::core::api::io::Stop;
use serde_json::json;

pub fn origin(cx: &Cx<'_>, facts: &mut Facts) -> Result<Reply, Stop> {
    let asked = diagnostics::parse(cx.req.body)?;
    // A tenant-restricted token checks its own tenant's origin only.
    let tenant = cx.actor.minting_tenant(asked.as_deref())?;
    facts.tenant = tenant.clone();
    Ok(Reply::json(200, &json!({ "tenant": tenant })))
}
