/* Session recordings in asciicast v2, the format of asciinema 2.
 *
 * A recording is a header line, a JSON object
 *     {"version":2,"width":W,"height":H,"timestamp":T,
 *      "env":{"TERM":..,"SHELL":..},"title":..}
 * followed by one JSON array per event: [seconds, "o", data] for output,
 * [seconds, "i", data] for input and [seconds, "r", "COLSxROWS"] for a
 * resize, where seconds counts from asciicast_open() on CLOCK_MONOTONIC
 * with microsecond precision.
 *
 * Terminal data is arbitrary bytes while JSON strings are Unicode.  Valid
 * UTF-8 is written as is, control characters as JSON escapes, and every
 * byte that is not part of a valid UTF-8 sequence becomes U+FFFD, so the
 * file is always valid JSON and plays in standard players.  A sequence
 * split between two writes of the same stream is joined first.  The file
 * is created with mode 0600 and hashed with SHA-256 while it is written,
 * so the digest that asciicast_close() returns can go into the audit
 * chain without reading the file again. */
#ifndef WARDEN_AUDIT_ASCIICAST_H
#define WARDEN_AUDIT_ASCIICAST_H

#include <stddef.h>

#include "audit/audit.h"

struct asciicast;

/* Create name below dirfd (O_EXCL, no symbolic links, mode 0600) and write
 * the header.  title, term and shell may be NULL to leave them out. */
int asciicast_open(int dirfd, const char *name, unsigned width,
                   unsigned height, const char *title, const char *term,
                   const char *shell, struct asciicast **ret_cast,
                   struct werr *err);

/* Record bytes read from the terminal ("o") or typed by the user ("i"). */
int asciicast_write_output(struct asciicast *cast, const void *data,
                           size_t len, struct werr *err);
int asciicast_write_input(struct asciicast *cast, const void *data,
                          size_t len, struct werr *err);
int asciicast_write_resize(struct asciicast *cast, unsigned cols,
                           unsigned rows, struct werr *err);

/* Flush bytes held back for an unfinished UTF-8 sequence, fsync and close
 * the file, and store its SHA-256 as 64 hex digits in ret_sha256.  The
 * object is freed even on failure. */
int asciicast_close(struct asciicast *cast, char ret_sha256[AUDIT_HEX_SIZE],
                    struct werr *err);

/* Close and free without a digest, for an aborted session. */
void asciicast_free(struct asciicast *cast);

/* Play the recording read from fd: write the data of each output event
 * to out_fd at its time divided by speed (0 writes without delay), with
 * pauses longer than idle_limit seconds cut to idle_limit (0 keeps them).
 * Input and resize events are skipped. */
int asciicast_play(int fd, int out_fd, double speed, double idle_limit,
                   struct werr *err);

#endif
