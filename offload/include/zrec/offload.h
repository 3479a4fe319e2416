/*
 * zrec/offload.h — AEAD providers on crypto devices (libzrec-offload).
 *
 * A DPDK cryptodev (a NIC's or an accelerator's crypto engine, or one of
 * DPDK's software devices: crypto_aesni_gcm, crypto_aesni_mb,
 * crypto_openssl, crypto_chacha20_poly1305) as a zrec AEAD provider: give
 * sessions zrec_offload_provider(o) (zrec_session_params.provider) and
 * their records' AEAD runs on the device, the rest of the record layer in
 * the engine as always.
 *
 * What it does with a burst: where the device has a synchronous CPU path
 * (RTE_CRYPTODEV_FF_SYM_CPU_CRYPTO: crypto_aesni_gcm, crypto_aesni_mb), one
 * call per run of records of one key, in the records' own buffers; else
 * one rte_crypto_op per record, pointing into the record's buffer (in
 * place; out of place where the device can), enqueued on the calling
 * thread's queue pair in one burst and dequeued back; the device may
 * complete them in any order, each record gets its own status.
 * AES-128/256-GCM, ChaCha20-Poly1305 and AES-128-CCM (16- and 8-byte tags;
 * always through the queue pair).
 * Capabilities are queried, never assumed: an AEAD the device lacks (or an
 * AAD length it refuses) is not offered (zrec_session_new: ENOTSUP) or,
 * for one AAD length only, done in software.
 *
 * Software fallback, per record, counted (zrec_offload_stats): a record the
 * device does not take (queue full, device stopped, an error status, no
 * queue pair left for this thread) is sealed or opened by zrec's default
 * provider with the same key; the caller never notices.  A record whose
 * tag does not verify is -EBADMSG as with any provider.
 *
 * Threads: each thread that seals or opens gets a queue pair of its own on
 * first use (a queue pair is not thread-safe); threads beyond the device's
 * queue pairs run in software.
 *
 * Buffers: the device reads and writes the engine's buffers directly.  In
 * IOVA-as-VA mode (--no-huge, --iova-mode=va, every software device) any
 * buffer works; a device that needs physical addresses can only reach
 * DPDK memory (rte_malloc, mbufs).
 *
 * Asynchronous use: the provider also completes ops later
 * (ZREC_AEAD_CAP_ASYNC), for zrec_async_* (zrec.h): records submitted, the
 * device working while the caller does something else, collected later in
 * order per session.  The same per-record fallback applies.  A device must
 * not be stopped for good with ops in flight: they come back only once it
 * is started again.
 *
 * Experimental API.
 */
#ifndef ZREC_OFFLOAD_H
#define ZREC_OFFLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zrec/provider.h"

#ifdef __cplusplus
extern "C" {
#endif

struct zrec_offload;

struct zrec_offload_params {
    /** Queue pairs to set up (one per thread that uses the provider).
     *  0: as many as the device offers, at most 8. */
    uint16_t queue_pairs;
    /** Descriptors per queue pair.  0: 2048. */
    uint32_t queue_depth;
    /** Crypto ops in flight at once across all queue pairs.  0: 4096. */
    uint32_t ops;
    /** Synchronous bursts through the queue pair even where the device has
     *  the CPU path (RTE_CRYPTODEV_FF_SYM_CPU_CRYPTO), which is otherwise
     *  used for them. */
    bool no_cpu_crypto;
    /** Testing the fallback: every Nth record meant for the device is
     *  handled as the device's error status would be (redone in software,
     *  counted in fallback_error), without being given to it.  0: never.
     *  Software devices cannot be made to fail, and hardware fails rarely;
     *  this is how the path is exercised (tests/offload).  A real error
     *  status is redone in software too, which is right for devices that
     *  report errors before writing (the software PMDs validate first). */
    uint32_t fault_every;
};

/** A cryptodev by name ("crypto_aesni_gcm0", a PCI device's name, ...) as
 *  a provider.  EAL must be up.  A virtual device not created yet is
 *  created (rte_vdev_init).  The device is configured and started here,
 *  unless it already runs (then its queue pairs are taken as they are).
 *  NULL with a reason in err on failure. */
struct zrec_offload *zrec_offload_cryptodev_new(const char *name,
                                                const struct zrec_offload_params *params,
                                                char *err, size_t errlen);

/** The provider, valid until zrec_offload_free(); its name is
 *  "cryptodev:<device name>". */
const struct zrec_aead_provider *zrec_offload_provider(const struct zrec_offload *o);

/** The device's driver name ("crypto_aesni_gcm", ...). */
const char *zrec_offload_driver(const struct zrec_offload *o);

/** Non-zero if the device does this AEAD (any AAD length). */
int zrec_offload_supports(const struct zrec_offload *o, enum zrec_aead_id id);
/** Non-zero if synchronous bursts of this AEAD take the device's CPU path
 *  (else its queue pairs). */
int zrec_offload_cpu_path(const struct zrec_offload *o, enum zrec_aead_id id);

struct zrec_offload_stats {
    uint64_t device_ops;       /**< records the device sealed or opened */
    uint64_t auth_failures;    /**< of those, opens whose tag did not verify */
    uint64_t fallback_full;    /**< in software: the queue pair took no more */
    uint64_t fallback_error;   /**< in software: the device returned an error */
    uint64_t fallback_no_qp;   /**< in software: no queue pair left for the thread */
    uint64_t fallback_aad;     /**< in software: an AAD length the device refuses */
};
void zrec_offload_stats_get(const struct zrec_offload *o, struct zrec_offload_stats *out);

/** Stop using the device: sessions using the provider must be freed first.
 *  The device is stopped and closed if zrec_offload_cryptodev_new()
 *  started it. */
void zrec_offload_free(struct zrec_offload *o);

#ifdef __cplusplus
}
#endif

#endif
