//! The server: the accept loop (connection caps, `conn`), hyper with a
//! header-read timeout, the request lanes in front of the router
//! (`front`), and the router's middleware every request passes:
//! authentication, rate limit, metrics.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt as _;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::conn::{Conns, Socket};
use crate::front::{Front, MAX_HEAD};
use crate::limits::{RateLimiter, ReplayCache};
use crate::metrics::{Metrics, RequestLabels, RouteLabels};
use crate::problem::Problem;
use crate::session::Sessions;
use crate::signature::{self, Covered, Scheme, SignatureError};
use crate::visibility::Caller;
use crate::{Config, routes};

/// Shared by every request.
pub(crate) struct AppState {
    pub(crate) config: Config,
    pub(crate) limiter: RateLimiter,
    pub(crate) replay: ReplayCache,
    /// Who a signature must name to be for this node.
    pub(crate) target: Authorities,
    pub(crate) sessions: Arc<Sessions>,
    pub(crate) metrics: Metrics,
}

/// The scheme and authorities under which this node is reached, and the
/// first second whose signatures it accepts.
#[derive(Debug)]
pub(crate) struct Authorities {
    pub(crate) scheme: Scheme,
    pub(crate) names: Vec<String>,
    /// The second after the server started: a signature created earlier
    /// may have been accepted by an earlier run, whose replay cache is gone.
    pub(crate) not_before: i64,
}

/// The request's caller and stated purpose, set by [`authenticate`].
#[derive(Clone, Debug)]
pub(crate) struct Ctx {
    pub(crate) caller: Caller,
    pub(crate) purpose: Option<String>,
}

/// A running API server.
#[derive(Debug)]
pub struct Server {
    /// The address it listens on.
    pub addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
    sessions: Arc<Sessions>,
}

/// Mints one-time sign-in links for a running server.
#[derive(Clone, Debug)]
pub struct SignInLinks {
    addr: SocketAddr,
    sessions: Arc<Sessions>,
}

impl SignInLinks {
    /// A one-time link that signs a browser in to the dashboard.
    pub fn mint(&self) -> std::io::Result<String> {
        let code = self
            .sessions
            .mint_code()
            .map_err(|_| std::io::Error::other("the OS random source failed"))?;
        Ok(format!("http://{}/login/once/{code}", self.addr))
    }
}

impl Server {
    /// A one-time link that signs a browser in to the dashboard: good for
    /// one sign-in within `Settings::login_link`. Not the admin token.
    pub fn dashboard_link(&self) -> std::io::Result<String> {
        self.sign_in_links().mint()
    }

    /// What mints [`Server::dashboard_link`]s, to hand to whoever serves
    /// `assure dashboard-link` while the server runs.
    pub fn sign_in_links(&self) -> SignInLinks {
        SignInLinks {
            addr: self.addr,
            sessions: self.sessions.clone(),
        }
    }

    /// Stops accepting, lets requests in flight finish (at most the request
    /// timeout), and returns.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// The first second whose signatures a node started at `started` accepts.
fn first_second(started: jiff::Timestamp) -> i64 {
    started.as_second() + i64::from(started.subsec_nanosecond() > 0)
}

/// Waits until the clock reaches the first whole second after `started`:
/// from then on, what a client signs is accepted by a node started then.
pub async fn wait_for_first_second(started: jiff::Timestamp) {
    let not_before = first_second(started) * 1000;
    loop {
        let left = not_before - jiff::Timestamp::now().as_millisecond();
        if left <= 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(left.min(1000) as u64)).await;
    }
}

/// Binds and starts serving. Returns once the clock has reached the first
/// whole second after [`Config::started`]: signatures made from then on are
/// accepted, earlier ones never (they may have been accepted by an earlier
/// run).
pub async fn serve(config: Config) -> std::io::Result<Server> {
    let listener = TcpListener::bind(config.settings.listen).await?;
    let addr = listener.local_addr()?;
    let settings = config.settings.clone();
    let sessions = Arc::new(Sessions::new(settings.session, settings.login_link));
    let scheme = settings.scheme;
    let names = match &settings.authorities {
        Some(names) => names
            .iter()
            .filter_map(|n| signature::normalize_authority(n, scheme).ok())
            .collect(),
        None => signature::default_authorities(addr, scheme),
    };
    let not_before = first_second(config.started);
    wait_for_first_second(config.started).await;
    let metrics = Metrics::new();
    let refused = metrics.refused.clone();
    let state = Arc::new(AppState {
        limiter: RateLimiter::new(settings.requests_per_second),
        replay: ReplayCache::default(),
        target: Authorities {
            scheme,
            names,
            not_before,
        },
        sessions: sessions.clone(),
        metrics,
        config,
    });
    let front = Front::new(routes::router(state), &settings, refused.clone());
    let conns = Conns::new(
        settings.max_connections,
        settings.max_connections_per_address,
        refused,
    );
    let (stop, mut stopped) = watch::channel(false);
    let task = tokio::spawn(async move {
        let mut connections = tokio::task::JoinSet::new();
        loop {
            let (stream, peer) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(pair) => pair,
                    Err(error) => {
                        tracing::warn!(%error, "accept failed");
                        continue;
                    }
                },
                _ = stopped.changed() => break,
            };
            let ticket = match conns.admit(peer.ip().to_canonical()) {
                Ok(ticket) => ticket,
                Err(why) => {
                    conns.refuse(stream, why);
                    continue;
                }
            };
            let front = front.clone();
            let service = tower::service_fn(move |request: Request<hyper::body::Incoming>| {
                let front = front.clone();
                async move { Ok::<_, Infallible>(front.answer(request, peer).await) }
            });
            let mut stop = stopped.clone();
            let header_timeout = settings.header_timeout;
            connections.spawn(async move {
                let _ticket = ticket;
                let mut builder = hyper::server::conn::http1::Builder::new();
                builder
                    .timer(TokioTimer::new())
                    .header_read_timeout(header_timeout)
                    .max_buf_size(MAX_HEAD);
                let connection = builder.serve_connection(
                    TokioIo::new(Socket::new(stream)),
                    TowerToHyperService::new(service),
                );
                tokio::pin!(connection);
                tokio::select! {
                    _ = connection.as_mut() => {}
                    _ = stop.changed() => {
                        connection.as_mut().graceful_shutdown();
                        let _ = connection.await;
                    }
                }
            });
            while connections.try_join_next().is_some() {}
        }
        let grace = settings.request_timeout;
        let _ = tokio::time::timeout(grace, async {
            while connections.join_next().await.is_some() {}
        })
        .await;
    });
    Ok(Server {
        addr,
        stop,
        task,
        sessions,
    })
}

/// Takes the body (read whole by `front`, within the size limit), works
/// out who is calling, and applies the rate limit. Route-level checks (admin only) come after.
pub(crate) async fn authenticate(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let (mut parts, body) = request.into_parts();
    let limit = state.config.settings.max_body_bytes;
    let bytes: Bytes = match http_body_util::Limited::new(body, limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(error) => {
            let status = if error.is::<http_body_util::LengthLimitError>() {
                StatusCode::PAYLOAD_TOO_LARGE
            } else {
                StatusCode::BAD_REQUEST
            };
            let detail = if status == StatusCode::PAYLOAD_TOO_LARGE {
                format!("the body is larger than {limit} bytes")
            } else {
                "the body could not be read".to_owned()
            };
            return Problem::new(status, detail).into_response();
        }
    };
    let path = parts.uri.path().to_owned();
    let caller = match identify(&state, &parts.method, &parts.uri, &parts.headers, &bytes).await {
        Ok(caller) => caller,
        Err(problem) => return problem.into_response(),
    };
    let admin_route = path.starts_with("/v1/admin");
    let api_route = path.starts_with("/v1/");
    if admin_route && caller != Caller::Admin {
        return Problem::unauthorized("admin routes need the admin bearer token").into_response();
    }
    if api_route && !admin_route && caller == Caller::Admin && has_bearer(&parts.headers) {
        return Problem::unauthorized(
            "the admin token is accepted on /v1/admin routes only; sign other requests",
        )
        .into_response();
    }
    let key = match &caller {
        Caller::Admin => None,
        Caller::Party(did) => Some(did.to_string()),
        Caller::Anonymous => parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip().to_string()),
    };
    // The operations lane has its own cap instead (see `front`).
    if let Some(key) = key
        && !crate::front::is_operations(&path)
        && !state.limiter.take(&key)
    {
        return Problem::too_many("rate limit exceeded; slow down");
    }
    let purpose: Option<String> = parts
        .headers
        .get("assure-purpose")
        .and_then(|v| v.to_str().ok())
        .map(|p| p.trim().chars().take(200).collect());
    if let Caller::Party(party) = &caller
        && purpose.as_deref().is_none_or(str::is_empty)
    {
        match state.config.store.grant(party) {
            Ok(Some(grant))
                if grant.is_active(jiff::Timestamp::now())
                    && grant.roles.contains(&assure_access::Role::Regulator) =>
            {
                return Problem::bad_request(
                    "a party granted the regulator role must say why it asks: send an \
                     Assure-Purpose header (covered by the signature)",
                )
                .into_response();
            }
            Ok(_) => {}
            Err(error) => return Problem::internal(error).into_response(),
        }
    }
    parts.extensions.insert(Ctx { caller, purpose });
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

fn has_bearer(headers: &HeaderMap) -> bool {
    headers.contains_key(header::AUTHORIZATION)
}

/// Who is calling: the admin token, a signature, a dashboard session, or
/// nobody. A credential that is present but wrong is an error, never
/// anonymous.
async fn identify(
    state: &AppState,
    method: &axum::http::Method,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Caller, Problem> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let token = value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| Problem::unauthorized("Authorization must be `Bearer <token>`"))?;
        if !constant_time_eq(token.as_bytes(), state.config.admin_token.as_bytes()) {
            return Err(Problem::unauthorized("wrong admin token"));
        }
        return Ok(Caller::Admin);
    }
    if headers.contains_key("signature-input") || headers.contains_key("signature") {
        let party = verify_signature(state, method, uri, headers, body)
            .await
            .map_err(|e| Problem::unauthorized(e.to_string()))?;
        return Ok(Caller::Party(party));
    }
    // A dashboard session is the administrator, on dashboard pages only.
    if !uri.path().starts_with("/v1/") && state.sessions.of_request(headers).is_some() {
        return Ok(Caller::Admin);
    }
    Ok(Caller::Anonymous)
}

/// Checks a signed request against the profile of [`signature`], for this
/// node's scheme and authorities, once.
async fn verify_signature(
    state: &AppState,
    method: &axum::http::Method,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<assure_model::Did, SignatureError> {
    // One line per covered header: two would be joined, and what the
    // signer meant is then anyone's guess.
    let one = |name: &'static str| -> Result<Option<&str>, SignatureError> {
        let mut values = headers.get_all(name).iter();
        let first = values.next();
        if values.next().is_some() {
            return Err(SignatureError::Repeated(name));
        }
        first
            .map(|v| {
                v.to_str()
                    .map_err(|_| SignatureError::Input(format!("`{name}` is not ASCII")))
            })
            .transpose()
    };
    let need = |name: &'static str| one(name)?.ok_or(SignatureError::Missing(name));
    let input = need("signature-input")?;
    let signature = need("signature")?;
    let host = match one("host")? {
        Some(host) => host,
        None => uri
            .authority()
            .map(|a| a.as_str())
            .ok_or(SignatureError::Missing("host"))?,
    };
    let target = &state.target;
    let authority = signature::normalize_authority(host, target.scheme)
        .ok()
        .filter(|a| target.names.contains(a))
        .ok_or_else(|| SignatureError::Authority(host.chars().take(100).collect()))?;
    let covered = Covered {
        method: method.as_str(),
        scheme: target.scheme,
        authority: &authority,
        path: uri.path(),
        query: uri.query().unwrap_or(""),
        date: need("date")?,
        content_digest: need("content-digest")?,
        purpose: one("assure-purpose")?,
    };
    let now_ms = jiff::Timestamp::now().as_millisecond();
    let verified = signature::verify(
        &covered,
        input,
        signature,
        body,
        now_ms.div_euclid(1000),
        target.not_before,
    )?;
    // A signature from up to AHEAD_SECONDS in the future waits for our
    // clock: none is ever accepted before its `created`, so none accepted by
    // an earlier run is created after this run started.
    let early = verified.created * 1000 - now_ms;
    if early > 0 {
        tokio::time::sleep(std::time::Duration::from_millis(early as u64)).await;
    }
    if !state.replay.first_use(
        verified.signature,
        verified.created,
        now_ms.div_euclid(1000),
    ) {
        return Err(SignatureError::Replayed);
    }
    Ok(verified.signer)
}

/// Compares secrets without stopping at the first difference.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Counts and times every request by its route template.
pub(crate) async fn measure(
    State(state): State<Arc<AppState>>,
    request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    let metrics = &state.metrics;
    metrics
        .requests
        .get_or_create(&RequestLabels {
            route: route.clone(),
            method,
            status: response.status().as_u16(),
        })
        .inc();
    metrics
        .latency
        .get_or_create(&RouteLabels { route })
        .observe(started.elapsed().as_secs_f64());
    response
}
