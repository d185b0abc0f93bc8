//! The API's I/O as data: a call is a plain function that asks for each KV
//! read or write, guard call, random bytes or failed-attempt charge through
//! a [`Replay`]. The first time it asks for a step, it stops with
//! [`Stop::Need`]; the edge performs that one step, records the answer and
//! runs the call again from the start, and this time the step answers from
//! the record. Calls are deterministic given their answers (time and
//! randomness are inputs too), so each run retraces the previous one and
//! gets one step further.
//!
//! This keeps every decision of a call in pure, natively tested code, and
//! the edge's part to one small loop (async code in wasm costs far more
//! than this: each await point of each handler would be compiled apart).

use super::problem::{Kind, Problem};
use serde_json::Value;

/// One I/O step.
#[derive(Debug, Clone, PartialEq)]
pub enum Io {
    /// Read a KV entry's value.
    Get(String),
    /// Read a KV entry's value and metadata.
    GetMeta(String),
    /// Write a KV entry: name, value, metadata.
    Put(String, String, Option<Value>),
    /// Delete a KV entry.
    Delete(String),
    /// One page of a KV listing: prefix, limit, cursor.
    List(String, u64, Option<String>),
    /// Call the guard (Durable Object) named so: name, path, JSON body.
    Guard(String, &'static str, String),
    /// Random bytes.
    Random(usize),
    /// Count a failed attempt for the caller's address.
    Failure,
}

/// One KV list page: names with their metadata, and the cursor to the next
/// (`None` when the listing is complete).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Page {
    /// Names and metadata.
    pub keys: Vec<(String, Option<Value>)>,
    /// KV's cursor, while more follow.
    pub cursor: Option<String>,
}

/// A step's answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// A value (`None`: absent), or a guard's answer.
    Text(Option<String>),
    /// A value and its metadata.
    Meta(Option<String>, Option<Value>),
    /// A write or delete happened.
    Done,
    /// A list page.
    Page(Page),
    /// Random bytes.
    Bytes(Vec<u8>),
    /// A failed attempt was counted: `Some(retry after)` when the caller is
    /// now over the limit.
    Throttled(Option<u64>),
}

/// Why a call stopped before answering.
#[derive(Debug, Clone, PartialEq)]
pub enum Stop {
    /// It needs this step performed, then to run again.
    Need(Io),
    /// It failed with this problem.
    Fail(Problem),
}

impl From<Problem> for Stop {
    fn from(p: Problem) -> Self {
        Stop::Fail(p)
    }
}

impl From<Kind> for Stop {
    fn from(k: Kind) -> Self {
        Stop::Fail(k.into())
    }
}

/// The record of a call's steps and their answers.
#[derive(Debug, Default)]
pub struct Replay {
    log: Vec<Result<Answer, Problem>>,
    at: usize,
}

/// Steps one call may take at most: a defect that kept asking would
/// otherwise never end.
pub const MAX_STEPS: usize = 64;

impl Replay {
    /// Starts a run from the beginning of the record.
    pub fn restart(&mut self) {
        self.at = 0;
    }

    /// Records the answer of the step the last run needed.
    pub fn record(&mut self, answer: Result<Answer, Problem>) {
        self.log.push(answer);
    }

    /// Steps recorded so far.
    pub fn steps(&self) -> usize {
        self.log.len()
    }

    /// The answer of the next step, or `Stop::Need(io)`. A failed step is
    /// its problem, which the call may handle.
    pub fn ask(&mut self, io: Io) -> Result<Answer, Stop> {
        match self.log.get(self.at) {
            Some(answer) => {
                self.at += 1;
                answer.clone().map_err(Stop::Fail)
            }
            None if self.log.len() >= MAX_STEPS => Err(Stop::Fail(Problem::new(Kind::StoreUnavailable, "too many steps"))),
            None => Err(Stop::Need(io)),
        }
    }

    /// A KV value.
    pub fn get(&mut self, name: impl Into<String>) -> Result<Option<String>, Stop> {
        match self.ask(Io::Get(name.into()))? {
            Answer::Text(t) => Ok(t),
            _ => Err(mismatch()),
        }
    }

    /// A KV value and its metadata (`null` metadata is none).
    pub fn get_meta(&mut self, name: impl Into<String>) -> Result<(Option<String>, Option<Value>), Stop> {
        match self.ask(Io::GetMeta(name.into()))? {
            Answer::Meta(v, m) => Ok((v, m.filter(|m| !m.is_null()))),
            _ => Err(mismatch()),
        }
    }

    /// Writes a KV entry.
    pub fn put(&mut self, name: impl Into<String>, value: impl Into<String>, metadata: Option<Value>) -> Result<(), Stop> {
        self.done(Io::Put(name.into(), value.into(), metadata))
    }

    /// Deletes a KV entry.
    pub fn delete(&mut self, name: impl Into<String>) -> Result<(), Stop> {
        self.done(Io::Delete(name.into()))
    }

    fn done(&mut self, io: Io) -> Result<(), Stop> {
        match self.ask(io)? {
            Answer::Done => Ok(()),
            _ => Err(mismatch()),
        }
    }

    /// One list page.
    pub fn list(&mut self, prefix: &str, limit: u64, cursor: Option<String>) -> Result<Page, Stop> {
        match self.ask(Io::List(prefix.into(), limit, cursor))? {
            Answer::Page(p) => Ok(p),
            _ => Err(mismatch()),
        }
    }

    /// A guard's answer, parsed.
    pub fn guard<T: serde::de::DeserializeOwned>(&mut self, name: &str, path: &'static str, body: String) -> Result<T, Stop> {
        match self.ask(Io::Guard(name.into(), path, body))? {
            Answer::Text(Some(t)) => serde_json::from_str(&t).map_err(|_| mismatch()),
            _ => Err(mismatch()),
        }
    }

    /// Random bytes.
    pub fn random(&mut self, len: usize) -> Result<Vec<u8>, Stop> {
        match self.ask(Io::Random(len))? {
            Answer::Bytes(b) if b.len() == len => Ok(b),
            _ => Err(mismatch()),
        }
    }

    /// A source of random bytes for the key and id generators, drawn once
    /// per run (so replays regenerate the same key): the runtime's bytes,
    /// then (rejection sampling rarely gets there) a SHA-256 chain of them.
    pub fn rng(&mut self) -> Result<impl FnMut(&mut [u8]), Stop> {
        use sha2::Digest;
        let mut pool = self.random(256)?;
        let mut at = 0;
        Ok(move |buf: &mut [u8]| {
            for b in buf {
                if at == pool.len() {
                    pool = sha2::Sha256::digest(&pool).to_vec();
                    at = 0;
                }
                *b = pool[at];
                at += 1;
            }
        })
    }

    /// Counts a failed attempt; `Some(seconds)` when the caller is over the limit.
    pub fn failure(&mut self) -> Result<Option<u64>, Stop> {
        match self.ask(Io::Failure)? {
            Answer::Throttled(t) => Ok(t),
            _ => Err(mismatch()),
        }
    }
}

fn mismatch() -> Stop {
    Stop::Fail(Problem::new(Kind::StoreUnavailable, "a step answered something unexpected"))
}

/// Runs `call` against answers from `perform` until it answers: how the
/// edge drives a call (asynchronously), and how tests do (synchronously).
pub fn run<T>(mut call: impl FnMut(&mut Replay) -> Result<T, Stop>, mut perform: impl FnMut(Io) -> Result<Answer, Problem>) -> Result<T, Problem> {
    let mut replay = Replay::default();
    loop {
        replay.restart();
        match call(&mut replay) {
            Ok(v) => return Ok(v),
            Err(Stop::Fail(p)) => return Err(p),
            Err(Stop::Need(io)) => replay.record(perform(io)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_retrace_and_advance() {
        let mut performed = Vec::new();
        let result = run(
            |io| {
                let a = io.get("a")?;
                let b = io.get(format!("b{}", a.clone().unwrap_or_default()))?;
                io.put("c", "v", None)?;
                Ok((a, b))
            },
            |step| {
                performed.push(step.clone());
                Ok(match step {
                    Io::Get(n) if n == "a" => Answer::Text(Some("1".into())),
                    Io::Get(_) => Answer::Text(None),
                    _ => Answer::Done,
                })
            },
        );
        assert_eq!(result, Ok((Some("1".into()), None)));
        assert_eq!(performed, vec![Io::Get("a".into()), Io::Get("b1".into()), Io::Put("c".into(), "v".into(), None)]);
    }

    #[test]
    fn failed_steps_are_the_calls_to_handle_and_runs_are_bounded() {
        let handled = run(
            |io| match io.put("x", "v", None) {
                Err(Stop::Fail(p)) => {
                    io.delete("y")?;
                    Ok(p.kind)
                }
                other => other.map(|()| Kind::NotFound),
            },
            |step| match step {
                Io::Put(..) => Err(Kind::StoreUnavailable.into()),
                _ => Ok(Answer::Done),
            },
        );
        assert_eq!(handled, Ok(Kind::StoreUnavailable));
        let endless: Result<(), Problem> = run(|io| loop { io.get("again")?; }, |_| Ok(Answer::Text(None)));
        assert_eq!(endless.unwrap_err().kind, Kind::StoreUnavailable);
        let wrong = run(|io| io.get("a"), |_| Ok(Answer::Done));
        assert_eq!(wrong.unwrap_err().kind, Kind::StoreUnavailable);
    }

    #[test]
    fn randomness_is_the_same_on_every_run() {
        let mut keys = Vec::new();
        let _ = run(
            |io| {
                let mut rng = io.rng()?;
                let mut k = [0u8; 8];
                rng(&mut k);
                keys.push(k);
                io.get("step")?;
                Ok(())
            },
            |step| Ok(match step {
                Io::Random(n) => Answer::Bytes((0..n).map(|i| (i * 7) as u8).collect()),
                _ => Answer::Text(None),
            }),
        );
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[0], keys[1]);
    }
}
