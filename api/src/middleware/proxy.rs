//! Who is calling, and over what: the client's address and scheme, taken from the forwarding
//! headers of trusted proxies only (`KEEL_TRUSTED_PROXIES`), and the HTTPS redirect
//! (`KEEL_FORCE_HTTPS`).
//!
//! The client address is the right-most hop of `X-Forwarded-For` (or, when that header is
//! absent, of `Forwarded`'s `for=`) that is not a trusted proxy: every hop left of it was
//! written by someone we do not trust, so a client that forges the header only adds hops the
//! walk never reaches.

use std::net::{IpAddr, SocketAddr};

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderMap, HeaderName};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, HttpResponse, web};
use keel_shared::config::HttpConfig;

use crate::error::ApiError;
use crate::state::AppState;

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");

/// Paths served over plain HTTP even when HTTPS is forced: probes talk to the api directly.
const PROBES: [&str; 2] = ["/healthz", "/readyz"];

/// The resolved client, stored in the request's extensions by [`client_addr`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr {
    /// The client's address (`None` when the connection has no peer address, as in unit
    /// tests).
    pub ip: Option<IpAddr>,
    /// Whether the client's request arrived over HTTPS (at the api or at a trusted proxy).
    pub https: bool,
}

/// Resolves the client of a request that came from `peer` with `headers`.
pub fn resolve(peer: Option<SocketAddr>, headers: &HeaderMap, http: &HttpConfig) -> ClientAddr {
    let peer = peer.map(|p| p.ip().to_canonical());
    let direct = ClientAddr {
        ip: peer,
        https: false,
    };
    let Some(peer_ip) = peer.filter(|ip| http.is_trusted(*ip)) else {
        return direct;
    };
    let mut ip = peer_ip;
    for hop in forwarded_hops(headers).iter().rev() {
        match parse_hop(hop) {
            Some(hop) => {
                ip = hop;
                if !http.is_trusted(hop) {
                    break;
                }
            }
            // An obfuscated or garbled hop: nothing left of it can be believed.
            None => break,
        }
    }
    ClientAddr {
        ip: Some(ip),
        https: forwarded_proto(headers).is_some_and(|p| p.eq_ignore_ascii_case("https")),
    }
}

/// Every hop, left (the original client, as claimed) to right (the last proxy's peer).
fn forwarded_hops(headers: &HeaderMap) -> Vec<String> {
    let xff: Vec<String> = values(headers, &X_FORWARDED_FOR)
        .flat_map(|v| v.split(','))
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .collect();
    if !xff.is_empty() {
        return xff;
    }
    forwarded_elements(headers)
        .filter_map(|element| param(element, "for"))
        .collect()
}

/// The scheme the last proxy received: `X-Forwarded-Proto`'s right-most value, else the last
/// `Forwarded` element's `proto=`.
fn forwarded_proto(headers: &HeaderMap) -> Option<String> {
    let xfp = values(headers, &X_FORWARDED_PROTO)
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .last()
        .map(str::to_owned);
    xfp.or_else(|| {
        forwarded_elements(headers)
            .filter_map(|e| param(e, "proto"))
            .last()
    })
}

fn values<'a>(headers: &'a HeaderMap, name: &HeaderName) -> impl Iterator<Item = &'a str> {
    headers.get_all(name).filter_map(|v| v.to_str().ok())
}

/// `Forwarded` (RFC 7239) elements in order, across every instance of the header.
fn forwarded_elements(headers: &HeaderMap) -> impl Iterator<Item = &str> {
    values(headers, &header::FORWARDED).flat_map(|v| v.split(','))
}

/// The value of `name=` in one `Forwarded` element, unquoted.
fn param(element: &str, name: &str) -> Option<String> {
    element.split(';').find_map(|pair| {
        let (k, v) = pair.trim().split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().trim_matches('"').to_owned())
    })
}

/// `1.2.3.4`, `1.2.3.4:80`, `2001:db8::1`, `[2001:db8::1]:443` → the address; `unknown`,
/// `_hidden` and garbage → `None`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim().trim_matches('"');
    if let Some(rest) = hop.strip_prefix('[') {
        let ip: IpAddr = rest.split(']').next()?.parse().ok()?;
        return Some(ip.to_canonical());
    }
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .map(|ip| ip.to_canonical())
}

/// The middleware (`from_fn(client_addr)`): stores [`ClientAddr`] for the extractors, and
/// redirects plain HTTP to HTTPS when `KEEL_FORCE_HTTPS` is on.
pub async fn client_addr(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    };
    let client = resolve(req.peer_addr(), req.headers(), &state.config.http);
    req.extensions_mut().insert(client);
    if state.config.http.force_https && !client.https && !PROBES.contains(&req.path()) {
        let response = match https_location(&req) {
            Some(location) => HttpResponse::PermanentRedirect()
                .insert_header((header::LOCATION, location))
                .finish(),
            None => actix_web::ResponseError::error_response(&ApiError::InvalidField {
                field: "Host",
                message: "is required to redirect to https".to_owned(),
            }),
        };
        return Ok(req.into_response(response));
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_boxed_body)
}

/// `https://<Host><path and query>`, when the request names a plausible host.
fn https_location(req: &ServiceRequest) -> Option<String> {
    let host = req.headers().get(header::HOST)?.to_str().ok()?;
    let plausible = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b));
    let path = req.uri().path_and_query().map_or("/", |p| p.as_str());
    plausible.then(|| format!("https://{host}{path}"))
}

#[cfg(test)]
mod tests {
    use actix_web::http::header::HeaderValue;
    use keel_shared::Config;

    use super::*;

    fn http(trusted: &str) -> HttpConfig {
        Config::from_vars([("KEEL_TRUSTED_PROXIES", trusted)])
            .expect("valid")
            .http
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(HeaderName::from_static(k), HeaderValue::from_static(v));
        }
        map
    }

    fn peer(s: &str) -> Option<SocketAddr> {
        Some(s.parse().expect("socket address"))
    }

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().expect("ip"))
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        let h = headers(&[
            ("x-forwarded-for", "1.1.1.1"),
            ("x-forwarded-proto", "https"),
            ("forwarded", "for=2.2.2.2;proto=https"),
        ]);
        let c = resolve(peer("203.0.113.9:5000"), &h, &http("10.0.0.0/8"));
        assert_eq!(
            c,
            ClientAddr {
                ip: ip("203.0.113.9"),
                https: false
            }
        );
    }

    #[test]
    fn behind_a_trusted_proxy_the_right_most_untrusted_hop_is_the_client() {
        // The client forged "6.6.6.6"; the proxy appended the address it saw.
        let h = headers(&[("x-forwarded-for", "6.6.6.6, 198.51.100.7")]);
        let c = resolve(peer("10.0.0.2:40000"), &h, &http("10.0.0.0/8"));
        assert_eq!(c.ip, ip("198.51.100.7"));
    }

    #[test]
    fn a_chain_of_trusted_proxies_is_skipped() {
        let h = headers(&[
            ("x-forwarded-for", "6.6.6.6, 198.51.100.7, 10.0.0.5"),
            ("x-forwarded-for", "10.0.0.4"),
        ]);
        let c = resolve(peer("10.0.0.2:40000"), &h, &http("10.0.0.0/8"));
        assert_eq!(c.ip, ip("198.51.100.7"));
    }

    #[test]
    fn when_every_hop_is_trusted_the_left_most_is_the_client() {
        let h = headers(&[("x-forwarded-for", "10.0.0.9, 10.0.0.5")]);
        let c = resolve(peer("10.0.0.2:1"), &h, &http("10.0.0.0/8"));
        assert_eq!(c.ip, ip("10.0.0.9"));
    }

    #[test]
    fn a_garbled_hop_stops_the_walk_at_the_last_trusted_address() {
        let h = headers(&[("x-forwarded-for", "1.2.3.4, nonsense, 10.0.0.5")]);
        let c = resolve(peer("10.0.0.2:1"), &h, &http("10.0.0.0/8"));
        assert_eq!(c.ip, ip("10.0.0.5"));
    }

    #[test]
    fn forwarded_is_read_when_x_forwarded_for_is_absent() {
        let h = headers(&[(
            "forwarded",
            "for=6.6.6.6, for=\"[2001:db8::7]:4711\";proto=https;by=10.0.0.2",
        )]);
        let c = resolve(peer("10.0.0.2:1"), &h, &http("10.0.0.0/8"));
        assert_eq!(
            c,
            ClientAddr {
                ip: ip("2001:db8::7"),
                https: true
            }
        );
    }

    #[test]
    fn ports_and_mapped_addresses_are_normalised() {
        let h = headers(&[("x-forwarded-for", "198.51.100.7:5555")]);
        let c = resolve(peer("[::ffff:127.0.0.1]:1"), &h, &http("127.0.0.0/8"));
        assert_eq!(c.ip, ip("198.51.100.7"));
    }

    #[test]
    fn the_scheme_is_the_last_proxys_statement() {
        let h = headers(&[("x-forwarded-proto", "https, http")]);
        assert!(!resolve(peer("10.0.0.2:1"), &h, &http("10.0.0.0/8")).https);
        let h = headers(&[("x-forwarded-proto", "HTTPS")]);
        assert!(resolve(peer("10.0.0.2:1"), &h, &http("10.0.0.0/8")).https);
    }

    #[test]
    fn no_headers_means_the_peer() {
        let c = resolve(peer("10.0.0.2:1"), &HeaderMap::new(), &http("10.0.0.0/8"));
        assert_eq!(
            c,
            ClientAddr {
                ip: ip("10.0.0.2"),
                https: false
            }
        );
        let c = resolve(None, &HeaderMap::new(), &http("10.0.0.0/8"));
        assert_eq!(c.ip, None);
    }
}
