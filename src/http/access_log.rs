//! One line per request: method, path (never the query, which can carry a provider's
//! code), status, latency and a request id, sent back as `X-Request-Id` on every logged
//! answer (and whenever the caller sent one).
//! Failures are logged at `warn`, refusals at `info`, the rest at `debug`, so a busy
//! server's default log holds what someone needs to look at.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue, Method, Uri};
use axum::response::Response;
use tracing::Level;

const HEADER: &str = "x-request-id";

/// The caller's own request id, when it may be kept (see `acceptable`).
pub fn given_id(headers: &HeaderMap) -> Option<HeaderValue> {
    headers.get(HEADER).filter(|v| v.to_str().is_ok_and(acceptable)).cloned()
}

/// Writes the request's line, if its level is on, and sends the id back with it. Called
/// by `metrics::track`, which already times every request: one layer, not two, on the
/// hot path, which pays no allocation for a line it does not write.
pub fn finish(response: &mut Response, method: &Method, uri: &Uri, given: Option<HeaderValue>, latency: Duration) {
    let status = response.status().as_u16();
    let logged = match status {
        500.. => tracing::enabled!(Level::WARN),
        400..=499 => tracing::enabled!(Level::INFO),
        _ => tracing::enabled!(Level::DEBUG),
    };
    if !logged {
        if let Some(id) = given {
            response.headers_mut().insert(HEADER, id);
        }
        return;
    }
    let id = given.and_then(|v| v.to_str().ok().map(str::to_owned)).unwrap_or_else(next_id);
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(HEADER, value);
    }
    let (path, latency_ms) = (uri.path(), latency.as_secs_f64() * 1000.0);
    match status {
        500.. => tracing::warn!(%method, path, status, latency_ms, request_id = %id, "request failed"),
        400..=499 => tracing::info!(%method, path, status, latency_ms, request_id = %id, "request refused"),
        _ => tracing::debug!(%method, path, status, latency_ms, request_id = %id, "request"),
    }
}

/// A caller's (or a proxy's) id is kept when it is short and plain, so lines can be
/// matched across hops; anything else could forge log lines and is replaced.
fn acceptable(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
}

/// A random prefix per process and a counter: unique across instances, cheap per request.
fn next_id() -> String {
    static PREFIX: OnceLock<String> = OnceLock::new();
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let prefix = PREFIX.get_or_init(|| uuid::Uuid::new_v4().simple().to_string()[..12].to_owned());
    format!("{prefix}-{}", COUNTER.fetch_add(1, Ordering::Relaxed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_short_ids_are_kept_and_others_replaced() {
        assert!(acceptable("4bf92f3577b34da6-a3ce929d0e0e4736"));
        assert!(!acceptable(""));
        assert!(!acceptable(&"a".repeat(65)));
        assert!(!acceptable("abc\ninjected line"));
        assert!(!acceptable("a b"));
        let (a, b) = (next_id(), next_id());
        assert_ne!(a, b);
        assert!(acceptable(&a), "{a}");
    }
}
