//! The raw Argon2id rate of this machine with Latchkey's parameters, for comparing the
//! login benchmark against: `cargo run --release --example argon2_rate [SECONDS]`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};

fn main() {
    let seconds: u64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(5);
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(19 * 1024, 2, 1, None).unwrap());
    let phc = argon.hash_password(b"Correct-Horse-Battery-9").unwrap().to_string();
    let threads = std::thread::available_parallelism().map_or(2, usize::from);
    for n in [1, threads] {
        let done = AtomicU64::new(0);
        let start = Instant::now();
        std::thread::scope(|s| {
            for _ in 0..n {
                s.spawn(|| {
                    let parsed = PasswordHash::new(&phc).unwrap();
                    while start.elapsed() < Duration::from_secs(seconds) {
                        argon.verify_password(b"Correct-Horse-Battery-9", &parsed).unwrap();
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                });
            }
        });
        let rate = done.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64();
        println!("argon2id m=19MiB t=2 p=1: {rate:.1} verifications/s on {n} thread(s)");
    }
}
