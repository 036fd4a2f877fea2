import CoreMetrics
import Metrics
import Synchronization

/// The ingestor's Prometheus metrics (names get the `dtp_ingestor_` prefix from ServiceMetrics).
///
/// Per-stream counters are labelled with the declared stream (the filter a topic matched), not the
/// concrete topic, so a wildcard stream over thousands of devices stays one series. Counters are made once
/// per stream and cached: creating a metric goes through the registry's lock.
final class IngestorMetrics: Sendable {
    /// Messages taken from the broker into the spool.
    let received = Counter(label: "messages_received_total")
    /// Messages on topics that neither a twin nor `DTP_INGEST_TOPICS` declares (counted, never stored).
    let undeclared = Counter(label: "messages_undeclared_total")
    /// Messages per batch.
    let batchSize = Recorder(label: "batch_messages")
    /// From the start of a batch's write to its commit in both stores.
    let flushLatency = Timer(label: "flush_latency")
    /// One store's successful write of a batch.
    let postgresLatency = Timer(label: "store_write_latency", dimensions: [("store", "postgres")])
    let influxLatency = Timer(label: "store_write_latency", dimensions: [("store", "influxdb")])
    /// Seconds from the receipt of the newest stored message to its commit.
    let lag = Gauge(label: "lag_seconds")
    /// Bytes and files in the spool.
    let spoolBytes = Gauge(label: "spool_bytes")
    let spoolSegments = Gauge(label: "spool_segments")
    /// Failed store writes, retried.
    let postgresFailures = Counter(label: "store_failures_total", dimensions: [("store", "postgres")])
    let influxFailures = Counter(label: "store_failures_total", dimensions: [("store", "influxdb")])
    /// InfluxDB points the server refused (dropped, not retried).
    let influxRefused = Counter(label: "influx_points_refused_total")
    /// Current MQTT subscriptions.
    let subscriptions = Gauge(label: "subscriptions")

    private let perStream = Mutex<[String: (received: Counter, stored: Counter)]>([:])
    private let perReason = Mutex<[String: Counter]>([:])

    /// Counts a batch's messages per stream.
    func count(stream: String, received: Int, stored: Int) {
        let counters = perStream.withLock { table in
            if let counters = table[stream] { return counters }
            let counters = (
                Counter(label: "stream_messages_received_total", dimensions: [("stream", stream)]),
                Counter(label: "messages_stored_total", dimensions: [("stream", stream)])
            )
            table[stream] = counters
            return counters
        }
        if received > 0 { counters.received.increment(by: received) }
        if stored > 0 { counters.stored.increment(by: stored) }
    }

    /// Counts rejected messages of a stream by kind.
    func rejected(stream: String, kind: String, count: Int) {
        let counter = perReason.withLock { table in
            let key = stream + "\u{0}" + kind
            if let counter = table[key] { return counter }
            let counter = Counter(label: "messages_rejected_total", dimensions: [("stream", stream), ("kind", kind)])
            table[key] = counter
            return counter
        }
        counter.increment(by: count)
    }
}
