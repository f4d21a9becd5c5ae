//! Headers on every response: no inline script, no framing, no referrer leaks to other
//! sites, and HSTS when served over https. (`no-referrer` would also blank the `Origin`
//! of our own form posts, which the CSRF check reads; `same-origin` keeps it.)

use axum::http::{HeaderName, HeaderValue, header};
use tower::ServiceBuilder;
use tower::layer::util::{Identity, Stack};
use tower_http::set_header::SetResponseHeaderLayer;

/// `form-action` also lists the origins sign-in may return to: Chromium applies it to
/// the redirect that answers a form, so a sign-in form could not land on the app otherwise.
fn csp(return_origins: &[String]) -> HeaderValue {
    let form_action: String = return_origins.iter().map(|o| format!(" {o}")).collect();
    let csp = format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
         object-src 'none'; base-uri 'none'; form-action 'self'{form_action}; frame-ancestors 'none'"
    );
    HeaderValue::from_str(&csp).unwrap_or_else(|_| HeaderValue::from_static("default-src 'self'"))
}

type Layers = Stack<
    SetResponseHeaderLayer<Option<HeaderValue>>,
    Stack<
        SetResponseHeaderLayer<HeaderValue>,
        Stack<
            SetResponseHeaderLayer<HeaderValue>,
            Stack<SetResponseHeaderLayer<HeaderValue>, Stack<SetResponseHeaderLayer<HeaderValue>, Identity>>,
        >,
    >,
>;

pub fn layer(https: bool, return_origins: &[String]) -> ServiceBuilder<Layers> {
    let hsts = https.then(|| HeaderValue::from_static("max-age=63072000; includeSubDomains"));
    ServiceBuilder::new()
        .layer(SetResponseHeaderLayer::if_not_present(header::CONTENT_SECURITY_POLICY, csp(return_origins)))
        .layer(SetResponseHeaderLayer::overriding(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .layer(SetResponseHeaderLayer::overriding(header::REFERRER_POLICY, HeaderValue::from_static("same-origin")))
        .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::overriding(HeaderName::from_static("strict-transport-security"), hsts))
}
