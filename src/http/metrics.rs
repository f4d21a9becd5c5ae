//! Counting and timing every HTTP request into the server's metrics (`crate::metrics`),
//! and its line in the access log (`access_log`).

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::state::AppState;

/// Counts and times every request by its route template (never the raw path, whose ids
/// would make unbounded label sets).
pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    // An unmatched path is `other`, as is an unknown method: an unauthenticated client
    // must not be able to mint label sets (memory) at will.
    let route = req.extensions().get::<MatchedPath>().map_or("other", |p| p.as_str()).to_owned();
    let (http_method, uri) = (req.method().clone(), req.uri().clone());
    let given_id = super::access_log::given_id(req.headers());
    let method = method_label(&http_method);
    let started = Instant::now();
    let mut response = next.run(req).await;
    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    state.metrics.request(method, route, status, elapsed);
    super::access_log::finish(&mut response, &http_method, &uri, given_id, elapsed);
    response
}

/// The standard methods by name; anything else a client makes up is `other`.
fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_up_methods_share_one_label() {
        assert_eq!(method_label(&axum::http::Method::GET), "GET");
        let odd = axum::http::Method::from_bytes(b"BREW").unwrap();
        assert_eq!(method_label(&odd), "other");
    }
}
