//! Which IP addresses a federation request may go to without a `--peer` entry,
//! and the checked URL of such a request. Plain functions (std, `url` and
//! `p2core-types` only): the `address_filter` fuzz target compiles this file
//! as it is. The DNS side is [`super::resolver`].

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use p2core_types::DomainName;
use url::{Host, Url};

/// `true` for a globally routable unicast address; `false` for loopback,
/// private (RFC 1918), link-local, unique-local, CGNAT (100.64.0.0/10),
/// unspecified, multicast, broadcast, documentation, benchmarking and
/// reserved ranges, and for IPv6 forms that embed such an IPv4 address
/// (IPv4-mapped, IPv4-compatible, NAT64 64:ff9b::/96, 6to4). Always refused:
/// local-use NAT64 (64:ff9b:1::/48, its translation is site-specific),
/// IPv4-translated (::ffff:0:0:0/96) and Teredo (2001::/32) addresses.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let o = ip.octets();
    let special = ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        || o[0] == 0 // "this network"
        || (o[0] == 100 && (o[1] & 0xc0) == 64) // CGNAT, RFC 6598
        || (o[0] == 192 && o[1] == 0 && o[2] == 0) // IETF protocol assignments
        || (o[0] == 198 && (o[1] & 0xfe) == 18) // benchmarking, RFC 2544
        || o[0] >= 240; // reserved
    !special
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let s = ip.segments();
    let embedded_v4 = |hi: u16, lo: u16| {
        let [a, b] = hi.to_be_bytes();
        let [c, d] = lo.to_be_bytes();
        Ipv4Addr::new(a, b, c, d)
    };
    if s[0] == 0x0064 && s[1] == 0xff9b && s[2..6] == [0; 4] {
        // NAT64 well-known prefix 64:ff9b::/96
        return is_public_v4(embedded_v4(s[6], s[7]));
    }
    if s[0] == 0x2002 {
        // 6to4: the IPv4 address follows the prefix
        return is_public_v4(embedded_v4(s[1], s[2]));
    }
    let special = ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || s[0..6] == [0; 6] // IPv4-compatible (deprecated)
        || (s[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
        || (s[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
        || (s[0] & 0xffc0) == 0xfec0 // site-local fec0::/10 (deprecated)
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || (s[0] == 0x2001 && s[1] == 0) // Teredo 2001::/32 (tunnels to an obfuscated IPv4)
        || (s[0] == 0x0064 && s[1] == 0xff9b && s[2] == 1) // local-use NAT64 64:ff9b:1::/48
        || (s[0..4] == [0; 4] && s[4] == 0xffff && s[5] == 0) // IPv4-translated ::ffff:0:0:0/96
        || s[0] == 0x0100 && s[1..4] == [0; 3]; // discard-only 100::/64
    !special
}

/// The `https://DOMAIN…` URL of a domain without a `--peer` entry, checked
/// after parsing: its host must be exactly `domain`, as a name. An IP address
/// there (whatever spelling the URL parser turned into one: `127.1`,
/// `2130706433`, `0x7f.1`, …) would never be resolved, so the public-only
/// resolver could not filter it; it is refused here, before any connection.
/// [`DomainName`] already refuses such names; this is the second line. The
/// reason is this server's own text.
pub fn public_url(domain: &DomainName, path_and_query: &str) -> Result<Url, &'static str> {
    let url = Url::parse(&format!("https://{domain}{path_and_query}"))
        .map_err(|_| "no valid URL can be formed for it")?;
    match url.host() {
        Some(Host::Domain(host)) if host == domain.as_str() => Ok(url),
        Some(Host::Ipv4(ip)) if !is_public(IpAddr::V4(ip)) => {
            Err("it has no --peer entry and its name is a non-public IP address")
        }
        Some(Host::Ipv6(ip)) if !is_public(IpAddr::V6(ip)) => {
            Err("it has no --peer entry and its name is a non-public IP address")
        }
        Some(Host::Ipv4(_) | Host::Ipv6(_)) => {
            Err("its name is an IP address; federation reaches servers by domain name")
        }
        _ => Err("its name does not survive URL parsing unchanged"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn public(s: &str) -> bool {
        is_public(s.parse().unwrap())
    }

    #[test]
    fn refused_ranges() {
        for s in [
            "127.0.0.1",
            "127.255.0.9",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.254",
            "0.0.0.0",
            "0.1.2.3",
            "255.255.255.255",
            "224.0.0.1",
            "240.0.0.1",
            "192.0.2.1",
            "198.18.0.1",
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "fec0::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:1::",
            "2001:db8::1",
            // local-use NAT64 (RFC 8215), whatever the embedded address
            "64:ff9b:1::7f00:1",
            "64:ff9b:1::808:808",
            "64:ff9b:1:ffff:ffff:ffff:ffff:ffff",
            // IPv4-translated (RFC 2765), whatever the embedded address
            "::ffff:0:7f00:1",
            "::ffff:0:808:808",
            // Teredo (RFC 4380)
            "2001::1",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "2001:0:ffff:ffff:ffff:ffff:ffff:ffff",
        ] {
            assert!(!public(s), "{s} must be refused");
        }
    }

    #[test]
    fn urls_of_numeric_hosts_are_refused() {
        let d = |s: &str| DomainName::new(s).unwrap();
        let url = public_url(&d("example.com"), "/.p2/core/v1/idcert/server").unwrap();
        assert_eq!(url.host_str(), Some("example.com"));
        assert_eq!(url.port_or_known_default(), Some(443));
        // A path cannot change the host.
        assert!(public_url(&d("example.com"), "@127.0.0.1/").is_err());
    }

    #[test]
    fn public_ranges() {
        for s in [
            "1.1.1.1",
            "8.8.8.8",
            "100.63.255.255",
            "100.128.0.1",
            "172.15.0.1",
            "172.32.0.1",
            "192.169.0.1",
            "2606:4700::1111",
            "::ffff:1.1.1.1",
            "64:ff9b::808:808",
            "2002:808:808::",
            "2001:4860:4860::8888",
        ] {
            assert!(public(s), "{s} must be allowed");
        }
    }
}
