//! The breached-password filter at scale: N generated SHA-1 hashes (default 100 million)
//! through the import's line parser and the filter the server checks against. Prints the
//! parse rate, build time, size per hash, check time (SHA-1 of a password and a lookup),
//! and the share of good passwords refused.
//!
//!   cargo run --release --example breached_bench [N]
#![allow(clippy::expect_used, clippy::cast_precision_loss)]

use std::time::Instant;

use latchkey::domain::breached::{BreachedFilter, key_of_line};
use latchkey::domain::password::Password;

fn main() {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(100_000_000);
    // A splitmix64 stream stands in for SHA-1 output: uniform 64-bit prefixes.
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };

    // The parser's rate, on a million lines in the published format.
    let sample: Vec<String> =
        (0..1_000_000).map(|i| format!("{:016X}{:016X}{:08X}:{}\r", next(), next(), 7u32, i)).collect();
    let started = Instant::now();
    let parsed = sample.iter().filter_map(|l| key_of_line(l)).count();
    let per_line = started.elapsed().as_secs_f64() / parsed as f64;
    println!("parse: {:.0} lines/s ({:.1} s for {n} lines)", 1.0 / per_line, per_line * n as f64);

    let keys: Vec<u64> = (0..n).map(|_| next()).collect();
    let started = Instant::now();
    let filter = BreachedFilter::build(keys).expect("build");
    let build = started.elapsed();
    let size = filter.size();
    println!(
        "build: {n} hashes in {:.1} s; {} bytes = {:.2} bits a hash ({:.2} GB a billion)",
        build.as_secs_f64(),
        size,
        size as f64 * 8.0 / n as f64,
        size as f64 / n as f64 * 1e9 / 1e9
    );
    let round_trip = BreachedFilter::from_parts(&filter.to_parts()).expect("parts");
    let passwords: Vec<Password> = (0..1_000_000).map(|i| Password::new(format!("good-password-{i}"))).collect();
    let started = Instant::now();
    let refused = passwords.iter().filter(|p| round_trip.contains(p)).count();
    let check = started.elapsed().as_secs_f64() / passwords.len() as f64;
    println!("check: {:.2} µs each (SHA-1 and lookup)", check * 1e6);
    println!(
        "false positives: {refused} of {} good passwords (1 in {:.0})",
        passwords.len(),
        passwords.len() as f64 / refused.max(1) as f64
    );
}
