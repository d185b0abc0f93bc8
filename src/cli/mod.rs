//! The operator's command line. It mints keys and writes their records
//! through `wrangler`, so it uses the operator's own Cloudflare login and
//! the same KV store the Worker reads; it never stores a key.

mod mint;
mod pepper;
mod wrangler;

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "provgate", version, about = "Operate provgate: mint SCIM provisioning keys")]
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
}

/// Where a record goes.
#[derive(Args, Debug, Clone)]
#[group(required = true, multiple = false)]
pub struct Target {
    /// Write to the local dev KV (what `make dev` serves).
    #[arg(long)]
    local: bool,
    /// Write to the deployed KV namespace (needs `wrangler login`).
    #[arg(long)]
    remote: bool,
    /// Print the KV entry instead of writing it, for other pipelines.
    #[arg(long, value_enum)]
    emit: Option<Emit>,
}

/// Output formats of `--emit`.
#[derive(ValueEnum, Debug, Clone, Copy)]
pub enum Emit {
    /// A `wrangler kv bulk put` array.
    Json,
}

/// Runs the CLI and maps failures to exit code 1 with a one-line message.
pub fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Key(KeyCommand::Mint(args)) => mint::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("provgate: {message}");
            ExitCode::FAILURE
        }
    }
}
