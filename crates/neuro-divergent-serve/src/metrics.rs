//! The server's metrics, in Prometheus' text format at `GET /metrics`.

use std::time::Duration;

use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// Labels of a request: its route pattern and status.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    status: u16,
}

/// Labels of a latency: the route pattern.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

/// Labels of an error: its kind.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: String,
}

/// Labels of a cache lookup: which cache and whether it hit.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CacheLabels {
    cache: &'static str,
    result: &'static str,
}

/// Labels of a model load: whether it succeeded.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// Every metric the server keeps.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: HistogramFamily<RouteLabels>,
    errors: Family<KindLabels, Counter>,
    cache: Family<CacheLabels, Counter>,
    model_loads: Family<OutcomeLabels, Counter>,
    model_load_seconds: Histogram,
    series: Histogram,
    batch_size: Histogram,
    batch_fallbacks: Counter,
    in_flight: Gauge,
}

fn latency_histogram() -> Histogram {
    // 0.25 ms to about 8 s.
    Histogram::new(exponential_buckets(0.000_25, 2.0, 16))
}

impl Metrics {
    /// A registry with every metric at zero.
    pub fn new() -> Metrics {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "nd_requests",
            "HTTP requests by route pattern and status",
            requests.clone(),
        );
        let latency = HistogramFamily::<RouteLabels>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        registry.register(
            "nd_request_duration_seconds",
            "Time to answer a request, by route pattern",
            latency.clone(),
        );
        let errors = Family::<KindLabels, Counter>::default();
        registry.register("nd_errors", "Error responses by kind", errors.clone());
        let cache = Family::<CacheLabels, Counter>::default();
        registry.register(
            "nd_cache_lookups",
            "Forecast cache lookups: cache=stored (forecasts of a version's stored series) or response (recent responses), result=hit|miss",
            cache.clone(),
        );
        let model_loads = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "nd_model_loads",
            "Model versions loaded from the store, by outcome",
            model_loads.clone(),
        );
        let model_load_seconds = Histogram::new(exponential_buckets(0.001, 2.0, 14));
        registry.register(
            "nd_model_load_duration_seconds",
            "Time to load a model version from the store",
            model_load_seconds.clone(),
        );
        let series = Histogram::new(exponential_buckets(1.0, 2.0, 16));
        registry.register(
            "nd_request_series",
            "Series per forecast request",
            series.clone(),
        );
        let batch_size = Histogram::new(exponential_buckets(1.0, 2.0, 10));
        registry.register(
            "nd_batch_size",
            "Forecast requests computed together in one forward pass",
            batch_size.clone(),
        );
        let batch_fallbacks = Counter::default();
        registry.register(
            "nd_batch_fallbacks",
            "Batches computed request by request because their joined forward pass failed",
            batch_fallbacks.clone(),
        );
        let in_flight = Gauge::default();
        registry.register(
            "nd_requests_in_flight",
            "Requests being answered now",
            in_flight.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            errors,
            cache,
            model_loads,
            model_load_seconds,
            series,
            batch_size,
            batch_fallbacks,
            in_flight,
        }
    }

    /// Counts an answered request.
    pub fn request(&self, route: &str, status: u16, elapsed: Duration, error: Option<&str>) {
        let route = route.to_string();
        self.requests
            .get_or_create(&RequestLabels {
                route: route.clone(),
                status,
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels { route })
            .observe(elapsed.as_secs_f64());
        if let Some(kind) = error {
            self.errors
                .get_or_create(&KindLabels {
                    kind: kind.to_string(),
                })
                .inc();
        }
    }

    /// Counts a cache lookup in `cache` (`stored` or `response`).
    pub fn cache_lookup(&self, cache: &'static str, hit: bool) {
        let result = if hit { "hit" } else { "miss" };
        self.cache
            .get_or_create(&CacheLabels { cache, result })
            .inc();
    }

    /// Counts a model load and its time.
    pub fn model_load(&self, ok: bool, elapsed: Duration) {
        let outcome = if ok { "ok" } else { "error" };
        self.model_loads
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
        if ok {
            self.model_load_seconds.observe(elapsed.as_secs_f64());
        }
    }

    /// Records the number of series in a forecast request.
    pub fn request_series(&self, series: usize) {
        self.series.observe(series as f64);
    }

    /// Records how many requests one forward pass served.
    pub fn batch(&self, requests: usize) {
        self.batch_size.observe(requests as f64);
    }

    /// Counts a batch computed request by request after its joined pass failed.
    pub fn batch_fallback(&self) {
        self.batch_fallbacks.inc();
    }

    /// The gauge of requests in flight.
    pub fn in_flight(&self) -> &Gauge {
        &self.in_flight
    }

    /// Every metric in Prometheus' text exposition format.
    pub fn render(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut text, &self.registry);
        text
    }
}
