#include "desensitize/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int dz_buf_reserve(struct dz_buf *b, size_t extra)
{
    size_t need = b->len + extra + 1;
    size_t cap = b->cap ? b->cap : 256;
    char *data;

    if (need <= b->cap)
        return 0;
    while (cap < need)
        cap *= 2;
    data = realloc(b->data, cap);
    if (!data)
        return -ENOMEM;
    b->data = data;
    b->cap = cap;
    return 0;
}

void dz_buf_free(struct dz_buf *b)
{
    free(b->data);
    *b = (struct dz_buf){0};
}

void dz_trim(const char **s, size_t *len)
{
    while (*len && dz_is_space(**s)) {
        (*s)++;
        (*len)--;
    }
    while (*len && dz_is_space((*s)[*len - 1]))
        (*len)--;
}
