//! Writing the audit line. Workers Logs / `wrangler tail` / Logpush pick up
//! `console.log`; one JSON object per line keeps it machine-readable.

use crate::core::audit::AuditRecord;

pub fn emit(record: &AuditRecord) {
    worker::console_log!("{}", record.to_json());
}
