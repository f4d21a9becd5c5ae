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
a body without `Content-Type: application/json` is 415 `unsupported_media_type`; \
text with a NUL character (U+0000) anywhere (path, query, body) is 400 `invalid_request` on every database.\n\n\
Authenticate with `Authorization: Bearer <token>`, or the browser cookie `latchkey_session` \
(`__Host-latchkey_session` when the public URL is https; `__Secure-latchkey_session` with `Domain` when \
`LATCHKEY_COOKIE_DOMAIN` is set). A 2FA account re-authenticates (`POST /auth/reauth`) with its factor: a password alone \
is 401 `mfa_required`. Signing other sessions out needs a recent sign-in too. \
With `LATCHKEY_REQUIRE_2FA`, past its deadline an account without a second factor gets 403 \
`2fa_enrolment_required` from workspace routes and `/auth/verify` (its `/me` and `/auth` routes stay open). \
Password policy violations may include `breached` once a breached-password list was imported. \
New factors and credentials (TOTP setup and confirm, security-key registration, API tokens, a first password, \
linking or unlinking a provider) need a sign-in from the re-auth window, else 403 `reauth_required`. \
Per account: at most 100 sessions (the oldest is signed out), 20 trusted devices (the oldest is forgotten), \
50 API tokens and 10 security keys (409 `limit_reached`). \
Cookie-authenticated writes must come from Latchkey's own origin (`Origin`, or `Sec-Fetch-Site: same-origin`), \
else 403 `csrf_failed`.\n\n\
Device sign-in (RFC 8628, tag `device`): a CLI or desktop app calls `POST /auth/device/code`, shows `user_code` and `verification_uri`, and polls `POST /auth/device/token` every `interval` seconds; a signed-in person approves it on the `/device` page (or through `/me/device/{user_code}`). The poll's errors carry RFC 8628's codes in `error`; an unknown or spent device code is `invalid_grant`.\n\n\
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

/// Adds the answers every route can give without its handler saying so: 401 on
/// authenticated routes, and 400/413/415 wherever a body or parameter is read. Runs on
/// the finished description, once the routers have added their paths.
pub fn add_common_errors(openapi: &mut utoipa::openapi::OpenApi) {
    {
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let error = |text: &str| {
            let content = ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build();
            ResponseBuilder::new().description(text).content("application/json", content).build()
        };
        for item in openapi.paths.paths.values_mut() {
            let operations = [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
            for op in operations.into_iter().flatten() {
                let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
                let has_body = op.request_body.is_some();
                let has_params = op.parameters.as_ref().is_some_and(|p| !p.is_empty());
                let mut add = |code: &str, text: &str| {
                    op.responses.responses.entry(code.to_owned()).or_insert_with(|| error(text).into());
                };
                if secured {
                    add("401", "`unauthenticated`: missing, invalid or revoked credentials");
                }
                if has_body || has_params {
                    add("400", "`invalid_request`: malformed JSON, a wrong field type or a bad parameter");
                }
                if has_body {
                    add("413", "`payload_too_large`: the body is over 64 KiB");
                    add("415", "`unsupported_media_type`: the body is not `application/json`");
                }
            }
        }
    }
}

pub fn base() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
