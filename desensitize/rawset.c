/* Export check (b): overlap with the raw records of a dataset.
 *
 * File format of a raw set (all integers little-endian):
 *
 *     "WDZRAW02"            8 bytes
 *     row count             u64
 *     bag count             u64
 *     value count           u64
 *     cell count            u64
 *     row hashes            row count * 32 bytes, sorted, unique
 *     bag hashes            bag count * 32 bytes, sorted, unique
 *     value hashes          value count * 32 bytes, sorted, unique
 *     cells                 cell count * 16 bytes, sorted, unique
 *
 * Each hash is SHA-256.  The digest of a field is the SHA-256 of its
 * normalized text (trimmed, ASCII folded to lower case).  A row hash
 * covers the normalized fields joined with 0x1F.  A bag hash covers the
 * field digests of a row sorted bytewise and concatenated, so it does not
 * depend on the column order.  A value hash is the digest of one
 * identifier value.  A cell is one distinctive value of one raw row: the first 8
 * bytes of its digest read as u64, the raw row index (u32, from 0) and the
 * number of distinctive values of that row (u32).  A value is distinctive
 * when it is not empty and occurs in at most DZ_RARE_ROWS_MAX raw rows.
 *
 * Version 1 files ("WDZRAW01") had no bags and cells; dz_rawset_open()
 * rejects them so that they are rebuilt instead of checked weakly. */
#include "desensitize/internal.h"

#include "common/fsutil.h"
#include "desensitize/rawset.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#define RAWSET_MAGIC "WDZRAW02"
#define RAWSET_MAGIC_V1 "WDZRAW01"
#define RAWSET_HEADER_SIZE 40
#define CELL_SIZE 16
#define HASH_SIZE RAWSET_HASH_SIZE

struct hash_array {
    uint8_t (*items)[HASH_SIZE];
    size_t n, cap;
};

struct cell {
    uint64_t fingerprint;
    uint32_t row;
    uint32_t row_values; /* distinctive values of the row */
};

/* Start of each range of entries that share the top bits of their sort
 * key, so that a lookup searches a few entries instead of the whole array.
 * Hashes are uniform, so four to eight entries share a range on average. */
struct key_index {
    uint32_t *starts; /* 2^bits + 1 entries; NULL when not built */
    unsigned bits;
};

struct dz_rawset {
    void *map;
    size_t map_size;
    const uint8_t (*rows)[HASH_SIZE];
    const uint8_t (*bags)[HASH_SIZE];
    const uint8_t (*values)[HASH_SIZE];
    const uint8_t *cells;
    size_t n_rows, n_bags, n_values, n_cells;
    struct key_index rows_index, bags_index, values_index, cells_index;
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

void rawset_digest(const char *s, size_t len, uint8_t out[HASH_SIZE])
{
    crypto_hash_sha256_state st;

    crypto_hash_sha256_init(&st);
    hash_folded(&st, s, len);
    crypto_hash_sha256_final(&st, out);
}

/* Bag hash of n field digests; sorts them in place. */
static void hash_bag(uint8_t (*digests)[HASH_SIZE], size_t n,
                     uint8_t out[HASH_SIZE])
{
    if (n > 0)
        qsort(digests, n, HASH_SIZE, compare_hash);
    crypto_hash_sha256(out, (const uint8_t *)digests, n * HASH_SIZE);
}

static uint64_t read_u64(const uint8_t *p)
{
    uint64_t v = 0;

    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static uint32_t read_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static void write_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t digest_fingerprint(const uint8_t digest[HASH_SIZE])
{
    return read_u64(digest);
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
    struct hash_array rows, bags, values;
    struct cell *cells;
    size_t n_cells, cap_cells;
    uint32_t n_raw_rows;
    uint8_t (*digests)[HASH_SIZE]; /* of the current row */
    size_t cap_digests;
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
    rawset_digest(s, len, h);
    ret = hash_push(&b->values, h);
    plain_hash_hex(s, len, hex);
    rawset_digest(hex, 2 * HASH_SIZE, h);
    if (ret == 0)
        ret = hash_push(&b->values, h);
    for (size_t i = 0; i < len && i < sizeof(folded); i++) {
        folded[i] = dz_ascii_lower(s[i]);
        upper |= folded[i] != s[i];
    }
    if (ret < 0 || !upper || len > sizeof(folded))
        return ret;
    plain_hash_hex(folded, len, hex);
    rawset_digest(hex, 2 * HASH_SIZE, h);
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

static int cell_push(struct builder *b, uint64_t fingerprint, uint32_t row)
{
    if (b->n_cells == b->cap_cells) {
        size_t cap = b->cap_cells ? 2 * b->cap_cells : 16384;
        struct cell *cells = realloc(b->cells, cap * sizeof(*cells));

        if (!cells)
            return -ENOMEM;
        b->cells = cells;
        b->cap_cells = cap;
    }
    b->cells[b->n_cells++] = (struct cell){fingerprint, row, 0};
    return 0;
}

static int reserve_digests(uint8_t (**digests)[HASH_SIZE], size_t *cap,
                           size_t n)
{
    void *grown;

    if (n <= *cap)
        return 0;
    grown = realloc(*digests, n * HASH_SIZE);
    if (!grown)
        return -ENOMEM;
    *digests = grown;
    *cap = n;
    return 0;
}

/* Add the row, bag and cell entries of one raw row. */
static int add_row_shape(struct builder *b, const struct csv_row *row)
{
    uint8_t h[HASH_SIZE];
    int ret;

    hash_row(row, h);
    ret = hash_push(&b->rows, h);
    if (ret == 0)
        ret = reserve_digests(&b->digests, &b->cap_digests, row->n_fields);
    for (size_t i = 0; ret == 0 && i < row->n_fields; i++) {
        const char *data = row->fields[i].data;
        size_t len = row->fields[i].len;

        rawset_digest(data, len, b->digests[i]);
        dz_trim(&data, &len);
        if (len > 0)
            ret = cell_push(b, digest_fingerprint(b->digests[i]),
                            b->n_raw_rows);
    }
    if (ret < 0)
        return ret;
    hash_bag(b->digests, row->n_fields, h);
    return hash_push(&b->bags, h);
}

static int add_row(struct builder *b, const struct csv_row *row,
                   const bool *is_id)
{
    int ret = add_row_shape(b, row);

    for (size_t i = 0; ret >= 0 && i < row->n_fields; i++) {
        const struct csv_field *f = &row->fields[i];
        const char *data = f->data;
        size_t len = f->len;

        ret = pii_scan(data, len, add_hit_value, b);
        dz_trim(&data, &len);
        if (ret >= 0 && is_id[i] && len > 0)
            ret = add_value(b, data, len);
    }
    b->n_raw_rows++;
    return ret < 0 ? ret : 0;
}

static int compare_cell(const void *pa, const void *pb)
{
    const struct cell *a = pa, *b = pb;

    if (a->fingerprint != b->fingerprint)
        return a->fingerprint < b->fingerprint ? -1 : 1;
    return (a->row > b->row) - (a->row < b->row);
}

/* Keep the distinctive cells, unique and sorted, and store in each the
 * number of distinctive values of its row. */
static int select_distinctive(struct builder *b)
{
    uint32_t *per_row = calloc((size_t)b->n_raw_rows + 1, sizeof(*per_row));
    size_t out = 0, i = 0;

    if (!per_row)
        return -ENOMEM;
    if (b->n_cells > 0)
        qsort(b->cells, b->n_cells, sizeof(*b->cells), compare_cell);
    while (i < b->n_cells) {
        size_t start = out, j = i;

        /* Copy the run of one fingerprint without repeated rows. */
        for (; j < b->n_cells && b->cells[j].fingerprint ==
                                     b->cells[i].fingerprint; j++) {
            if (out > start && b->cells[out - 1].row == b->cells[j].row)
                continue;
            b->cells[out++] = b->cells[j];
        }
        if (out - start > DZ_RARE_ROWS_MAX)
            out = start;
        for (size_t k = start; k < out; k++)
            per_row[b->cells[k].row]++;
        i = j;
    }
    b->n_cells = out;
    for (size_t k = 0; k < out; k++)
        b->cells[k].row_values = per_row[b->cells[k].row];
    free(per_row);
    return 0;
}

static int write_cells(int fd, const struct builder *b)
{
    uint8_t chunk[CELL_SIZE * 1024];
    size_t used = 0;
    int ret = 0;

    for (size_t i = 0; ret == 0 && i < b->n_cells; i++) {
        uint8_t *p = chunk + used;

        write_u64(p, b->cells[i].fingerprint);
        write_u64(p + 8, (uint64_t)b->cells[i].row |
                             (uint64_t)b->cells[i].row_values << 32);
        used += CELL_SIZE;
        if (used == sizeof(chunk) || i + 1 == b->n_cells) {
            ret = fs_write_all(fd, chunk, used);
            used = 0;
        }
    }
    return ret;
}

static int write_set(int fd, struct builder *b, struct werr *err)
{
    uint8_t header[RAWSET_HEADER_SIZE];
    const struct hash_array *arrays[] = {&b->rows, &b->bags, &b->values};
    int ret;

    hash_sort_unique(&b->rows);
    hash_sort_unique(&b->bags);
    hash_sort_unique(&b->values);
    if (select_distinctive(b) < 0)
        return werr_set(err, -ENOMEM, "out of memory building raw set");
    memcpy(header, RAWSET_MAGIC, 8);
    write_u64(header + 8, b->rows.n);
    write_u64(header + 16, b->bags.n);
    write_u64(header + 24, b->values.n);
    write_u64(header + 32, b->n_cells);
    ret = fs_write_all(fd, header, sizeof(header));
    for (size_t i = 0; ret == 0 && i < 3; i++) {
        if (arrays[i]->n)
            ret = fs_write_all(fd, arrays[i]->items,
                               arrays[i]->n * HASH_SIZE);
    }
    if (ret == 0)
        ret = write_cells(fd, b);
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
        if (b->n_raw_rows == UINT32_MAX)
            return werr_set(err, -EFBIG, "raw CSV has more than %u rows, the "
                            "maximum of a raw set; split the dataset",
                            UINT32_MAX - 1);
        if (add_row(b, &row, is_id) < 0)
            return werr_set(err, -ENOMEM, "out of memory building raw set");
    }
    return ret;
}

static void builder_free(struct builder *b)
{
    free(b->rows.items);
    free(b->bags.items);
    free(b->values.items);
    free(b->cells);
    free(b->digests);
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
    builder_free(&b);
    csv_reader_free(reader);
    return ret < 0 ? ret : 0;
}

/* ---- loading ---- */

#define INDEX_BITS_MAX 22

static uint64_t read_be64(const uint8_t *p)
{
    uint64_t v = 0;

    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

/* Sort key of entry i: hashes sort bytewise, so their first 8 bytes read
 * big-endian; cells sort by their little-endian fingerprint. */
static uint64_t key_at(const uint8_t *base, size_t stride, bool cells,
                       size_t i)
{
    const uint8_t *p = base + i * stride;

    return cells ? read_u64(p) : read_be64(p);
}

/* Build the index of n sorted entries.  Without memory the index stays
 * empty and lookups search the whole array. */
static void index_build(struct key_index *ix, const uint8_t *base, size_t n,
                        size_t stride, bool cells)
{
    size_t i = 0, n_ranges;

    ix->bits = 0;
    while (ix->bits < INDEX_BITS_MAX && ((size_t)4 << ix->bits) <= n)
        ix->bits++;
    if (ix->bits == 0)
        return;
    n_ranges = (size_t)1 << ix->bits;
    ix->starts = malloc((n_ranges + 1) * sizeof(*ix->starts));
    if (!ix->starts)
        return;
    for (size_t r = 0; r <= n_ranges; r++) {
        while (i < n && key_at(base, stride, cells, i) >> (64 - ix->bits) < r)
            i++;
        ix->starts[r] = (uint32_t)i;
    }
}

/* Range [*ret_lo, *ret_hi) of the entries that may have sort key key. */
static void index_range(const struct key_index *ix, size_t n, uint64_t key,
                        size_t *ret_lo, size_t *ret_hi)
{
    uint64_t r;

    if (!ix->starts) {
        *ret_lo = 0;
        *ret_hi = n;
        return;
    }
    r = key >> (64 - ix->bits);
    *ret_lo = ix->starts[r];
    *ret_hi = ix->starts[r + 1];
}

static int check_layout(const uint8_t *p, size_t size, uint64_t ret_counts[4])
{
    uint64_t hashes = 0;

    if (size < RAWSET_HEADER_SIZE || memcmp(p, RAWSET_MAGIC, 8) != 0)
        return -EBADMSG;
    for (int i = 0; i < 4; i++) {
        ret_counts[i] = read_u64(p + 8 + 8 * i);
        if (ret_counts[i] > size / HASH_SIZE)
            return -EBADMSG;
    }
    hashes = ret_counts[0] + ret_counts[1] + ret_counts[2];
    if (RAWSET_HEADER_SIZE + hashes * HASH_SIZE + ret_counts[3] * CELL_SIZE !=
        size)
        return -EBADMSG;
    return 0;
}

int dz_rawset_open(int fd, struct dz_rawset **ret_set, struct werr *err)
{
    struct dz_rawset *set;
    uint64_t counts[4] = {0};
    struct stat st;
    uint8_t *map;

    if (fstat(fd, &st) < 0)
        return werr_errno(err, neg_errno(), "failed to stat the raw set");
    if (st.st_size < (off_t)sizeof(RAWSET_MAGIC) - 1)
        return werr_set(err, -EBADMSG, "raw set file is too short; rebuild it");
    map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED)
        return werr_errno(err, neg_errno(), "failed to map the raw set");
    if (memcmp(map, RAWSET_MAGIC_V1, 8) == 0) {
        munmap(map, (size_t)st.st_size);
        return werr_set(err, -EBADMSG, "raw set file has the old format "
                        "WDZRAW01, which cannot match reordered or partial "
                        "rows; rebuild it");
    }
    set = calloc(1, sizeof(*set));
    if (!set || check_layout(map, (size_t)st.st_size, counts) < 0) {
        munmap(map, (size_t)st.st_size);
        free(set);
        return werr_set(err, set ? -EBADMSG : -ENOMEM,
                        "raw set file is damaged or of another version; "
                        "rebuild it");
    }
    set->map = map;
    set->map_size = (size_t)st.st_size;
    set->n_rows = (size_t)counts[0];
    set->n_bags = (size_t)counts[1];
    set->n_values = (size_t)counts[2];
    set->n_cells = (size_t)counts[3];
    set->rows = (const void *)(map + RAWSET_HEADER_SIZE);
    set->bags = set->rows + set->n_rows;
    set->values = set->bags + set->n_bags;
    set->cells = (const uint8_t *)(set->values + set->n_values);
    index_build(&set->rows_index, *set->rows, set->n_rows, HASH_SIZE, false);
    index_build(&set->bags_index, *set->bags, set->n_bags, HASH_SIZE, false);
    index_build(&set->values_index, *set->values, set->n_values, HASH_SIZE,
                false);
    index_build(&set->cells_index, set->cells, set->n_cells, CELL_SIZE, true);
    *ret_set = set;
    return 0;
}

void dz_rawset_close(struct dz_rawset *set)
{
    if (!set)
        return;
    munmap(set->map, set->map_size);
    free(set->rows_index.starts);
    free(set->bags_index.starts);
    free(set->values_index.starts);
    free(set->cells_index.starts);
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
                            const struct key_index *ix,
                            const uint8_t key[HASH_SIZE])
{
    size_t lo, hi;

    index_range(ix, n, read_be64(key), &lo, &hi);
    return hi > lo &&
           bsearch(key, items + lo, hi - lo, HASH_SIZE, compare_hash) != NULL;
}

bool rawset_has_row(const struct dz_rawset *set, const struct csv_row *row)
{
    uint8_t h[HASH_SIZE];

    hash_row(row, h);
    return sorted_contains(set->rows, set->n_rows, &set->rows_index, h);
}

bool rawset_has_bag(const struct dz_rawset *set,
                    uint8_t (*digests)[HASH_SIZE], size_t n)
{
    uint8_t h[HASH_SIZE];

    hash_bag(digests, n, h);
    return sorted_contains(set->bags, set->n_bags, &set->bags_index, h);
}

bool rawset_has_value(const struct dz_rawset *set, const char *s, size_t len)
{
    uint8_t h[HASH_SIZE];

    rawset_digest(s, len, h);
    return rawset_has_value_digest(set, h);
}

bool rawset_has_value_digest(const struct dz_rawset *set,
                             const uint8_t digest[HASH_SIZE])
{
    return sorted_contains(set->values, set->n_values, &set->values_index,
                           digest);
}

/* Index of the first cell whose fingerprint is not below fingerprint. */
static size_t cells_lower_bound(const struct dz_rawset *set,
                                uint64_t fingerprint)
{
    size_t lo, hi;

    index_range(&set->cells_index, set->n_cells, fingerprint, &lo, &hi);

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (read_u64(set->cells + mid * CELL_SIZE) < fingerprint)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int compare_u64(const void *pa, const void *pb)
{
    uint64_t a = *(const uint64_t *)pa, b = *(const uint64_t *)pb;

    return (a > b) - (a < b);
}

int rawset_match_subset(const struct dz_rawset *set,
                        const uint8_t (*digests)[HASH_SIZE], size_t n,
                        struct rawset_scratch *scratch)
{
    size_t used = 0;

    /* Collect (row << 32 | row_values) of every cell that an export value
     * hits.  digests are sorted, so a repeated value is counted once. */
    for (size_t i = 0; i < n; i++) {
        uint64_t fp = digest_fingerprint(digests[i]);

        if (i > 0 && memcmp(digests[i - 1], digests[i], HASH_SIZE) == 0)
            continue;
        for (size_t k = cells_lower_bound(set, fp);
             k < set->n_cells && read_u64(set->cells + k * CELL_SIZE) == fp;
             k++) {
            const uint8_t *cell = set->cells + k * CELL_SIZE;

            if (used == scratch->cap) {
                size_t cap = scratch->cap ? 2 * scratch->cap : 256;
                uint64_t *grown = realloc(scratch->items,
                                          cap * sizeof(*grown));

                if (!grown)
                    return -ENOMEM;
                scratch->items = grown;
                scratch->cap = cap;
            }
            scratch->items[used++] = (uint64_t)read_u32(cell + 8) << 32 |
                                     read_u32(cell + 12);
        }
    }
    if (used < DZ_SUBSET_ROW_VALUES_MIN)
        return 0;
    qsort(scratch->items, used, sizeof(*scratch->items), compare_u64);
    for (size_t i = 0; i < used;) {
        uint64_t row_values = scratch->items[i] & UINT32_MAX;
        size_t j = i;
        uint64_t need = row_values < DZ_SUBSET_VALUES_MIN
                            ? row_values
                            : DZ_SUBSET_VALUES_MIN;

        while (j < used && scratch->items[j] >> 32 == scratch->items[i] >> 32)
            j++;
        if (need >= DZ_SUBSET_ROW_VALUES_MIN && j - i >= need)
            return 1;
        i = j;
    }
    return 0;
}

void rawset_scratch_free(struct rawset_scratch *scratch)
{
    free(scratch->items);
    *scratch = (struct rawset_scratch){0};
}
