//! Typed extractors: authentication, the client's address, and JSON/query/path parsing
//! that answers the contract's 400 `invalid_request` instead of axum's plain text.

use std::net::SocketAddr;

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::Response;
use serde::de::DeserializeOwned;

use crate::domain::client_ip;
use crate::domain::token::SecretToken;
use crate::error::Error;
use crate::service::{Caller, ClientContext, sessions};
use crate::state::AppState;

use super::error::plain;

pub use super::cookies::{SESSION_COOKIE, TRUSTED_COOKIE, read as cookie};

/// A JSON body; malformed JSON or a wrong field type is 400 `invalid_request`.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Self(v)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(rejection: JsonRejection) -> Response {
    match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => {
            plain(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "the request body is too large")
        }
        StatusCode::UNSUPPORTED_MEDIA_TYPE => plain(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the body as Content-Type: application/json",
        ),
        _ => plain(StatusCode::BAD_REQUEST, "invalid_request", rejection.body_text()),
    }
}

/// Query parameters; a bad one is 400 `invalid_request`.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| Self(q.0))
            .map_err(|e: QueryRejection| plain(StatusCode::BAD_REQUEST, "invalid_request", e.body_text()))
    }
}

/// Path parameters; a bad one is 400 `invalid_request`.
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| Self(p.0))
            .map_err(|e: PathRejection| plain(StatusCode::BAD_REQUEST, "invalid_request", e.body_text()))
    }
}

/// Where the request came from: the TCP peer, or `X-Forwarded-For` behind a trusted proxy.
pub struct Client(pub ClientContext);

impl FromRequestParts<AppState> for Client {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip())
            .ok_or_else(|| Error::internal(anyhow::anyhow!("server started without connect info")))?;
        // Every X-Forwarded-For line, in order: a proxy may append its own line rather
        // than extend the client's, and reading only the first would believe the client.
        let forwarded = forwarded_for(&parts.headers);
        let ip = client_ip::resolve(peer, forwarded.as_deref(), &state.config.trusted_proxies);
        let user_agent =
            header_str(&parts.headers, header::USER_AGENT.as_str()).map(|ua| ua.chars().take(512).collect());
        Ok(Self(ClientContext { ip, user_agent, location: state.geo.locate(ip) }))
    }
}

/// The token a request presents, by `Authorization: Bearer` or the session cookie, not
/// yet looked up (a cookie-borne write from another site is refused here already).
pub struct Presented(pub SecretToken);

impl FromRequestParts<AppState> for Presented {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let (raw, by_cookie) = match bearer(&parts.headers) {
            Some(t) => (t.to_owned(), false),
            None => (super::cookies::read_session(&parts.headers, &state.config).ok_or(Error::Unauthenticated)?, true),
        };
        let token = SecretToken::parse(&raw).ok_or(Error::Unauthenticated)?;
        if by_cookie && !is_safe(&parts.method) && !same_origin(&parts.headers, &state.config.public_origin()) {
            return Err(Error::CsrfFailed);
        }
        Ok(Self(token))
    }
}

/// A signed-in caller, by `Authorization: Bearer` or the session cookie.
pub struct Auth(pub Caller);

impl FromRequestParts<AppState> for Auth {
    type Rejection = Error;

    #[tracing::instrument(name = "authenticate", level = "debug", skip_all)]
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Presented(token) = Presented::from_request_parts(parts, state).await?;
        Ok(Self(sessions::authenticate(state, &token).await?))
    }
}

/// A signed-in caller by a session, not an API token: for managing the account's own
/// credentials (password, second factors, tokens, sessions, trusted devices).
pub struct SessionAuth(pub Caller);

impl FromRequestParts<AppState> for SessionAuth {
    type Rejection = Error;

    #[tracing::instrument(name = "authenticate_session", level = "debug", skip_all)]
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Auth(caller) = Auth::from_request_parts(parts, state).await?;
        caller.require_session()?;
        Ok(Self(caller))
    }
}

/// All `X-Forwarded-For` lines joined as one list; `None` without any (or with one
/// that is not text, which cannot be trusted).
fn forwarded_for(headers: &HeaderMap) -> Option<String> {
    let lines: Option<Vec<&str>> = headers.get_all("x-forwarded-for").iter().map(|v| v.to_str().ok()).collect();
    lines.filter(|l| !l.is_empty()).map(|l| l.join(","))
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = header_str(headers, header::AUTHORIZATION.as_str())?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then_some(token.trim())
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The CSRF defence for cookie-authenticated writes: the browser's own `Origin` (or
/// `Sec-Fetch-Site`) must say the request came from our pages. Bearer clients need none.
pub fn same_origin(headers: &HeaderMap, public_origin: &str) -> bool {
    if let Some(origin) = header_str(headers, header::ORIGIN.as_str()) {
        return !public_origin.is_empty() && origin == public_origin;
    }
    header_str(headers, "sec-fetch-site") == Some("same-origin")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_origin_header_must_be_the_public_urls_origin() {
        let origin = |url: &str| {
            let mut c = crate::config::Config::defaults(std::path::PathBuf::from("/tmp"));
            c.public_url = url.to_owned();
            c.public_origin()
        };
        assert_eq!(origin("https://id.example.com:8443/base"), "https://id.example.com:8443");
        assert_eq!(origin("https://id.example.com:443/"), "https://id.example.com", "default port left out");
        assert_eq!(origin("not a url"), "");
        let mut h = HeaderMap::new();
        h.insert(header::ORIGIN, "https://id.example.com".parse().unwrap());
        assert!(same_origin(&h, "https://id.example.com"));
        assert!(!same_origin(&h, "https://id.example.com.evil.example"));
        assert!(!same_origin(&h, ""));
    }

    #[test]
    fn cookies_are_found_by_name() {
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, "a=1; latchkey_session=tok; b=2".parse().unwrap());
        assert_eq!(cookie(&h, SESSION_COOKIE.name(false)).as_deref(), Some("tok"));
        assert_eq!(cookie(&h, "missing"), None);
    }

    #[test]
    fn every_forwarded_for_line_is_read_in_order() {
        let mut h = HeaderMap::new();
        assert_eq!(forwarded_for(&h), None);
        h.append("x-forwarded-for", "1.1.1.1".parse().unwrap());
        h.append("x-forwarded-for", "203.0.113.9, 10.0.0.2".parse().unwrap());
        assert_eq!(forwarded_for(&h).as_deref(), Some("1.1.1.1,203.0.113.9, 10.0.0.2"));
    }

    #[test]
    fn bearer_scheme_is_case_insensitive() {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, "bearer abc".parse().unwrap());
        assert_eq!(bearer(&h), Some("abc"));
        h.insert(header::AUTHORIZATION, "Basic abc".parse().unwrap());
        assert_eq!(bearer(&h), None);
    }
}
