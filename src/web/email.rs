//! The pages behind mailed links and the forms that send them: create an account, forgot
//! password, set a new one, confirm an address, lock the account. A link's page only shows
//! a button; the POST does the work, so a mail scanner that opens links changes nothing.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;

use crate::domain::password::Password;
use crate::error::Error;
use crate::http::extract::{Client, same_origin};
use crate::service::auth::{self, LoginInput};
use crate::service::email;
use crate::state::AppState;

use super::{fail, render};

#[derive(Template)]
#[template(path = "signup.html")]
struct SignupPage {
    email: String,
    errors: Vec<String>,
    rules: &'static str,
}

#[derive(Template)]
#[template(path = "forgot_password.html")]
struct ForgotPage {
    sent: bool,
}

#[derive(Template)]
#[template(path = "reset_password.html")]
struct ResetPage {
    token: String,
    valid: bool,
    /// The account confirms with an authenticator code or a backup code...
    needs_code: bool,
    /// ...or with a security key or passkey.
    needs_key: bool,
    errors: Vec<String>,
    rules: &'static str,
}

impl ResetPage {
    fn live(state: &AppState, token: String, methods: &[&str], errors: Vec<String>) -> Self {
        let needs_code = methods.iter().any(|m| matches!(*m, "totp" | "backup_code"));
        let rules = state.config.settings.password_rules.hint();
        Self { token, valid: true, needs_code, needs_key: methods.contains(&"webauthn"), errors, rules }
    }

    fn dead(state: &AppState) -> Self {
        let rules = state.config.settings.password_rules.hint();
        let errors = vec![LINK_DEAD.into()];
        Self { token: String::new(), valid: false, needs_code: false, needs_key: false, errors, rules }
    }
}

/// A link's page: what the button does, then what it did.
#[derive(Template)]
#[template(path = "link_action.html")]
struct LinkPage {
    heading: &'static str,
    explanation: &'static str,
    action: &'static str,
    button: &'static str,
    danger: bool,
    token: String,
    done: Option<&'static str>,
    error: Option<String>,
}

const LINK_DEAD: &str = "That link is unknown, used or expired.";

#[derive(Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    token: String,
}

#[derive(Deserialize)]
pub struct TokenForm {
    token: String,
}

fn refuse_cross_site(state: &AppState, headers: &HeaderMap) -> Option<Response> {
    (!same_origin(headers, &state.config.public_origin())).then(|| super::refused_form(state, false))
}

pub async fn signup_page(State(state): State<AppState>) -> Response {
    if !state.config.settings.signup_open {
        return fail(&state, None, Error::SignupClosed);
    }
    render(
        StatusCode::OK,
        &SignupPage { email: String::new(), errors: Vec::new(), rules: state.config.settings.password_rules.hint() },
    )
}

#[derive(Deserialize)]
pub struct SignupForm {
    email: String,
    password: String,
}

/// Creates the account and signs it in: on to the Security page, whose banner asks to
/// confirm the address.
pub async fn signup(
    State(state): State<AppState>,
    Client(ctx): Client,
    headers: HeaderMap,
    Form(form): Form<SignupForm>,
) -> Response {
    if let Some(refused) = refuse_cross_site(&state, &headers) {
        return refused;
    }
    let errors = match auth::signup(&state, &ctx, &form.email, Password::new(form.password.clone())).await {
        Ok(_) => {
            let input = LoginInput {
                email: form.email,
                password: Password::new(form.password),
                remember_device: false,
                trusted_device_token: None,
                device_kind: None,
                device_name: None,
            };
            return match auth::login(&state, &ctx, input).await {
                Ok(outcome) => super::sign_in::finish(&state, outcome, false, &headers, None).await,
                Err(e) => fail(&state, None, e),
            };
        }
        Err(Error::PasswordPolicy(v)) => v.iter().map(|v| format!("The password {}.", v.describe())).collect(),
        Err(e @ (Error::EmailTaken | Error::InvalidRequest(_))) => vec![e.to_string()],
        Err(e) => return fail(&state, None, e),
    };
    render(
        StatusCode::UNPROCESSABLE_ENTITY,
        &SignupPage { email: form.email, errors, rules: state.config.settings.password_rules.hint() },
    )
}

pub async fn forgot_page() -> Response {
    render(StatusCode::OK, &ForgotPage { sent: false })
}

#[derive(Deserialize)]
pub struct ForgotForm {
    email: String,
}

pub async fn forgot(
    State(state): State<AppState>,
    Client(ctx): Client,
    headers: HeaderMap,
    Form(form): Form<ForgotForm>,
) -> Response {
    if let Some(refused) = refuse_cross_site(&state, &headers) {
        return refused;
    }
    match email::forgot(&state, &ctx, &form.email).await {
        Ok(()) => render(StatusCode::OK, &ForgotPage { sent: true }),
        Err(e) => fail(&state, None, e),
    }
}

pub async fn reset_page(State(state): State<AppState>, Query(q): Query<TokenQuery>) -> Response {
    let page = match email::reset_link(&state, &q.token).await {
        Ok(Some(methods)) => ResetPage::live(&state, q.token, &methods, Vec::new()),
        Ok(None) => ResetPage::dead(&state),
        Err(e) => return fail(&state, None, e),
    };
    render(StatusCode::OK, &page)
}

#[derive(Deserialize)]
pub struct ResetForm {
    token: String,
    new_password: String,
    #[serde(default)]
    code: String,
    /// Filled by the page's script after the security key answered.
    #[serde(default)]
    challenge_id: String,
    #[serde(default)]
    credential: String,
}

pub async fn reset(
    State(state): State<AppState>,
    Client(ctx): Client,
    headers: HeaderMap,
    Form(form): Form<ResetForm>,
) -> Response {
    if let Some(refused) = refuse_cross_site(&state, &headers) {
        return refused;
    }
    let code = form.code.trim().to_owned();
    let credential = serde_json::from_str::<serde_json::Value>(&form.credential).ok();
    let method = if credential.is_some() {
        Some("webauthn".to_owned())
    } else if code.is_empty() {
        None
    } else if code.chars().all(|c| c.is_ascii_digit()) {
        Some("totp".to_owned())
    } else {
        Some("backup_code".to_owned())
    };
    let input = email::ResetInput {
        token: form.token.clone(),
        new_password: Password::new(form.new_password),
        method,
        code: (!code.is_empty()).then_some(code),
        challenge_id: (!form.challenge_id.is_empty()).then(|| form.challenge_id.clone()),
        credential,
    };
    let again = async |errors: Vec<String>| match email::reset_link(&state, &form.token).await {
        Ok(Some(methods)) => {
            render(StatusCode::UNPROCESSABLE_ENTITY, &ResetPage::live(&state, form.token.clone(), &methods, errors))
        }
        Ok(None) => render(StatusCode::BAD_REQUEST, &ResetPage::dead(&state)),
        Err(e) => fail(&state, None, e),
    };
    match email::reset(&state, &ctx, input).await {
        Ok(()) => render(
            StatusCode::OK,
            &LinkPage {
                heading: "Set new password",
                explanation: "",
                action: "",
                button: "",
                danger: false,
                token: String::new(),
                done: Some("Your new password is set, and every session was signed out. Sign in with it."),
                error: None,
            },
        ),
        Err(Error::PasswordPolicy(v)) => {
            again(v.iter().map(|v| format!("The password {}.", v.describe())).collect()).await
        }
        Err(Error::MfaRequired { .. }) => {
            let ask = "Confirm with your second factor: a code from your authenticator app, a backup code or your security key.";
            again(vec![ask.into()]).await
        }
        Err(Error::InvalidCode) => again(vec!["That code or key did not work.".into()]).await,
        Err(Error::InvalidToken) => render(StatusCode::BAD_REQUEST, &ResetPage::dead(&state)),
        Err(e) => fail(&state, None, e),
    }
}

fn verify_page(token: String) -> LinkPage {
    LinkPage {
        heading: "Confirm your email",
        explanation: "Confirm that this address belongs to you.",
        action: "/verify-email",
        button: "Confirm email",
        danger: false,
        token,
        done: None,
        error: None,
    }
}

pub async fn verify_email_page(Query(q): Query<TokenQuery>) -> Response {
    render(StatusCode::OK, &verify_page(q.token))
}

pub async fn verify_email(
    State(state): State<AppState>,
    Client(ctx): Client,
    headers: HeaderMap,
    Form(form): Form<TokenForm>,
) -> Response {
    if let Some(refused) = refuse_cross_site(&state, &headers) {
        return refused;
    }
    let confirmed = email::confirm(&state, &ctx, &form.token).await;
    outcome(&state, verify_page(String::new()), "Your email address is confirmed.", confirmed)
}

/// A link's page after its button: what it did, or why it could not.
fn outcome(state: &AppState, mut page: LinkPage, done: &'static str, result: crate::error::Result<()>) -> Response {
    match result {
        Ok(()) => page.done = Some(done),
        Err(Error::InvalidToken) => page.error = Some(LINK_DEAD.into()),
        Err(e @ Error::EmailTaken) => page.error = Some(e.to_string()),
        Err(e) => return fail(state, None, e),
    }
    render(StatusCode::OK, &page)
}

fn lock_page(token: String) -> LinkPage {
    LinkPage {
        heading: "Lock your account",
        explanation: "If something in the message was not you, lock the account: every session is signed out, \
                      every API token revoked and trusted devices forgotten, your password stops working, and we send you a \
                      link to set a new one.",
        action: "/lock",
        button: "Lock my account",
        danger: true,
        token,
        done: None,
        error: None,
    }
}

pub async fn lock_page_get(Query(q): Query<TokenQuery>) -> Response {
    render(StatusCode::OK, &lock_page(q.token))
}

pub async fn lock(
    State(state): State<AppState>,
    Client(ctx): Client,
    headers: HeaderMap,
    Form(form): Form<TokenForm>,
) -> Response {
    if let Some(refused) = refuse_cross_site(&state, &headers) {
        return refused;
    }
    let locked = email::lock(&state, &ctx, &form.token).await;
    let done = "Your account is locked: everything is signed out. Check your mail for a link to set a new password.";
    outcome(&state, lock_page(String::new()), done, locked)
}
