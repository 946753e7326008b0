//! Where a host name or address leads: IP literals, which addresses are public, and name
//! resolution behind a function. The allow-list (`network.rs`) and the connector (`pool.rs`) both
//! decide with these.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::pin::Pin;
use std::sync::Arc;

/// The IP address a URL host names when it is written as one (IPv6 in brackets or not).
pub fn literal_ip(host: &str) -> Option<IpAddr> {
    host.trim_start_matches('[').trim_end_matches(']').parse().ok()
}

/// Whether `ip` is an ordinary public unicast address. Loopback, private, link-local (and so the
/// 169.254.169.254 metadata service), carrier-grade NAT, IETF protocol assignments (192.0.0.0/24),
/// unspecified, broadcast, multicast, documentation, unique-local, site-local (`fec0::/10`) and
/// IPv4-mapped or NAT64 forms of those are not; nor are the IPv6 forms that carry an IPv4 address
/// to wherever a relay sends it: IPv4-compatible (`::a.b.c.d`), 6to4 (`2002::/16`) and local-use
/// NAT64 (`64:ff9b:1::/48`), all deprecated or local.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_v4(v4);
            }
            let segments = v6.segments();
            let local_use_nat64 = segments[0] == 0x64 && segments[1] == 0xff9b && segments[2] == 0x0001;
            if segments[0] == 0x64 && segments[1] == 0xff9b && !local_use_nat64 {
                let [a, b] = segments[6].to_be_bytes();
                let [c, d] = segments[7].to_be_bytes();
                return is_public_v4(Ipv4Addr::new(a, b, c, d));
            }
            let ipv4_compatible = segments[..6].iter().all(|segment| *segment == 0);
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || ipv4_compatible
                || segments[0] == 0x2002
                || local_use_nat64
                || (segments[0] & 0xfe00) == 0xfc00
                || (segments[0] & 0xffc0) == 0xfe80
                || (segments[0] & 0xffc0) == 0xfec0
                || (segments[0] == 0x2001 && segments[1] == 0x0db8)
                || v6 == Ipv6Addr::new(0, 0, 0, 0, 0, 0, 0, 1))
        }
    }
}

fn is_public_v4(v4: Ipv4Addr) -> bool {
    let [a, b, ..] = v4.octets();
    !(v4.is_loopback()
        || v4.is_private()
        || v4.is_link_local()
        || v4.is_unspecified()
        || v4.is_broadcast()
        || v4.is_multicast()
        || v4.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
        || (a == 192 && b == 0 && v4.octets()[2] == 0)
        || (a == 198 && (b == 18 || b == 19))
        || a >= 240)
}

/// The addresses a name resolves to.
pub type ResolveFuture = Pin<Box<dyn Future<Output = std::io::Result<Vec<IpAddr>>> + Send>>;

/// Name resolution behind a function, so tests can stand in for DNS.
pub type DnsResolver = Arc<dyn Fn(String, u16) -> ResolveFuture + Send + Sync>;

/// The operating system's resolver.
pub fn system_resolver() -> DnsResolver {
    Arc::new(|host: String, port: u16| -> ResolveFuture {
        Box::pin(async move {
            let addresses = tokio::net::lookup_host((host.as_str(), port)).await?;
            Ok(addresses.map(|address| address.ip()).collect())
        })
    })
}
