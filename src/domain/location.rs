//! Where a client address is, as the contract shows it: country, city and a label.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// Where a sign-in came from, as precise as the geo database allows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Location {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    pub label: String,
}

impl Location {
    pub fn local_network() -> Self {
        Self { country: None, city: None, label: "Local network".into() }
    }

    pub fn unknown() -> Self {
        Self { country: None, city: None, label: "Unknown".into() }
    }

    /// `Berlin, Germany`, or just the country when the city is not known.
    pub fn from_parts(country_code: Option<String>, country_name: Option<String>, city: Option<String>) -> Self {
        let place = country_name.clone().or(country_code.clone());
        let label = match (&city, place) {
            (Some(c), Some(p)) => format!("{c}, {p}"),
            (None, Some(p)) => p,
            (Some(c), None) => c.clone(),
            (None, None) => return Self::unknown(),
        };
        Self { country: country_code, city, label }
    }
}

/// Addresses no geo database can place: loopback, private, link-local, unique-local.
pub fn is_local(ip: IpAddr) -> bool {
    match super::client_ip::canonical(ip) {
        IpAddr::V4(v4) => {
            v4.is_loopback() || v4.is_private() || v4.is_link_local() || v4.is_unspecified() || is_carrier_nat(v4)
        }
        IpAddr::V6(v6) => v6.is_loopback() || v6.is_unspecified() || v6.is_unique_local() || v6.is_unicast_link_local(),
    }
}

/// 100.64.0.0/10, shared address space behind carrier-grade NAT (RFC 6598).
fn is_carrier_nat(v4: std::net::Ipv4Addr) -> bool {
    let [a, b, ..] = v4.octets();
    a == 100 && (b & 0xC0) == 64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_loopback_addresses_are_local() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.0.10",
            "172.16.5.5",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:192.168.1.1",
            "100.64.0.1",
        ] {
            assert!(is_local(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["81.2.69.142", "2001:4860::1", "8.8.8.8"] {
            assert!(!is_local(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn labels_read_like_a_place() {
        let l = Location::from_parts(Some("DE".into()), Some("Germany".into()), Some("Berlin".into()));
        assert_eq!(l.label, "Berlin, Germany");
        assert_eq!(Location::from_parts(Some("DE".into()), None, None).label, "DE");
        assert_eq!(Location::from_parts(None, None, None), Location::unknown());
    }

    #[test]
    fn absent_parts_are_left_out_of_json() {
        let json = serde_json::to_value(Location::local_network()).unwrap();
        assert_eq!(json, serde_json::json!({"label": "Local network"}));
    }
}
