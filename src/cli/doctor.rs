//! `provgate doctor --edge URL`: checks a deployed edge from the outside,
//! after a deploy or in CI, and fails with what to fix. Each check is in
//! `probe`; this file runs them and reports.

use super::edge::EdgeArgs;
use super::fail::{failed, Fail};
use super::{output, parse, probe};
use clap::Args;
use serde::Serialize;
use serde_json::json;

#[derive(Args)]
#[command(after_help = concat!(
    "Checks: discovery answers; plain HTTP is refused or redirected (skipped for a loopback dev edge); the doctor page loads; ",
    "PROVGATE_KEY verifies (never printed); the origin accepts the edge's signed requests (needs PROVGATE_TOKEN). ",
    "Exits 1 if any check fails.\n\n",
    crate::api_env_help!(),
    "\n  PROVGATE_KEY         a provisioning key to verify through /_provgate/check (optional; never printed)",
))]
pub struct DoctorArgs {
    #[command(flatten)]
    edge: EdgeArgs,
    /// The SCIM base path the edge serves (its SCIM_BASE_PATH).
    #[arg(long, value_name = "PATH", default_value = "/scim/v2", value_parser = base_path)]
    scim_base: String,
    /// With a per-tenant ORIGIN_URL ({tenant}): the tenant whose origin to check.
    #[arg(long, value_parser = parse::tenant)]
    tenant: Option<String>,
    /// One JSON document: every check and its result.
    #[arg(long)]
    json: bool,
}

fn base_path(text: &str) -> Result<String, String> {
    let valid = text.starts_with('/') && text.len() > 1 && text.bytes().all(|b| b.is_ascii_alphanumeric() || b"/-_.~".contains(&b));
    valid.then(|| text.trim_end_matches('/').to_owned()).ok_or_else(|| "expected a path such as /scim/v2".into())
}

/// How a check ended.
#[derive(Serialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Pass,
    Fail,
    Skip,
}

/// One check's result: what was seen and, on failure, what to fix.
#[derive(Serialize)]
pub struct Check {
    pub check: &'static str,
    pub result: Verdict,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Check {
    pub fn pass(check: &'static str, detail: impl Into<String>) -> Self {
        Self { check, result: Verdict::Pass, detail: detail.into(), fix: None }
    }
    pub fn fail(check: &'static str, detail: impl Into<String>, fix: impl Into<String>) -> Self {
        Self { check, result: Verdict::Fail, detail: detail.into(), fix: Some(fix.into()) }
    }
    pub fn skip(check: &'static str, detail: impl Into<String>) -> Self {
        Self { check, result: Verdict::Skip, detail: detail.into(), fix: None }
    }
}

/// What the checks need to know.
pub struct Setup {
    pub edge: url::Url,
    pub scim_base: String,
    pub tenant: Option<String>,
    pub edge_args: EdgeArgs,
}

pub fn run(args: DoctorArgs) -> Result<(), Fail> {
    let setup = Setup { edge: args.edge.url()?, scim_base: args.scim_base.clone(), tenant: args.tenant.clone(), edge_args: args.edge.clone() };
    let checks = probe::all(&setup)?;
    let failures = checks.iter().filter(|c| c.result == Verdict::Fail).count();
    if args.json {
        output::json(&json!({ "edge": setup.edge.as_str().trim_end_matches('/'), "ok": failures == 0, "checks": checks }))?;
    } else {
        println!("provgate doctor: {}", setup.edge.as_str().trim_end_matches('/'));
        for c in &checks {
            let label = match c.result {
                Verdict::Pass => "PASS",
                Verdict::Fail => "FAIL",
                Verdict::Skip => "SKIP",
            };
            println!("{label}  {:<12} {}", c.check, c.detail);
            if let Some(fix) = &c.fix {
                println!("      {:<12} fix: {fix}", "");
            }
        }
        let count = |v| checks.iter().filter(|c| c.result == v).count();
        println!("{} passed, {failures} failed, {} skipped", count(Verdict::Pass), count(Verdict::Skip));
    }
    if failures == 0 {
        Ok(())
    } else {
        Err(failed(format!("doctor: {failures} check{} failed (fixes above)", if failures == 1 { "" } else { "s" })))
    }
}
