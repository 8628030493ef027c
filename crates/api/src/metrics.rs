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

type LatencyFamily = Family<RouteLabels, Histogram, fn() -> Histogram>;

/// The metrics of one server.
pub(crate) struct Metrics {
    registry: Registry,
    pub(crate) requests: Family<RequestLabels, Counter>,
    pub(crate) latency: LatencyFamily,
    pub(crate) records: Gauge,
    pub(crate) compartments: Gauge,
    pub(crate) peers: Gauge,
    pub(crate) alerts: Gauge,
    pub(crate) sync_lag: Gauge,
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
        let (records, compartments, peers, alerts, sync_lag) = Default::default();
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
        registry.register(
            "records",
            "Records held, own and replicated",
            Gauge::clone(&records),
        );
        registry.register(
            "compartments",
            "Logs held, own and replicated",
            Gauge::clone(&compartments),
        );
        registry.register("peers", "Peers connected", Gauge::clone(&peers));
        registry.register(
            "alerts",
            "Alerts raised (equivocation, incidents)",
            Gauge::clone(&alerts),
        );
        registry.register(
            "sync_lag_seconds",
            "Age of the oldest replica checkpoint held",
            Gauge::clone(&sync_lag),
        );
        Self {
            registry,
            requests,
            latency,
            records,
            compartments,
            peers,
            alerts,
            sync_lag,
        }
    }

    pub(crate) fn encode(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
