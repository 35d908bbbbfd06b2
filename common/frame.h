/*
 * frame.h -- framing: a 4-byte big-endian length (1..TK_FRAME_MAX)
 * followed by the body.  Blocking helpers with a deadline for clients,
 * and a header check for tokend's non-blocking reader.
 */
#ifndef TK_FRAME_H
#define TK_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"

/*
 * Checks a frame header and stores the body length in *len.  Returns 0,
 * or TK_ERR_PROTO for a zero length and TK_ERR_TOOBIG for a length over
 * TK_FRAME_MAX.
 */
int tk_frame_header_parse(const unsigned char hdr[TK_FRAME_HDR_BYTES],
    size_t *len);
/* Writes the header of a `len'-byte body; TK_ERR_PROTO/TOOBIG as above. */
int tk_frame_header_make(size_t len, unsigned char hdr[TK_FRAME_HDR_BYTES]);

/*
 * Writes one frame to a blocking or non-blocking fd, waiting at most
 * `timeout_ms' in all.  Returns 0, TK_ERR_TIMEOUT, TK_ERR_CLOSED,
 * TK_ERR_IO, or the header errors above.
 */
int tk_frame_write(int fd, const unsigned char *body, size_t len,
    int timeout_ms);
/*
 * Reads one frame, waiting at most `timeout_ms' in all.  On success
 * *body is a malloc'd buffer of *len bytes; the caller wipes and frees
 * it with tk_freezero().  A short read, a zero length or an oversized
 * length is an error, and nothing is allocated before the length is
 * checked.  Returns 0, TK_ERR_TIMEOUT, TK_ERR_CLOSED (EOF, also in the
 * middle of a frame), TK_ERR_IO, TK_ERR_PROTO, TK_ERR_TOOBIG or
 * TK_ERR_NOMEM.
 */
int tk_frame_read(int fd, unsigned char **body, size_t *len, int timeout_ms);

#endif /* TK_FRAME_H */
