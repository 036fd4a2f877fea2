/* sse_load: holds N Server-Sent Event streams open against one server with epoll, and records when each
 * stream first sees each marker "fanout-<k>-end" (k < K), in CLOCK_REALTIME nanoseconds.
 *
 *   sse_load host port path token N K seconds
 *
 * Prints "ready <n>" once every stream has received its `event: ready`, then, when every stream has seen
 * all K markers or the time is up, one line per arrival: "<k> <ns>", and "missing <count>". Opening is done
 * in batches so that the server's accept backlog never overflows. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAXK 64
#define TAIL 48

typedef struct {
    int fd;
    int ready;
    int seen;
    char tail[TAIL];
    int tail_len;
    long long at[MAXK];
} conn_t;

static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int K;
static int ready_count;
static int complete_count;

/* Scans tail+data for markers and the ready event. */
static void scan(conn_t *c, const char *data, int len) {
    char buf[TAIL + 65536];
    memcpy(buf, c->tail, c->tail_len);
    memcpy(buf + c->tail_len, data, len);
    int total = c->tail_len + len;
    buf[total] = 0;
    long long t = now_ns();
    if (!c->ready && memmem(buf, total, "event: ready", 12)) {
        c->ready = 1;
        ready_count++;
    }
    const char *p = buf;
    while ((p = memmem(p, total - (p - buf), "fanout-", 7)) != NULL) {
        const char *q = p + 7;
        int k = 0, digits = 0;
        while (q < buf + total && *q >= '0' && *q <= '9') { k = k * 10 + (*q - '0'); q++; digits++; }
        if (digits && q + 4 <= buf + total && memcmp(q, "-end", 4) == 0 && k < K && c->at[k] == 0) {
            c->at[k] = t;
            if (++c->seen == K) complete_count++;
        }
        p = q;
    }
    int keep = total < TAIL - 1 ? total : TAIL - 1;
    memcpy(c->tail, buf + total - keep, keep);
    c->tail_len = keep;
}

static void pump(int ep, conn_t *conns, int timeout_ms) {
    struct epoll_event events[512];
    static char data[65536];
    int n = epoll_wait(ep, events, 512, timeout_ms);
    for (int i = 0; i < n; i++) {
        conn_t *c = &conns[events[i].data.u32];
        for (;;) {
            ssize_t r = read(c->fd, data, sizeof data);
            if (r > 0) { scan(c, data, (int)r); continue; }
            if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
                epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                close(c->fd);
                c->fd = -1;
            }
            break;
        }
    }
}

int main(int argc, char **argv) {
    if (argc != 8) { fprintf(stderr, "usage: sse_load host port path token N K seconds\n"); return 2; }
    const char *host = argv[1];
    int port = atoi(argv[2]);
    const char *path = argv[3], *token = argv[4];
    int N = atoi(argv[5]);
    K = atoi(argv[6]);
    int seconds = atoi(argv[7]);
    if (K > MAXK) K = MAXK;
    conn_t *conns = calloc(N, sizeof(conn_t));
    char request[4096];
    int rlen = snprintf(request, sizeof request,
        "GET %s HTTP/1.1\r\nHost: %s:%d\r\nAccept: text/event-stream\r\nAuthorization: Bearer %s\r\n\r\n",
        path, host, port, token);
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    inet_pton(AF_INET, host, &addr.sin_addr);
    int ep = epoll_create1(0);
    for (int i = 0; i < N; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0) { perror("socket"); return 1; }
        if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) { perror("connect"); return 1; }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (write(fd, request, rlen) != rlen) { perror("write"); return 1; }
        int fl = 1;
        ioctl(fd, FIONBIO, &fl);
        conns[i].fd = fd;
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (unsigned)i};
        epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
        /* Let the server catch up every 200 connections. */
        if (i % 200 == 199) {
            long long until = now_ns() + 10000000000LL;
            while (ready_count < i + 1 - 50 && now_ns() < until) pump(ep, conns, 100);
        }
    }
    long long until = now_ns() + 30000000000LL;
    while (ready_count < N && now_ns() < until) pump(ep, conns, 100);
    printf("ready %d\n", ready_count);
    fflush(stdout);
    long long end = now_ns() + (long long)seconds * 1000000000LL;
    while (complete_count < N && now_ns() < end) pump(ep, conns, 100);
    int missing = 0;
    for (int i = 0; i < N; i++) {
        for (int k = 0; k < K; k++) {
            if (conns[i].at[k]) printf("%d %lld\n", k, conns[i].at[k]);
            else missing++;
        }
    }
    printf("missing %d\n", missing);
    fflush(stdout);
    return 0;
}
