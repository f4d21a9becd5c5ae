//! One line per request: method, path (never the query, which can carry a provider's
//! code), status, latency and a request id that is also sent back as `X-Request-Id`.
//! Failures are logged at `warn`, refusals at `info`, the rest at `debug`, so a busy
//! server's default log holds what someone needs to look at.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;

const HEADER: &str = "x-request-id";

pub async fn log(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let id = request
        .headers()
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| acceptable(v))
        .map_or_else(next_id, str::to_owned);
    let mut response = next.run(request).await;
    let status = response.status().as_u16();
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(HEADER, value);
    }
    match status {
        500.. => tracing::warn!(%method, %path, status, latency_ms, request_id = %id, "request failed"),
        400..=499 => tracing::info!(%method, %path, status, latency_ms, request_id = %id, "request refused"),
        _ => tracing::debug!(%method, %path, status, latency_ms, request_id = %id, "request"),
    }
    response
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
