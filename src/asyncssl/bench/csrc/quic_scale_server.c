/*
 * quic_scale_server.c: OpenSSL's own QUIC server for the scale workloads of
 * `python -m asyncssl bench quic` (connections/s against N server processes, --hold):
 * what a C program on the same build costs per connection and while it holds idle
 * connections, beside aio.quic_serve.
 *
 *   quic_scale_server CERTFILE KEYFILE [--port P] [--reuse-port] [--no-validate]
 *                     [--hold N WINDOWS SECONDS]
 *
 * The protocol is that of scale_peer.py's servers: it prints "READY <port>", then serves
 * the scale echo (each stream a peer opens is read to its FIN or 64 bytes, echoed back and
 * concluded; connections are kept open). SIGUSR1 starts a CPU window and prints "MARK";
 * SIGTERM ends the program with one "RESULT {json}" line (CPU seconds since the mark,
 * echoes served since the mark). With --hold, once N echoes were served it measures
 * WINDOWS windows of SECONDS while the connections are idle (CPU, loop wakeups, what one
 * SSL_handle_events on the listener and one SSL_poll over the connections cost), prints
 * "MEASURED", serves on until its stdin ends, and prints the RESULT line of hold_peer.py.
 *
 * The loop is openssl-quic(7)'s application-driven one, as aio.quic_serve's: poll(2) on
 * the listener's socket with SSL_get_event_timeout(listener) as the timeout, then
 * SSL_handle_events(listener) (which ticks every connection of the port), the queued
 * connections accepted, and one SSL_poll without event handling over the connections and
 * their open streams for what became ready. --no-validate is SSL_LISTENER_FLAG_NO_VALIDATE
 * (no Retry); by default a client's first Initial gets a Retry, as in asyncssl.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define BENCH_NAME "quic_scale_server"
#include "quic_bench_common.h"
#include "quic_bench_alpn.h"

#define ECHO_SIZE 64
#define TICK_SAMPLES 10
#define MAX_WINDOWS 64

struct peer {
    SSL *conn;
    SSL *stream;                     /* the stream being echoed, or NULL */
    unsigned char buf[ECHO_SIZE];
    size_t got, sent;
    int replying;                    /* the FIN (or 64 bytes) came: writing the echo back */
};

struct window {
    double cpu, wall, since_open, tick_us, poll_us;
    long wakeups, connections;
};

static volatile sig_atomic_t got_mark, got_term;
static struct peer *peers;
static size_t npeers, cap_peers;
static SSL_POLL_ITEM *items;
static size_t *item_peer;
static long echoes, wakeups;

static void on_signal(int sig)
{
    if (sig == SIGUSR1)
        got_mark = 1;
    else
        got_term = 1;
}

static long rss_bytes(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");

    if (f != NULL) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    return resident * sysconf(_SC_PAGESIZE);
}

static void add_peer(SSL *conn)
{
    if (npeers == cap_peers) {
        cap_peers = cap_peers ? 2 * cap_peers : 1024;
        peers = realloc(peers, cap_peers * sizeof(*peers));
        items = realloc(items, 2 * cap_peers * sizeof(*items));
        item_peer = realloc(item_peer, 2 * cap_peers * sizeof(*item_peer));
        if (peers == NULL || items == NULL || item_peer == NULL)
            die("realloc");
    }
    memset(&peers[npeers], 0, sizeof(peers[npeers]));
    peers[npeers++].conn = conn;
}

static void drop_peer(size_t i)
{
    SSL_free(peers[i].stream);
    SSL_free(peers[i].conn);
    peers[i] = peers[--npeers];
}

/* Take one peer as far as it can go now. */
static void service(struct peer *p)
{
    size_t n;

    if (p->stream == NULL) {
        p->stream = SSL_accept_stream(p->conn, SSL_ACCEPT_STREAM_NO_BLOCK);
        if (p->stream == NULL) {
            ERR_clear_error();
            return;
        }
        p->got = p->sent = 0;
        p->replying = 0;
    }
    while (!p->replying) {
        if (SSL_read_ex(p->stream, p->buf + p->got, sizeof(p->buf) - p->got, &n)) {
            p->got += n;
            if (p->got == sizeof(p->buf))
                p->replying = 1;
            continue;
        }
        if (SSL_get_error(p->stream, 0) == SSL_ERROR_ZERO_RETURN)
            p->replying = 1;
        else if (SSL_get_stream_read_state(p->stream) != SSL_STREAM_STATE_OK) {
            SSL_free(p->stream); /* reset by the peer: forget it */
            p->stream = NULL;
        }
        ERR_clear_error();
        if (!p->replying)
            return;
    }
    while (p->sent < p->got) {
        if (!SSL_write_ex(p->stream, p->buf + p->sent, p->got - p->sent, &n)) {
            ERR_clear_error();
            return;
        }
        p->sent += n;
    }
    SSL_stream_conclude(p->stream, 0);
    SSL_free(p->stream);
    p->stream = NULL;
    echoes++;
}

/* One SSL_poll (no event handling) over every connection and open stream; services what
 * became ready, drops what ended. Returns its duration in seconds. */
static double poll_and_service(int service_ready)
{
    size_t i, n = 0, ready = 0;
    struct timeval zero = { 0, 0 };
    double t0 = clock_of(CLOCK_MONOTONIC), spent;

    for (i = 0; i < npeers; i++) {
        struct peer *p = &peers[i];

        items[n].desc = SSL_as_poll_descriptor(p->conn);
        items[n].events = SSL_POLL_EVENT_EC | SSL_POLL_EVENT_ECD | (p->stream ? 0 : SSL_POLL_EVENT_IS);
        items[n].revents = 0;
        item_peer[n++] = i;
        if (p->stream != NULL) {
            items[n].desc = SSL_as_poll_descriptor(p->stream);
            items[n].events = p->replying ? SSL_POLL_EVENT_W : SSL_POLL_EVENT_R | SSL_POLL_EVENT_ER;
            items[n].revents = 0;
            item_peer[n++] = i;
        }
    }
    if (n > 0 && !SSL_poll(items, n, sizeof(*items), &zero, SSL_POLL_FLAG_NO_HANDLE_EVENTS, &ready))
        ERR_clear_error();
    spent = clock_of(CLOCK_MONOTONIC) - t0;
    if (!service_ready || ready == 0)
        return spent;
    /* Backwards, so that drop_peer (which moves the last peer into the hole) only moves a
     * peer whose items were already visited; only a connection's item drops it. */
    for (i = n; i-- > 0;) {
        size_t p = item_peer[i];

        if (items[i].revents == 0 || p >= npeers)
            continue;
        if (items[i].revents & (SSL_POLL_EVENT_EC | SSL_POLL_EVENT_ECD)) {
            drop_peer(p);
            continue;
        }
        service(&peers[p]);
    }
    return spent;
}

static void accept_connections(SSL *listener)
{
    SSL *conn;

    while (SSL_get_accept_connection_queue_len(listener) > 0
            && (conn = SSL_accept_connection(listener, SSL_ACCEPT_CONNECTION_NO_BLOCK)) != NULL) {
        SSL_set_default_stream_mode(conn, SSL_DEFAULT_STREAM_MODE_NONE);
        add_peer(conn);
        service(&peers[npeers - 1]);
    }
    ERR_clear_error();
}

/* Wait for the socket, the timer, a signal, `until` (> 0) or (stdin_fd >= 0) the end of
 * stdin; tick the listener, accept, serve. Returns whether stdin ended. */
static int wait_and_tick(SSL *listener, int stdin_fd, double until)
{
    int stdin_ended = 0;

    if (wait_for_network_or(listener, stdin_fd, until)) {
        char sink[256];

        stdin_ended = read(stdin_fd, sink, sizeof(sink)) <= 0;
    }
    wakeups++;
    accept_connections(listener);
    poll_and_service(1);
    return stdin_ended;
}

int main(int argc, char **argv)
{
    SSL_CTX *ctx;
    SSL *listener;
    struct sockaddr_in addr;
    socklen_t addrlen = sizeof(addr);
    struct sigaction sa;
    struct window windows[MAX_WINDOWS];
    int fd, i, reuse_port = 0, validate = 1, port = 0, hold_windows = 0, one = 1;
    long hold = 0, echoes_at_mark = 0;
    double hold_seconds = 0, cpu_mark, first_echo = 0, opened_at = 0;
    long rss_before, rss_open = 0;

    if (argc < 3) {
        fprintf(stderr, "usage: %s CERTFILE KEYFILE [--port P] [--reuse-port] [--no-validate] "
                "[--hold N WINDOWS SECONDS]\n", argv[0]);
        return 2;
    }
    for (i = 3; i < argc; i++) {
        if (strcmp(argv[i], "--port") == 0 && i + 1 < argc)
            port = atoi(argv[++i]);
        else if (strcmp(argv[i], "--reuse-port") == 0)
            reuse_port = 1;
        else if (strcmp(argv[i], "--no-validate") == 0)
            validate = 0;
        else if (strcmp(argv[i], "--hold") == 0 && i + 3 < argc) {
            hold = atol(argv[++i]);
            hold_windows = atoi(argv[++i]);
            hold_seconds = atof(argv[++i]);
            if (hold < 1 || hold_windows < 1 || hold_windows > MAX_WINDOWS || hold_seconds <= 0)
                return fprintf(stderr, "%s: bad --hold values\n", argv[0]), 2;
        } else
            return fprintf(stderr, "%s: unknown argument %s\n", argv[0], argv[i]), 2;
    }

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal; /* no SA_RESTART: a signal ends poll(2) at once */
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    if ((ctx = SSL_CTX_new(OSSL_QUIC_server_method())) == NULL)
        die("SSL_CTX_new(OSSL_QUIC_server_method)");
    if (!SSL_CTX_use_certificate_chain_file(ctx, argv[1])
            || !SSL_CTX_use_PrivateKey_file(ctx, argv[2], SSL_FILETYPE_PEM))
        die("loading the certificate and key");
    SSL_CTX_set_alpn_select_cb(ctx, select_alpn, NULL);

    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    if ((fd = socket(AF_INET, SOCK_DGRAM, 0)) < 0
            || (reuse_port && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0)
            || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0
            || getsockname(fd, (struct sockaddr *)&addr, &addrlen) < 0)
        die("socket/bind");
    if ((listener = SSL_new_listener(ctx, validate ? 0 : SSL_LISTENER_FLAG_NO_VALIDATE)) == NULL
            || !SSL_set_fd(listener, fd) || !SSL_set_blocking_mode(listener, 0) || !SSL_listen(listener))
        die("SSL_new_listener/SSL_set_fd/SSL_listen");

    rss_before = rss_bytes();
    cpu_mark = clock_of(CLOCK_PROCESS_CPUTIME_ID);
    printf("READY %d\n", ntohs(addr.sin_port));
    fflush(stdout);

    if (hold > 0) {
        while (echoes < hold && !got_term) {
            long before = echoes;

            wait_and_tick(listener, -1, 0);
            if (before == 0 && echoes > 0)
                first_echo = clock_of(CLOCK_MONOTONIC);
        }
        opened_at = clock_of(CLOCK_MONOTONIC);
        rss_open = rss_bytes();
        for (i = 0; i < hold_windows && !got_term; i++) {
            double cpu0 = clock_of(CLOCK_PROCESS_CPUTIME_ID), wall0 = clock_of(CLOCK_MONOTONIC), t0;
            long wakeups0 = wakeups;
            int k;

            while (clock_of(CLOCK_MONOTONIC) < wall0 + hold_seconds && !got_term)
                wait_and_tick(listener, -1, wall0 + hold_seconds);
            windows[i].cpu = clock_of(CLOCK_PROCESS_CPUTIME_ID) - cpu0;
            windows[i].wall = clock_of(CLOCK_MONOTONIC) - wall0;
            windows[i].since_open = clock_of(CLOCK_MONOTONIC) - opened_at;
            windows[i].wakeups = wakeups - wakeups0;
            windows[i].connections = (long)npeers;
            /* After the window, outside its CPU time: OpenSSL's own cost of one tick of the
             * listener (every connection of the port) and of one SSL_poll over them. */
            t0 = clock_of(CLOCK_MONOTONIC);
            for (k = 0; k < TICK_SAMPLES; k++)
                SSL_handle_events(listener);
            windows[i].tick_us = (clock_of(CLOCK_MONOTONIC) - t0) / TICK_SAMPLES * 1e6;
            windows[i].poll_us = poll_and_service(0) * 1e6;
        }
        printf("MEASURED\n");
        fflush(stdout);
        while (!got_term && !wait_and_tick(listener, STDIN_FILENO, 0))
            ;
        printf("RESULT {\"contender\": \"c\", \"version\": \"%s\", \"connections\": %ld, "
               "\"open_seconds\": %.6f, \"rss_before\": %ld, \"rss_all_open\": %ld, \"shards\": 1, "
               "\"validate\": %s, \"windows\": [", OpenSSL_version(OPENSSL_VERSION), hold,
               opened_at - first_echo, rss_before, rss_open, validate ? "true" : "false");
        for (i = 0; i < hold_windows; i++)
            printf("%s{\"cpu\": %.6f, \"wall\": %.6f, \"since_open\": %.3f, \"wakeups\": %ld, "
                   "\"connections\": %ld, \"tick_us\": %.1f, \"poll_us\": %.1f}", i ? ", " : "",
                   windows[i].cpu, windows[i].wall, windows[i].since_open, windows[i].wakeups,
                   windows[i].connections, windows[i].tick_us, windows[i].poll_us);
        printf("]}\n");
    } else {
        while (!got_term) {
            if (got_mark) {
                got_mark = 0;
                cpu_mark = clock_of(CLOCK_PROCESS_CPUTIME_ID);
                echoes_at_mark = echoes;
                printf("MARK\n");
                fflush(stdout);
            }
            wait_and_tick(listener, -1, 0);
        }
        printf("RESULT {\"contender\": \"c\", \"version\": \"%s\", \"pid\": %ld, \"cpu\": %.6f, "
               "\"echoes\": %ld, \"connections\": %zu, \"validate\": %s}\n", OpenSSL_version(OPENSSL_VERSION),
               (long)getpid(), clock_of(CLOCK_PROCESS_CPUTIME_ID) - cpu_mark, echoes - echoes_at_mark, npeers,
               validate ? "true" : "false");
    }
    fflush(stdout);
    while (npeers > 0)
        drop_peer(npeers - 1);
    SSL_free(listener);
    SSL_CTX_free(ctx);
    close(fd);
    return 0;
}
