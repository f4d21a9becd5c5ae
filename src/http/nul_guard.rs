//! Refuses text that PostgreSQL cannot store (the NUL character) before any handler sees
//! it, for every route at once: in the path, the query, and JSON or form bodies. SQLite
//! would store it, PostgreSQL answers an error, so without this the same request was a
//! 400 on one backend and a 500 on the other.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;

use super::MAX_BODY_BYTES;
use super::error::plain;

pub async fn refuse_nul(req: Request, next: Next) -> Response {
    let uri = req.uri();
    if percent_nul(uri.path().as_bytes()) || uri.query().is_some_and(|q| percent_nul(q.as_bytes())) {
        return refused();
    }
    let kind = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(body_kind);
    let Some(kind @ (BodyKind::Json | BodyKind::Form)) = kind else {
        return next.run(req).await;
    };
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(bytes) => bytes,
        Err(_) => return plain(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "the request body is too large"),
    };
    let nul = match kind {
        BodyKind::Json => json_nul(&bytes),
        _ => percent_nul(&bytes),
    };
    if nul {
        return refused();
    }
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}

fn refused() -> Response {
    plain(StatusCode::BAD_REQUEST, "invalid_request", "text may not contain the NUL character (U+0000)")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyKind {
    Json,
    Form,
    Other,
}

fn body_kind(content_type: &str) -> BodyKind {
    let essence = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    if essence == "application/x-www-form-urlencoded" {
        BodyKind::Form
    } else if essence == "application/json" || essence.ends_with("+json") {
        BodyKind::Json
    } else {
        BodyKind::Other
    }
}

/// A raw NUL, or `%00`, in URL-encoded text.
fn percent_nul(text: &[u8]) -> bool {
    text.contains(&0) || text.windows(3).any(|w| w == b"%00")
}

/// A raw NUL, or the escape `\u0000` (any case), in JSON text. Escapes are read in
/// order, so an escaped backslash followed by `u0000` is text, not a NUL.
fn json_nul(text: &[u8]) -> bool {
    let mut i = 0;
    while i < text.len() {
        match text[i] {
            0 => return true,
            b'\\' => {
                if text.get(i + 1) == Some(&b'u') && text.get(i + 2..i + 6) == Some(b"0000".as_slice()) {
                    return true;
                }
                i += 2;
            }
            _ => i += 1,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_escapes_are_read_in_order() {
        assert!(json_nul(br#"{"email":"a\u0000@b"}"#));
        assert!(json_nul(b"{\"email\":\"a\0\"}"));
        assert!(!json_nul(br#"{"email":"a\\u0000"}"#), "an escaped backslash, then text");
        assert!(json_nul(br#"{"email":"a\\\u0000"}"#));
        assert!(!json_nul(br#"{"email":"a\u00e9"}"#));
    }

    #[test]
    fn url_encoded_nul_is_found() {
        assert!(percent_nul(b"email=a%00b"));
        assert!(!percent_nul(b"email=a%2500b"), "an encoded percent sign, then text");
        assert!(!percent_nul(b"/api/v1/me/sessions/abc"));
    }

    #[test]
    fn content_types_are_matched_by_essence() {
        assert_eq!(body_kind("application/json; charset=utf-8"), BodyKind::Json);
        assert_eq!(body_kind("application/merge-patch+json"), BodyKind::Json);
        assert_eq!(body_kind("application/x-www-form-urlencoded"), BodyKind::Form);
        assert_eq!(body_kind("text/plain"), BodyKind::Other);
    }
}
