//! `GET /` and the sign-in forms: password, then the second step.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::domain::password::Password;
use crate::domain::return_to;
use crate::domain::token::SecretToken;
use crate::error::Error;
use crate::http::cookies::{self, MFA_COOKIE};
use crate::http::extract::{Client, TRUSTED_COOKIE, cookie as read_cookie, same_origin};
use crate::service::auth::{self, LoginInput};
use crate::service::second_factor::challenge;
use crate::service::sign_in::LoginOutcome;
use crate::service::{passkeys, sessions};
use crate::state::AppState;

use super::{CheckedForm, CsrfForm, fail, render};

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage {
    email: String,
    error: Option<String>,
    /// `(id, name)` of each configured provider: a button each.
    providers: Vec<(String, String)>,
    /// Passkeys work here (the public URL names a domain): the button and the autofill.
    passkeys: bool,
    signup_open: bool,
    /// Where to go once signed in (`?rd=`), already judged allowed; empty for the default.
    rd: String,
}

impl SignInPage {
    fn new(state: &AppState, email: String, error: Option<String>) -> Self {
        let providers = state.oauth.configured().map(|p| (p.id.as_str().to_owned(), p.name.clone())).collect();
        Self {
            email,
            error,
            providers,
            passkeys: state.webauthn.is_some(),
            signup_open: state.config.settings.signup_open,
            rd: String::new(),
        }
    }

    fn returning_to(mut self, rd: Option<String>) -> Self {
        self.rd = rd.unwrap_or_default();
        self
    }
}

/// `rd` when the browser may be sent there (see `domain::return_to`), else `None`.
pub(super) fn return_to(state: &AppState, rd: Option<&str>) -> Option<String> {
    rd.and_then(|rd| return_to::allowed(rd, &state.config.public_url, &state.config.settings.return_origins))
}

#[derive(Deserialize)]
pub struct ReturnQuery {
    pub(super) rd: Option<String>,
}

#[derive(Template)]
#[template(path = "mfa.html")]
struct MfaPage {
    remember: bool,
    error: Option<String>,
    /// PublicKeyCredentialRequestOptions as JSON, for the security-key button.
    webauthn: Option<String>,
    rd: String,
}

pub async fn page(State(state): State<AppState>, Query(q): Query<ReturnQuery>, headers: HeaderMap) -> Response {
    let rd = return_to(&state, q.rd.as_deref());
    if let Some(raw) = cookies::read_session(&headers, &state.config) {
        // Already signed in: straight on. Only a live session counts, or a stale cookie
        // would bounce the browser between here and the app for ever.
        let live = match SecretToken::parse(&raw) {
            Some(token) => sessions::authenticate(&state, &token).await.is_ok(),
            None => false,
        };
        if live || rd.is_none() {
            return Redirect::to(rd.as_deref().unwrap_or("/security")).into_response();
        }
    }
    render(StatusCode::OK, &SignInPage::new(&state, String::new(), None).returning_to(rd))
}

#[derive(Deserialize)]
pub struct LoginForm {
    email: String,
    password: String,
    remember_device: Option<String>,
    rd: Option<String>,
}

pub async fn login(
    State(state): State<AppState>,
    Client(ctx): Client,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    if !same_origin(&headers, &state.config.public_origin()) {
        return super::refused_form(&state, false);
    }
    let remember = form.remember_device.is_some();
    let rd = return_to(&state, form.rd.as_deref());
    let input = LoginInput {
        email: form.email.clone(),
        password: Password::new(form.password),
        remember_device: remember,
        trusted_device_token: read_cookie(&headers, TRUSTED_COOKIE.name(state.config.is_https())),
        device_kind: None,
        device_name: None,
    };
    match auth::login(&state, &ctx, input).await {
        Ok(outcome) => finish(&state, outcome, remember, &headers, rd.as_deref()).await,
        Err(Error::InvalidCredentials) => {
            let page = SignInPage::new(&state, form.email, Some("Email or password is incorrect.".into()));
            render(StatusCode::UNAUTHORIZED, &page.returning_to(rd))
        }
        Err(e) => fail(&state, None, e),
    }
}

/// The second step's form; its token comes from the browser's cookie, never the page.
#[derive(Deserialize)]
pub struct MfaForm {
    #[serde(default)]
    code: String,
    /// A security key's assertion, as JSON, from the page's script.
    credential: Option<String>,
    remember_device: Option<String>,
    rd: Option<String>,
}

pub async fn mfa(
    State(state): State<AppState>,
    Client(ctx): Client,
    headers: HeaderMap,
    Form(form): Form<MfaForm>,
) -> Response {
    if !same_origin(&headers, &state.config.public_origin()) {
        return super::refused_form(&state, false);
    }
    let remember = form.remember_device.is_some();
    let rd = return_to(&state, form.rd.as_deref());
    let Some(mfa_token) = read_cookie(&headers, MFA_COOKIE.name(state.config.is_https())) else {
        return expired(&state);
    };
    let credential = form.credential.as_deref().filter(|c| !c.is_empty()).and_then(|c| serde_json::from_str(c).ok());
    // A key's assertion, else six digits are an authenticator code and anything longer a backup code.
    let digits = form.code.chars().filter(char::is_ascii_digit).count();
    let method = if credential.is_some() {
        challenge::Method::Webauthn
    } else if digits == form.code.trim().len() && digits <= 8 {
        challenge::Method::Totp
    } else {
        challenge::Method::BackupCode
    };
    let input = challenge::MfaInput { mfa_token, method, code: Some(form.code), credential, remember_device: remember };
    match challenge::complete(&state, &ctx, input).await {
        Ok(outcome) => finish(&state, outcome, remember, &headers, rd.as_deref()).await,
        Err(Error::InvalidCode) => {
            // Another security-key attempt needs a fresh sign-in: its challenge was used.
            let page = MfaPage {
                remember,
                error: Some("That did not work. Try the next code, or sign in again to retry the key.".into()),
                webauthn: None,
                rd: rd.unwrap_or_default(),
            };
            render(StatusCode::UNAUTHORIZED, &page)
        }
        Err(Error::MfaTokenExpired) => expired(&state),
        Err(e) => fail(&state, None, e),
    }
}

/// The second step's token is gone or spent: sign in again (and drop its cookie).
fn expired(state: &AppState) -> Response {
    let page = SignInPage::new(state, String::new(), Some("That sign-in expired. Please sign in again.".into()));
    let mut response = render(StatusCode::UNAUTHORIZED, &page);
    response.headers_mut().append(header::SET_COOKIE, cookies::set(&state.config, MFA_COOKIE, "", 0));
    response
}

#[derive(Deserialize)]
pub struct PasskeyForm {
    challenge_id: String,
    /// The passkey's assertion, as JSON, from the page's script.
    credential: String,
    #[serde(default)]
    remember_device: String,
    rd: Option<String>,
}

pub async fn passkey(
    State(state): State<AppState>,
    Client(ctx): Client,
    headers: HeaderMap,
    Form(form): Form<PasskeyForm>,
) -> Response {
    if !same_origin(&headers, &state.config.public_origin()) {
        return super::refused_form(&state, false);
    }
    let refused = || {
        let page = SignInPage::new(&state, String::new(), Some("That passkey did not sign you in.".into()));
        render(StatusCode::UNAUTHORIZED, &page)
    };
    let Ok(credential) = serde_json::from_str(&form.credential) else { return refused() };
    let remember = form.remember_device == "on";
    let rd = return_to(&state, form.rd.as_deref());
    let input = passkeys::PasskeyInput {
        challenge_id: form.challenge_id,
        credential,
        remember_device: remember,
        device_kind: None,
        device_name: None,
    };
    match passkeys::finish(&state, &ctx, input).await {
        Ok(outcome) => finish(&state, outcome, remember, &headers, rd.as_deref()).await,
        Err(Error::InvalidCredentials) => refused(),
        Err(e) => fail(&state, None, e),
    }
}

/// Where an account that must enrol a second factor (`LATCHKEY_REQUIRE_2FA`) goes.
const ENROL_HERE: &str = "/security#twofa-h";

/// Signed in: cookies and on to `rd` (an allowed return address), or back to the device
/// page that sent the browser to sign in, or the Security page; or on to the second step.
pub(super) async fn finish(
    state: &AppState,
    outcome: LoginOutcome,
    remember: bool,
    request: &HeaderMap,
    rd: Option<&str>,
) -> Response {
    match outcome {
        LoginOutcome::SignedIn { token, trusted_device_token, enrolment_due, .. } => {
            // The session the browser held before ends with this sign-in.
            if let Some(old) = cookies::read_session(request, &state.config)
                && let Err(e) = sessions::end_replaced(state, &old).await
            {
                return fail(state, None, e);
            }
            let s = &state.config.settings;
            let resume = super::device_grant::resume_target(state, request);
            let target = if enrolment_due { ENROL_HERE } else { rd.or(resume.as_deref()).unwrap_or("/security") };
            let mut response = Redirect::to(target).into_response();
            let headers = response.headers_mut();
            if resume.is_some() {
                headers.append(header::SET_COOKIE, super::device_grant::resume_cookie_cleared(state));
            }
            headers.append(
                header::SET_COOKIE,
                cookies::set_session(&state.config, token.expose(), s.session.absolute.num_seconds()),
            );
            if read_cookie(request, MFA_COOKIE.name(state.config.is_https())).is_some() {
                headers.append(header::SET_COOKIE, cookies::set(&state.config, MFA_COOKIE, "", 0));
            }
            if let Some(t) = trusted_device_token {
                let max_age = i64::from(s.trusted_device_days) * 86_400;
                headers.append(header::SET_COOKIE, cookies::set(&state.config, TRUSTED_COOKIE, t.expose(), max_age));
            }
            response
        }
        LoginOutcome::MfaRequired { mfa_token, webauthn, .. } => {
            // Base64url and fixed keys only, but `</` is escaped anyway: it sits inside <script>.
            let webauthn = webauthn.and_then(|o| serde_json::to_string(&o).ok()).map(|j| j.replace("</", "<\\/"));
            let rd = rd.unwrap_or_default().to_owned();
            let page = MfaPage { remember, error: None, webauthn, rd };
            let mut response = render(StatusCode::OK, &page);
            let lifetime = challenge::CHALLENGE_LIFETIME.num_seconds();
            let cookie = cookies::set(&state.config, MFA_COOKIE, mfa_token.expose(), lifetime);
            response.headers_mut().append(header::SET_COOKIE, cookie);
            response
        }
    }
}

pub async fn logout(State(state): State<AppState>, CheckedForm(caller, _): CheckedForm<CsrfForm>) -> Response {
    let result = async { auth::logout(&state, &caller).await }.await;
    match result {
        Ok(()) => {
            let mut response = Redirect::to("/").into_response();
            response.headers_mut().append(header::SET_COOKIE, cookies::set_session(&state.config, "", 0));
            response
        }
        Err(e) => fail(&state, Some(&caller), e),
    }
}
