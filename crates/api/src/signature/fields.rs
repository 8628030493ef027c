//! The part of RFC 8941 (Structured Field Values) that `Signature-Input` and
//! `Signature` use: a dictionary whose members are inner lists or items,
//! with parameters. Parsed strictly: decimals, duplicate keys and anything
//! RFC 8941 would parse leniently are refused, so that the value we verify
//! is the value we read.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

/// A bare item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Bare {
    /// `42`, `-7` (at most 15 digits).
    Integer(i64),
    /// `"text"`.
    String(String),
    /// `token`, `*token`.
    Token(String),
    /// `:base64:`.
    Bytes(Vec<u8>),
    /// `?1`, `?0`.
    Boolean(bool),
}

/// Parameters in the order they were written; keys are unique.
pub(super) type Params = Vec<(String, Bare)>;

/// An item with its parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Item {
    pub(super) bare: Bare,
    pub(super) params: Params,
}

/// A dictionary member's value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Member {
    /// A single item.
    Item(Item),
    /// `(a b c);params`.
    InnerList(Vec<Item>, Params),
}

/// Parses a dictionary field value (RFC 8941 §4.2.2), refusing duplicate
/// keys rather than letting the last one win.
pub(super) fn dictionary(text: &str) -> Result<Vec<(String, Member)>, String> {
    let mut p = Parser {
        input: text.as_bytes(),
        at: 0,
    };
    p.skip(b" ");
    let mut members: Vec<(String, Member)> = Vec::new();
    while !p.done() {
        let key = p.key()?;
        let member = if p.eat(b'=') {
            if p.peek() == Some(b'(') {
                let items = p.inner_list()?;
                Member::InnerList(items, p.params()?)
            } else {
                Member::Item(p.item()?)
            }
        } else {
            Member::Item(Item {
                bare: Bare::Boolean(true),
                params: p.params()?,
            })
        };
        if members.iter().any(|(k, _)| *k == key) {
            return Err(format!("the label `{key}` appears twice"));
        }
        members.push((key, member));
        p.skip(b" \t");
        if p.done() {
            break;
        }
        if !p.eat(b',') {
            return Err(format!("expected `,` at character {}", p.at + 1));
        }
        p.skip(b" \t");
        if p.done() {
            return Err("a trailing `,`".into());
        }
    }
    Ok(members)
}

/// Serializes an inner list with its parameters (RFC 8941 §4.1.1.1).
pub(super) fn serialize_inner_list(items: &[Item], params: &Params) -> String {
    let inner: Vec<String> = items
        .iter()
        .map(|i| format!("{}{}", serialize_bare(&i.bare), serialize_params(&i.params)))
        .collect();
    format!("({}){}", inner.join(" "), serialize_params(params))
}

fn serialize_params(params: &Params) -> String {
    params
        .iter()
        .map(|(key, value)| match value {
            Bare::Boolean(true) => format!(";{key}"),
            other => format!(";{key}={}", serialize_bare(other)),
        })
        .collect()
}

fn serialize_bare(bare: &Bare) -> String {
    match bare {
        Bare::Integer(n) => n.to_string(),
        Bare::String(s) => format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\"")),
        Bare::Token(t) => t.clone(),
        Bare::Bytes(b) => format!(":{}:", BASE64.encode(b)),
        Bare::Boolean(b) => format!("?{}", u8::from(*b)),
    }
}

struct Parser<'a> {
    input: &'a [u8],
    at: usize,
}

impl Parser<'_> {
    fn done(&self) -> bool {
        self.at >= self.input.len()
    }

    fn peek(&self) -> Option<u8> {
        self.input.get(self.at).copied()
    }

    fn eat(&mut self, byte: u8) -> bool {
        let found = self.peek() == Some(byte);
        if found {
            self.at += 1;
        }
        found
    }

    fn skip(&mut self, set: &[u8]) {
        while self.peek().is_some_and(|b| set.contains(&b)) {
            self.at += 1;
        }
    }

    fn key(&mut self) -> Result<String, String> {
        let start = self.at;
        match self.peek() {
            Some(b'a'..=b'z' | b'*') => self.at += 1,
            _ => {
                return Err(format!(
                    "expected a key (lowercase letter or `*`) at character {}",
                    start + 1
                ));
            }
        }
        while self
            .peek()
            .is_some_and(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-' | b'.' | b'*'))
        {
            self.at += 1;
        }
        Ok(String::from_utf8_lossy(&self.input[start..self.at]).into_owned())
    }

    fn inner_list(&mut self) -> Result<Vec<Item>, String> {
        self.eat(b'(');
        let mut items = Vec::new();
        loop {
            self.skip(b" ");
            if self.eat(b')') {
                return Ok(items);
            }
            items.push(self.item()?);
            match self.peek() {
                Some(b' ' | b')') => {}
                _ => return Err("an inner list must be `(` items separated by spaces `)`".into()),
            }
        }
    }

    fn item(&mut self) -> Result<Item, String> {
        let bare = self.bare()?;
        Ok(Item {
            bare,
            params: self.params()?,
        })
    }

    fn params(&mut self) -> Result<Params, String> {
        let mut params: Params = Vec::new();
        while self.eat(b';') {
            self.skip(b" ");
            let key = self.key()?;
            let value = if self.eat(b'=') {
                self.bare()?
            } else {
                Bare::Boolean(true)
            };
            if params.iter().any(|(k, _)| *k == key) {
                return Err(format!("the parameter `{key}` appears twice"));
            }
            params.push((key, value));
        }
        Ok(params)
    }

    fn bare(&mut self) -> Result<Bare, String> {
        match self.peek() {
            Some(b'-' | b'0'..=b'9') => self.integer(),
            Some(b'"') => self.string(),
            Some(b':') => self.bytes(),
            Some(b'?') => {
                self.at += 1;
                let value = match self.peek() {
                    Some(b'1') => true,
                    Some(b'0') => false,
                    _ => return Err("a boolean must be ?1 or ?0".into()),
                };
                self.at += 1;
                Ok(Bare::Boolean(value))
            }
            Some(b'a'..=b'z' | b'A'..=b'Z' | b'*') => {
                let start = self.at;
                self.at += 1;
                while self
                    .peek()
                    .is_some_and(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~:/".contains(&b))
                {
                    self.at += 1;
                }
                Ok(Bare::Token(
                    String::from_utf8_lossy(&self.input[start..self.at]).into_owned(),
                ))
            }
            _ => Err(format!("expected a value at character {}", self.at + 1)),
        }
    }

    fn integer(&mut self) -> Result<Bare, String> {
        let start = self.at;
        self.eat(b'-');
        let digits = self.at;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.at += 1;
        }
        if self.peek() == Some(b'.') {
            return Err("decimals are not used here".into());
        }
        let count = self.at - digits;
        if count == 0 || count > 15 {
            return Err("an integer has 1 to 15 digits".into());
        }
        std::str::from_utf8(&self.input[start..self.at])
            .ok()
            .and_then(|s| s.parse().ok())
            .map(Bare::Integer)
            .ok_or_else(|| "not an integer".into())
    }

    fn string(&mut self) -> Result<Bare, String> {
        self.eat(b'"');
        let mut out = String::new();
        loop {
            match self.peek() {
                None => return Err("a string is not closed".into()),
                Some(b'"') => {
                    self.at += 1;
                    return Ok(Bare::String(out));
                }
                Some(b'\\') => {
                    self.at += 1;
                    match self.peek() {
                        Some(c @ (b'"' | b'\\')) => out.push(char::from(c)),
                        _ => return Err("a string may only escape `\"` and `\\`".into()),
                    }
                    self.at += 1;
                }
                Some(c @ 0x20..=0x7e) => {
                    out.push(char::from(c));
                    self.at += 1;
                }
                Some(_) => return Err("a string holds printable ASCII only".into()),
            }
        }
    }

    fn bytes(&mut self) -> Result<Bare, String> {
        self.eat(b':');
        let start = self.at;
        while self
            .peek()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b))
        {
            self.at += 1;
        }
        let encoded = &self.input[start..self.at];
        if !self.eat(b':') {
            return Err("a byte sequence is `:` base64 `:`".into());
        }
        BASE64
            .decode(encoded)
            .map(Bare::Bytes)
            .map_err(|_| "a byte sequence is not valid base64".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn string(s: &str) -> Item {
        Item {
            bare: Bare::String(s.into()),
            params: Vec::new(),
        }
    }

    #[test]
    fn signature_input_round_trips() {
        let text = r#"my-sig=("@method" "date");created=1;keyid="did:key:z6Mk";alg="ed25519""#;
        let parsed = dictionary(text).unwrap();
        assert_eq!(parsed.len(), 1);
        let (label, Member::InnerList(items, params)) = &parsed[0] else {
            panic!("{parsed:?}")
        };
        assert_eq!(label, "my-sig");
        assert_eq!(items, &[string("@method"), string("date")]);
        assert_eq!(params[0], ("created".into(), Bare::Integer(1)));
        assert_eq!(
            format!("{label}={}", serialize_inner_list(items, params)),
            text
        );
    }

    #[test]
    fn lenient_forms_are_normalized_and_bad_ones_refused() {
        // Spaces RFC 8941 allows; the serialization drops them.
        let parsed = dictionary(r#"  a=( "x"  "y" );created=2 , b=:AAAA:"#).unwrap();
        let (_, Member::InnerList(items, params)) = &parsed[0] else {
            panic!()
        };
        assert_eq!(
            serialize_inner_list(items, params),
            r#"("x" "y");created=2"#
        );
        assert_eq!(
            parsed[1].1,
            Member::Item(Item {
                bare: Bare::Bytes(vec![0, 0, 0]),
                params: Vec::new()
            })
        );
        for bad in [
            "a=1, a=2",
            "a=1,",
            "A=1",
            "a=(\"x\";k=1;k=2)",
            "a=1.5",
            "a=(\"x\") ;k=1",
            "a=\"unterminated",
            "a=:not base64!:",
            "a=(\"x\"\"y\")",
            "a=1 b=2",
            "a=1234567890123456",
            "a=\"\\n\"",
        ] {
            assert!(dictionary(bad).is_err(), "{bad}");
        }
        let escaped = dictionary(r#"a=("q\"\\")"#).unwrap();
        let (_, Member::InnerList(items, params)) = &escaped[0] else {
            panic!()
        };
        assert_eq!(items[0].bare, Bare::String("q\"\\".into()));
        assert_eq!(serialize_inner_list(items, params), r#"("q\"\\")"#);
    }
}
