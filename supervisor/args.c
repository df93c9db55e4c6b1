/* Typed access to request arguments.  Every value a client sends is
 * checked here, at the boundary, with an error naming the argument. */
#include "supervisor/daemon.h"

#include <ctype.h>
#include <string.h>

/* Offset of the first character that could rewrite a reader's terminal
 * or reorder text on screen: C0 controls other than tab and newline, DEL,
 * and the Unicode bidirectional overrides and isolates.  -1 when none. */
static long find_control(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    for (long i = 0; p[i]; i++) {
        if ((p[i] < 0x20 && p[i] != '\t' && p[i] != '\n') || p[i] == 0x7f)
            return i;
        if (p[i] == 0xe2 && p[i + 1] == 0x80 && p[i + 2] >= 0xaa &&
            p[i + 2] <= 0xae)
            return i;
        if (p[i] == 0xe2 && p[i + 1] == 0x81 && p[i + 2] >= 0xa6 &&
            p[i + 2] <= 0xa9)
            return i;
    }
    return -1;
}

int arg_string(json_t *args, const char *key, bool required, size_t max,
               const char **ret, struct werr *err)
{
    long bad;

    json_t *value = args ? json_object_get(args, key) : NULL;
    const char *s;

    if (!value || json_is_null(value)) {
        if (required)
            return werr_set(err, -EINVAL, "missing argument '%s'", key);
        *ret = NULL;
        return 0;
    }
    if (!json_is_string(value))
        return werr_set(err, -EINVAL, "argument '%s' must be a string", key);
    s = json_string_value(value);
    if (strlen(s) != json_string_length(value))
        return werr_set(err, -EINVAL, "argument '%s' contains a NUL byte",
                        key);
    if (strlen(s) > max)
        return werr_set(err, -EINVAL,
                        "argument '%s' is %zu bytes long: the maximum is %zu",
                        key, strlen(s), max);
    if (required && s[0] == '\0')
        return werr_set(err, -EINVAL, "argument '%s' must not be empty", key);
    bad = find_control(s);
    if (bad >= 0)
        return werr_set(err, -EINVAL,
                        "argument '%s' contains a control or text-direction "
                        "character at byte %ld: remove it",
                        key, bad);
    *ret = s;
    return 0;
}

int arg_int(json_t *args, const char *key, bool required, json_int_t min,
            json_int_t max, json_int_t *ret, struct werr *err)
{
    json_t *value = args ? json_object_get(args, key) : NULL;
    json_int_t v;

    if (!value || json_is_null(value)) {
        if (required)
            return werr_set(err, -EINVAL, "missing argument '%s'", key);
        return 0;
    }
    if (!json_is_integer(value))
        return werr_set(err, -EINVAL, "argument '%s' must be an integer",
                        key);
    v = json_integer_value(value);
    if (v < min || v > max)
        return werr_set(err, -EINVAL,
                        "argument '%s' = %lld is out of range: use %lld to "
                        "%lld",
                        key, (long long)v, (long long)min, (long long)max);
    *ret = v;
    return 0;
}

int arg_bool(json_t *args, const char *key, bool *ret, struct werr *err)
{
    json_t *value = args ? json_object_get(args, key) : NULL;

    if (!value || json_is_null(value))
        return 0;
    if (!json_is_boolean(value))
        return werr_set(err, -EINVAL, "argument '%s' must be true or false",
                        key);
    *ret = json_is_true(value);
    return 0;
}

int check_name(const char *what, const char *name, struct werr *err)
{
    size_t len = strlen(name);

    if (len == 0 || len > 32 || !islower((unsigned char)name[0]))
        goto invalid;
    for (size_t i = 0; i < len; i++)
        if (!islower((unsigned char)name[i]) &&
            !isdigit((unsigned char)name[i]) && name[i] != '-')
            goto invalid;
    return 0;
invalid:
    return werr_set(err, -EINVAL,
                    "invalid %s name '%.64s': use 1 to 32 characters of "
                    "a-z, 0-9 and '-', starting with a letter",
                    what, name);
}
