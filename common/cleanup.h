/* Scope-bound cleanup for descriptors, heap memory and stdio streams.
 *
 * A variable declared with one of these attributes is released when it
 * leaves scope on every path.  Handing ownership on is explicit:
 * TAKE_FD() and TAKE_PTR() return the value and clear the variable so the
 * cleanup does nothing. */
#ifndef WARDEN_COMMON_CLEANUP_H
#define WARDEN_COMMON_CLEANUP_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline void cleanup_freep(void *p)
{
    free(*(void **)p);
}

static inline void cleanup_closep(int *fd)
{
    if (*fd >= 0)
        close(*fd);
}

static inline void cleanup_fclosep(FILE **f)
{
    if (*f)
        fclose(*f);
}

#define _cleanup_free_ __attribute__((cleanup(cleanup_freep)))
#define _cleanup_close_ __attribute__((cleanup(cleanup_closep)))
#define _cleanup_fclose_ __attribute__((cleanup(cleanup_fclosep)))

#define TAKE_FD(fd)                                                            \
    ({                                                                         \
        int taken_fd_ = (fd);                                                  \
        (fd) = -1;                                                             \
        taken_fd_;                                                             \
    })

#define TAKE_PTR(ptr)                                                          \
    ({                                                                         \
        __typeof__(ptr) taken_ptr_ = (ptr);                                    \
        (ptr) = NULL;                                                          \
        taken_ptr_;                                                            \
    })

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
