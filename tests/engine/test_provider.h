/* A provider written only against the public zrec/provider.h, as an
 * out-of-tree one would be: the mandatory slots and nothing else (scatter-
 * gather, copy-on-encrypt, bursts and DTLS 1.3 record-number masks all go
 * through the engine's generic code), the AEAD from wolfCrypt's one-shot
 * calls.
 *
 * Two variants: "testprov" (no capabilities at all, not even a caps slot)
 * and "testprov-inplace" (ZREC_AEAD_CAP_IN_PLACE_ONLY: it aborts if ever
 * handed in != out, so the engine's copies for copy-on-encrypt and
 * open-to-destination are tested).  Both count their calls, so a test can
 * tell that records really went through them. */
#ifndef ZREC_TEST_PROVIDER_H
#define ZREC_TEST_PROVIDER_H

#include "zrec/provider.h"

extern const struct zrec_aead_provider test_provider_minimal;
extern const struct zrec_aead_provider test_provider_inplace;

/* "testprov" / "testprov-inplace"; NULL for any other name. */
const struct zrec_aead_provider *test_provider_by_name(const char *name);

/* Seal and open calls made so far (all variants). */
unsigned long test_provider_calls(void);

#endif
