//! Property tests: every parser at the edge takes any input without panicking, and the
//! values it accepts keep their invariants.

use std::net::IpAddr;

use proptest::prelude::*;

use super::backup_codes::BackupCode;
use super::client_ip;
use super::device::Device;
use super::email::Email;
use super::password::{self, Password, Violation};
use super::token::{SecretToken, TokenKind};
use super::totp::TotpSecret;

fn any_ip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![any::<[u8; 4]>().prop_map(IpAddr::from), any::<[u8; 16]>().prop_map(IpAddr::from)]
}

proptest! {
    #[test]
    fn emails_parse_to_a_normal_form_or_refuse(raw in ".{0,300}") {
        if let Ok(e) = Email::parse(&raw) {
            prop_assert_eq!(e.as_str(), e.as_str().trim().to_lowercase());
            prop_assert_eq!(Email::parse(e.as_str()).ok(), Some(e.clone()));
            prop_assert!(e.as_str().contains('@') && e.as_str().len() <= 254);
        }
    }

    #[test]
    fn the_password_policy_judges_any_text(raw in ".{0,300}", local in "[a-z]{1,10}") {
        let email = Email::parse(&format!("{local}@example.com")).unwrap();
        let v = password::check(&Password::new(raw.clone()), &email, password::Rules::Classes);
        prop_assert_eq!(v.contains(&Violation::TooShort), raw.chars().count() < 12);
        prop_assert_eq!(v.contains(&Violation::MissingDigit), !raw.chars().any(|c| c.is_ascii_digit()));
    }

    #[test]
    fn tokens_round_trip_and_garbage_is_refused_without_panic(bytes in any::<[u8; 32]>(), raw in ".{0,200}") {
        let t = SecretToken::generate(TokenKind::ApiToken, bytes);
        prop_assert_eq!(SecretToken::parse(t.expose()), Some(t.clone()));
        prop_assert!(t.is(TokenKind::ApiToken));
        if let Some(p) = SecretToken::parse(&raw) {
            prop_assert!(p.expose().len() <= 128);
        }
    }

    #[test]
    fn user_agents_always_give_a_device(ua in ".{0,600}", name in proptest::option::of(".{0,300}")) {
        let d = Device::identify(None, name.as_deref(), Some(&ua));
        prop_assert!(!d.name.is_empty() && d.name.chars().count() <= 100);
        prop_assert!(!d.name.chars().any(char::is_control));
    }

    #[test]
    fn forwarded_for_never_trusts_an_untrusted_peer(peer in any_ip(), header in ".{0,200}") {
        let got = client_ip::resolve(peer, Some(&header), &[]);
        prop_assert_eq!(got, client_ip::canonical(peer));
    }

    #[test]
    fn forwarded_for_from_a_trusted_peer_yields_a_listed_address(hops in proptest::collection::vec(any_ip(), 0..6), junk in ".{0,30}") {
        let trusted: Vec<ipnet::IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let mut header = hops.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
        header.push_str(&junk);
        let peer: IpAddr = "10.1.2.3".parse().unwrap();
        let got = client_ip::resolve(peer, Some(&header), &trusted);
        // Whatever comes back is the peer or one of the header's own entries.
        let listed = header.split(',').filter_map(|h| h.trim().parse::<IpAddr>().ok()).map(client_ip::canonical);
        prop_assert!(got == peer || listed.clone().any(|h| h == got), "{got} from {header:?}");
    }

    #[test]
    fn backup_codes_round_trip_through_what_people_type(random in any::<[u8; 7]>()) {
        let c = BackupCode::from_random(random);
        prop_assert_eq!(BackupCode::parse(&c.display()), Some(c.clone()));
        prop_assert_eq!(BackupCode::parse(&c.display().to_uppercase().replace('-', " ")), Some(c));
    }

    #[test]
    fn totp_verification_takes_any_code(secret in any::<[u8; 20]>(), code in ".{0,20}", time in 0u64..4_000_000_000) {
        let s = TotpSecret::from_random(secret);
        let _ = s.verify(&code, time, None);
        let right = s.code_at(time, 6).unwrap();
        prop_assert_eq!(s.verify(&right, time, None), Some(time / 30));
    }

    #[test]
    fn otpauth_uris_parse_back(secret in any::<[u8; 20]>(), issuer in "[A-Za-z ]{1,20}", local in "[a-z0-9.]{1,20}") {
        let s = TotpSecret::from_random(secret);
        let uri = s.otpauth_uri(&issuer, &format!("{local}@example.com")).unwrap();
        let parsed = totp_rs::Totp::from_url_unchecked(&uri).unwrap();
        prop_assert_eq!(parsed.secret().as_bytes(), &secret[..]);
    }
}
