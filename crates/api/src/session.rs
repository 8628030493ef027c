//! Dashboard sessions and one-time sign-in codes, kept in memory (a restart
//! signs everyone out), and the cookies that carry them.
//!
//! Session ids, CSRF tokens and codes are 32 bytes from the OS random
//! source. Only their blake3 hashes are kept, and lookups go by hash, so
//! neither a comparison's timing nor a memory dump gives one away. A session
//! ends when its lifetime is over (counted from sign-in, not from the last
//! request) or at `/logout`; a code is good for one sign-in within its
//! lifetime.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::extract::OptionalFromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};

use crate::problem::Problem;

/// The cookie that carries a session id.
pub(crate) const SESSION_COOKIE: &str = "assure_session";
/// The cookie that carries the pre-session token of the sign-in form.
pub(crate) const LOGIN_COOKIE: &str = "assure_login";
/// Sessions held at once; beyond it the one that expires first is dropped.
const MAX_SESSIONS: usize = 1024;
/// Unused sign-in codes held at once; beyond it the oldest is dropped.
const MAX_CODES: usize = 64;

type Key = [u8; 32];

fn key(secret: &str) -> Key {
    *blake3::hash(secret.as_bytes()).as_bytes()
}

/// 32 bytes from the OS random source, as 64 hex characters.
pub(crate) fn random_secret() -> Result<String, Problem> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(Problem::internal)?;
    Ok(hex::encode(bytes))
}

/// A signed-in dashboard session, as handlers see it.
#[derive(Clone, Debug)]
pub(crate) struct Session {
    key: Key,
    /// The token every form of this session must send back
    /// ([`crate::csrf::field`]).
    pub(crate) csrf: String,
}

#[derive(Debug)]
struct Entry {
    expires: Instant,
    csrf: String,
}

#[derive(Debug, Default)]
struct Inner {
    sessions: HashMap<Key, Entry>,
    codes: HashMap<Key, Instant>,
}

/// Every session and unused sign-in code of one server.
#[derive(Debug)]
pub(crate) struct Sessions {
    lifetime: Duration,
    code_lifetime: Duration,
    inner: Mutex<Inner>,
}

impl Sessions {
    pub(crate) fn new(lifetime: Duration, code_lifetime: Duration) -> Self {
        Self {
            lifetime,
            code_lifetime,
            inner: Mutex::default(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// How long a session lasts.
    pub(crate) fn lifetime(&self) -> Duration {
        self.lifetime
    }

    /// How long a sign-in code stays valid.
    pub(crate) fn code_lifetime(&self) -> Duration {
        self.code_lifetime
    }

    /// Starts a session; returns its id (for the cookie) and the session.
    pub(crate) fn create(&self) -> Result<(String, Session), Problem> {
        let (id, csrf) = (random_secret()?, random_secret()?);
        let now = Instant::now();
        let mut inner = self.lock();
        inner.sessions.retain(|_, e| e.expires > now);
        if inner.sessions.len() >= MAX_SESSIONS
            && let Some(first) = inner
                .sessions
                .iter()
                .min_by_key(|(_, e)| e.expires)
                .map(|(k, _)| *k)
        {
            inner.sessions.remove(&first);
        }
        let session = Session {
            key: key(&id),
            csrf: csrf.clone(),
        };
        inner.sessions.insert(
            session.key,
            Entry {
                expires: now + self.lifetime,
                csrf,
            },
        );
        Ok((id, session))
    }

    /// The live session with this id; an expired one is forgotten.
    pub(crate) fn find(&self, id: &str) -> Option<Session> {
        let key = key(id);
        let mut inner = self.lock();
        let entry = inner.sessions.get(&key)?;
        if entry.expires <= Instant::now() {
            inner.sessions.remove(&key);
            return None;
        }
        Some(Session {
            key,
            csrf: entry.csrf.clone(),
        })
    }

    /// The live session named by the request's session cookie.
    pub(crate) fn of_request(&self, headers: &HeaderMap) -> Option<Session> {
        cookie(headers, SESSION_COOKIE).and_then(|id| self.find(id))
    }

    /// Ends a session.
    pub(crate) fn end(&self, session: &Session) {
        self.lock().sessions.remove(&session.key);
    }

    /// A new single-use sign-in code.
    pub(crate) fn mint_code(&self) -> Result<String, Problem> {
        let code = random_secret()?;
        let now = Instant::now();
        let mut inner = self.lock();
        inner.codes.retain(|_, expires| *expires > now);
        if inner.codes.len() >= MAX_CODES
            && let Some(oldest) = inner
                .codes
                .iter()
                .min_by_key(|(_, expires)| **expires)
                .map(|(k, _)| *k)
        {
            inner.codes.remove(&oldest);
        }
        inner.codes.insert(key(&code), now + self.code_lifetime);
        Ok(code)
    }

    /// Whether `code` would sign in now (without using it).
    pub(crate) fn code_is_valid(&self, code: &str) -> bool {
        self.lock()
            .codes
            .get(&key(code))
            .is_some_and(|expires| *expires > Instant::now())
    }

    /// Uses `code`: true the first time within its lifetime, false ever
    /// after.
    pub(crate) fn redeem(&self, code: &str) -> bool {
        self.lock()
            .codes
            .remove(&key(code))
            .is_some_and(|expires| expires > Instant::now())
    }
}

/// The value of cookie `name` in the request, if sent.
pub(crate) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|cookies| cookies.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value)
}

/// A `Set-Cookie` value: `HttpOnly; SameSite=Strict` always, `Secure` when
/// the dashboard is reached over https. `None` for `max_age` clears it.
pub(crate) fn set_cookie(
    name: &str,
    value: &str,
    path: &str,
    max_age: Option<Duration>,
    secure: bool,
) -> HeaderValue {
    let seconds = max_age.map_or(0, |d| d.as_secs().max(1));
    let secure = if secure { "; Secure" } else { "" };
    let text = format!(
        "{name}={value}; Path={path}; HttpOnly; SameSite=Strict; Max-Age={seconds}{secure}"
    );
    // Names are constants and values hex, so this always parses.
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// A handler that needs a session gets one, or the request is refused.
impl FromRequestParts<std::sync::Arc<crate::server::AppState>> for Session {
    type Rejection = Problem;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &std::sync::Arc<crate::server::AppState>,
    ) -> Result<Self, Self::Rejection> {
        state
            .sessions
            .of_request(&parts.headers)
            .ok_or_else(|| Problem::new(StatusCode::FORBIDDEN, "sign in first"))
    }
}

impl OptionalFromRequestParts<std::sync::Arc<crate::server::AppState>> for Session {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &std::sync::Arc<crate::server::AppState>,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(state.sessions.of_request(&parts.headers))
    }
}

/// The administrator's dashboard session: the one rule "only the admin,
/// signed in" for every page and form that changes or shows the node's
/// administration. Anyone else gets the dashboard's ordinary 404, the same
/// as for a page that does not exist.
#[derive(Clone, Debug)]
pub(crate) struct AdminSession(pub(crate) Session);

impl FromRequestParts<std::sync::Arc<crate::server::AppState>> for AdminSession {
    type Rejection = axum::response::Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &std::sync::Arc<crate::server::AppState>,
    ) -> Result<Self, Self::Rejection> {
        let caller = parts
            .extensions
            .get::<crate::server::Ctx>()
            .map(|ctx| ctx.caller.clone())
            .unwrap_or(crate::visibility::Caller::Anonymous);
        match state.sessions.of_request(&parts.headers) {
            Some(session) if caller.is_admin() => Ok(Self(session)),
            _ => Err(crate::dashboard::not_found(&caller)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_is_found_by_its_id_until_it_ends() {
        let sessions = Sessions::new(Duration::from_secs(60), Duration::from_secs(60));
        let (id, session) = sessions.create().unwrap();
        assert_eq!(id.len(), 64);
        assert_eq!(sessions.find(&id).unwrap().csrf, session.csrf);
        assert!(sessions.find(&random_secret().unwrap()).is_none());
        assert!(sessions.find("").is_none());
        sessions.end(&session);
        assert!(sessions.find(&id).is_none());
    }

    #[test]
    fn a_session_expires() {
        let sessions = Sessions::new(Duration::from_millis(20), Duration::from_secs(60));
        let (id, _) = sessions.create().unwrap();
        assert!(sessions.find(&id).is_some());
        std::thread::sleep(Duration::from_millis(40));
        assert!(sessions.find(&id).is_none());
    }

    #[test]
    fn sessions_and_their_csrf_tokens_differ() {
        let sessions = Sessions::new(Duration::from_secs(60), Duration::from_secs(60));
        let (a, sa) = sessions.create().unwrap();
        let (b, sb) = sessions.create().unwrap();
        assert_ne!(a, b);
        assert_ne!(sa.csrf, sb.csrf);
        assert_ne!(a, sa.csrf);
    }

    #[test]
    fn the_session_store_is_bounded() {
        let sessions = Sessions::new(Duration::from_secs(60), Duration::from_secs(60));
        let (first, _) = sessions.create().unwrap();
        for _ in 0..MAX_SESSIONS {
            sessions.create().unwrap();
        }
        assert_eq!(sessions.lock().sessions.len(), MAX_SESSIONS);
        assert!(sessions.find(&first).is_none(), "the oldest made room");
    }

    #[test]
    fn a_code_signs_in_once() {
        let sessions = Sessions::new(Duration::from_secs(60), Duration::from_secs(60));
        let code = sessions.mint_code().unwrap();
        assert!(sessions.code_is_valid(&code));
        assert!(sessions.redeem(&code));
        assert!(!sessions.code_is_valid(&code));
        assert!(!sessions.redeem(&code));
        assert!(!sessions.redeem(&random_secret().unwrap()));
    }

    #[test]
    fn a_code_expires() {
        let sessions = Sessions::new(Duration::from_secs(60), Duration::from_millis(20));
        let code = sessions.mint_code().unwrap();
        std::thread::sleep(Duration::from_millis(40));
        assert!(!sessions.code_is_valid(&code));
        assert!(!sessions.redeem(&code));
    }

    #[test]
    fn cookies_are_read_by_exact_name() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("x_assure_session=no; assure_session=yes; other=1"),
        );
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("yes"));
        assert_eq!(cookie(&headers, LOGIN_COOKIE), None);
    }

    #[test]
    fn cookies_are_http_only_and_strict_and_secure_when_asked() {
        let plain = set_cookie(
            SESSION_COOKIE,
            "ab",
            "/",
            Some(Duration::from_secs(8 * 3600)),
            false,
        );
        assert_eq!(
            plain,
            "assure_session=ab; Path=/; HttpOnly; SameSite=Strict; Max-Age=28800"
        );
        let secure = set_cookie(SESSION_COOKIE, "", "/", None, true);
        assert_eq!(
            secure,
            "assure_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0; Secure"
        );
    }
}
