//! Writing the audit line. Workers Logs / `wrangler tail` / Logpush pick up
//! `console.log`; one JSON object per line keeps it machine-readable.

use crate::core::audit::{AuditRecord, NewSourceLine};

/// Denials caused by the edge's own setup (not by the caller) go out at
/// error level, so alerting on errors finds them.
pub fn emit(record: &AuditRecord) {
    const OPERATOR_FAULTS: &[&str] =
        &["origin_rejected_edge", "misconfigured", "record_malformed", "key_store_unavailable", "limiter_unavailable", "api_store_unavailable", "api_summary_not_written"];
    if OPERATOR_FAULTS.contains(&record.reason) {
        worker::console_error!("{}", record.to_json());
    } else {
        worker::console_log!("{}", record.to_json());
    }
}

/// A key used from a new address or country: a warning, so it can be
/// alerted on apart from the audit stream.
pub fn new_source(line: &NewSourceLine<'_>) {
    worker::console_warn!("{}", line.to_json());
}
