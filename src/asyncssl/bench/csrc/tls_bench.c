/*
 * tls_bench.c — the C reference for `python -m asyncssl bench tls`.
 *
 * It does, call for call, what the Python contenders do: TLS 1.3 between a client and a
 * server in one process, each SSL with two memory BIOs (BIO_s_mem, as pyOpenSSL's
 * Connection(ctx, None) and Python's ssl.MemoryBIO use), ciphertext copied between them
 * through a buffer.  It is the limit a binding can reach on the same OpenSSL build, so it
 * must not be cleverer than the bindings (no BIO pairs, no zero-copy tricks).
 *
 *   tls_bench CERT KEY CAFILE TEST SECONDS
 *     TEST: bulk      16 KiB writes client -> server, the server reads them
 *           pingpong  client writes 64 B, server reads and writes them back, client reads
 *           handshake full handshakes, a new connection pair each time, no resumption
 *           info      one handshake, then report versions and what was negotiated
 *
 * Output: one JSON object on stdout (work done, seconds, versions, cipher and group).
 * Timing is the same adaptive scheme as asyncssl/bench/timing.py: batches grow until one
 * takes >= 1/20 of the budget, then run uncounted until 1/5 of the budget went into warming
 * up (this process starts cold, the Python contenders do not), then whole batches run until
 * the budget is spent, so reading the clock costs nothing measurable.
 */
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/opensslv.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BULK_SIZE 16384
#define PING_SIZE 64
#define GROUPS "X25519"
#define SUITES "TLS_AES_128_GCM_SHA256"

static unsigned char move_buf[65536];

static void die(const char *what)
{
    fprintf(stderr, "tls_bench: %s failed\n", what);
    ERR_print_errors_fp(stderr);
    exit(2);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static SSL_CTX *make_ctx(int server, const char *cert, const char *key, const char *cafile)
{
    SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
    if (ctx == NULL)
        die("SSL_CTX_new");
    if (!SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION)
        || !SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION))
        die("SSL_CTX_set_min/max_proto_version");
    if (!SSL_CTX_set_ciphersuites(ctx, SUITES))
        die("SSL_CTX_set_ciphersuites");
    if (!SSL_CTX_set1_groups_list(ctx, GROUPS))
        die("SSL_CTX_set1_groups_list");
    /* pyOpenSSL's (and asyncssl's) default modes, so the C side does no less work. */
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER
                              | SSL_MODE_AUTO_RETRY);
    if (server) {
        if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1)
            die("SSL_CTX_use_certificate_chain_file");
        if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1)
            die("SSL_CTX_use_PrivateKey_file");
    } else {
        /* The client verifies the server's certificate, as every contender does. */
        if (SSL_CTX_load_verify_locations(ctx, cafile, NULL) != 1)
            die("SSL_CTX_load_verify_locations");
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    }
    return ctx;
}

static SSL *make_ssl(SSL_CTX *ctx, int server)
{
    SSL *ssl = SSL_new(ctx);
    BIO *rbio = BIO_new(BIO_s_mem()), *wbio = BIO_new(BIO_s_mem());
    if (ssl == NULL || rbio == NULL || wbio == NULL)
        die("SSL_new/BIO_new");
    SSL_set_bio(ssl, rbio, wbio);
    if (server)
        SSL_set_accept_state(ssl);
    else
        SSL_set_connect_state(ssl);
    return ssl;
}

/* Copy what `from` wrote into what `to` reads: bio_read + bio_write in the bindings. */
static void move(SSL *from, SSL *to)
{
    int n;
    while ((n = BIO_read(SSL_get_wbio(from), move_buf, sizeof move_buf)) > 0)
        if (BIO_write(SSL_get_rbio(to), move_buf, n) != n)
            die("BIO_write");
}

static int step(SSL *ssl)
{
    int r = SSL_do_handshake(ssl);
    if (r == 1)
        return 1;
    if (SSL_get_error(ssl, r) != SSL_ERROR_WANT_READ)
        die("SSL_do_handshake");
    return 0;
}

static void handshake(SSL *c, SSL *s)
{
    int cdone = 0, sdone = 0, rounds = 0;
    while (!(cdone && sdone)) {
        if (++rounds > 100)
            die("handshake (no progress)");
        if (!cdone)
            cdone = step(c);
        move(c, s);
        if (!sdone)
            sdone = step(s);
        move(s, c);
    }
}

/* Read exactly n bytes (one record in practice; the loop is there for correctness). */
static void read_exactly(SSL *ssl, unsigned char *buf, size_t n)
{
    size_t got = 0, k;
    while (got < n) {
        if (!SSL_read_ex(ssl, buf, n - got, &k))
            die("SSL_read_ex");
        got += k;
    }
}

static void write_all(SSL *ssl, const unsigned char *buf, size_t n)
{
    size_t k;
    if (!SSL_write_ex(ssl, buf, n, &k) || k != n)
        die("SSL_write_ex");
}

struct state {
    SSL_CTX *cctx, *sctx;
    SSL *c, *s;
    unsigned char chunk[BULK_SIZE], rbuf[BULK_SIZE], ping[PING_SIZE], sbuf[PING_SIZE];
};

/* Each op returns the work it did: bytes for bulk, 1 per round trip or handshake. */
static double op_bulk(struct state *st)
{
    write_all(st->c, st->chunk, BULK_SIZE);
    move(st->c, st->s);
    read_exactly(st->s, st->rbuf, BULK_SIZE);
    return BULK_SIZE;
}

static double op_pingpong(struct state *st)
{
    write_all(st->c, st->ping, PING_SIZE);
    move(st->c, st->s);
    read_exactly(st->s, st->sbuf, PING_SIZE);
    write_all(st->s, st->sbuf, PING_SIZE);
    move(st->s, st->c);
    read_exactly(st->c, st->rbuf, PING_SIZE);
    return 1;
}

static double op_handshake(struct state *st)
{
    SSL *c = make_ssl(st->cctx, 0), *s = make_ssl(st->sctx, 1);
    handshake(c, s);
    SSL_free(c);
    SSL_free(s);
    return 1;
}

static double run_batch(double (*op)(struct state *), struct state *st, long n)
{
    double work = 0;
    for (long i = 0; i < n; i++)
        work += op(st);
    return work;
}

static void json_string(const char *key, const char *value, int comma)
{
    printf("\"%s\": \"", key);
    for (const char *p = value ? value : ""; *p; p++)
        if (*p == '"' || *p == '\\')
            printf("\\%c", *p);
        else
            putchar(*p);
    printf("\"%s", comma ? ", " : "");
}

static const char *group_name(SSL *ssl)
{
#if OPENSSL_VERSION_NUMBER >= 0x30200000L
    return SSL_get0_group_name(ssl);
#else
    /* 3.0/3.1: the group's NID; X25519 and the NIST curves have short names. */
    return OBJ_nid2sn(SSL_get_negotiated_group(ssl));
#endif
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: %s CERT KEY CAFILE bulk|pingpong|handshake|info SECONDS\n", argv[0]);
        return 2;
    }
    const char *test = argv[4];
    double seconds = atof(argv[5]);
    double (*op)(struct state *) = NULL;
    if (strcmp(test, "bulk") == 0)
        op = op_bulk;
    else if (strcmp(test, "pingpong") == 0)
        op = op_pingpong;
    else if (strcmp(test, "handshake") == 0)
        op = op_handshake;
    else if (strcmp(test, "info") != 0) {
        fprintf(stderr, "tls_bench: unknown test %s\n", test);
        return 2;
    }

    static struct state st;
    memset(st.chunk, 'x', sizeof st.chunk);
    memset(st.ping, 'p', sizeof st.ping);
    st.cctx = make_ctx(0, argv[1], argv[2], argv[3]);
    st.sctx = make_ctx(1, argv[1], argv[2], argv[3]);
    /* bulk and ping-pong run on one established pair, made outside the timing. */
    st.c = make_ssl(st.cctx, 0);
    st.s = make_ssl(st.sctx, 1);
    handshake(st.c, st.s);

    double work = 0, elapsed = 0;
    long batch = 1;
    if (op != NULL) {
        double started = now();
        for (;;) { /* calibration, the first part of the warm-up */
            double t0 = now();
            run_batch(op, &st, batch);
            if (now() - t0 >= seconds / 20 || batch >= (1L << 40))
                break;
            batch *= 2;
        }
        while (now() - started < seconds / 5) /* the rest of the warm-up */
            run_batch(op, &st, batch);
        while (elapsed < seconds) {
            double t0 = now();
            work += run_batch(op, &st, batch);
            elapsed += now() - t0;
        }
    }

    printf("{");
    json_string("test", test, 1);
    printf("\"work\": %.0f, \"seconds\": %.6f, \"batch\": %ld, ", work, elapsed, batch);
    json_string("openssl_runtime", OpenSSL_version(OPENSSL_VERSION), 1);
    json_string("openssl_compiled", OPENSSL_VERSION_TEXT, 1);
    json_string("openssl_dir", OpenSSL_version(OPENSSL_DIR), 1);
    json_string("protocol", SSL_get_version(st.c), 1);
    json_string("cipher", SSL_get_cipher_name(st.c), 1);
    json_string("group", group_name(st.c), 0);
    printf("}\n");

    SSL_free(st.c);
    SSL_free(st.s);
    SSL_CTX_free(st.cctx);
    SSL_CTX_free(st.sctx);
    return 0;
}
