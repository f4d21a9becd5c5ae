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
        }
    }
}

#[cfg(test)]
mod tests {
    use super::EventKind;

    #[test]
    fn kinds_are_the_contracts_words() {
        assert_eq!(EventKind::TwoFactorEnabled.as_str(), "2fa_enabled");
        assert_eq!(EventKind::WebauthnCounterRegression.as_str(), "webauthn_counter_regression");
    }
}
