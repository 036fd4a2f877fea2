/*
 * The baseline for FleetPublishBenchmark: a bare libmosquitto publisher with the client settings of the
 * Swift fleet mode (MQTT 5, clean start, keepalive 30 s, libmosquitto's own network thread). It publishes
 * COUNT lift-telemetry-sized JSON messages on TOPIC at QoS QOS, paced at RATE messages per second in 1 ms
 * steps as the fleet mode paces them, and waits until libmosquitto has written (QoS 0) or the broker
 * acknowledged (QoS 1) every one.
 *
 *   cc -O2 -o .build/mqtt_pub Benchmarks/c/mqtt_pub.c -lmosquitto
 *   .build/mqtt_pub HOST PORT TOPIC COUNT QOS RATE
 *
 * Output (one line): published=N seconds=S rate=R
 */
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static atomic_long completed;
static atomic_int connected;

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void on_connect(struct mosquitto *mosq, void *obj, int rc, int flags, const mosquitto_property *props) {
    (void)mosq; (void)obj; (void)flags; (void)props;
    if (rc != 0) {
        fprintf(stderr, "mqtt_pub: connection refused: %s\n", mosquitto_reason_string(rc));
        exit(1);
    }
    atomic_store(&connected, 1);
}

static void on_publish(struct mosquitto *mosq, void *obj, int mid, int reason, const mosquitto_property *props) {
    (void)mosq; (void)obj; (void)mid; (void)reason; (void)props;
    atomic_fetch_add(&completed, 1);
}

int main(int argc, char **argv) {
    if (argc != 7) {
        fprintf(stderr, "usage: mqtt_pub HOST PORT TOPIC COUNT QOS RATE\n");
        return 2;
    }
    const char *host = argv[1];
    int port = atoi(argv[2]);
    const char *topic = argv[3];
    long count = atol(argv[4]);
    int qos = atoi(argv[5]);
    double rate = atof(argv[6]);

    mosquitto_lib_init();
    struct mosquitto *mosq = mosquitto_new(NULL, true, NULL);
    if (!mosq) { fprintf(stderr, "mqtt_pub: mosquitto_new failed\n"); return 1; }
    mosquitto_int_option(mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
    mosquitto_connect_v5_callback_set(mosq, on_connect);
    mosquitto_publish_v5_callback_set(mosq, on_publish);
    int rc = mosquitto_connect_bind_v5(mosq, host, port, 30, NULL, NULL);
    if (rc != MOSQ_ERR_SUCCESS) { fprintf(stderr, "mqtt_pub: connect: %s\n", mosquitto_strerror(rc)); return 1; }
    mosquitto_loop_start(mosq);
    while (!atomic_load(&connected)) usleep(1000);

    char payload[160];
    double start = now_seconds();
    long offered = 0;
    while (offered < count) {
        long due = (long)(rate * (now_seconds() - start)) + 1;
        if (due > count) due = count;
        while (offered < due) {
            int n = snprintf(payload, sizeof payload, "{\"lift_id\":\"lift-%04ld\",\"rms\":%.3f,\"ts\":\"%s\"}",
                             offered % 1000 + 1, 1.0 + (double)(offered % 997) / 1000.0,
                             "2026-11-29T10:54:10.145007+00:00");
            rc = mosquitto_publish_v5(mosq, NULL, topic, n, payload, qos, false, NULL);
            if (rc != MOSQ_ERR_SUCCESS) {
                fprintf(stderr, "mqtt_pub: publish: %s\n", mosquitto_strerror(rc));
                return 1;
            }
            offered++;
        }
        usleep(1000);
    }
    while (atomic_load(&completed) < count) usleep(200);
    double seconds = now_seconds() - start;
    printf("published=%ld seconds=%.6f rate=%.1f\n", count, seconds, (double)count / seconds);
    mosquitto_disconnect_v5(mosq, 0, NULL);
    mosquitto_loop_stop(mosq, false);
    mosquitto_destroy(mosq);
    mosquitto_lib_cleanup();
    return 0;
}
