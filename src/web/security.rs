//! `GET /security`, the Security & 2FA page, and its forms.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::domain::password::Password;
use crate::error::{Error, Result};
use crate::http::extract::Client;
use crate::service::second_factor::{self, backup_codes, totp};
use crate::service::{Caller, account, oauth, sessions, trusted_devices};
use crate::state::AppState;

use super::security_page::{SecurityPage, SetupView, load};
use super::{Browser, CheckedForm, CsrfField, CsrfForm, fail, render};

#[derive(Template)]
#[template(path = "backup_codes.html")]
struct BackupCodesPage {
    codes: Vec<String>,
    download: String,
}

pub(super) async fn show(
    state: &AppState,
    caller: &Caller,
    status: StatusCode,
    edit: impl FnOnce(&mut SecurityPage),
) -> Response {
    match load(state, caller).await {
        Ok(mut page) => {
            edit(&mut page);
            render(status, &page)
        }
        Err(e) => fail(state, Some(caller), e),
    }
}

#[derive(Deserialize)]
pub struct PageQuery {
    done: Option<String>,
    /// A removed passkey's id, sealed for this account (see `remove_key`).
    forget: Option<String>,
}

/// Fixed texts for `?done=`, so nothing from the URL is echoed into the page.
pub(super) fn notice(done: &str) -> Option<&'static str> {
    Some(match done {
        "password_changed" => "Password changed. Every other session was signed out.",
        "2fa_disabled" => "Two-factor authentication is off.",
        "session_revoked" => "That session is signed out.",
        "sessions_revoked" => "Every other session is signed out.",
        "device_revoked" => "That device will be asked for a second factor again.",
        "devices_revoked" => "Every trusted device will be asked for a second factor again.",
        "reauthenticated" => "Confirmed. You can make the change now.",
        "key_added" => "Security key added.",
        "passkey_added" => "Passkey added: it signs you in with no password.",
        "key_removed" => "Security key removed.",
        "passkey_removed" => "Passkey removed.",
        "verification_sent" => "A new confirmation link is on its way to your address.",
        "notifications_saved" => "Your alert settings are saved.",
        "provider_unlinked" => "That provider no longer signs you in.",
        "provider_linked" => "Provider linked: it signs you in from now on.",
        _ => return None,
    })
}

pub async fn page(State(state): State<AppState>, Browser(caller): Browser, Query(q): Query<PageQuery>) -> Response {
    let text = q.done.as_deref().and_then(notice).map(str::to_owned);
    let forget = q.forget.as_deref().and_then(|sealed| forgotten_credential(&state, &caller, sealed));
    show(&state, &caller, StatusCode::OK, |p| {
        p.notice = text;
        p.forget_credential = forget;
    })
    .await
}

/// The AEAD context of a removed passkey's id: a link cannot make a browser forget a
/// passkey unless this account's removal made it.
pub(super) fn forget_context(user_id: &str) -> String {
    format!("forget-credential\0{user_id}")
}

/// The removed passkey's id and the RP id, for `PublicKeyCredential.signalUnknownCredential`.
fn forgotten_credential(state: &AppState, caller: &Caller, sealed: &str) -> Option<(String, String)> {
    let id = String::from_utf8(state.secrets.open(sealed, &forget_context(&caller.user_id)).ok()?).ok()?;
    let rp_id = url::Url::parse(&state.config.public_url).ok()?.domain()?.to_owned();
    Some((id, rp_id))
}

#[derive(Deserialize)]
pub struct PasswordForm {
    csrf: String,
    current_password: Option<String>,
    new_password: String,
}

impl CsrfField for PasswordForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

pub async fn change_password(
    State(state): State<AppState>,
    Client(ctx): Client,
    CheckedForm(caller, form): CheckedForm<PasswordForm>,
) -> Response {
    let result = async {
        let current = form.current_password.filter(|p| !p.is_empty()).map(Password::new);
        account::change_password(&state, &caller, &ctx, current, Password::new(form.new_password)).await
    }
    .await;
    match result {
        Ok(()) => Redirect::to("/security?done=password_changed").into_response(),
        Err(Error::PasswordPolicy(violations)) => {
            let errors = violations.iter().map(|v| format!("It {}.", v.describe())).collect();
            show(&state, &caller, StatusCode::UNPROCESSABLE_ENTITY, |p| p.password_errors = errors).await
        }
        Err(Error::InvalidPassword) => {
            let errors = vec!["The current password is not right.".to_owned()];
            show(&state, &caller, StatusCode::UNAUTHORIZED, |p| p.password_errors = errors).await
        }
        Err(e) => fail(&state, Some(&caller), e),
    }
}

pub async fn setup_totp(State(state): State<AppState>, CheckedForm(caller, _): CheckedForm<CsrfForm>) -> Response {
    let result = async { totp::setup_totp(&state, &caller).await }.await;
    match result {
        Ok(setup) => {
            let view = SetupView { secret: setup.secret.base32(), qr_svg: setup.qr_svg, error: None };
            show(&state, &caller, StatusCode::OK, |p| p.totp_setup = Some(view)).await
        }
        Err(e) => fail(&state, Some(&caller), e),
    }
}

#[derive(Deserialize)]
pub struct CodeForm {
    csrf: String,
    code: String,
}

impl CsrfField for CodeForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

pub async fn confirm_totp(
    State(state): State<AppState>,
    Client(ctx): Client,
    CheckedForm(caller, form): CheckedForm<CodeForm>,
) -> Response {
    let result = async { totp::confirm_totp(&state, &caller, &ctx, &form.code).await }.await;
    match result {
        Ok(Some(codes)) => backup_codes_page(codes),
        Ok(None) => Redirect::to("/security").into_response(),
        Err(Error::CodeRejected) => match totp::pending_setup(&state, &caller).await {
            Ok(Some(setup)) => {
                let error =
                    Some("That code did not match. Check the app's clock and enter the current code.".to_owned());
                let view = SetupView { secret: setup.secret.base32(), qr_svg: setup.qr_svg, error };
                show(&state, &caller, StatusCode::UNPROCESSABLE_ENTITY, |p| p.totp_setup = Some(view)).await
            }
            Ok(None) => Redirect::to("/security").into_response(),
            Err(e) => fail(&state, Some(&caller), e),
        },
        Err(e) => fail(&state, Some(&caller), e),
    }
}

fn backup_codes_page(codes: Vec<String>) -> Response {
    let text = codes.join("\n");
    let download: String =
        text.bytes().map(|b| if b == b'\n' { "%0A".to_owned() } else { (b as char).to_string() }).collect();
    render(StatusCode::OK, &BackupCodesPage { codes, download })
}

pub async fn regenerate_backup_codes(
    State(state): State<AppState>,
    Client(ctx): Client,
    CheckedForm(caller, _): CheckedForm<CsrfForm>,
) -> Response {
    let result = async { backup_codes::regenerate_backup_codes(&state, &caller, &ctx).await }.await;
    match result {
        Ok(codes) => backup_codes_page(codes),
        Err(e) => fail(&state, Some(&caller), e),
    }
}

#[derive(Deserialize)]
pub struct DisableForm {
    csrf: String,
    password: Option<String>,
}

impl CsrfField for DisableForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

pub async fn resend_verification(
    State(state): State<AppState>,
    CheckedForm(caller, _): CheckedForm<CsrfForm>,
) -> Response {
    act(&state, &caller, "verification_sent", crate::service::email::resend_verification(&state, &caller)).await
}

#[derive(Deserialize)]
pub struct NotificationsForm {
    csrf: String,
    /// The checkbox: present when ticked.
    new_sign_in: Option<String>,
}

impl CsrfField for NotificationsForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

pub async fn notifications(
    State(state): State<AppState>,
    Client(ctx): Client,
    CheckedForm(caller, form): CheckedForm<NotificationsForm>,
) -> Response {
    let on = form.new_sign_in.is_some();
    act(&state, &caller, "notifications_saved", account::set_new_sign_in_alerts(&state, &caller, &ctx, on)).await
}

pub async fn disable_2fa(
    State(state): State<AppState>,
    Client(ctx): Client,
    CheckedForm(caller, form): CheckedForm<DisableForm>,
) -> Response {
    let result = async { second_factor::disable(&state, &caller, &ctx, form.password.map(Password::new)).await }.await;
    match result {
        Ok(()) => Redirect::to("/security?done=2fa_disabled").into_response(),
        Err(Error::InvalidPassword) => {
            show(&state, &caller, StatusCode::UNAUTHORIZED, |p| {
                p.notice = Some("The password is not right; two-factor authentication is still on.".into())
            })
            .await
        }
        Err(e) => fail(&state, Some(&caller), e),
    }
}

/// Runs an action (of a checked form) and goes back to the page with a notice.
async fn act<F>(state: &AppState, caller: &Caller, done: &str, action: F) -> Response
where
    F: Future<Output = Result<()>>,
{
    match action.await {
        Ok(()) => Redirect::to(&format!("/security?done={done}")).into_response(),
        Err(e) => fail(state, Some(caller), e),
    }
}

pub async fn revoke_session(
    State(state): State<AppState>,
    Client(ctx): Client,
    Path(id): Path<String>,
    CheckedForm(caller, _): CheckedForm<CsrfForm>,
) -> Response {
    act(&state, &caller, "session_revoked", sessions::revoke(&state, &caller, &ctx, &id)).await
}

pub async fn revoke_other_sessions(
    State(state): State<AppState>,
    Client(ctx): Client,
    CheckedForm(caller, _): CheckedForm<CsrfForm>,
) -> Response {
    act(&state, &caller, "sessions_revoked", async { sessions::revoke_others(&state, &caller, &ctx).await.map(drop) })
        .await
}

pub async fn revoke_device(
    State(state): State<AppState>,
    Client(ctx): Client,
    Path(id): Path<String>,
    CheckedForm(caller, _): CheckedForm<CsrfForm>,
) -> Response {
    act(&state, &caller, "device_revoked", trusted_devices::revoke(&state, &caller, &ctx, &id)).await
}

pub async fn unlink_provider(
    State(state): State<AppState>,
    Client(ctx): Client,
    Path(provider): Path<String>,
    CheckedForm(caller, _): CheckedForm<CsrfForm>,
) -> Response {
    act(&state, &caller, "provider_unlinked", oauth::unlink(&state, &caller, &ctx, &provider)).await
}

/// "Link {provider}": after the CSRF check and the recent-sign-in rule, off to the
/// provider; its callback links it (see `web::oauth::callback`).
pub async fn link_provider(
    State(state): State<AppState>,
    Client(ctx): Client,
    Path(provider): Path<String>,
    headers: axum::http::HeaderMap,
    CheckedForm(caller, _): CheckedForm<CsrfForm>,
) -> Response {
    let oauth_cookie = crate::http::cookies::OAUTH_COOKIE.name(state.config.is_https());
    let binding = crate::http::cookies::read(&headers, oauth_cookie);
    let started = async { oauth::start_link(&state, &caller, &ctx, &provider, binding.as_deref()).await }.await;
    match started {
        Ok(started) => super::oauth::to_provider(&state, &started),
        Err(e) => fail(&state, Some(&caller), e),
    }
}

pub async fn revoke_all_devices(
    State(state): State<AppState>,
    Client(ctx): Client,
    CheckedForm(caller, _): CheckedForm<CsrfForm>,
) -> Response {
    act(&state, &caller, "devices_revoked", async {
        trusted_devices::revoke_all(&state, &caller, &ctx).await.map(drop)
    })
    .await
}
