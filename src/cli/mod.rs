//! The operator's command line: an HTTPS client of the edge's management
//! API (docs/api.md). It needs no wrangler, no Cloudflare login and no
//! pepper, works from any directory, and never stores a key; the one
//! exception, `key mint --emit json`, makes a key offline for pipelines
//! that write KV themselves.

mod api;
mod confirm;
mod delete;
mod dev_vars;
mod doctor;
mod edge;
mod fail;
mod http;
mod list;
mod mint;
mod offline;
mod output;
mod page;
mod parse;
mod probe;
mod problem;
mod revoke;
mod rotate;
mod token;
mod update;
mod usage;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "provgate",
    version,
    about = "Operate provgate: mint, list, update, rotate, revoke and delete SCIM provisioning keys, manage API tokens, check a deployed edge",
    after_help = concat!(
        "Every command but `key mint --emit json` calls the edge's management API (docs/api.md).\n\n",
        crate::api_env_help!(),
        "\n\nExit codes: 0 done; 1 the operation failed (one line on stderr says why; nothing half-written that works); 2 bad command line or environment (nothing was sent)."
    )
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Manage provisioning keys (the IdPs' credentials).
    #[command(subcommand)]
    Key(KeyCommand),
    /// Manage management tokens (the API's credentials).
    #[command(subcommand)]
    Token(token::TokenCommand),
    /// Check a deployed edge from the outside: discovery, HTTPS, doctor page, a key, the origin's trust.
    Doctor(doctor::DoctorArgs),
}

#[derive(Subcommand)]
enum KeyCommand {
    /// Mint a new key: prints its id and the key (once); --emit json makes one offline.
    Mint(mint::MintArgs),
    /// List keys: id, status, tenant, expiry, last use, label. Never a key or a hash.
    List(list::ListArgs),
    /// Show one key by id: its record, status, last use and ETag.
    Show(list::ShowArgs),
    /// Change a key's label, scopes, expiry, allowlist, limits or metadata (never the key or tenant).
    Update(update::UpdateArgs),
    /// Replace a key by a new one with the same rights; the old one keeps working for --grace.
    Rotate(rotate::RotateArgs),
    /// Revoke a key by id: refused everywhere at once.
    Revoke(revoke::RevokeArgs),
    /// Delete a revoked or expired key's entries for good.
    Delete(delete::DeleteArgs),
    /// When and from where a key was used and how its requests ended; --stale lists unused keys.
    Usage(usage::UsageArgs),
}

/// Runs the CLI; failures print one line and exit 1 (operation) or 2 (command line).
pub fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Key(KeyCommand::Mint(args)) => mint::run(args),
        Command::Key(KeyCommand::List(args)) => list::list(args),
        Command::Key(KeyCommand::Show(args)) => list::show(args),
        Command::Key(KeyCommand::Update(args)) => update::run(args),
        Command::Key(KeyCommand::Rotate(args)) => rotate::run(args),
        Command::Key(KeyCommand::Revoke(args)) => revoke::run(args),
        Command::Key(KeyCommand::Delete(args)) => delete::run(args),
        Command::Key(KeyCommand::Usage(args)) => usage::run(args),
        Command::Token(command) => token::run(command),
        Command::Doctor(args) => doctor::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(fail) => {
            eprintln!("provgate: {fail}");
            ExitCode::from(fail.code())
        }
    }
}
