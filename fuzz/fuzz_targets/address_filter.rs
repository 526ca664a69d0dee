//! The federation address filter: arbitrary text through `DomainName` and
//! `FederationId` parsing, the URL the fetcher builds for a domain without a
//! `--peer` entry, and the IP filter, with the home server's own
//! `federation/address.rs` compiled in as it is.
//!
//! Invariants: a domain that parses is never read as an IP address by the
//! WHATWG URL parser (the `url` crate) or by std; the fetcher's URL for it
//! has exactly that domain as its host; and the filter treats an IPv4 address
//! the same in every IPv6 form that embeds it.
#![no_main]

#[allow(dead_code)]
#[path = "../../crates/p2core-server/src/federation/address.rs"]
mod address;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use libfuzzer_sys::fuzz_target;
use p2core_types::{DomainName, FederationId};
use url::{Host, Url};

fn check_domain(d: &DomainName) {
    assert!(
        d.as_str().parse::<IpAddr>().is_err(),
        "{d} is an IP address to std"
    );
    if let Ok(host) = Host::parse(d.as_str()) {
        assert!(
            matches!(host, Host::Domain(_)),
            "{d} is an IP address to the URL parser: {host:?}"
        );
    }
    if let Ok(url) = Url::parse(&format!("https://{d}/")) {
        assert!(
            matches!(url.host(), Some(Host::Domain(_))),
            "https://{d}/ has an IP host: {:?}",
            url.host()
        );
    }
    if let Ok(url) = address::public_url(d, "/.p2/core/v1/idcert/server") {
        assert_eq!(url.host(), Some(Host::Domain(d.as_str())), "{d}");
        assert_eq!(url.port_or_known_default(), Some(443));
    }
}

fn check_filter(v4: Ipv4Addr) {
    let public = address::is_public(IpAddr::V4(v4));
    let [a, b, c, d] = v4.octets();
    let hi = u16::from_be_bytes([a, b]);
    let lo = u16::from_be_bytes([c, d]);
    for embedded in [
        v4.to_ipv6_mapped(),
        Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, hi, lo),
        Ipv6Addr::new(0x2002, hi, lo, 0, 0, 0, 0, 1),
    ] {
        assert_eq!(
            address::is_public(IpAddr::V6(embedded)),
            public,
            "{v4} vs {embedded}"
        );
    }
    // Always refused, whatever they embed.
    for never in [
        Ipv6Addr::new(0x64, 0xff9b, 1, 0, 0, 0, hi, lo),
        Ipv6Addr::new(0, 0, 0, 0, 0xffff, 0, hi, lo),
        Ipv6Addr::new(0x2001, 0, hi, lo, 0, 0, hi, lo),
        Ipv6Addr::new(0, 0, 0, 0, 0, 0, hi, lo),
    ] {
        assert!(!address::is_public(IpAddr::V6(never)), "{never}");
    }
}

fuzz_target!(|data: &[u8]| {
    if let Some(bytes) = data.get(..4).and_then(|s| <[u8; 4]>::try_from(s).ok()) {
        check_filter(Ipv4Addr::from(bytes));
    }
    if let Some(bytes) = data.get(..16).and_then(|s| <[u8; 16]>::try_from(s).ok()) {
        let _ = address::is_public(IpAddr::V6(Ipv6Addr::from(bytes)));
    }
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(ip) = s.parse::<IpAddr>() {
        let _ = address::is_public(ip);
    }
    if let Ok(d) = DomainName::new(s) {
        check_domain(&d);
    }
    if let Ok(fid) = FederationId::new(s) {
        check_domain(fid.domain());
    }
    // What a peer might send as a domain: the last label and a numeric one.
    if let Some((_, tail)) = s.rsplit_once('.')
        && let Ok(d) = DomainName::new(tail)
    {
        check_domain(&d);
    }
});
