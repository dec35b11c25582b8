//! The page's HTTP edge, kept pure so it is tested without a socket: which
//! request goes where, and whether it carries the session's token.

use std::collections::BTreeMap;

/// What a request asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// The page itself (HTML with its script and style inlined).
    Page,
    /// The diagram: the graph's JSON and Graphviz's SVG of it.
    Graph,
    /// Server-sent events: the lab's status (counters) about once a second.
    Counters,
    /// Server-sent events: each packet the fabric drops, with the reason.
    Drops,
    /// A VM's effective routes and NSG rules.
    Vm { name: String },
    /// A pcapng of what the fabric sees at a VM, NIC or peering for
    /// `seconds` (the daemon's capture, as `vnetlab capture`).
    Capture { target: String, seconds: u64 },
    /// The verdict function's answer for a probe packet.
    Explain {
        from: String,
        to: String,
        protocol: Option<String>,
    },
    /// Refused before anything runs.
    Refuse { status: u16, why: String },
}

/// A page's capture is a short look; `vnetlab capture` is for long ones.
pub const MAX_CAPTURE_SECONDS: u64 = 60;

/// The query string's pairs, percent-decoded (`+` is a space, as forms send it).
pub fn query(q: Option<&str>) -> BTreeMap<String, String> {
    q.unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                match std::str::from_utf8(&b[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                {
                    Some(v) => {
                        out.push(v);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Equal without an early exit, so the time a wrong guess takes says
/// nothing about how much of it was right.
pub fn token_matches(given: &str, token: &str) -> bool {
    let (a, b) = (given.as_bytes(), token.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Routes a request. Every path, the page included, needs `token=` in its
/// query (as Jupyter's printed URL carries it): another local user or a
/// web page in the learner's browser cannot read the lab without it.
pub fn route(method: &str, path: &str, q: Option<&str>, token: &str) -> Route {
    let params = query(q);
    let refuse = |status: u16, why: &str| Route::Refuse {
        status,
        why: why.to_string(),
    };
    if !params.get("token").is_some_and(|t| token_matches(t, token)) {
        return refuse(
            403,
            "403 Forbidden: this page needs the token that `vnetlab web` printed; open the URL it printed (…/?token=…)",
        );
    }
    if method != "GET" {
        return refuse(405, "405 Method Not Allowed: the page only reads (GET)");
    }
    let get = |k: &str| params.get(k).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    match path {
        "/" => Route::Page,
        "/api/graph" => Route::Graph,
        "/api/counters" => Route::Counters,
        "/api/drops" => Route::Drops,
        "/api/vm" => match get("name") {
            Some(name) => Route::Vm { name },
            None => refuse(400, "400 Bad Request: /api/vm needs name=VM"),
        },
        "/api/capture" => match (get("target"), get("seconds").map(|s| s.parse::<u64>())) {
            (None, _) => refuse(400, "400 Bad Request: /api/capture needs target=VM|NIC|PEERING"),
            (Some(target), None) => Route::Capture { target, seconds: 10 },
            (Some(target), Some(Ok(seconds @ 1..=MAX_CAPTURE_SECONDS))) => Route::Capture { target, seconds },
            (Some(_), Some(_)) => refuse(
                400,
                &format!("400 Bad Request: seconds= must be a whole number from 1 to {MAX_CAPTURE_SECONDS}"),
            ),
        },
        "/api/explain" => match (get("from"), get("to")) {
            (Some(from), Some(to)) => {
                // The page's port box joins the address as `vnetlab explain --to IP:PORT` spells it.
                let to = match get("port") {
                    Some(port) => format!("{to}:{port}"),
                    None => to,
                };
                Route::Explain {
                    from,
                    to,
                    protocol: get("protocol"),
                }
            }
            _ => refuse(
                400,
                "400 Bad Request: /api/explain needs from= and to= (port= and protocol= are optional)",
            ),
        },
        _ => refuse(404, "404 Not Found"),
    }
}

/// A fresh session token: 128 random bits from the kernel, as hex.
pub fn new_token() -> std::io::Result<String> {
    use std::io::Read;
    let mut b = [0u8; 16];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut b)?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn every_path_needs_the_token() {
        for path in [
            "/",
            "/api/graph",
            "/api/counters",
            "/api/drops",
            "/api/vm",
            "/api/capture",
            "/nope",
        ] {
            for q in [
                None,
                Some(""),
                Some("token="),
                Some("token=0123"),
                Some("tok=0123456789abcdef0123456789abcdef"),
            ] {
                assert!(
                    matches!(route("GET", path, q, T), Route::Refuse { status: 403, .. }),
                    "{path} {q:?}"
                );
            }
        }
        // One character off, same length.
        let wrong = format!("token={}0", &T[..31]);
        assert!(matches!(
            route("GET", "/", Some(&wrong), T),
            Route::Refuse { status: 403, .. }
        ));
        assert_eq!(route("GET", "/", Some(&format!("token={T}")), T), Route::Page);
    }

    #[test]
    fn routes_with_the_token() {
        let q = |rest: &str| format!("token={T}&{rest}");
        assert_eq!(route("GET", "/api/graph", Some(&q("")), T), Route::Graph);
        assert_eq!(route("GET", "/api/counters", Some(&q("")), T), Route::Counters);
        assert_eq!(route("GET", "/api/drops", Some(&q("")), T), Route::Drops);
        assert_eq!(
            route("GET", "/api/vm", Some(&q("name=SalesVM")), T),
            Route::Vm { name: "SalesVM".into() }
        );
        assert_eq!(
            route(
                "GET",
                "/api/explain",
                Some(&q("from=SalesVM&to=10.3.1.4&port=22&protocol=tcp")),
                T
            ),
            Route::Explain {
                from: "SalesVM".into(),
                to: "10.3.1.4:22".into(),
                protocol: Some("tcp".into())
            }
        );
        // An empty port box is no port: icmp by default, as `vnetlab explain` does.
        assert_eq!(
            route(
                "GET",
                "/api/explain",
                Some(&q("from=Internet&to=SalesVM&port=&protocol=")),
                T
            ),
            Route::Explain {
                from: "Internet".into(),
                to: "SalesVM".into(),
                protocol: None
            }
        );
        assert!(matches!(
            route("GET", "/api/explain", Some(&q("from=SalesVM")), T),
            Route::Refuse { status: 400, .. }
        ));
        assert!(matches!(
            route("GET", "/api/vm", Some(&q("")), T),
            Route::Refuse { status: 400, .. }
        ));
        assert!(matches!(
            route("POST", "/", Some(&q("")), T),
            Route::Refuse { status: 405, .. }
        ));
        assert!(matches!(
            route("GET", "/etc/passwd", Some(&q("")), T),
            Route::Refuse { status: 404, .. }
        ));
    }

    #[test]
    fn query_decodes_percent_and_plus() {
        let p = query(Some("a=1%2E2+3&b&c=%zz&d=%4"));
        assert_eq!(p["a"], "1.2 3");
        assert_eq!(p["b"], "");
        assert_eq!(p["c"], "%zz");
        assert_eq!(p["d"], "%4");
    }

    #[test]
    fn tokens_are_fresh_and_long() {
        let (a, b) = (new_token().expect("urandom"), new_token().expect("urandom"));
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
    }
}
