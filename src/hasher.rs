//! Argon2id on a few dedicated threads.
//!
//! Each hash takes 19 MiB and tens of milliseconds of one core. One worker thread per
//! core runs them, so memory stays at workers × 19 MiB (each thread's allocator keeps
//! its block warm instead of tokio's blocking pool growing threads, each holding one)
//! and a flood of sign-ins queues, and past a wait is answered 503, instead of
//! exhausting memory or starving the async workers.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use std::cell::RefCell;

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use subtle::ConstantTimeEq;
use tokio::sync::Semaphore;

use crate::domain::password::Password;
use crate::error::{Error, Result};

/// OWASP's Argon2id baseline: 19 MiB, 2 passes, 1 lane.
const MEMORY_KIB: u32 = 19 * 1024;
const PASSES: u32 = 2;
const LANES: u32 = 1;
/// How long a request may queue for a hashing slot before it is turned away.
const MAX_WAIT: Duration = Duration::from_secs(10);

type Job = Box<dyn FnOnce() + Send>;

#[derive(Clone)]
pub struct Hasher {
    permits: Arc<Semaphore>,
    jobs: SyncSender<Job>,
    /// Verified against when the email is unknown, so both failures cost the same.
    dummy_hash: Arc<str>,
    /// [`MAX_WAIT`]; shorter in tests. Past it the request is answered 503 `overloaded`.
    max_wait: Duration,
    /// Argon2 computations run so far: what tests count instead of timing them.
    computations: Arc<AtomicU64>,
}

/// Backup codes are random (about 50 bits), not chosen by people: a lighter Argon2id still
/// puts an offline search of one code at 2^49 evaluations (ASVS 6.5.2 asks for a salted
/// slow hash), and ten of them are made at once when 2FA is turned on.
const CODE_MEMORY_KIB: u32 = 4 * 1024;
const CODE_PASSES: u32 = 1;

fn params() -> Result<Params> {
    argon2_params(MEMORY_KIB, PASSES)
}

fn argon2_params(memory_kib: u32, passes: u32) -> Result<Params> {
    Params::new(memory_kib, passes, LANES, None).map_err(|e| Error::internal(anyhow::anyhow!("argon2 params: {e}")))
}

thread_local! {
    /// This worker's Argon2 memory, kept from one hash to the next. Letting argon2
    /// allocate 19 MiB per hash made glibc keep several such blocks per thread (RSS grew
    /// to 250 MiB under a sign-in load), and returning them to the kernel each time
    /// costs a third of the throughput in page faults.
    static MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Runs argon2 over this thread's reusable memory.
fn argon2_into(argon: &Argon2<'_>, params: &Params, password: &[u8], salt: &[u8], out: &mut [u8]) -> bool {
    MEMORY.with_borrow_mut(|memory| {
        let blocks = params.block_count();
        if memory.len() < blocks {
            memory.resize(blocks, Block::default());
        }
        argon.hash_password_into_with_memory(password, salt, out, &mut memory[..blocks]).is_ok()
    })
}

/// A PHC string (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`) for a new password.
fn hash_blocking(password: &str) -> Result<String> {
    hash_with(password, params()?)
}

fn hash_with(password: &str, params: Params) -> Result<String> {
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    let salt: [u8; 16] = crate::domain::token::random_bytes()?;
    let mut out = [0u8; 32];
    if !argon2_into(&argon, &params, password.as_bytes(), &salt, &mut out) {
        return Err(Error::internal(anyhow::anyhow!("argon2 hash failed")));
    }
    let phc = |e: argon2::password_hash::phc::Error| Error::internal(anyhow::anyhow!("PHC encoding: {e}"));
    let hash = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| Error::internal(anyhow::anyhow!("argon2 params: {e}")))?,
        salt: Some(Salt::new(&salt).map_err(phc)?),
        hash: Some(Output::new(&out).map_err(phc)?),
    };
    Ok(hash.to_string())
}

/// Checks `password` against a PHC string with the parameters the string names, as
/// argon2's own verifier does, but over this thread's reusable memory.
fn verify_blocking(password: &str, phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else { return false };
    let Ok(algorithm) = Algorithm::try_from(parsed.algorithm.as_str()) else { return false };
    let version = match parsed.version.map(Version::try_from) {
        None => Version::V0x13,
        Some(Ok(v)) => v,
        Some(Err(_)) => return false,
    };
    let Ok(params) = Params::try_from(&parsed) else { return false };
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else { return false };
    let mut out = vec![0u8; expected.len()];
    let argon = Argon2::new(algorithm, version, params.clone());
    argon2_into(&argon, &params, password.as_bytes(), salt.as_ref(), &mut out)
        && bool::from(out.ct_eq(expected.as_bytes()))
}

/// A worker: runs jobs until every `Hasher` handle is dropped.
fn work(queue: &Mutex<Receiver<Job>>) {
    loop {
        // The lock is held only while waiting for the next job, not while running it.
        let next = match queue.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        match next {
            Ok(job) => job(),
            Err(_) => return,
        }
    }
}

impl Hasher {
    pub fn new(workers: usize) -> Result<Self> {
        let workers = workers.max(1);
        let dummy = hash_blocking("latchkey dummy password, never matches anything")?;
        // The semaphore admits at most `workers` jobs, so the channel never holds more.
        let (jobs, queue) = sync_channel::<Job>(workers);
        let queue = Arc::new(Mutex::new(queue));
        for i in 0..workers {
            let queue = Arc::clone(&queue);
            std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || work(&queue))
                .map_err(Error::internal)?;
        }
        Ok(Self {
            permits: Arc::new(Semaphore::new(workers)),
            jobs,
            dummy_hash: dummy.into(),
            max_wait: MAX_WAIT,
            computations: Arc::default(),
        })
    }

    /// One slot per core: more would only make every hash slower.
    pub fn for_this_machine() -> Result<Self> {
        Self::new(std::thread::available_parallelism().map_or(2, usize::from))
    }

    async fn run<T: Send + 'static>(&self, job: impl FnOnce() -> T + Send + 'static) -> Result<T> {
        let permit = tokio::time::timeout(self.max_wait, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| Error::Overloaded)?
            .map_err(Error::internal)?;
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = done.send(job());
        });
        self.jobs.send(job).map_err(|_| Error::internal(anyhow::anyhow!("hashing workers are gone")))?;
        let out = result.await.map_err(|_| Error::internal(anyhow::anyhow!("a hashing job panicked")))?;
        drop(permit);
        Ok(out)
    }

    pub async fn hash(&self, password: &Password) -> Result<String> {
        let p = password.expose().to_owned();
        self.computations.fetch_add(1, Ordering::Relaxed);
        self.run(move || hash_blocking(&p)).await?
    }

    /// A PHC string for a backup code (lighter parameters: see `CODE_MEMORY_KIB`). Not
    /// counted in [`Self::computations`], which counts password work.
    pub async fn hash_code(&self, normalized_code: &str) -> Result<String> {
        let code = normalized_code.to_owned();
        let params = argon2_params(CODE_MEMORY_KIB, CODE_PASSES)?;
        self.run(move || hash_with(&code, params)).await?
    }

    /// Checks a backup code against its PHC string.
    pub async fn verify_code(&self, normalized_code: &str, phc: &str) -> Result<bool> {
        let (code, phc) = (normalized_code.to_owned(), phc.to_owned());
        self.run(move || verify_blocking(&code, &phc)).await
    }

    /// How many Argon2 hashes and verifications this hasher has been asked for.
    pub fn computations(&self) -> u64 {
        self.computations.load(Ordering::Relaxed)
    }

    /// Checks `password` against `phc`; with no hash (unknown email, or an account that
    /// has only ever used OAuth) it verifies against the dummy and answers false.
    pub async fn verify(&self, password: &Password, phc: Option<&str>) -> Result<bool> {
        let p = password.expose().to_owned();
        let (target, real) = match phc {
            Some(h) => (h.to_owned(), true),
            None => (self.dummy_hash.to_string(), false),
        };
        self.computations.fetch_add(1, Ordering::Relaxed);
        let ok = self.run(move || verify_blocking(&p, &target)).await?;
        Ok(ok && real)
    }

    /// Whether `password` matches any of `hashes` (password history).
    pub async fn matches_any(&self, password: &Password, hashes: &[String]) -> Result<bool> {
        for h in hashes {
            if self.verify(password, Some(h)).await? {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_only_its_own_password() {
        let h = Hasher::new(1).unwrap();
        let p = Password::new("Correct-Horse-Battery-9".into());
        let phc = h.hash(&p).await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(h.verify(&p, Some(&phc)).await.unwrap());
        assert!(!h.verify(&Password::new("wrong".into()), Some(&phc)).await.unwrap());
    }

    #[tokio::test]
    async fn a_request_that_waits_too_long_for_a_slot_is_overloaded_not_queued_forever() {
        let h = Hasher { max_wait: Duration::from_millis(50), ..Hasher::new(1).unwrap() };
        let busy = h.clone();
        // The only slot is taken by a job that holds it until told to stop.
        let (started, has_started) = tokio::sync::oneshot::channel();
        let (release, released) = std::sync::mpsc::channel::<()>();
        let holder = tokio::spawn(async move {
            busy.run(move || {
                let _ = started.send(());
                let _ = released.recv();
            })
            .await
        });
        has_started.await.unwrap();
        let p = Password::new("Correct-Horse-Battery-9".into());
        assert!(matches!(h.verify(&p, None).await, Err(Error::Overloaded)));
        release.send(()).unwrap();
        holder.await.unwrap().unwrap();
        // The slot is free again: the next one is served.
        assert!(!h.verify(&p, None).await.unwrap());
    }

    #[tokio::test]
    async fn an_unknown_account_costs_the_same_argon2_work_as_a_wrong_password() {
        let h = Hasher::new(1).unwrap();
        let fresh = h.hash(&Password::new("Correct-Horse-Battery-9".into())).await.unwrap();
        let params = |phc: &str| PasswordHash::new(phc).unwrap().params.to_string();
        assert_eq!(params(&h.dummy_hash), params(&fresh), "the dummy is hashed with today's parameters");
        let before = h.computations();
        let p = Password::new("Wrong-Password-1!".into());
        assert!(!h.verify(&p, None).await.unwrap());
        assert!(!h.verify(&p, Some(&fresh)).await.unwrap());
        assert_eq!(h.computations() - before, 2, "one verification each");
    }

    #[test]
    fn hashes_interoperate_with_argon2s_own_hasher_and_verifier() {
        use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
        let ours = hash_blocking("Correct-Horse-Battery-9").unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(Argon2::default().verify_password(b"Correct-Horse-Battery-9", &parsed).is_ok());
        assert!(Argon2::default().verify_password(b"Correct-Horse-Battery-8", &parsed).is_err());
        let theirs = Argon2::default().hash_password(b"Correct-Horse-Battery-9").unwrap().to_string();
        assert!(verify_blocking("Correct-Horse-Battery-9", &theirs));
        assert!(!verify_blocking("Correct-Horse-Battery-8", &theirs));
        assert!(!verify_blocking("Correct-Horse-Battery-9", "$argon2id$v=19$m=19456,t=2,p=1$garbage"));
        assert!(!verify_blocking("x", "not a phc string"));
    }

    #[tokio::test]
    async fn no_hash_never_verifies_even_the_dummy_password() {
        let h = Hasher::new(1).unwrap();
        let p = Password::new("latchkey dummy password, never matches anything".into());
        assert!(!h.verify(&p, None).await.unwrap());
    }
}
