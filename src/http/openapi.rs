//! The parts of the OpenAPI description that no single route owns.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Latchkey",
        description = "Account security: passwords, two-factor authentication, sessions, login history, \
trusted devices and workspace-enforced 2FA.\n\n\
Errors are `{\"error\": \"<snake_case_code>\", \"message\": \"...\"}` with a non-2xx status. \
Malformed JSON or a wrong field type is 400 `invalid_request`; a body over 64 KiB is 413 `payload_too_large`; \
a body without `Content-Type: application/json` is 415 `unsupported_media_type`.\n\n\
Authenticate with `Authorization: Bearer <token>`, or the browser cookie `latchkey_session`. \
Cookie-authenticated writes must come from Latchkey's own origin (`Origin`, or `Sec-Fetch-Site: same-origin`), \
else 403 `csrf_failed`.\n\n\
Times are RFC 3339 UTC. A session's `last_activity_at` is written at most once a minute.",
    ),
    modifiers(&BearerAuth),
    components(schemas(super::error::ErrorBody)),
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

pub fn base() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
