//! The client's address behind trusted proxies, and how per-address limits count it.

use std::net::IpAddr;

use ipnet::IpNet;

/// The address a request really came from.
///
/// `X-Forwarded-For` is anyone's to write, so it is read only when the TCP peer is one
/// of our own proxies, and then from the right: each trusted hop is peeled off and the
/// first address not in a trusted range is the client. Everything to its left could
/// have been forged by that client.
pub fn resolve(peer: IpAddr, forwarded_for: Option<&str>, trusted: &[IpNet]) -> IpAddr {
    let peer = canonical(peer);
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let Some(header) = forwarded_for else {
        return peer;
    };
    let mut client = peer;
    for hop in header.rsplit(',') {
        let Ok(ip) = hop.trim().parse::<IpAddr>().map(canonical) else {
            // A hop we cannot read ends the chain: the last good address is the best we know.
            return client;
        };
        client = ip;
        if !is_trusted(&ip) {
            return ip;
        }
    }
    client
}

/// The client as per-address limits count it: an IPv4 address, or an IPv6 address's
/// /64, since one subscriber is routinely given a whole /64 and could otherwise take a
/// fresh address for every guess.
pub fn limit_key(ip: IpAddr) -> String {
    match canonical(ip) {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let net = ipnet::Ipv6Net::new(v6, 64).map(|n| n.trunc());
            net.map_or_else(|_| v6.to_string(), |n| n.to_string())
        }
    }
}

/// The network a device signs in from, as "have we seen this device before" compares it:
/// an IPv4 /24 or an IPv6 /48 (a home or office network keeps its prefix while the last
/// part changes).
pub fn network_key(ip: IpAddr) -> String {
    match canonical(ip) {
        IpAddr::V4(v4) => ipnet::Ipv4Net::new(v4, 24).map_or_else(|_| v4.to_string(), |n| n.trunc().to_string()),
        IpAddr::V6(v6) => ipnet::Ipv6Net::new(v6, 48).map_or_else(|_| v6.to_string(), |n| n.trunc().to_string()),
    }
}

/// `::ffff:203.0.113.9` is the IPv4 client it wraps.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_network_is_the_ipv4_slash_24_or_the_ipv6_slash_48() {
        let key = |s: &str| network_key(s.parse().unwrap());
        assert_eq!(key("203.0.113.9"), "203.0.113.0/24");
        assert_eq!(key("203.0.113.200"), key("203.0.113.9"));
        assert_ne!(key("203.0.114.9"), key("203.0.113.9"));
        assert_eq!(key("::ffff:203.0.113.9"), "203.0.113.0/24");
        assert_eq!(key("2001:db8:1:ffff::1"), "2001:db8:1::/48");
        assert_ne!(key("2001:db8:2::1"), key("2001:db8:1::1"));
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn ipv6_clients_are_limited_per_64() {
        assert_eq!(limit_key(ip("2001:db8:1:2:aaaa::1")), "2001:db8:1:2::/64");
        assert_eq!(limit_key(ip("2001:db8:1:2:ffff::9")), limit_key(ip("2001:db8:1:2::5")));
        assert_ne!(limit_key(ip("2001:db8:1:3::1")), limit_key(ip("2001:db8:1:2::1")));
        assert_eq!(limit_key(ip("203.0.113.9")), "203.0.113.9");
        assert_eq!(limit_key(ip("::ffff:203.0.113.9")), "203.0.113.9");
    }

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|s| s.parse().unwrap()).collect()
    }

    #[test]
    fn the_header_is_ignored_from_an_untrusted_peer() {
        let got = resolve(ip("198.51.100.7"), Some("1.2.3.4"), &nets(&["10.0.0.0/8"]));
        assert_eq!(got, ip("198.51.100.7"));
        assert_eq!(resolve(ip("127.0.0.1"), Some("1.2.3.4"), &[]), ip("127.0.0.1"));
    }

    #[test]
    fn the_right_most_untrusted_hop_is_the_client() {
        let trusted = nets(&["10.0.0.0/8", "127.0.0.1/32"]);
        let got = resolve(ip("127.0.0.1"), Some("6.6.6.6, 81.2.69.142, 10.1.1.1"), &trusted);
        assert_eq!(got, ip("81.2.69.142"));
    }

    #[test]
    fn a_trusted_peer_without_a_header_is_the_client() {
        assert_eq!(resolve(ip("10.0.0.1"), None, &nets(&["10.0.0.0/8"])), ip("10.0.0.1"));
    }

    #[test]
    fn an_unreadable_hop_stops_the_walk() {
        let trusted = nets(&["10.0.0.0/8"]);
        let got = resolve(ip("10.0.0.1"), Some("1.1.1.1, garbage, 10.0.0.2"), &trusted);
        assert_eq!(got, ip("10.0.0.2"));
    }

    #[test]
    fn mapped_ipv4_is_unwrapped() {
        assert_eq!(canonical(ip("::ffff:203.0.113.9")), ip("203.0.113.9"));
        assert_eq!(canonical(ip("2001:db8::1")), ip("2001:db8::1"));
    }
}
