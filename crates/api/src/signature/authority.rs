//! Which node a signature is for: the scheme and the authorities (`host` or
//! `host:port`) under which this node is reached. A signature covers both,
//! so that it is valid at one node only.

use std::net::{IpAddr, SocketAddr};

/// The scheme clients use to reach the node: `http`, or `https` when a
/// proxy in front of it terminates TLS.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Scheme {
    /// Plain HTTP (the node itself serves only this).
    #[default]
    Http,
    /// HTTPS, terminated by a proxy in front of the node.
    Https,
}

impl Scheme {
    /// `http` or `https`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }

    fn default_port(self) -> u16 {
        match self {
            Scheme::Http => 80,
            Scheme::Https => 443,
        }
    }
}

impl std::str::FromStr for Scheme {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "http" => Ok(Scheme::Http),
            "https" => Ok(Scheme::Https),
            other => Err(format!("`{other}`: the scheme is \"http\" or \"https\"")),
        }
    }
}

/// The canonical form of an authority as RFC 9421 §2.2.3 signs it: the
/// host in lowercase, the port only when it is not the scheme's default.
/// Refuses anything but `host`, `host:port` or `[ipv6]:port`.
pub fn normalize(text: &str, scheme: Scheme) -> Result<String, String> {
    let lower = text.trim().to_ascii_lowercase();
    let bad = || format!("`{text}` is not host or host:port");
    let (host, port) = if let Some(rest) = lower.strip_prefix('[') {
        let (inside, after) = rest.split_once(']').ok_or_else(bad)?;
        if inside.is_empty()
            || !inside
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b":.".contains(&b))
        {
            return Err(bad());
        }
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or_else(bad)?),
        };
        (format!("[{inside}]"), port)
    } else {
        let (host, port) = match lower.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (lower.as_str(), None),
        };
        let label_ok = |l: &str| {
            !l.is_empty()
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        };
        if host.len() > 253 || !host.split('.').all(label_ok) {
            return Err(bad());
        }
        (host.to_owned(), port)
    };
    match port {
        None => Ok(host),
        Some(port) => {
            let number: u16 = port
                .parse()
                .ok()
                .filter(|p| *p != 0 && !port.starts_with('+'))
                .ok_or_else(bad)?;
            if number == scheme.default_port() {
                Ok(host)
            } else {
                Ok(format!("{host}:{number}"))
            }
        }
    }
}

/// The authorities of a node that listens on `addr`, when the configuration
/// names none: that address (and `localhost` for a loopback one); for a
/// wildcard address, the names of the machine itself.
pub fn defaults(addr: SocketAddr, scheme: Scheme) -> Vec<String> {
    let port = addr.port();
    let hosts: Vec<String> = match addr.ip() {
        ip if ip.is_unspecified() => {
            vec!["localhost".into(), "127.0.0.1".into(), "[::1]".into()]
        }
        IpAddr::V4(ip) if ip.is_loopback() => vec![ip.to_string(), "localhost".into()],
        IpAddr::V6(ip) if ip.is_loopback() => vec![format!("[{ip}]"), "localhost".into()],
        IpAddr::V4(ip) => vec![ip.to_string()],
        IpAddr::V6(ip) => vec![format!("[{ip}]")],
    };
    hosts
        .iter()
        .filter_map(|host| normalize(&format!("{host}:{port}"), scheme).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorities_are_normalized_as_rfc_9421_signs_them() {
        let http = Scheme::Http;
        assert_eq!(
            normalize("Assure.Example.COM", http).unwrap(),
            "assure.example.com"
        );
        assert_eq!(normalize("node:80", http).unwrap(), "node");
        assert_eq!(normalize("node:443", Scheme::Https).unwrap(), "node");
        assert_eq!(normalize("node:443", http).unwrap(), "node:443");
        assert_eq!(normalize("10.0.0.5:7100", http).unwrap(), "10.0.0.5:7100");
        assert_eq!(normalize("[::1]:8080", http).unwrap(), "[::1]:8080");
        for bad in [
            "",
            "a b",
            "user@host",
            "host/path",
            "host:",
            "host:0",
            "host:99999",
            "::1",
            "[::1",
            "-x.example",
            "host:+80",
            "[zz]:1",
        ] {
            assert!(normalize(bad, http).is_err(), "{bad}");
        }
    }

    #[test]
    fn defaults_follow_the_listen_address() {
        let http = Scheme::Http;
        assert_eq!(
            defaults("0.0.0.0:7100".parse().unwrap(), http),
            ["localhost:7100", "127.0.0.1:7100", "[::1]:7100"]
        );
        assert_eq!(
            defaults("[::]:7100".parse().unwrap(), http),
            ["localhost:7100", "127.0.0.1:7100", "[::1]:7100"]
        );
        assert_eq!(
            defaults("127.0.0.1:8080".parse().unwrap(), http),
            ["127.0.0.1:8080", "localhost:8080"]
        );
        assert_eq!(defaults("10.0.0.5:80".parse().unwrap(), http), ["10.0.0.5"]);
    }
}
