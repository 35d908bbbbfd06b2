/*
 * fuzz_frame.c -- libFuzzer harness for the frame reader.
 *
 * The input is the byte stream a peer sent, followed by EOF.  The
 * oracle is a ten-line reference parser: every frame tk_frame_read()
 * returns must be the next one the reference finds, byte for byte, and
 * the first error must be the one the reference predicts (a bad length,
 * or EOF inside a frame).  Each body is also given to the decoder.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "frame.h"
#include "msg.h"
#include "wipe.h"

/* a pipe large enough to hold any input at once */
#define PIPE_BYTES	(1024 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* What the reference expects at `off': 0 and *len, or the error. */
static int
reference(const uint8_t *data, size_t size, size_t off, size_t *len)
{
	uint32_t n;

	*len = 0;
	if (size - off < TK_FRAME_HDR_BYTES)
		return (TK_ERR_CLOSED);
	n = (uint32_t)data[off] << 24 | (uint32_t)data[off + 1] << 16 |
	    (uint32_t)data[off + 2] << 8 | data[off + 3];
	if (n == 0)
		return (TK_ERR_PROTO);
	if (n > TK_FRAME_MAX)
		return (TK_ERR_TOOBIG);
	if (size - off - TK_FRAME_HDR_BYTES < n)
		return (TK_ERR_CLOSED);
	*len = n;
	return (0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *body = NULL;
	tk_msg_t *m = NULL;
	size_t off = 0, len, want;
	int p[2], r, exp;

	if (size > PIPE_BYTES / 2)
		return (0);
	if (pipe(p) != 0)
		abort();
	if (fcntl(p[1], F_SETPIPE_SZ, PIPE_BYTES) < 0 ||
	    (size > 0 && write(p[1], data, size) != (ssize_t)size))
		abort();
	close(p[1]);
	for (;;) {
		exp = reference(data, size, off, &want);
		r = tk_frame_read(p[0], &body, &len, 1000);
		if (r != exp)
			abort();
		if (r != 0) {
			if (body != NULL || len != 0)
				abort();
			break;
		}
		if (len != want || memcmp(body, data + off +
		    TK_FRAME_HDR_BYTES, len) != 0)
			abort();
		if (tk_msg_decode(body, len, TK_DIR_REQUEST, &m) == 0)
			tk_msg_free(&m);
		if (tk_msg_decode(body, len, TK_DIR_ANSWER, &m) == 0)
			tk_msg_free(&m);
		tk_freezero(body, len);
		body = NULL;
		off += TK_FRAME_HDR_BYTES + len;
	}
	close(p[0]);
	return (0);
}
