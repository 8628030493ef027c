//! Raw HTTP/1.1 against a node, as a browser or an attacker sends it:
//! exactly the headers given, over a fresh connection, answered in full.

use std::io::{Read as _, Write as _};
use std::net::{IpAddr, SocketAddr};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpSocket, TcpStream};

/// An answer: status, headers (names lower-case) and body.
#[derive(Debug)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// The headers, names lower-case.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: String,
}

impl Reply {
    /// The first header `name`.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The `Set-Cookie` header for cookie `name`.
    pub fn set_cookie(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n == "set-cookie")
            .map(|(_, v)| v.as_str())
            .find(|v| v.starts_with(&format!("{name}=")))
    }

    /// The value a `Set-Cookie` header gives cookie `name`.
    pub fn cookie(&self, name: &str) -> Option<String> {
        let set = self.set_cookie(name)?;
        let value = set[name.len() + 1..].split(';').next().unwrap_or_default();
        Some(value.to_owned())
    }

    /// The value of the hidden form field `name` in the page.
    pub fn field(&self, name: &str) -> Option<String> {
        let at = self.body.find(&format!("name=\"{name}\" value=\""))?;
        let rest = &self.body[at + name.len() + 15..];
        Some(rest[..rest.find('"')?].to_owned())
    }
}

/// One HTTP/1.1 request with exactly these headers, over a fresh
/// connection, answered in full.
pub async fn send(
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Reply {
    let mut request = format!(
        "{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request += &format!("{name}: {value}\r\n");
    }
    request += "\r\n";
    request += body;
    let read = tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(addr).unwrap();
        stream.write_all(request.as_bytes()).unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response
    });
    let response = tokio::time::timeout(crate::TIMEOUT, read)
        .await
        .expect("the node answers")
        .unwrap();
    parse(&response)
}

/// Connects to `addr` from `source`, an address of this machine (on
/// loopback, 127.0.0.2 is a client other than 127.0.0.1).
pub async fn connect_from(source: IpAddr, addr: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(source, 0))?;
    socket.connect(addr).await
}

/// Sends `request`, byte for byte, over a fresh connection from `source`
/// and reads the answer until the node closes the connection (so send
/// `Connection: close`, or expect the node to close it).
pub async fn exchange(source: IpAddr, addr: SocketAddr, request: &[u8]) -> Reply {
    let answer = tokio::time::timeout(crate::TIMEOUT, async {
        let mut stream = connect_from(source, addr).await?;
        stream.write_all(request).await?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await?;
        Ok::<_, std::io::Error>(response)
    })
    .await
    .expect("the node answers")
    .expect("the connection works");
    parse(&String::from_utf8_lossy(&answer))
}

/// A GET with `headers` from `source`, on a connection closed after it.
pub async fn get_from(
    source: IpAddr,
    addr: SocketAddr,
    target: &str,
    headers: &[(&str, &str)],
) -> Reply {
    let mut request = format!("GET {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        request += &format!("{name}: {value}\r\n");
    }
    request += "\r\n";
    exchange(source, addr, request.as_bytes()).await
}

/// Splits a whole HTTP/1.1 response.
pub fn parse(response: &str) -> Reply {
    let (head, body) = response
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("not an HTTP response: {response:?}"));
    let mut lines = head.lines();
    let status = lines.next().unwrap()[9..12].parse().unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Reply {
        status,
        headers,
        body: body.to_owned(),
    }
}

/// A form body, `application/x-www-form-urlencoded`, as a browser sends it.
pub fn form_encode(pairs: &[(&str, String)]) -> String {
    let escape = |text: &str| -> String {
        text.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    pairs
        .iter()
        .map(|(n, v)| format!("{}={}", escape(n), escape(v)))
        .collect::<Vec<_>>()
        .join("&")
}
