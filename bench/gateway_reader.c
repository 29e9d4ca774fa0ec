/* The gateway bench's subscribers in C: N WebSocket connections on one epoll loop, each frame
 * read by its batch header only (bench/bench_gateway.py, "the cheap path").
 *
 * Why C: on the 2-core host the bench's subscribers compete with the gateway for CPU. In Python
 * (uvloop, one data_received per frame) they cost 4.5 us a frame plus the loop's own work, about
 * half a core at 1 000 subscribers x 50 frames/s: a bench that measures its clients says little
 * about the gateway. Here a frame costs a recv(2) and a scan of its header.
 *
 *   gateway_reader HOST PORT N DEFLATE
 *
 * opens N connections to ws://HOST:PORT/ws (DEFLATE 1: offering permessage-deflate as browsers
 * do), subscribes each, prints "ready" once all are subscribed, then reads until a line with the
 * round's last seq arrives on stdin and every subscriber has reached it (or 120 s), and prints
 * one JSON line: the tally (bench_gateway.Tally's fields), its CPU-seconds from ready to done,
 * the subscribers short of the last seq. Every subscriber checks from each events frame's header
 * that `first` is the seq after the last one it had (else lost / duplicated), that `count` covers
 * first..last, and takes the latency as receipt minus `oldest` (charged to all `count` events)
 * and receipt minus `sent` (the fan-out and the socket). A compressed frame's header is read in
 * its stored DEFLATE block, never inflated; a compressed frame without one counts as bad (this
 * reader does not inflate: the bench's sampled subscribers, in Python, parse frames whole).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUCKETS 200000          /* 0.1 ms buckets: 20 s */

typedef struct {
    int fd, state, closed;      /* state 0: upgrade, 1: until "subscribed", 2: live */
    long long expected;         /* the seq the next events frame must start with */
    unsigned char *buf;
    size_t len, cap;
} Conn;

static long long delivered, frames, octets, lost, duplicated, bad_header, stored_headers, overflows;
static long long n_close, n_garbage, n_gap, n_error, n_other, ready_count;
static long long *lats, *lats_sent;
static int deflate_on;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void send_all(int fd, const unsigned char *p, size_t n) {
    while (n) {
        ssize_t r = send(fd, p, n, MSG_NOSIGNAL);
        if (r < 0) {
            if (errno == EINTR || errno == EAGAIN) continue;
            return;
        }
        p += r;
        n -= (size_t)r;
    }
}

static void send_masked(int fd, int opcode, const unsigned char *payload, size_t n) {
    unsigned char f[256];
    const unsigned char mask[4] = {0x37, 0xfa, 0x21, 0x3d};
    if (n > 125) n = 125;
    f[0] = (unsigned char)(0x80 | opcode);
    f[1] = (unsigned char)(0x80 | n);
    memcpy(f + 2, mask, 4);
    for (size_t i = 0; i < n; i++) f[6 + i] = payload[i] ^ mask[i % 4];
    send_all(fd, f, 6 + n);
}

/* "key":<number> inside [p, end): the number's text start, or NULL */
static const char *field(const char *p, const char *end, const char *key) {
    size_t k = strlen(key);
    for (; p + k < end; p++)
        if (memcmp(p, key, k) == 0) return p + k;
    return NULL;
}

static void bucket(long long *h, double seconds, long long count) {
    long long b = (long long)(seconds * 10000.0);
    if (b < 0) b = 0;
    if (b >= BUCKETS) b = BUCKETS - 1;
    h[b] += count;
}

/* a message that is not an events frame read on the cheap path */
static void message(Conn *c, const char *p, size_t n) {
    const char *end = p + n, *op = field(p, end, "\"op\":\"");
    if (op == NULL) { n_garbage++; return; }
    if (strncmp(op, "subscribed\"", 11) == 0 && c->state == 1) {
        const char *a = field(p, end, "\"after\":");
        if (a == NULL) { n_garbage++; return; }
        c->expected = strtoll(a, NULL, 10) + 1;
        c->state = 2;
        ready_count++;
    } else if (strncmp(op, "overflow\"", 9) == 0) {
        overflows++;
    } else if (strncmp(op, "events\"", 7) == 0) {
        bad_header++;
    } else if (strncmp(op, "gap\"", 4) == 0) {
        n_gap++;
    } else if (strncmp(op, "error\"", 6) == 0) {
        n_error++;
    } else if (strncmp(op, "hello\"", 6) != 0) {
        n_other++;
    }
}

/* the batch header {"op":"events","first":F,"last":L,"count":N[,"oldest":T][,"sent":S], */
static int header(Conn *c, const char *p, size_t n, double t) {
    static const char pre[] = "{\"op\":\"events\",\"first\":";
    const char *end = p + n;
    char *q;
    if (n < sizeof pre - 1 || memcmp(p, pre, sizeof pre - 1) != 0) return 0;
    p += sizeof pre - 1;
    long long first = strtoll(p, &q, 10);
    if (q >= end || strncmp(q, ",\"last\":", 8) != 0) return 0;
    long long last = strtoll(q + 8, &q, 10);
    if (q >= end || strncmp(q, ",\"count\":", 9) != 0) return 0;
    long long count = strtoll(q + 9, &q, 10);
    double oldest = -1, sent = -1;
    if (q < end && strncmp(q, ",\"oldest\":", 10) == 0) oldest = strtod(q + 10, &q);
    if (q < end && strncmp(q, ",\"sent\":", 8) == 0) sent = strtod(q + 8, &q);
    if (q > end) return 0;
    if (first != c->expected) {
        if (first > c->expected) lost += first - c->expected;
        else duplicated += (c->expected < last + 1 ? c->expected : last + 1) - first;
    }
    if (count != last - first + 1) bad_header++;
    if (last + 1 > c->expected) c->expected = last + 1;
    delivered += count;
    frames++;
    if (oldest >= 0) bucket(lats, t - oldest, count);
    else bad_header++;
    if (sent >= 0) bucket(lats_sent, t - sent, count);
    return 1;
}

/* every whole frame in c->buf; returns the octets consumed */
static size_t frames_in(Conn *c, double t) {
    unsigned char *b = c->buf;
    size_t pos = 0, end = c->len;
    while (end - pos >= 2) {
        uint64_t ln = b[pos + 1] & 0x7F;
        size_t off = 2;
        if (ln == 126) {
            if (end - pos < 4) break;
            ln = (uint64_t)b[pos + 2] << 8 | b[pos + 3];
            off = 4;
        } else if (ln == 127) {
            if (end - pos < 10) break;
            ln = 0;
            for (int i = 0; i < 8; i++) ln = ln << 8 | b[pos + 2 + i];
            off = 10;
        }
        if (end - pos < off + ln) break;
        unsigned char b0 = b[pos];
        const unsigned char *pl = b + pos + off;
        pos += off + ln;
        int opcode = b0 & 0x0F;
        if (opcode == 9) { send_masked(c->fd, 0xA, pl, ln); continue; }
        if (opcode == 8) { n_close++; continue; }
        if (opcode != 1) continue;
        if (b0 & 0x40) {                                  /* compressed: the header's stored block */
            if (c->state == 2 && ln > 5 && pl[0] == 0) {
                size_t sl = pl[1] | (size_t)pl[2] << 8;
                if (sl + 5 <= ln && header(c, (const char *)pl + 5, sl, t)) { stored_headers++; continue; }
            }
            bad_header++;
            continue;
        }
        if (c->state != 2 || !header(c, (const char *)pl, ln, t)) message(c, (const char *)pl, ln);
    }
    return pos;
}

static void on_readable(Conn *c) {
    for (;;) {
        if (c->cap - c->len < 65536) {
            c->cap = c->cap * 2 + 65536;
            c->buf = realloc(c->buf, c->cap);
            if (c->buf == NULL) { perror("realloc"); exit(2); }
        }
        ssize_t r = recv(c->fd, c->buf + c->len, c->cap - c->len, MSG_DONTWAIT);
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) { c->closed = 1; close(c->fd); return; }
        if (r < 0) return;
        double t = now_s();
        octets += r;
        c->len += (size_t)r;
        size_t start = 0;
        if (c->state == 0) {
            unsigned char *e = memmem(c->buf, c->len, "\r\n\r\n", 4);
            if (e == NULL) continue;
            if (c->len < 12 || memcmp(c->buf, "HTTP/1.1 101", 12) != 0) {
                fprintf(stderr, "upgrade refused: %.200s\n", c->buf);
                exit(3);
            }
            if (deflate_on && memmem(c->buf, (size_t)(e - c->buf), "permessage-deflate", 18) == NULL) {
                fprintf(stderr, "the gateway did not agree to permessage-deflate\n");
                exit(3);
            }
            static const char sub[] = "{\"op\":\"subscribe\",\"id\":1}";
            send_masked(c->fd, 1, (const unsigned char *)sub, sizeof sub - 1);
            c->state = 1;
            start = (size_t)(e - c->buf) + 4;
            memmove(c->buf, c->buf + start, c->len - start);
            c->len -= start;
        }
        size_t used = frames_in(c, t);
        if (used) {
            memmove(c->buf, c->buf + used, c->len - used);
            c->len -= used;
        }
        if ((size_t)r < 65536) return;
    }
}

int main(int argc, char **argv) {
    if (argc != 5) { fprintf(stderr, "usage: %s HOST PORT N DEFLATE\n", argv[0]); return 1; }
    const char *host = argv[1];
    int port = atoi(argv[2]), n = atoi(argv[3]);
    deflate_on = atoi(argv[4]);
    lats = calloc(BUCKETS, sizeof *lats);
    lats_sent = calloc(BUCKETS, sizeof *lats_sent);
    Conn *cs = calloc((size_t)n, sizeof *cs);
    int ep = epoll_create1(0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, host, &sa.sin_addr);
    char req[512];
    int rl = snprintf(req, sizeof req,
                      "GET /ws HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n%s\r\n",
                      host, port, deflate_on ? "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" : "");
    for (int i = 0; i < n; i++) {
        Conn *c = &cs[i];
        c->fd = socket(AF_INET, SOCK_STREAM, 0);
        int one = 1;
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) < 0) { perror("connect"); return 2; }
        send_all(c->fd, (const unsigned char *)req, (size_t)rl);
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
    }
    struct epoll_event sev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(ep, EPOLL_CTL_ADD, 0, &sev);
    struct epoll_event evs[512];
    int said_ready = 0, have_goal = 0;
    long long goal = 0;
    double cpu0 = 0, deadline = now_s() + 300;
    char line[64];
    size_t ll = 0;
    for (;;) {
        int k = epoll_wait(ep, evs, 512, 20);
        for (int i = 0; i < k; i++) {
            Conn *c = evs[i].data.ptr;
            if (c == NULL) {                               /* stdin: the round's last seq */
                ssize_t r = read(0, line + ll, sizeof line - 1 - ll);
                if (r <= 0) return 0;
                ll += (size_t)r;
                line[ll] = 0;
                if (strchr(line, '\n')) {
                    goal = strtoll(line, NULL, 10);
                    have_goal = 1;
                    deadline = now_s() + 120;
                    epoll_ctl(ep, EPOLL_CTL_DEL, 0, NULL);
                }
                continue;
            }
            if (!c->closed) on_readable(c);
        }
        if (!said_ready && ready_count == n) {
            said_ready = 1;
            cpu0 = cpu_s();
            printf("ready\n");
            fflush(stdout);
        }
        if (have_goal) {
            int waiting = 0;
            for (int i = 0; i < n && !waiting; i++) waiting = cs[i].expected <= goal && !cs[i].closed;
            if (!waiting || now_s() > deadline) break;
        } else if (now_s() > deadline) {
            fprintf(stderr, "gateway_reader: %lld of %d subscribed after 300 s\n", ready_count, n);
            return 4;
        }
    }
    double done_at = now_s(), cpu = cpu_s() - cpu0;
    int short_ = 0;
    for (int i = 0; i < n; i++) short_ += cs[i].expected <= goal;
    printf("{\"tally\":{\"delivered\":%lld,\"frames\":%lld,\"octets\":%lld,\"lost\":%lld,\"duplicated\":%lld,"
           "\"bad_header\":%lld,\"content_errors\":0,\"sampled_events\":0,\"stored_headers\":%lld,\"overflows\":%lld,"
           "\"others\":{\"close\":%lld,\"garbage\":%lld,\"gap\":%lld,\"error\":%lld,\"other\":%lld},\"lats\":{",
           delivered, frames, octets, lost, duplicated, bad_header, stored_headers, overflows,
           n_close, n_garbage, n_gap, n_error, n_other);
    const char *sep = "";
    for (int b = 0; b < BUCKETS; b++)
        if (lats[b]) { printf("%s\"%d\":%lld", sep, b, lats[b]); sep = ","; }
    printf("},\"lats_sent\":{");
    sep = "";
    for (int b = 0; b < BUCKETS; b++)
        if (lats_sent[b]) { printf("%s\"%d\":%lld", sep, b, lats_sent[b]); sep = ","; }
    printf("}},\"cpu\":%.6f,\"done_at\":%.6f,\"short\":%d,\"n\":%d,\"sampled\":0}\n", cpu, done_at, short_, n);
    fflush(stdout);
    for (int i = 0; i < n; i++) if (!cs[i].closed) close(cs[i].fd);
    return 0;
}
