//! `/metrics` in the Prometheus text format: request counts and latencies
//! collected as requests pass, store and network figures read at scrape time.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct RequestLabels {
    pub(crate) route: String,
    pub(crate) method: String,
    pub(crate) status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct RouteLabels {
    pub(crate) route: String,
}

/// Why the connection layer refused a connection or request before the
/// router saw it.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct RefusalLabels {
    pub(crate) reason: String,
}

/// Refusals by reason: one counter family, shared by the accept loop and
/// the request lanes.
pub(crate) type Refusals = Family<RefusalLabels, Counter>;

type LatencyFamily = Family<RouteLabels, Histogram, fn() -> Histogram>;

/// The metrics of one server: what requests it answered. Nothing here
/// depends on who asked or on what the store holds.
pub(crate) struct Metrics {
    registry: Registry,
    pub(crate) requests: Family<RequestLabels, Counter>,
    pub(crate) latency: LatencyFamily,
    pub(crate) refused: Refusals,
}

/// Store and network figures, computed at scrape time: over every log for
/// the node's administration, over the node's public logs for anyone else
/// (a scrape is not a disclosure), and the peers for the administration
/// alone.
#[derive(Debug, Default)]
pub(crate) struct Figures {
    /// Records in the readable logs.
    pub(crate) records: i64,
    /// Readable logs.
    pub(crate) compartments: i64,
    /// Alerts about readable logs.
    pub(crate) alerts: i64,
    /// Age of the oldest readable replica checkpoint.
    pub(crate) sync_lag: i64,
    /// Connected peers, for the administration only.
    pub(crate) peers: Option<i64>,
    /// Whether our notices reach their readers, for the administration
    /// only.
    pub(crate) delivery: Option<Delivery>,
}

/// Delivery figures from [`assure_store::Store::undelivered`].
#[derive(Debug, Default)]
pub(crate) struct Delivery {
    /// Grantees that have never connected.
    pub(crate) never_connected: i64,
    /// Grantee and log pairs with entries not yet served.
    pub(crate) behind: i64,
    /// Entries not yet served, summed over grantees and logs.
    pub(crate) undelivered: i64,
}

impl From<&assure_store::Undelivered> for Delivery {
    fn from(found: &assure_store::Undelivered) -> Self {
        Self {
            never_connected: found.never_connected.len() as i64,
            behind: found.behind.len() as i64,
            undelivered: i64::try_from(found.missing()).unwrap_or(i64::MAX),
        }
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

fn latency_histogram() -> Histogram {
    // 100 µs to about 3 s.
    Histogram::new(exponential_buckets(0.0001, 2.0, 16))
}

impl Metrics {
    pub(crate) fn new() -> Self {
        let mut registry = Registry::with_prefix("assure");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency: LatencyFamily = Family::new_with_constructor(latency_histogram);
        registry.register(
            "api_requests",
            "HTTP requests answered, by route, method and status",
            requests.clone(),
        );
        registry.register(
            "api_request_duration_seconds",
            "Time to answer an HTTP request, by route",
            latency.clone(),
        );
        let refused = Refusals::default();
        registry.register(
            "api_refused",
            "Connections and requests refused before routing, by reason (connections, \
             head_too_large, body_too_large, body_too_slow, busy_reading, busy_handling, \
             busy_operations, body_unreadable, no_answer)",
            refused.clone(),
        );
        Self {
            registry,
            requests,
            latency,
            refused,
        }
    }

    /// `figures`, and for the administration the request metrics, in the
    /// OpenMetrics text format. Request counts by route say what the
    /// operator and others do (grants, publishes, reads): the
    /// administration's alone.
    pub(crate) fn encode(&self, figures: &Figures, admin: bool) -> String {
        let mut scrape = Registry::with_prefix("assure");
        let gauge = |value: i64| {
            let gauge: Gauge = Gauge::default();
            gauge.set(value);
            gauge
        };
        scrape.register(
            "records",
            "Records in the logs the scraper may read, own and replicated",
            gauge(figures.records),
        );
        scrape.register(
            "compartments",
            "Logs the scraper may read, own and replicated",
            gauge(figures.compartments),
        );
        scrape.register(
            "alerts",
            "Alerts about logs the scraper may read (equivocation, incidents)",
            gauge(figures.alerts),
        );
        scrape.register(
            "sync_lag_seconds",
            "Age of the oldest replica checkpoint the scraper may read",
            gauge(figures.sync_lag),
        );
        if let Some(peers) = figures.peers {
            scrape.register("peers", "Peers connected", gauge(peers));
        }
        if let Some(delivery) = &figures.delivery {
            scrape.register(
                "grantees_never_connected",
                "Parties holding an active grant that have never connected",
                gauge(delivery.never_connected),
            );
            scrape.register(
                "grantees_behind",
                "Grantee and log pairs where the grantee has not received every entry",
                gauge(delivery.behind),
            );
            scrape.register(
                "undelivered_notices",
                "Entries of our logs not yet received by grantees that may read them",
                gauge(delivery.undelivered),
            );
        }
        let mut out = String::new();
        // Writing to a String cannot fail. Both registries end with `# EOF`;
        // the document must end with exactly one.
        if admin {
            let _ = prometheus_client::encoding::text::encode_registry(&mut out, &self.registry);
        }
        let _ = prometheus_client::encoding::text::encode(&mut out, &scrape);
        out
    }
}
