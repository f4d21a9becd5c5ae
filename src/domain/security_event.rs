//! What changed an account's protection: the kinds of security event, as the contract
//! spells them.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    PasswordChanged,
    TwoFactorEnabled,
    TwoFactorDisabled,
    FactorAdded,
    FactorRemoved,
    BackupCodesRegenerated,
    BackupCodeUsed,
    SessionRevoked,
    LockedOut,
    WebauthnCounterRegression,
    TrustedDeviceRevoked,
    ProviderLinked,
    ProviderUnlinked,
    AccountReclaimed,
    AccountDisabled,
    AccountEnabled,
    DeviceApproved,
    PasswordReset,
    EmailChanged,
    ApiTokenCreated,
    /// "This wasn't me": everything signed out and revoked from an alert's link.
    AccountLocked,
    /// The new-sign-in alert was switched.
    NotificationsChanged,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PasswordChanged => "password_changed",
            Self::TwoFactorEnabled => "2fa_enabled",
            Self::TwoFactorDisabled => "2fa_disabled",
            Self::FactorAdded => "factor_added",
            Self::FactorRemoved => "factor_removed",
            Self::BackupCodesRegenerated => "backup_codes_regenerated",
            Self::BackupCodeUsed => "backup_code_used",
            Self::SessionRevoked => "session_revoked",
            Self::LockedOut => "locked_out",
            Self::WebauthnCounterRegression => "webauthn_counter_regression",
            Self::TrustedDeviceRevoked => "trusted_device_revoked",
            Self::ProviderLinked => "provider_linked",
            Self::ProviderUnlinked => "provider_unlinked",
            Self::AccountReclaimed => "account_reclaimed",
            Self::AccountDisabled => "account_disabled",
            Self::AccountEnabled => "account_enabled",
            Self::DeviceApproved => "device_approved",
            Self::PasswordReset => "password_reset",
            Self::EmailChanged => "email_changed",
            Self::ApiTokenCreated => "api_token_created",
            Self::AccountLocked => "account_locked",
            Self::NotificationsChanged => "notifications_changed",
        }
    }

    /// The subject of the alert mail this event sends, if it sends one. Backup codes
    /// alert only when they run low (`detail` says how many are left: "2 left").
    pub fn alert_subject(self, detail: Option<&str>) -> Option<&'static str> {
        Some(match self {
            Self::PasswordChanged => "Your password was changed",
            Self::PasswordReset => "Your password was reset",
            Self::TwoFactorDisabled => "Two-factor authentication was turned off",
            Self::TwoFactorEnabled | Self::FactorAdded => "A sign-in factor was added to your account",
            Self::FactorRemoved => "A sign-in factor was removed from your account",
            Self::BackupCodesRegenerated => "New backup codes were made for your account",
            Self::BackupCodeUsed => {
                let left: u32 = detail?.split_whitespace().next()?.parse().ok()?;
                if left > 2 {
                    return None;
                }
                "You are running out of backup codes"
            }
            Self::ApiTokenCreated => "An API token was created for your account",
            Self::ProviderLinked => "A sign-in provider was linked to your account",
            Self::EmailChanged => "Your account's email address was changed",
            Self::NotificationsChanged => "Your new-sign-in alerts were switched",
            Self::DeviceApproved => "A device was signed in to your account with a code",
            // Wrong passwords mail no one: anyone who knows the address could cause that.
            Self::LockedOut if detail == Some(WRONG_CODES) => "Sign-in to your account was locked after wrong codes",
            _ => return None,
        })
    }
}

/// The detail of a lockout by wrong second-factor codes: someone holds the password.
pub const WRONG_CODES: &str = "repeated wrong codes";

#[cfg(test)]
mod tests {
    use super::EventKind;

    #[test]
    fn kinds_are_the_contracts_words() {
        assert_eq!(EventKind::TwoFactorEnabled.as_str(), "2fa_enabled");
        assert_eq!(EventKind::WebauthnCounterRegression.as_str(), "webauthn_counter_regression");
    }

    #[test]
    fn changes_to_the_credentials_alert_and_backup_codes_only_when_low() {
        assert!(EventKind::PasswordChanged.alert_subject(None).is_some());
        assert!(EventKind::ApiTokenCreated.alert_subject(None).is_some());
        assert!(EventKind::SessionRevoked.alert_subject(None).is_none());
        assert!(EventKind::BackupCodeUsed.alert_subject(Some("3 left")).is_none());
        assert!(EventKind::BackupCodeUsed.alert_subject(Some("2 left")).is_some());
        assert!(EventKind::BackupCodeUsed.alert_subject(Some("0 left")).is_some());
        assert!(EventKind::BackupCodeUsed.alert_subject(None).is_none());
    }
}
