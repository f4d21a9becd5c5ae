//! The one error type. Every failure a client can see is a variant here, and
//! `http::error` turns each into the contract's `{"error", "message"}` JSON.

use crate::domain::password::Violation;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    InvalidRequest(String),
    #[error("not found")]
    NotFound,
    /// RFC 9470: the session was not proven the way the app requires (`/auth/verify`).
    #[error("{0}")]
    InsufficientUserAuthentication(&'static str),
    #[error("the account is not a member of that workspace")]
    NotAMember,
    #[error("authentication required")]
    Unauthenticated,
    #[error("email or password is incorrect")]
    InvalidCredentials,
    #[error("the current password is incorrect")]
    InvalidPassword,
    #[error("an account with this email already exists")]
    EmailTaken,
    #[error("sign-up is closed on this server")]
    SignupClosed,
    #[error("the password does not meet the policy")]
    PasswordPolicy(Vec<Violation>),
    #[error("the code is not valid")]
    InvalidCode,
    /// A wrong code while enrolling: 422, as nothing was authenticated.
    #[error("the code is not valid for this secret; check the authenticator's clock and try the next code")]
    CodeRejected,
    #[error("the sign-in attempt expired or had too many wrong codes; sign in again")]
    MfaTokenExpired,
    #[error("this is the last second factor; add another first, or disable two-factor authentication")]
    LastFactor,
    #[error("start the authenticator setup first")]
    SetupRequired,
    #[error("two-factor authentication is not enabled")]
    TwoFactorNotEnabled,
    #[error("only the workspace's owners and admins may do this")]
    Forbidden,
    #[error("this workspace requires two-factor authentication: enable it on your security page to regain access")]
    WorkspaceRequires2fa,
    #[error("this server requires two-factor authentication: set it up on your security page to continue")]
    EnrolmentRequired,
    #[error("enable two-factor authentication on your own account before requiring it of others")]
    Enable2faFirst,
    #[error("that account is already a member of this workspace")]
    AlreadyMember,
    #[error("a workspace must keep at least one owner: make someone else an owner first")]
    LastOwner,
    #[error("this invitation is for another address; sign in with the invited address and confirm it first")]
    InvitationMismatch,
    #[error("security keys are available on team plans")]
    PlanRequired,
    #[error("workspaces are created on the server's default plan; the operator changes plans")]
    PlanNotAllowed,
    #[error("this account already has as many as it may: {0}")]
    TooMany(&'static str),
    #[error("API tokens cannot manage the account's credentials; sign in to do this")]
    SessionRequired,
    #[error("that ceremony is unknown, expired or already finished; start again")]
    CeremonyExpired,
    #[error("the security key's response could not be verified")]
    InvalidCredential,
    #[error("security keys need the server's public URL to name a domain, not an IP address")]
    WebauthnUnavailable,
    #[error("confirm your password or a second factor again to do this")]
    ReauthRequired,
    #[error("the request failed its cross-site request forgery check")]
    CsrfFailed,
    #[error("this is the account's only way to sign in; set a password or link another provider first")]
    LastSignInMethod,
    #[error("this provider is already linked to your account")]
    ProviderAlreadyLinked,
    #[error("{0}")]
    OAuth(#[from] crate::domain::oauth::Failure),
    /// A device's poll that gets no token (yet): RFC 8628's answers.
    #[error("{}", device_poll_message(*.0))]
    DevicePoll(crate::domain::device_grant::PollAnswer),
    #[error("that code is not valid; check it on your device and type it again")]
    InvalidUserCode,
    #[error("that code has expired; start the sign-in again on your device")]
    UserCodeExpired,
    #[error("that code was already used")]
    UserCodeUsed,
    #[error("that link is unknown, used or expired; ask for a new one")]
    InvalidToken,
    /// A reset of an account with 2FA needs one of `methods` too.
    #[error("this account has two-factor authentication: send `method` and `code` too")]
    MfaRequired { methods: Vec<&'static str> },
    #[error("too many attempts; try again later")]
    RateLimited { retry_after: u64 },
    #[error("the server is busy; try again shortly")]
    Overloaded,
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

fn device_poll_message(answer: crate::domain::device_grant::PollAnswer) -> &'static str {
    use crate::domain::device_grant::PollAnswer;
    match answer {
        PollAnswer::AuthorizationPending => "the sign-in is waiting for approval in the browser",
        PollAnswer::SlowDown => "polling too fast; wait the interval (now 5 seconds longer) between polls",
        PollAnswer::AccessDenied => "the sign-in was denied in the browser",
        PollAnswer::ExpiredToken => "the device code expired; start again",
        PollAnswer::InvalidGrant | PollAnswer::Issue => "the device code is unknown or already used",
    }
}

impl Error {
    pub fn internal(e: impl Into<anyhow::Error>) -> Self {
        Self::Internal(e.into())
    }
}

impl From<crate::domain::token::RandomUnavailable> for Error {
    fn from(e: crate::domain::token::RandomUnavailable) -> Self {
        Self::Internal(e.into())
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        if e.is_busy() {
            tracing::warn!(error = %e, "the database did not answer in time");
            return Self::Overloaded;
        }
        if matches!(e, StoreError::CredentialGone) {
            return Self::Unauthenticated;
        }
        Self::Internal(e.into())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
