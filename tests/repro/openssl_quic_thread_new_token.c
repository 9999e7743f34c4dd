/*
 * OpenSSL alone: a thread-assisted QUIC client (OSSL_QUIC_client_thread_method) loses
 * every packet that carries a NEW_TOKEN frame, so whatever shares that packet with it
 * never arrives. Here that is the FIN of the server's reply: the client reads all the
 * data, then waits for the end of the stream forever while the server retransmits
 * (HANDSHAKE_DONE, ACK, NEW_TOKEN, CRYPTO, STREAM+FIN) every PTO, never acknowledged.
 *
 * Why: only OSSL_QUIC_client_method gives its SSL_CTX a token store (SSL_CTX_new_ex);
 * depack_do_frame_new_token() returns 0 when ossl_quic_set_peer_token() fails, which
 * aborts the rest of the packet without raising a protocol error (3.5.x, 4.0.x).
 *
 *   cc -I$PREFIX/include openssl_quic_thread_new_token.c $PREFIX/lib/libssl.a \
 *      $PREFIX/lib/libcrypto.a -lpthread -ldl -o repro
 *   ./repro cert.pem key.pem thread 100   # OSSL_QUIC_client_thread_method: some stall
 *   ./repro cert.pem key.pem flags 100    # client method + THREAD_ASSISTED domain flags: none
 *   ./repro cert.pem key.pem plain 100    # OSSL_QUIC_client_method, no assist thread: none
 *
 * Prints "stalled N of M" and exits 0. The server runs its event loop (openssl-quic(7),
 * non-blocking, select() up to SSL_get_event_timeout) in a child process;
 * the client connects M times, one stream each: "send 5000\n" + FIN, then reads until
 * the server's FIN, for at most 2 s.
 */
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ALPN "repro"
#define REPLY_SIZE 5000
#define MAX_OPEN 64

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec / 1e9;
}

static void die(const char *what)
{
    fprintf(stderr, "%s failed\n", what);
    ERR_print_errors_fp(stderr);
    exit(2);
}

static int udp_socket(struct sockaddr_in *bound)
{
    socklen_t len = sizeof(*bound);
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    memset(bound, 0, sizeof(*bound));
    bound->sin_family = AF_INET;
    bound->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)bound, sizeof(*bound)) != 0
            || getsockname(fd, (struct sockaddr *)bound, &len) != 0 || fcntl(fd, F_SETFL, O_NONBLOCK) != 0)
        die("UDP socket");
    return fd;
}

/* Wait for the socket or the object's timer (at most 100 ms), then let OpenSSL work. */
static void wait_and_handle_events(SSL *s, int fd)
{
    struct timeval tv = {0, 100000}, timer;
    int infinite = 1;
    fd_set rfds;
    FD_ZERO(&rfds);
    FD_SET(fd, &rfds);
    if (SSL_get_event_timeout(s, &timer, &infinite) && !infinite && timer.tv_sec == 0 && timer.tv_usec < tv.tv_usec)
        tv = timer;
    select(fd + 1, &rfds, NULL, NULL, &tv);
    SSL_handle_events(s);
}

/* --- the server ---------------------------------------------------------------------- */

static int select_alpn(SSL *s, const unsigned char **out, unsigned char *outlen,
                       const unsigned char *in, unsigned int inlen, void *arg)
{
    (void)s; (void)arg;
    for (unsigned int i = 0; i + 1 + in[i] <= inlen; i += 1 + in[i])
        if (in[i] == strlen(ALPN) && memcmp(in + i + 1, ALPN, in[i]) == 0) {
            *out = in + i + 1;
            *outlen = in[i];
            return SSL_TLSEXT_ERR_OK;
        }
    return SSL_TLSEXT_ERR_ALERT_FATAL;
}

static pid_t server_pid;

struct server {
    SSL *listener;
    int fd;
    SSL *conns[MAX_OPEN];
    int nconns;
};

static void serve_stream(SSL *stream)
{
    static const char reply[REPLY_SIZE];
    char request[64];
    size_t got = 0, n, sent = 0;
    while (got < sizeof(request) && SSL_read_ex(stream, request + got, sizeof(request) - got, &n))
        got += n;
    /* The request is one short datagram: it is all here when the stream is accepted. */
    if (got == 0 || memchr(request, '\n', got) == NULL)
        return;
    while (sent < REPLY_SIZE && SSL_write_ex(stream, reply + sent, REPLY_SIZE - sent, &n))
        sent += n;
    SSL_stream_conclude(stream, 0);
}

static void server_loop(struct server *srv)
{
    for (;;) {
        SSL *conn, *stream;
        wait_and_handle_events(srv->listener, srv->fd);
        while (srv->nconns < MAX_OPEN
                && (conn = SSL_accept_connection(srv->listener, SSL_ACCEPT_CONNECTION_NO_BLOCK)) != NULL) {
            SSL_set_default_stream_mode(conn, SSL_DEFAULT_STREAM_MODE_NONE);
            srv->conns[srv->nconns++] = conn;
        }
        for (int i = 0; i < srv->nconns; i++) {
            SSL_CONN_CLOSE_INFO info;
            if (SSL_get_conn_close_info(srv->conns[i], &info, sizeof(info))) {
                SSL_free(srv->conns[i]);
                srv->conns[i--] = srv->conns[--srv->nconns];
                continue;
            }
            while ((stream = SSL_accept_stream(srv->conns[i], SSL_ACCEPT_STREAM_NO_BLOCK)) != NULL) {
                serve_stream(stream);
                SSL_free(stream);   /* the reply and its FIN are still delivered */
            }
        }
        ERR_clear_error();
    }
}

static void start_server(struct server *srv, const char *cert, const char *key, struct sockaddr_in *addr)
{
    SSL_CTX *ctx = SSL_CTX_new(OSSL_QUIC_server_method());
    pid_t pid;
    if (ctx == NULL || !SSL_CTX_use_certificate_chain_file(ctx, cert)
            || !SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM))
        die("server context");
    SSL_CTX_set_alpn_select_cb(ctx, select_alpn, NULL);
    srv->fd = udp_socket(addr);
    srv->listener = SSL_new_listener(ctx, 0);
    if (srv->listener == NULL || !SSL_set_fd(srv->listener, srv->fd)
            || !SSL_set_blocking_mode(srv->listener, 0) || !SSL_listen(srv->listener))
        die("listener");
    /* A process of its own, as a real server: in a thread of the client's process the
       timing changes and the stall becomes rare. */
    if ((pid = fork()) < 0)
        die("fork");
    if (pid == 0) {
        server_loop(srv);
        _exit(0);
    }
    close(srv->fd);
    SSL_free(srv->listener);
    SSL_CTX_free(ctx);
    server_pid = pid;
}

/* --- the client ---------------------------------------------------------------------- */

static SSL_CTX *client_context(const char *mode)
{
    static const unsigned char alpn[] = {sizeof(ALPN) - 1, 'r', 'e', 'p', 'r', 'o'};
    int thread_method = strcmp(mode, "thread") == 0;
    SSL_CTX *ctx = SSL_CTX_new(thread_method ? OSSL_QUIC_client_thread_method() : OSSL_QUIC_client_method());
    if (ctx == NULL)
        die("client context");
    if (strcmp(mode, "flags") == 0
            && !SSL_CTX_set_domain_flags(ctx, SSL_DOMAIN_FLAG_MULTI_THREAD | SSL_DOMAIN_FLAG_THREAD_ASSISTED
                                                  | SSL_DOMAIN_FLAG_BLOCKING))
        die("SSL_CTX_set_domain_flags");
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    if (SSL_CTX_set_alpn_protos(ctx, alpn, sizeof(alpn)) != 0)
        die("SSL_CTX_set_alpn_protos");
    return ctx;
}

/* One connection, one stream; 1 when the reply's FIN did not arrive within 2 s. */
static int one_exchange(SSL_CTX *ctx, const struct sockaddr_in *server)
{
    struct sockaddr_in local;
    int fd = udp_socket(&local), fin = 0, ret;
    SSL *conn = SSL_new(ctx), *stream;
    BIO_ADDR *peer = BIO_ADDR_new();
    const char request[] = "send 5000\n";
    char buf[16384];
    size_t n, got = 0;
    double deadline = now() + 10;
    if (conn == NULL || peer == NULL || !SSL_set_fd(conn, fd) || !SSL_set_blocking_mode(conn, 0)
            || !BIO_ADDR_rawmake(peer, AF_INET, &server->sin_addr, sizeof(server->sin_addr), server->sin_port)
            || !SSL_set1_initial_peer_addr(conn, peer)
            || !SSL_set_default_stream_mode(conn, SSL_DEFAULT_STREAM_MODE_NONE))
        die("client connection");
    BIO_ADDR_free(peer);
    while ((ret = SSL_do_handshake(conn)) != 1) {
        int err = SSL_get_error(conn, ret);
        if ((err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) || now() > deadline)
            die("handshake");
        wait_and_handle_events(conn, fd);
    }
    while ((stream = SSL_new_stream(conn, SSL_STREAM_FLAG_NO_BLOCK)) == NULL) {
        if (now() > deadline)
            die("SSL_new_stream");
        ERR_clear_error();
        wait_and_handle_events(conn, fd);
    }
    if (!SSL_write_ex(stream, request, sizeof(request) - 1, &n) || !SSL_stream_conclude(stream, 0))
        die("request");
    deadline = now() + 2;
    while (now() < deadline) {
        if (SSL_read_ex(stream, buf, sizeof(buf), &n)) {
            got += n;
            continue;
        }
        ret = SSL_get_error(stream, 0);
        ERR_clear_error();
        if (ret == SSL_ERROR_ZERO_RETURN) {
            fin = 1;
            break;
        }
        if (ret != SSL_ERROR_WANT_READ)
            die("reading the reply");
        wait_and_handle_events(stream, fd);
    }
    if (!fin)
        printf("stall: %zu of %d bytes, no FIN (stream read state %d)\n", got, REPLY_SIZE,
               SSL_get_stream_read_state(stream));
    SSL_free(stream);
    SSL_shutdown(conn);   /* non-blocking: starts the close, does not wait */
    SSL_free(conn);
    close(fd);
    return !fin;
}

int main(int argc, char **argv)
{
    struct server srv = {0};
    struct sockaddr_in addr;
    SSL_CTX *ctx;
    int stalls = 0, count;
    if (argc != 5 || (strcmp(argv[3], "thread") && strcmp(argv[3], "flags") && strcmp(argv[3], "plain"))) {
        fprintf(stderr, "usage: %s cert.pem key.pem thread|flags|plain connections\n", argv[0]);
        return 2;
    }
    count = atoi(argv[4]);
    start_server(&srv, argv[1], argv[2], &addr);
    for (int i = 0; i < count; i++) {
        ctx = client_context(argv[3]);
        stalls += one_exchange(ctx, &addr);
        SSL_CTX_free(ctx);
    }
    printf("%s: stalled %d of %d (%s)\n", argv[3], stalls, count, OpenSSL_version(OPENSSL_VERSION));
    kill(server_pid, SIGTERM);
    waitpid(server_pid, NULL, 0);
    return 0;
}
