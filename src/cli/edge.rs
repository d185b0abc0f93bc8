//! Which edge a command talks to and with which credential.
//!
//! The edge comes from `--edge URL`, else `PROVGATE_EDGE_URL`; the token
//! from `PROVGATE_TOKEN` only (a flag would land in shell history and
//! process lists). `--local` is the dev edge of `make dev`,
//! http://127.0.0.1:8787, with the `ROOT_TOKEN` of its `.dev.vars`; no other
//! edge ever gets a token from `.dev.vars`.

use super::fail::{usage, Fail};
use super::{dev_vars, parse};
use clap::Args;
use url::Url;

/// `--help` text naming what an API command reads from the environment
/// (a macro, so commands can `concat!` their own lines to it).
#[macro_export]
#[doc(hidden)]
macro_rules! api_env_help {
    () => {
        "Environment:
  PROVGATE_EDGE_URL    the edge, e.g. https://scim.example.com (unless --edge or --local)
  PROVGATE_TOKEN       a management token (pvm_…) or the root token: the environment only, never a flag
  PROVGATE_DEV_VARS    with --local: the file holding the dev ROOT_TOKEN (default ./.dev.vars)
  PROVGATE_LOCAL_PORT  with --local: the dev edge's port on 127.0.0.1 (default 8787)"
    };
}

/// The dev edge's default port (`make dev`).
pub const DEV_PORT: u16 = 8787;

/// `--edge URL` / `--local`.
#[derive(Args, Debug, Clone, Default)]
pub struct EdgeArgs {
    /// The edge's base URL, e.g. https://scim.example.com (default: $PROVGATE_EDGE_URL).
    #[arg(long, value_name = "URL", value_parser = parse::edge_url, conflicts_with = "local")]
    pub edge: Option<Url>,
    /// The dev edge of `make dev` (http://127.0.0.1:8787) with the ROOT_TOKEN of its .dev.vars.
    #[arg(long)]
    pub local: bool,
}

/// A management credential. Neither `Debug` nor `Display`: it cannot end
/// up in a message by accident.
pub struct Token(String);

impl Token {
    /// The `Authorization` header's value.
    pub fn bearer(&self) -> String {
        format!("Bearer {}", self.0)
    }
}

impl EdgeArgs {
    /// The edge's base URL.
    pub fn url(&self) -> Result<Url, Fail> {
        if self.local {
            return local_url();
        }
        if let Some(url) = &self.edge {
            return Ok(url.clone());
        }
        match std::env::var("PROVGATE_EDGE_URL") {
            Ok(text) if !text.trim().is_empty() => parse::edge_url(&text).map_err(|e| usage(format!("PROVGATE_EDGE_URL: {e}"))),
            _ => Err(usage("which edge? pass --edge https://<your edge>, set PROVGATE_EDGE_URL, or --local for the dev edge")),
        }
    }

    /// The credential for this edge: `.dev.vars`' ROOT_TOKEN with `--local`,
    /// else `PROVGATE_TOKEN`; `None` when there is none.
    pub fn token(&self) -> Result<Option<Token>, Fail> {
        if self.local {
            return dev_vars::load("ROOT_TOKEN").map(|t| Some(Token(t))).map_err(usage);
        }
        Ok(std::env::var("PROVGATE_TOKEN").ok().filter(|t| !t.trim().is_empty()).map(|t| Token(t.trim().to_owned())))
    }

    /// The credential, required.
    pub fn required_token(&self) -> Result<Token, Fail> {
        self.token()?.ok_or_else(|| usage("no token: export PROVGATE_TOKEN (a management token, or the root token to mint one); it is read from the environment only"))
    }
}

fn local_url() -> Result<Url, Fail> {
    let port = match std::env::var("PROVGATE_LOCAL_PORT") {
        Ok(text) if !text.is_empty() => text.parse::<u16>().ok().filter(|p| *p != 0).ok_or_else(|| usage("PROVGATE_LOCAL_PORT: expected a port number"))?,
        _ => DEV_PORT,
    };
    Ok(Url::parse(&format!("http://127.0.0.1:{port}/")).expect("a loopback URL parses"))
}
