"""BIOs: memory BIOs for memory mode, datagram BIOs and BIO_ADDR for DTLS and QUIC."""

INCLUDES = """
#include <openssl/bio.h>
"""

TYPES = """
typedef ... BIO;
typedef ... BIO_METHOD;
typedef ... BIO_ADDR;

static const int BIO_NOCLOSE;
static const int BIO_CLOSE;
static const int BIO_CTRL_DGRAM_SET_CONNECTED;
static const int BIO_CTRL_DGRAM_SET_PEER;
static const int BIO_CTRL_DGRAM_GET_PEER;

/* BIO_s_dgram_pair and friends (3.2+). */
static const long ASYNCSSL_HAS_DGRAM_PAIR;
static const int BIO_DGRAM_CAP_NONE;
static const int BIO_DGRAM_CAP_HANDLES_SRC_ADDR;
static const int BIO_DGRAM_CAP_HANDLES_DST_ADDR;
static const int BIO_DGRAM_CAP_PROVIDES_SRC_ADDR;
static const int BIO_DGRAM_CAP_PROVIDES_DST_ADDR;
"""

FUNCTIONS = """
const BIO_METHOD *BIO_s_mem(void);
BIO *BIO_new(const BIO_METHOD *);
BIO *BIO_new_mem_buf(const void *, int);
BIO *BIO_new_dgram(int, int);
BIO *BIO_new_socket(int, int);
int BIO_free(BIO *);
void BIO_free_all(BIO *);
int BIO_up_ref(BIO *);
int BIO_read(BIO *, void *, int);
int BIO_write(BIO *, const void *, int);
int BIO_read_ex(BIO *, void *, size_t, size_t *);
int BIO_write_ex(BIO *, const void *, size_t, size_t *);
size_t BIO_ctrl_pending(BIO *);
size_t BIO_ctrl_wpending(BIO *);
int BIO_should_retry(BIO *);
int BIO_should_read(BIO *);
int BIO_should_write(BIO *);
long BIO_set_mem_eof_return(BIO *, int);
long BIO_ctrl(BIO *, int, long, void *);
int BIO_set_nbio(BIO *, long);

BIO_ADDR *BIO_ADDR_new(void);
void BIO_ADDR_free(BIO_ADDR *);
void BIO_ADDR_clear(BIO_ADDR *);
int BIO_ADDR_rawmake(BIO_ADDR *, int, const void *, size_t, unsigned short);
int BIO_ADDR_family(const BIO_ADDR *);
int BIO_ADDR_rawaddress(const BIO_ADDR *, void *, size_t *);
unsigned short BIO_ADDR_rawport(const BIO_ADDR *);
char *BIO_ADDR_hostname_string(const BIO_ADDR *, int);
char *BIO_ADDR_service_string(const BIO_ADDR *, int);
int BIO_ctrl_set_connected(BIO *, BIO_ADDR *);
int BIO_dgram_get_peer(BIO *, BIO_ADDR *);
int BIO_dgram_set_peer(BIO *, BIO_ADDR *);

/* 3.2+ */
const BIO_METHOD *BIO_s_dgram_pair(void);
int BIO_new_bio_dgram_pair(BIO **, size_t, BIO **, size_t);
int BIO_dgram_set_caps(BIO *, long);
int BIO_dgram_set0_local_addr(BIO *, BIO_ADDR *);
int BIO_ADDR_copy(BIO_ADDR *, const BIO_ADDR *);
"""

CUSTOMIZATIONS = """
#if ASYNCSSL_OPENSSL_320_OR_GREATER && !defined(OPENSSL_NO_DGRAM)
static const long ASYNCSSL_HAS_DGRAM_PAIR = 1;
#else
static const long ASYNCSSL_HAS_DGRAM_PAIR = 0;
#define BIO_DGRAM_CAP_NONE 0
#define BIO_DGRAM_CAP_HANDLES_SRC_ADDR 0
#define BIO_DGRAM_CAP_HANDLES_DST_ADDR 0
#define BIO_DGRAM_CAP_PROVIDES_SRC_ADDR 0
#define BIO_DGRAM_CAP_PROVIDES_DST_ADDR 0
static const BIO_METHOD *(*BIO_s_dgram_pair)(void) = NULL;
static int (*BIO_new_bio_dgram_pair)(BIO **, size_t, BIO **, size_t) = NULL;
static int (*BIO_dgram_set_caps)(BIO *, long) = NULL;
static int (*BIO_dgram_set0_local_addr)(BIO *, BIO_ADDR *) = NULL;
static int (*BIO_ADDR_copy)(BIO_ADDR *, const BIO_ADDR *) = NULL;
#endif
"""
