/* Aggregation of drop events per key over a window, with a cap on the
 * number of keys so that a scan across many ports or addresses produces a
 * bounded number of audit events. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "netpolicy/netpolicy.h"

struct slot {
    bool used;
    struct nflog_agg_record record;
};

struct nflog_agg {
    uint64_t window_ms;
    size_t max_keys;
    size_t n_keys;
    size_t n_slots; /* a power of two, at least twice max_keys */
    struct slot *slots;
    bool window_open;
    uint64_t window_start_ms;
    struct nflog_agg_record overflow;
};

struct nflog_agg *nflog_agg_new(uint64_t window_ms, size_t max_keys)
{
    struct nflog_agg *agg;
    size_t n_slots = 16;

    if (window_ms == 0 || max_keys == 0 || max_keys > (SIZE_MAX / 4))
        return NULL;
    while (n_slots < max_keys * 2)
        n_slots *= 2;
    agg = calloc(1, sizeof(*agg));
    if (!agg)
        return NULL;
    agg->slots = calloc(n_slots, sizeof(*agg->slots));
    if (!agg->slots) {
        free(agg);
        return NULL;
    }
    agg->window_ms = window_ms;
    agg->max_keys = max_keys;
    agg->n_slots = n_slots;
    agg->overflow.overflow = true;
    return agg;
}

void nflog_agg_free(struct nflog_agg *agg)
{
    if (!agg)
        return;
    free(agg->slots);
    free(agg);
}

void nflog_agg_key_from_event(const struct nflog_event *event,
                              struct nflog_agg_key *ret_key)
{
    unsigned tenant;

    memset(ret_key, 0, sizeof(*ret_key));
    ret_key->tenant = nflog_prefix_tenant(event->prefix, &tenant) == 0
                          ? tenant
                          : NFLOG_AGG_NO_TENANT;
    ret_key->family = event->family;
    ret_key->src = event->src;
    ret_key->dst = event->dst;
    ret_key->protocol = event->protocol;
    ret_key->dport = event->dport;
}

/* Keys are compared field by field so that padding never matters. */
static bool key_equal(const struct nflog_agg_key *a,
                      const struct nflog_agg_key *b)
{
    return a->tenant == b->tenant && a->family == b->family &&
           memcmp(&a->src, &b->src, sizeof(a->src)) == 0 &&
           memcmp(&a->dst, &b->dst, sizeof(a->dst)) == 0 &&
           a->protocol == b->protocol && a->dport == b->dport;
}

/* FNV-1a over the key's fields. */
static uint64_t hash_bytes(uint64_t h, const void *data, size_t len)
{
    const uint8_t *p = data;

    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return h;
}

static size_t key_hash(const struct nflog_agg_key *k)
{
    uint64_t h = 14695981039346656037ull;

    h = hash_bytes(h, &k->tenant, sizeof(k->tenant));
    h = hash_bytes(h, &k->family, sizeof(k->family));
    h = hash_bytes(h, &k->src, sizeof(k->src));
    h = hash_bytes(h, &k->dst, sizeof(k->dst));
    h = hash_bytes(h, &k->protocol, sizeof(k->protocol));
    h = hash_bytes(h, &k->dport, sizeof(k->dport));
    return (size_t)h;
}

/* Return the slot of key, or the empty slot where it belongs. */
static struct slot *slot_find(struct nflog_agg *agg,
                              const struct nflog_agg_key *key)
{
    size_t mask = agg->n_slots - 1;
    size_t i = key_hash(key) & mask;

    while (agg->slots[i].used && !key_equal(&agg->slots[i].record.key, key))
        i = (i + 1) & mask;
    return &agg->slots[i];
}

static void record_count(struct nflog_agg_record *record, uint64_t now_ms)
{
    if (record->count == 0)
        record->first_ms = now_ms;
    record->count++;
    record->last_ms = now_ms;
}

int nflog_agg_add(struct nflog_agg *agg, const struct nflog_agg_key *key,
                  uint64_t now_ms)
{
    struct slot *slot;

    if (!agg->window_open) {
        agg->window_open = true;
        agg->window_start_ms = now_ms;
    }
    slot = slot_find(agg, key);
    if (!slot->used) {
        if (agg->n_keys >= agg->max_keys) {
            record_count(&agg->overflow, now_ms);
            return 1;
        }
        slot->used = true;
        slot->record.key = *key;
        slot->record.overflow = false;
        agg->n_keys++;
    }
    record_count(&slot->record, now_ms);
    return 0;
}

size_t nflog_agg_flush(struct nflog_agg *agg, uint64_t now_ms, bool force,
                       nflog_agg_emit emit, void *data)
{
    size_t emitted = 0;

    if (!agg->window_open)
        return 0;
    if (!force && now_ms - agg->window_start_ms < agg->window_ms)
        return 0;

    for (size_t i = 0; i < agg->n_slots; i++) {
        if (!agg->slots[i].used)
            continue;
        emit(&agg->slots[i].record, data);
        emitted++;
    }
    if (agg->overflow.count > 0) {
        emit(&agg->overflow, data);
        emitted++;
    }

    memset(agg->slots, 0, agg->n_slots * sizeof(*agg->slots));
    memset(&agg->overflow, 0, sizeof(agg->overflow));
    agg->overflow.overflow = true;
    agg->n_keys = 0;
    agg->window_open = false;
    return emitted;
}

int64_t nflog_agg_next_deadline(const struct nflog_agg *agg, uint64_t now_ms)
{
    uint64_t end;

    if (!agg->window_open)
        return -1;
    end = agg->window_start_ms + agg->window_ms;
    return now_ms >= end ? 0 : (int64_t)(end - now_ms);
}
