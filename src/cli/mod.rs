//! The operator's command line. It mints and revokes keys and writes their
//! records through `wrangler`, so it uses the operator's own Cloudflare
//! login and the same KV store the Worker reads; it never stores a key.

mod edge;
mod keys;
mod list;
mod mint;
mod revoke;
mod rotate;
mod secrets;
mod usage;
mod wrangler;

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::process::ExitCode;
use wrangler::Store;

#[derive(Parser)]
#[command(
    name = "provgate",
    version,
    about = "Operate provgate: mint, list, rotate, revoke SCIM provisioning keys and see their usage",
    after_help = "Exit codes: 0 done; 1 the operation failed (message on stderr, nothing half-written that works); 2 bad command line."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Manage provisioning keys.
    #[command(subcommand)]
    Key(KeyCommand),
}

#[derive(Subcommand)]
enum KeyCommand {
    /// Mint a new key: prints its id and the key (once) and stores its record.
    Mint(mint::MintArgs),
    /// List keys: id, status, tenant, scopes, pepper, expiry, limits, label. Never a key or a hash.
    List(list::ListArgs),
    /// Show one key by id.
    Show(list::ShowArgs),
    /// Replace a key by a new one with the same rights; the old one keeps working for --grace.
    Rotate(rotate::RotateArgs),
    /// Revoke a key by id: the edge refuses it at once, and its record says so.
    Revoke(revoke::RevokeArgs),
    /// When and from where a key was used and how its requests ended; --stale lists unused keys.
    Usage(usage::UsageArgs),
}

/// Which KV store to use.
#[derive(Args, Debug, Clone)]
#[group(required = true, multiple = false)]
pub struct Where {
    /// The local dev KV (what `make dev` serves).
    #[arg(long)]
    local: bool,
    /// The deployed KV namespace (needs `wrangler login`).
    #[arg(long)]
    remote: bool,
}

/// Where a minted record goes.
#[derive(Args, Debug, Clone)]
#[group(required = true, multiple = false)]
pub struct Target {
    /// Write to the local dev KV (what `make dev` serves).
    #[arg(long)]
    local: bool,
    /// Write to the deployed KV namespace (needs `wrangler login`).
    #[arg(long)]
    remote: bool,
    /// Print the KV entries instead of writing them, for other pipelines.
    #[arg(long, value_enum)]
    emit: Option<Emit>,
}

/// Output formats of `--emit`.
#[derive(ValueEnum, Debug, Clone, Copy)]
pub enum Emit {
    /// A `wrangler kv bulk put` array.
    Json,
}

/// `--persist-to`: the local store's directory, when not `.wrangler/state`.
#[derive(Args, Debug, Clone, Default)]
pub struct Local {
    /// Directory of the local KV store (wrangler's --persist-to).
    #[arg(long)]
    persist_to: Option<String>,
}

fn store(remote: bool, local: &Local) -> Store {
    Store { remote, persist_to: local.persist_to.clone() }
}

/// Runs the CLI and maps failures to exit code 1 with a one-line message.
pub fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Key(KeyCommand::Mint(args)) => mint::run(args),
        Command::Key(KeyCommand::Revoke(args)) => revoke::run(args),
        Command::Key(KeyCommand::Rotate(args)) => rotate::run(args),
        Command::Key(KeyCommand::List(args)) => list::list(args),
        Command::Key(KeyCommand::Show(args)) => list::show(args),
        Command::Key(KeyCommand::Usage(args)) => usage::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("provgate: {message}");
            ExitCode::FAILURE
        }
    }
}
