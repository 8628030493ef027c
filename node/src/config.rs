//! The node configuration file (TOML): parsed into a raw form that refuses
//! unknown fields, then validated into what the node runs with.

use std::path::{Path, PathBuf};
use std::time::Duration;

use assure_model::Did;
use libp2p::Multiaddr;
use serde::Deserialize;

/// Why a configuration file was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{file}: {error}")]
    Read {
        /// The file.
        file: PathBuf,
        /// What the OS said (in the message, not a source, so that a chain
        /// of errors does not print it twice).
        error: std::io::Error,
    },
    /// The file is not valid TOML of the expected shape (the message names
    /// the line, the field and what was expected).
    #[error("{file}: {message}")]
    Parse {
        /// The file.
        file: PathBuf,
        /// toml's message.
        message: String,
    },
    /// A field has a value that parses but is not acceptable.
    #[error("{file}: field `{field}`: {expected}")]
    Invalid {
        /// The file.
        file: PathBuf,
        /// The field's path.
        field: String,
        /// What was expected.
        expected: String,
    },
}

/// The configuration file, as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    /// The node's data directory (relative to the config file's directory).
    data_dir: Option<PathBuf>,
    /// Multiaddrs to listen on, e.g. `/ip4/0.0.0.0/tcp/4001`.
    #[serde(default)]
    listen: Vec<String>,
    /// Peers to connect to at start.
    #[serde(default)]
    bootstrap: Vec<RawPeer>,
    /// Organizations whose accreditation records this node accepts.
    #[serde(default)]
    trust_anchors: Vec<String>,
    /// How often to pull from connected authors without a notice.
    #[serde(default, with = "humantime_serde")]
    poll_interval: Option<Duration>,
    /// Run Kademlia peer discovery in client mode (default off: a DHT
    /// server answers any peer that connects with the peers it knows, and
    /// ours are our partners; in client mode the node asks and never
    /// answers).
    #[serde(default)]
    kademlia: bool,
    /// Network limits.
    #[serde(default)]
    limits: RawLimits,
    /// Logging.
    #[serde(default)]
    log: RawLog,
    /// Which profile `assure verify --all` applies to which provider.
    #[serde(default)]
    verify: RawVerify,
    /// The HTTP API and dashboard.
    #[serde(default)]
    api: RawApi,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawApi {
    /// `host:port` to serve on, or "off".
    listen: Option<String>,
    max_body_bytes: Option<usize>,
    #[serde(default, with = "humantime_serde")]
    header_timeout: Option<Duration>,
    /// How long a request body may take (default 10s).
    #[serde(default, with = "humantime_serde")]
    body_timeout: Option<Duration>,
    /// The slowest a body may arrive after its first second, bytes/s.
    min_body_rate: Option<u32>,
    #[serde(default, with = "humantime_serde")]
    request_timeout: Option<Duration>,
    max_concurrent: Option<usize>,
    /// Connections open at once, in all.
    max_connections: Option<usize>,
    /// Connections open at once from one IP address.
    max_connections_per_address: Option<usize>,
    /// `/healthz`, `/readyz` and `/metrics` answered at once.
    max_operations: Option<usize>,
    requests_per_second: Option<u32>,
    max_page: Option<usize>,
    /// How long a dashboard session lasts after signing in (default 8h).
    #[serde(default, with = "humantime_serde")]
    session: Option<Duration>,
    /// How long a one-time sign-in link stays valid (default 10m).
    #[serde(default, with = "humantime_serde")]
    login_link: Option<Duration>,
    /// Mark the dashboard's cookies `Secure`, for a node reached over https
    /// through a proxy that terminates TLS (default false).
    secure_cookies: Option<bool>,
    /// The names clients reach the API by (`host` or `host:port`); a signed
    /// request made for any other node is refused.
    authorities: Option<Vec<String>>,
    /// `http`, or `https` when a TLS-terminating proxy is in front.
    scheme: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVerify {
    /// The profile for providers no `[[verify.profile]]` entry matches.
    default_profile: Option<PathBuf>,
    /// Profiles by what the provider supplies.
    #[serde(default)]
    profile: Vec<RawProfileMap>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProfileMap {
    /// Processes or services, as relationship records name them.
    supplies: Vec<String>,
    /// The profile file (relative to the config file's directory).
    profile: PathBuf,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPeer {
    /// The peer's DID.
    did: String,
    /// Its multiaddr.
    address: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    max_connections: Option<u32>,
    max_connections_per_peer: Option<u32>,
    max_request_bytes: Option<u64>,
    max_response_bytes: Option<u64>,
    requests_per_second: Option<u32>,
    #[serde(default, with = "humantime_serde")]
    request_timeout: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    idle_timeout: Option<Duration>,
    /// How long a peer cut off for misbehaviour stays blocked.
    #[serde(default, with = "humantime_serde")]
    block_duration: Option<Duration>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLog {
    /// A tracing filter such as `info` or `assure_net=debug`.
    level: Option<String>,
}

/// The validated configuration a node runs with.
#[derive(Clone, Debug)]
pub struct NodeConfig {
    /// The data directory.
    pub data_dir: PathBuf,
    /// The network settings.
    pub net: assure_net::Config,
    /// Trusted accreditation issuers.
    pub trust_anchors: Vec<Did>,
    /// The tracing filter.
    pub log_level: String,
    /// Profiles for `assure verify --all`.
    pub verify: VerifyConfig,
    /// The HTTP API; `None` when switched off.
    pub api: Option<assure_api::Settings>,
}

/// Which profile applies to which provider.
#[derive(Clone, Debug, Default)]
pub struct VerifyConfig {
    /// For providers no entry of `profiles` matches.
    pub default_profile: Option<PathBuf>,
    /// A provider supplying any of these gets this profile; first match wins.
    pub profiles: Vec<(Vec<String>, PathBuf)>,
}

impl VerifyConfig {
    /// The profile for a provider that supplies `supplies`.
    pub fn profile_for(&self, supplies: &[String]) -> Option<&Path> {
        self.profiles
            .iter()
            .find(|(names, _)| assure_verify::chain::supplies_match(names, supplies))
            .map(|(_, path)| path.as_path())
            .or(self.default_profile.as_deref())
    }
}

impl NodeConfig {
    /// A working development configuration for `data_dir`: listens on a
    /// random loopback port, no bootstrap peers.
    pub fn development(data_dir: &Path) -> Self {
        Self {
            data_dir: data_dir.to_owned(),
            net: assure_net::Config {
                listen: vec![
                    "/ip4/127.0.0.1/tcp/0"
                        .parse()
                        .unwrap_or_else(|_| Multiaddr::empty()),
                ],
                ..assure_net::Config::default()
            },
            trust_anchors: Vec::new(),
            log_level: "info".into(),
            verify: VerifyConfig::default(),
            api: Some(assure_api::Settings {
                listen: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
                ..assure_api::Settings::default()
            }),
        }
    }

    /// Reads and validates a configuration file.
    pub fn load(file: &Path) -> Result<Self, ConfigError> {
        let text = read_bounded(file).map_err(|error| ConfigError::Read {
            file: file.to_owned(),
            error,
        })?;
        Self::parse(file, &text)
    }

    /// Validates configuration text; `file` names it in errors and anchors a
    /// relative data directory.
    pub fn parse(file: &Path, text: &str) -> Result<Self, ConfigError> {
        let raw: Raw = toml::from_str(text).map_err(|e| ConfigError::Parse {
            file: file.to_owned(),
            message: e.to_string(),
        })?;
        let invalid = |field: String, expected: &str| ConfigError::Invalid {
            file: file.to_owned(),
            field,
            expected: expected.to_owned(),
        };
        let base = file.parent().unwrap_or(Path::new("."));
        let data_dir = base.join(raw.data_dir.unwrap_or_else(|| PathBuf::from("assure-data")));
        let listen = raw
            .listen
            .iter()
            .enumerate()
            .map(|(n, a)| {
                a.parse().map_err(|_| {
                    invalid(
                        format!("listen[{n}]"),
                        "a multiaddr such as /ip4/0.0.0.0/tcp/4001",
                    )
                })
            })
            .collect::<Result<Vec<Multiaddr>, _>>()?;
        let mut bootstrap = Vec::new();
        for (n, peer) in raw.bootstrap.iter().enumerate() {
            let did = peer.did.parse().map_err(|_| {
                invalid(format!("bootstrap[{n}].did"), "a did:key:z6Mk… identifier")
            })?;
            let address = peer.address.parse().map_err(|_| {
                invalid(
                    format!("bootstrap[{n}].address"),
                    "a multiaddr such as /ip4/10.0.0.2/tcp/4001",
                )
            })?;
            bootstrap.push((did, address));
        }
        let trust_anchors = raw
            .trust_anchors
            .iter()
            .enumerate()
            .map(|(n, d)| {
                d.parse().map_err(|_| {
                    invalid(format!("trust_anchors[{n}]"), "a did:key:z6Mk… identifier")
                })
            })
            .collect::<Result<_, _>>()?;
        let defaults = assure_net::Limits::default();
        let l = raw.limits;
        let limits = assure_net::Limits {
            max_connections: l.max_connections.unwrap_or(defaults.max_connections),
            max_connections_per_peer: l
                .max_connections_per_peer
                .unwrap_or(defaults.max_connections_per_peer),
            max_request_bytes: l.max_request_bytes.unwrap_or(defaults.max_request_bytes),
            max_response_bytes: l.max_response_bytes.unwrap_or(defaults.max_response_bytes),
            requests_per_second: l
                .requests_per_second
                .unwrap_or(defaults.requests_per_second),
            request_timeout: l.request_timeout.unwrap_or(defaults.request_timeout),
            idle_timeout: l.idle_timeout.unwrap_or(defaults.idle_timeout),
            block_duration: l.block_duration.unwrap_or(defaults.block_duration),
            ..defaults
        };
        if limits.max_connections == 0 || limits.max_connections_per_peer == 0 {
            return Err(invalid("limits.max_connections".into(), "at least 1"));
        }
        if limits.max_response_bytes < 5 * 1024 * 1024 {
            return Err(invalid(
                "limits.max_response_bytes".into(),
                "at least 5 MiB (one page of entries)",
            ));
        }
        if limits.requests_per_second == 0 {
            return Err(invalid("limits.requests_per_second".into(), "at least 1"));
        }
        let poll_interval = raw.poll_interval.unwrap_or(Duration::from_secs(30));
        if poll_interval < Duration::from_millis(100) {
            return Err(invalid("poll_interval".into(), "at least 100ms"));
        }
        let verify = VerifyConfig {
            default_profile: raw.verify.default_profile.map(|p| base.join(p)),
            profiles: raw
                .verify
                .profile
                .into_iter()
                .map(|m| (m.supplies, base.join(m.profile)))
                .collect(),
        };
        let profile_fields = verify
            .default_profile
            .iter()
            .map(|p| ("verify.default_profile".to_owned(), p))
            .chain(
                verify
                    .profiles
                    .iter()
                    .enumerate()
                    .map(|(n, (_, p))| (format!("verify.profile[{n}].profile"), p)),
            );
        for (field, path) in profile_fields {
            if !path.is_file() {
                return Err(invalid(
                    field,
                    &format!("a profile file; {} does not exist", path.display()),
                ));
            }
        }
        let a = raw.api;
        let api = match a.listen.as_deref() {
            Some("off") => None,
            listen => {
                let defaults = assure_api::Settings::default();
                let scheme = match a.scheme.as_deref() {
                    Some(text) => text
                        .parse()
                        .map_err(|_| invalid("api.scheme".into(), "\"http\" or \"https\""))?,
                    None => defaults.scheme,
                };
                let authorities = match a.authorities {
                    Some(names) if names.is_empty() => {
                        return Err(invalid(
                            "api.authorities".into(),
                            "at least one host or host:port (leave it out for the default)",
                        ));
                    }
                    Some(names) => Some(
                        names
                            .iter()
                            .enumerate()
                            .map(|(n, name)| {
                                assure_api::signature::normalize_authority(name, scheme).map_err(
                                    |why| {
                                        invalid(
                                            format!("api.authorities[{n}]"),
                                            &format!(
                                                "host or host:port such as \"assure.example.com\" \
                                                 or \"10.0.0.5:7100\" ({why})"
                                            ),
                                        )
                                    },
                                )
                            })
                            .collect::<Result<Vec<_>, _>>()?,
                    ),
                    None => None,
                };
                let settings = assure_api::Settings {
                    listen: match listen {
                        Some(text) => text.parse().map_err(|_| {
                            invalid(
                                "api.listen".into(),
                                "host:port such as 127.0.0.1:8080, or \"off\"",
                            )
                        })?,
                        None => defaults.listen,
                    },
                    max_body_bytes: a.max_body_bytes.unwrap_or(defaults.max_body_bytes),
                    header_timeout: a.header_timeout.unwrap_or(defaults.header_timeout),
                    body_timeout: a.body_timeout.unwrap_or(defaults.body_timeout),
                    min_body_rate: a.min_body_rate.unwrap_or(defaults.min_body_rate),
                    request_timeout: a.request_timeout.unwrap_or(defaults.request_timeout),
                    max_concurrent: a.max_concurrent.unwrap_or(defaults.max_concurrent),
                    max_connections: a.max_connections.unwrap_or(defaults.max_connections),
                    max_connections_per_address: a
                        .max_connections_per_address
                        .unwrap_or(defaults.max_connections_per_address),
                    max_operations: a.max_operations.unwrap_or(defaults.max_operations),
                    requests_per_second: a
                        .requests_per_second
                        .unwrap_or(defaults.requests_per_second),
                    max_page: a.max_page.unwrap_or(defaults.max_page),
                    session: a.session.unwrap_or(defaults.session),
                    login_link: a.login_link.unwrap_or(defaults.login_link),
                    secure_cookies: a.secure_cookies.unwrap_or(defaults.secure_cookies),
                    authorities,
                    scheme,
                };
                if settings.max_concurrent == 0 || settings.requests_per_second == 0 {
                    return Err(invalid(
                        "api.max_concurrent / api.requests_per_second".into(),
                        "at least 1",
                    ));
                }
                if [
                    settings.max_connections,
                    settings.max_connections_per_address,
                    settings.max_operations,
                    settings.min_body_rate as usize,
                ]
                .contains(&0)
                {
                    return Err(invalid(
                        "api.max_connections / max_connections_per_address / max_operations / \
                         min_body_rate"
                            .into(),
                        "at least 1",
                    ));
                }
                if settings.max_page == 0 || settings.max_body_bytes < 1024 {
                    return Err(invalid(
                        "api.max_page / api.max_body_bytes".into(),
                        "max_page at least 1, max_body_bytes at least 1024",
                    ));
                }
                if settings.session < Duration::from_secs(60)
                    || settings.login_link < Duration::from_secs(60)
                {
                    return Err(invalid(
                        "api.session / api.login_link".into(),
                        "a duration of at least 1m, such as \"8h\" or \"10m\"",
                    ));
                }
                Some(settings)
            }
        };
        Ok(Self {
            data_dir,
            net: assure_net::Config {
                listen,
                bootstrap,
                limits,
                poll_interval,
                kademlia: raw.kademlia,
                ticket_lifetime: assure_net::TICKET_LIFETIME,
            },
            trust_anchors,
            log_level: raw.log.level.unwrap_or_else(|| "info".into()),
            verify,
            api,
        })
    }
}

/// A configuration file's text: a regular file of at most 1 MiB.
fn read_bounded(file: &Path) -> std::io::Result<String> {
    use std::io::Read as _;
    let max = crate::files::MAX_TEXT_FILE_BYTES;
    let opened = std::fs::File::open(file)?;
    if !opened.metadata()?.is_file() {
        return Err(std::io::Error::other(
            "not a regular file (a device, a pipe or a directory)",
        ));
    }
    let mut text = String::new();
    opened.take(max + 1).read_to_string(&mut text)?;
    if text.len() as u64 > max {
        return Err(std::io::Error::other(format!(
            "larger than the {max}-byte limit of a configuration file"
        )));
    }
    Ok(text)
}
