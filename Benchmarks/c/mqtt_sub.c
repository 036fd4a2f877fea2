/*
 * The baseline for MQTTReceiveBenchmark: a bare libmosquitto subscriber with the same client settings as
 * the Swift wrapper (MQTT 5, clean start off, session expiry 300 s, keepalive 30 s, QoS 1). It counts
 * COUNT messages on TOPIC and prints the time from the first to the last one.
 *
 *   cc -O2 -o .build/mqtt_sub Benchmarks/c/mqtt_sub.c -lmosquitto
 *   .build/mqtt_sub HOST PORT TOPIC COUNT CLIENT_ID
 *
 * Output (one line): messages=N seconds=S rate=R
 */
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static const char *topic;
static long expected;
static long received;
static struct timespec first, last;

static double seconds_between(struct timespec a, struct timespec b) {
    return (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
}

static void on_connect(struct mosquitto *mosq, void *obj, int rc, int flags, const mosquitto_property *props) {
    (void)obj; (void)flags; (void)props;
    if (rc != 0) {
        fprintf(stderr, "mqtt_sub: connection refused: %s\n", mosquitto_reason_string(rc));
        mosquitto_disconnect_v5(mosq, 0, NULL);
        return;
    }
    /* The session may already hold the subscription; subscribing again is harmless. */
    int status = mosquitto_subscribe_v5(mosq, NULL, topic, 1, 0, NULL);
    if (status != MOSQ_ERR_SUCCESS) {
        fprintf(stderr, "mqtt_sub: subscribe: %s\n", mosquitto_strerror(status));
        mosquitto_disconnect_v5(mosq, 0, NULL);
    }
}

static void on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *message,
                       const mosquitto_property *props) {
    (void)obj; (void)props; (void)message;
    if (received == 0) clock_gettime(CLOCK_MONOTONIC, &first);
    received++;
    if (received == expected) {
        clock_gettime(CLOCK_MONOTONIC, &last);
        mosquitto_disconnect_v5(mosq, 0, NULL);
    }
}

int main(int argc, char **argv) {
    if (argc != 6) {
        fprintf(stderr, "usage: %s HOST PORT TOPIC COUNT CLIENT_ID\n", argv[0]);
        return 2;
    }
    const char *host = argv[1];
    int port = atoi(argv[2]);
    topic = argv[3];
    expected = atol(argv[4]);
    const char *client_id = argv[5];

    mosquitto_lib_init();
    struct mosquitto *mosq = mosquitto_new(client_id, false, NULL);
    if (!mosq) { fprintf(stderr, "mqtt_sub: mosquitto_new failed\n"); return 1; }
    mosquitto_int_option(mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
    mosquitto_connect_v5_callback_set(mosq, on_connect);
    mosquitto_message_v5_callback_set(mosq, on_message);

    mosquitto_property *props = NULL;
    mosquitto_property_add_int32(&props, MQTT_PROP_SESSION_EXPIRY_INTERVAL, 300);
    int status = mosquitto_connect_bind_v5(mosq, host, port, 30, NULL, props);
    mosquitto_property_free_all(&props);
    if (status != MOSQ_ERR_SUCCESS) {
        fprintf(stderr, "mqtt_sub: connect to %s:%d: %s\n", host, port, mosquitto_strerror(status));
        return 1;
    }
    /* Returns after the disconnect in on_message (or a refusal). */
    mosquitto_loop_forever(mosq, -1, 1);
    mosquitto_destroy(mosq);
    mosquitto_lib_cleanup();

    if (received != expected) {
        fprintf(stderr, "mqtt_sub: received %ld of %ld messages\n", received, expected);
        return 1;
    }
    double seconds = seconds_between(first, last);
    printf("messages=%ld seconds=%.6f rate=%.0f\n", received, seconds, seconds > 0 ? (double)received / seconds : 0);
    return 0;
}
