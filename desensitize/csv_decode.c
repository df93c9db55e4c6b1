#include "desensitize/csv_decode.h"

#include "desensitize/internal.h"

#include <errno.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

static const char *const encoding_names[CSV_ENCODING_MAX] = {
    [CSV_ENCODING_UTF8] = "UTF-8",
    [CSV_ENCODING_GB18030] = "GB18030",
    [CSV_ENCODING_GBK] = "GBK",
};

int csv_encoding_from_string(const char *name)
{
    if (strcasecmp(name, "utf-8") == 0 || strcasecmp(name, "utf8") == 0)
        return CSV_ENCODING_UTF8;
    if (strcasecmp(name, "gb18030") == 0)
        return CSV_ENCODING_GB18030;
    if (strcasecmp(name, "gbk") == 0)
        return CSV_ENCODING_GBK;
    return -EINVAL;
}

const char *csv_encoding_to_string(enum csv_encoding encoding)
{
    if ((unsigned)encoding >= CSV_ENCODING_MAX)
        return "unknown";
    return encoding_names[encoding];
}

int csv_decoder_init(struct csv_decoder *d, int fd,
                     enum csv_encoding encoding, struct werr *err)
{
    *d = (struct csv_decoder){.fd = fd, .encoding = encoding,
                              .cd = (iconv_t)-1};
    if ((unsigned)encoding >= CSV_ENCODING_MAX)
        return werr_set(err, -EINVAL, "invalid encoding %d", encoding);
    if (encoding == CSV_ENCODING_UTF8)
        return 0;
    d->cd = iconv_open("UTF-8", encoding_names[encoding]);
    if (d->cd == (iconv_t)-1)
        return werr_errno(err, neg_errno(),
                          "failed to set up conversion from %s to UTF-8",
                          encoding_names[encoding]);
    return 0;
}

void csv_decoder_done(struct csv_decoder *d)
{
    if (d->cd != (iconv_t)-1)
        iconv_close(d->cd);
    d->cd = (iconv_t)-1;
}

static ssize_t read_retry(int fd, char *buf, size_t len)
{
    ssize_t n;

    do {
        n = read(fd, buf, len);
    } while (n < 0 && errno == EINTR);
    return n < 0 ? neg_errno() : n;
}

static int bad_utf8(const struct csv_decoder *d, const uint8_t *s,
                    size_t offset, bool cut, struct werr *err)
{
    uint64_t at = d->consumed + offset;

    if (cut)
        return werr_set(err, -EILSEQ,
                        "input is not valid UTF-8: byte sequence cut off "
                        "at the end of input, byte offset %llu; if the "
                        "file is a GB 18030 or GBK export, name that "
                        "encoding", (unsigned long long)at);
    return werr_set(err, -EILSEQ,
                    "input is not valid UTF-8: invalid byte 0x%02x at byte "
                    "offset %llu; if the file is a GB 18030 or GBK export, "
                    "name that encoding", s[offset], (unsigned long long)at);
}

/* UTF-8 input is read straight into dst after the cut-off tail of the
 * previous read, then validated. */
static ssize_t read_utf8(struct csv_decoder *d, char *dst, size_t cap,
                         struct werr *err)
{
    size_t len = d->carry_len, offset = 0;
    enum utf8_status st;
    ssize_t n;

    memcpy(dst, d->carry, d->carry_len);
    n = read_retry(d->fd, dst + len, cap - len);
    if (n < 0)
        return werr_errno(err, (int)n, "failed to read CSV input");
    if (n == 0)
        d->eof = true;
    len += (size_t)n;
    st = utf8_validate((const uint8_t *)dst, len, &offset);
    if (st == UTF8_INVALID || (st == UTF8_INCOMPLETE && d->eof))
        return bad_utf8(d, (const uint8_t *)dst, offset,
                        st == UTF8_INCOMPLETE, err);
    if (st == UTF8_VALID)
        offset = len;
    d->carry_len = len - offset;
    memcpy(d->carry, dst + offset, d->carry_len);
    d->consumed += offset;
    return (ssize_t)offset;
}

static int bad_multibyte(const struct csv_decoder *d, size_t offset,
                         bool cut, struct werr *err)
{
    const char *name = encoding_names[d->encoding];
    uint64_t at = d->consumed + offset;

    if (cut)
        return werr_set(err, -EILSEQ,
                        "input is not valid %s: byte sequence cut off at "
                        "the end of input, byte offset %llu", name,
                        (unsigned long long)at);
    return werr_set(err, -EILSEQ,
                    "input is not valid %s: invalid byte 0x%02x at byte "
                    "offset %llu; check the encoding of the export", name,
                    (uint8_t)d->carry[offset], (unsigned long long)at);
}

/* Convert what is in carry; keep a cut-off or unconverted tail there. */
static ssize_t convert_carry(struct csv_decoder *d, char *dst, size_t cap,
                             struct werr *err)
{
    char *in = d->carry, *out = dst;
    size_t in_left = d->carry_len, out_left = cap, done;

    /* GB 18030 would decode a UTF-8 byte order mark into two Chinese
     * characters and garble the rest without an error. */
    if (d->consumed == 0 && d->carry_len >= 3 &&
        memcmp(d->carry, "\xef\xbb\xbf", 3) == 0)
        return werr_set(err, -EILSEQ,
                        "input starts with a UTF-8 byte order mark, so it "
                        "is UTF-8, not %s: register it without --encoding",
                        encoding_names[d->encoding]);
    if (iconv(d->cd, &in, &in_left, &out, &out_left) == (size_t)-1) {
        if (errno == EILSEQ || (errno == EINVAL && d->eof))
            return bad_multibyte(d, (size_t)(in - d->carry), errno == EINVAL,
                                 err);
        if (errno != EINVAL && errno != E2BIG)
            return werr_errno(err, neg_errno(), "failed to convert input");
    }
    done = (size_t)(in - d->carry);
    memmove(d->carry, in, in_left);
    d->carry_len = in_left;
    d->consumed += done;
    return (ssize_t)(out - dst);
}

static ssize_t read_converted(struct csv_decoder *d, char *dst, size_t cap,
                              struct werr *err)
{
    for (;;) {
        ssize_t n = 0, out;

        if (!d->eof) {
            n = read_retry(d->fd, d->carry + d->carry_len,
                           sizeof(d->carry) - d->carry_len);
            if (n < 0)
                return werr_errno(err, (int)n, "failed to read CSV input");
            d->eof = n == 0;
            d->carry_len += (size_t)n;
        }
        out = convert_carry(d, dst, cap, err);
        if (out != 0 || d->eof)
            return out;
    }
}

ssize_t csv_decoder_read(struct csv_decoder *d, char *dst, size_t cap,
                         struct werr *err)
{
    if (d->encoding == CSV_ENCODING_UTF8) {
        for (;;) {
            ssize_t n = read_utf8(d, dst, cap, err);

            /* A read may end inside a sequence; read on until a whole
             * character arrived or the input ended. */
            if (n != 0 || d->eof)
                return n;
        }
    }
    if (d->eof && d->carry_len == 0)
        return 0;
    return read_converted(d, dst, cap, err);
}
