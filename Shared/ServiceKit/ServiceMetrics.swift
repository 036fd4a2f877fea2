import CoreMetrics
import Metrics
import Prometheus
import Synchronization

/// Prometheus metrics for a service, exposed at `/metrics`.
///
/// swift-metrics has one backend per process, so the first service to ask bootstraps it; every
/// metric name is then prefixed `dtp_<service>_` (dots and dashes become underscores), which keeps
/// names apart when one Prometheus scrapes the whole suite.
public enum ServiceMetrics {
    private static let state = Mutex<PrometheusCollectorRegistry?>(nil)

    /// The registry that backs swift-metrics in this process, bootstrapped on first use.
    public static func registry(service: String) -> PrometheusCollectorRegistry {
        state.withLock { current in
            if let current { return current }
            let registry = PrometheusCollectorRegistry()
            var factory = PrometheusMetricsFactory(registry: registry)
            let prefix = "dtp_" + sanitize(service) + "_"
            factory.nameAndLabelSanitizer = { name, labels in
                let clean = sanitize(name)
                return (clean.hasPrefix(prefix) ? clean : prefix + clean, labels)
            }
            MetricsSystem.bootstrap(factory)
            current = registry
            return registry
        }
    }

    /// A Prometheus-safe name: letters, digits and underscores.
    static func sanitize(_ name: String) -> String {
        String(name.map { $0.isLetter || $0.isNumber || $0 == "_" ? $0 : "_" })
    }
}
