#ifndef COPENSSL_SHIM_H
#define COPENSSL_SHIM_H

/* The simulator's server side of SCRAM and x.509 (hashes, HMAC, PBKDF2, random salts, a client
 * certificate's subject) through the system's libcrypto, which libmongoc already depends on. */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/bio.h>

/* X509_NAME_print_ex's RFC 2253 form, the one mongod uses for x.509 user names. Returns the
 * length written to `out` (truncated to `capacity`), or -1. */
static inline int copenssl_subject_rfc2253(const unsigned char *der, long length, char *out, int capacity) {
    X509 *certificate = d2i_X509(NULL, &der, length);
    if (!certificate) return -1;
    BIO *bio = BIO_new(BIO_s_mem());
    int written = -1;
    if (bio && X509_NAME_print_ex(bio, X509_get_subject_name(certificate), 0, XN_FLAG_RFC2253) >= 0) {
        written = BIO_read(bio, out, capacity);
    }
    BIO_free(bio);
    X509_free(certificate);
    return written;
}

#endif
