//! Runs one step of the edge's decision `n` times, so that callgrind can
//! count its instructions: unlike time on a shared machine, the count does
//! not move between runs. bench/instructions.sh runs it for every step.
//!
//!   decision_instructions <floor|cached|miss|token|token_json|decode|classify> <n>
use std::hint::black_box;

#[path = "../benches/common/mod.rs"]
mod common;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (step, n) = match args.as_slice() {
        [_, step, n] => (step.as_str(), n.parse::<u64>().expect("a count")),
        _ => panic!("usage: decision_instructions <floor|cached|miss|token|token_json|decode|classify> <n>"),
    };
    let f = common::Fixture::new();
    for _ in 0..n {
        match step {
            "floor" => drop(black_box(f.floor())),
            "cached" => drop(black_box(f.cached())),
            "miss" => drop(black_box(f.miss())),
            "token" => drop(black_box(f.token())),
            "token_json" => drop(black_box(f.token_json())),
            "decode" => drop(black_box(f.decode())),
            "classify" => drop(black_box(f.classify())),
            other => panic!("unknown step {other}"),
        }
    }
}
