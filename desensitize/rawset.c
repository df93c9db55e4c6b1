/* Export check (b): overlap with the raw records of a dataset.
 *
 * File format of a raw set (all integers little-endian):
 *
 *     "WDZRAW01"            8 bytes
 *     row count             u64
 *     value count           u64
 *     row hashes            row count * 32 bytes, sorted, unique
 *     value hashes          value count * 32 bytes, sorted, unique
 *
 * Each hash is SHA-256.  A row hash covers the normalized fields (trimmed,
 * ASCII folded to lower case) joined with 0x1F; a value hash covers one
 * normalized value. */
#include "desensitize/internal.h"

#include "common/fsutil.h"
#include "desensitize/rawset.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#define RAWSET_MAGIC "WDZRAW01"
#define RAWSET_HEADER_SIZE 24
#define HASH_SIZE crypto_hash_sha256_BYTES

struct hash_array {
    uint8_t (*items)[HASH_SIZE];
    size_t n, cap;
};

struct dz_rawset {
    void *map;
    size_t map_size;
    const uint8_t (*rows)[HASH_SIZE];
    const uint8_t (*values)[HASH_SIZE];
    size_t n_rows, n_values;
};

static int hash_push(struct hash_array *a, const uint8_t hash[HASH_SIZE])
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? 2 * a->cap : 4096;
        void *items = realloc(a->items, cap * HASH_SIZE);

        if (!items)
            return -ENOMEM;
        a->items = items;
        a->cap = cap;
    }
    memcpy(a->items[a->n++], hash, HASH_SIZE);
    return 0;
}

static int compare_hash(const void *a, const void *b)
{
    return memcmp(a, b, HASH_SIZE);
}

static void hash_sort_unique(struct hash_array *a)
{
    size_t out = 0;

    /* An empty array has no buffer, and qsort(NULL, 0, ...) is undefined. */
    if (a->n == 0)
        return;
    qsort(a->items, a->n, HASH_SIZE, compare_hash);
    for (size_t i = 0; i < a->n; i++) {
        if (out > 0 && memcmp(a->items[out - 1], a->items[i], HASH_SIZE) == 0)
            continue;
        memmove(a->items[out++], a->items[i], HASH_SIZE);
    }
    a->n = out;
}

/* Hash text after trimming and folding ASCII letters to lower case. */
static void hash_folded(crypto_hash_sha256_state *st, const char *s,
                        size_t len)
{
    char chunk[256];

    dz_trim(&s, &len);
    while (len > 0) {
        size_t n = len < sizeof(chunk) ? len : sizeof(chunk);

        for (size_t i = 0; i < n; i++)
            chunk[i] = dz_ascii_lower(s[i]);
        crypto_hash_sha256_update(st, (const uint8_t *)chunk, n);
        s += n;
        len -= n;
    }
}

static void hash_row(const struct csv_row *row, uint8_t out[HASH_SIZE])
{
    crypto_hash_sha256_state st;

    crypto_hash_sha256_init(&st);
    for (size_t i = 0; i < row->n_fields; i++) {
        if (i > 0)
            crypto_hash_sha256_update(&st, (const uint8_t *)"\x1f", 1);
        hash_folded(&st, row->fields[i].data, row->fields[i].len);
    }
    crypto_hash_sha256_final(&st, out);
}

static void hash_value(const char *s, size_t len, uint8_t out[HASH_SIZE])
{
    crypto_hash_sha256_state st;

    crypto_hash_sha256_init(&st);
    hash_folded(&st, s, len);
    crypto_hash_sha256_final(&st, out);
}

/* Lower-case hex SHA-256 of the bytes of s, as a plain hash would be. */
static void plain_hash_hex(const char *s, size_t len,
                           char hex[2 * HASH_SIZE + 1])
{
    uint8_t digest[HASH_SIZE];

    crypto_hash_sha256(digest, (const uint8_t *)s, len);
    sodium_bin2hex(hex, 2 * HASH_SIZE + 1, digest, HASH_SIZE);
}

/* ---- building ---- */

struct builder {
    struct hash_array rows, values;
};

/* Add a raw value, its plain SHA-256 hex, and the hex of its lower-case
 * form when that differs.  TODO: plain MD5 and SHA-1 hex of identifiers
 * are not added, since libsodium offers neither hash. */
static int add_value(struct builder *b, const char *s, size_t len)
{
    char hex[2 * HASH_SIZE + 1], folded[PII_VALUE_MAX];
    uint8_t h[HASH_SIZE];
    bool upper = false;
    int ret;

    dz_trim(&s, &len);
    hash_value(s, len, h);
    ret = hash_push(&b->values, h);
    plain_hash_hex(s, len, hex);
    hash_value(hex, 2 * HASH_SIZE, h);
    if (ret == 0)
        ret = hash_push(&b->values, h);
    for (size_t i = 0; i < len && i < sizeof(folded); i++) {
        folded[i] = dz_ascii_lower(s[i]);
        upper |= folded[i] != s[i];
    }
    if (ret < 0 || !upper || len > sizeof(folded))
        return ret;
    plain_hash_hex(folded, len, hex);
    hash_value(hex, 2 * HASH_SIZE, h);
    return hash_push(&b->values, h);
}

static int add_hit_value(const struct pii_hit *hit, void *userdata)
{
    return add_value(userdata, hit->value, strlen(hit->value));
}

static int find_columns(const struct csv_row *header,
                        const char *const *names, size_t n_names,
                        bool *is_id, struct werr *err)
{
    for (size_t k = 0; k < n_names; k++) {
        bool found = false;

        for (size_t i = 0; i < header->n_fields; i++) {
            if (strcmp(header->fields[i].data, names[k]) == 0)
                found = is_id[i] = true;
        }
        if (!found)
            return werr_set(err, -EINVAL,
                            "identifier column '%.*s' is not in the header of "
                            "the raw CSV; check its spelling", DZ_NAME_MAX,
                            names[k]);
    }
    return 0;
}

static int add_row(struct builder *b, const struct csv_row *row,
                   const bool *is_id)
{
    uint8_t h[HASH_SIZE];
    int ret;

    hash_row(row, h);
    ret = hash_push(&b->rows, h);
    for (size_t i = 0; ret >= 0 && i < row->n_fields; i++) {
        const struct csv_field *f = &row->fields[i];
        const char *data = f->data;
        size_t len = f->len;

        ret = pii_scan(data, len, add_hit_value, b);
        dz_trim(&data, &len);
        if (ret >= 0 && is_id[i] && len > 0)
            ret = add_value(b, data, len);
    }
    return ret < 0 ? ret : 0;
}

static int write_set(int fd, struct builder *b, struct werr *err)
{
    uint8_t header[RAWSET_HEADER_SIZE];
    int ret;

    hash_sort_unique(&b->rows);
    hash_sort_unique(&b->values);
    memcpy(header, RAWSET_MAGIC, 8);
    for (int i = 0; i < 8; i++) {
        header[8 + i] = (uint8_t)((uint64_t)b->rows.n >> (8 * i));
        header[16 + i] = (uint8_t)((uint64_t)b->values.n >> (8 * i));
    }
    ret = fs_write_all(fd, header, sizeof(header));
    if (ret == 0 && b->rows.n)
        ret = fs_write_all(fd, b->rows.items, b->rows.n * HASH_SIZE);
    if (ret == 0 && b->values.n)
        ret = fs_write_all(fd, b->values.items, b->values.n * HASH_SIZE);
    if (ret < 0)
        return werr_errno(err, ret, "failed to write the raw set");
    return 0;
}

static int build_from(struct csv_reader *reader, const bool *is_id,
                      struct builder *b, struct werr *err)
{
    struct csv_row row;
    int ret;

    while ((ret = csv_reader_next(reader, &row, err)) > 0) {
        if (add_row(b, &row, is_id) < 0)
            return werr_set(err, -ENOMEM, "out of memory building raw set");
    }
    return ret;
}

int dz_rawset_build(int raw_fd, enum csv_encoding encoding,
                    const char *const *id_columns, size_t n_id_columns,
                    int out_fd, struct werr *err)
{
    struct builder b = {0};
    struct csv_reader *reader = NULL;
    struct csv_row header;
    bool *is_id = NULL;
    int ret = csv_reader_new(raw_fd, encoding, 0, &reader, err);

    if (ret == 0)
        ret = csv_reader_next(reader, &header, err);
    if (ret == 0)
        ret = werr_set(err, -EBADMSG, "raw CSV is empty: a header is required");
    if (ret > 0) {
        is_id = calloc(header.n_fields + 1, sizeof(*is_id));
        ret = is_id ? find_columns(&header, id_columns, n_id_columns, is_id,
                                   err)
                    : werr_set(err, -ENOMEM, "out of memory");
    }
    if (ret >= 0)
        ret = build_from(reader, is_id, &b, err);
    if (ret >= 0)
        ret = write_set(out_fd, &b, err);
    free(is_id);
    free(b.rows.items);
    free(b.values.items);
    csv_reader_free(reader);
    return ret < 0 ? ret : 0;
}

/* ---- loading ---- */

static uint64_t read_u64(const uint8_t *p)
{
    uint64_t v = 0;

    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static int check_layout(const uint8_t *p, size_t size, uint64_t *ret_rows,
                        uint64_t *ret_values)
{
    uint64_t rows, values;

    if (size < RAWSET_HEADER_SIZE || memcmp(p, RAWSET_MAGIC, 8) != 0)
        return -EBADMSG;
    rows = read_u64(p + 8);
    values = read_u64(p + 16);
    if (rows > size / HASH_SIZE || values > size / HASH_SIZE ||
        RAWSET_HEADER_SIZE + (rows + values) * HASH_SIZE != size)
        return -EBADMSG;
    *ret_rows = rows;
    *ret_values = values;
    return 0;
}

int dz_rawset_open(int fd, struct dz_rawset **ret_set, struct werr *err)
{
    struct dz_rawset *set;
    uint64_t rows = 0, values = 0;
    struct stat st;
    void *map;

    if (fstat(fd, &st) < 0)
        return werr_errno(err, neg_errno(), "failed to stat the raw set");
    if (st.st_size < RAWSET_HEADER_SIZE)
        return werr_set(err, -EBADMSG, "raw set file is too short; rebuild it");
    map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED)
        return werr_errno(err, neg_errno(), "failed to map the raw set");
    set = calloc(1, sizeof(*set));
    if (!set || check_layout(map, (size_t)st.st_size, &rows, &values) < 0) {
        munmap(map, (size_t)st.st_size);
        free(set);
        return werr_set(err, set ? -EBADMSG : -ENOMEM,
                        "raw set file is damaged or of another version; "
                        "rebuild it");
    }
    *set = (struct dz_rawset){map, (size_t)st.st_size, NULL, NULL,
                              (size_t)rows, (size_t)values};
    set->rows = (const void *)((const uint8_t *)map + RAWSET_HEADER_SIZE);
    set->values = set->rows + rows;
    *ret_set = set;
    return 0;
}

void dz_rawset_close(struct dz_rawset *set)
{
    if (!set)
        return;
    munmap(set->map, set->map_size);
    free(set);
}

size_t dz_rawset_rows(const struct dz_rawset *set)
{
    return set->n_rows;
}

size_t dz_rawset_values(const struct dz_rawset *set)
{
    return set->n_values;
}

/* ---- lookups ---- */

static bool sorted_contains(const uint8_t (*items)[HASH_SIZE], size_t n,
                            const uint8_t key[HASH_SIZE])
{
    return n > 0 && bsearch(key, items, n, HASH_SIZE, compare_hash) != NULL;
}

bool rawset_has_row(const struct dz_rawset *set, const struct csv_row *row)
{
    uint8_t h[HASH_SIZE];

    hash_row(row, h);
    return sorted_contains(set->rows, set->n_rows, h);
}

bool rawset_has_value(const struct dz_rawset *set, const char *s, size_t len)
{
    uint8_t h[HASH_SIZE];

    hash_value(s, len, h);
    return sorted_contains(set->values, set->n_values, h);
}
