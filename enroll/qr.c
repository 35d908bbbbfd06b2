/*
 * qr.c -- drawing QR codes.  The symbol comes from libqrencode; this
 * file adds the quiet zone every reader needs and the two renderings.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <png.h>
#include <qrencode.h>

#include "err.h"
#include "qr.h"
#include "wipe.h"

#define BLOCK_FULL	"\xe2\x96\x88"	/* U+2588 */
#define BLOCK_UPPER	"\xe2\x96\x80"	/* U+2580 */
#define BLOCK_LOWER	"\xe2\x96\x84"	/* U+2584 */
#define GREY_DARK	0x00
#define GREY_LIGHT	0xff

struct tk_qr {
	QRcode	*code;
};

int
tk_qr_new(const char *text, tk_qr_t **qp)
{
	tk_qr_t *q = NULL;
	int r;

	*qp = NULL;
	if (text == NULL || *text == '\0') {
		r = TK_ERR_INVAL;
		goto fail;
	}
	if ((q = calloc(1, sizeof(*q))) == NULL) {
		r = TK_ERR_NOMEM;
		goto fail;
	}
	errno = 0;
	if ((q->code = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8,
	    1)) == NULL) {
		r = errno == ERANGE ? TK_ERR_TOOBIG :
		    errno == ENOMEM ? TK_ERR_NOMEM : TK_ERR_INVAL;
		goto fail;
	}
	if (q->code->width <= 0) {
		r = TK_ERR_INVAL;
		goto fail;
	}
	*qp = q;
	q = NULL;

	r = 0; /* success */
 fail:
	tk_qr_free(&q);
	return (r);
}

void
tk_qr_free(tk_qr_t **qp)
{
	tk_qr_t *q;

	if (qp == NULL || (q = *qp) == NULL)
		return;
	if (q->code != NULL) {
		if (q->code->data != NULL && q->code->width > 0)
			tk_memzero(q->code->data,
			    (size_t)q->code->width * (size_t)q->code->width);
		QRcode_free(q->code);
	}
	free(q);
	*qp = NULL;
}

size_t
tk_qr_width(const tk_qr_t *q)
{
	return ((size_t)q->code->width);
}

bool
tk_qr_dark(const tk_qr_t *q, long x, long y)
{
	long w = q->code->width;

	if (x < 0 || y < 0 || x >= w || y >= w)
		return (false);
	/* libqrencode: bit 0 of each byte is the module's colour */
	return ((q->code->data[y * w + x] & 1) != 0);
}

/* Is padded module (x, y) light?  Rows past the bottom are not drawn. */
static bool
lit(const tk_qr_t *q, long side, long x, long y)
{
	if (y >= side)
		return (false);
	return (!tk_qr_dark(q, x - TK_QR_QUIET, y - TK_QR_QUIET));
}

void
tk_qr_print(const tk_qr_t *q, FILE *fp)
{
	long side = q->code->width + 2 * TK_QR_QUIET;
	long x, y;
	bool top, bottom;

	for (y = 0; y < side; y += 2) {
		for (x = 0; x < side; x++) {
			top = lit(q, side, x, y);
			bottom = lit(q, side, x, y + 1);
			if (top && bottom)
				fputs(BLOCK_FULL, fp);
			else if (top)
				fputs(BLOCK_UPPER, fp);
			else if (bottom)
				fputs(BLOCK_LOWER, fp);
			else
				fputc(' ', fp);
		}
		fputc('\n', fp);
	}
}

/* The rows of the PNG; libpng longjmps out of here on error. */
static void
emit_rows(png_structp png, png_infop info, const tk_qr_t *q,
    unsigned char *row, size_t px)
{
	long side = q->code->width + 2 * TK_QR_QUIET;
	long mx, my;
	size_t i;

	png_set_IHDR(png, info, (png_uint_32)px, (png_uint_32)px, 8,
	    PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE,
	    PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	png_write_info(png, info);
	for (my = 0; my < side; my++) {
		for (mx = 0; mx < side; mx++)
			memset(row + (size_t)mx * TK_QR_PNG_SCALE,
			    tk_qr_dark(q, mx - TK_QR_QUIET, my - TK_QR_QUIET) ?
			    GREY_DARK : GREY_LIGHT, TK_QR_PNG_SCALE);
		for (i = 0; i < TK_QR_PNG_SCALE; i++)
			png_write_row(png, row);
	}
	png_write_end(png, info);
}

/* Writes the PNG to fp; 0 or -1.  Only this frame holds a setjmp. */
static int
emit_png(FILE *fp, const tk_qr_t *q, unsigned char *row, size_t px)
{
	png_structp png;
	png_infop info = NULL;

	if ((png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL,
	    NULL)) == NULL)
		return (-1);
	if ((info = png_create_info_struct(png)) == NULL) {
		png_destroy_write_struct(&png, NULL);
		return (-1);
	}
	if (setjmp(png_jmpbuf(png))) {
		png_destroy_write_struct(&png, &info);
		return (-1);
	}
	png_init_io(png, fp);
	emit_rows(png, info, q, row, px);
	png_destroy_write_struct(&png, &info);
	return (0);
}

int
tk_qr_write_png(const tk_qr_t *q, const char *path)
{
	FILE *fp = NULL;
	unsigned char *row = NULL;
	size_t px;
	bool created = false;
	int fd = -1, r;

	px = ((size_t)q->code->width + 2 * TK_QR_QUIET) * TK_QR_PNG_SCALE;
	if ((row = malloc(px)) == NULL) {
		r = TK_ERR_NOMEM;
		goto fail;
	}
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, S_IRUSR | S_IWUSR)) == -1) {
		r = errno == EEXIST ? TK_ERR_EXISTS : TK_ERR_IO;
		goto fail;
	}
	created = true;
	if ((fp = fdopen(fd, "wb")) == NULL) {
		r = TK_ERR_IO;
		goto fail;
	}
	fd = -1;
	if (emit_png(fp, q, row, px) != 0 || fflush(fp) != 0 ||
	    fsync(fileno(fp)) != 0) {
		r = TK_ERR_IO;
		goto fail;
	}
	r = fclose(fp) == 0 ? 0 : TK_ERR_IO;
	fp = NULL;
	if (r != 0)
		goto fail;

	r = 0; /* success */
 fail:
	if (fp != NULL)
		fclose(fp);
	if (fd != -1)
		close(fd);
	if (r != 0 && created)
		unlink(path);
	tk_freezero(row, px);
	return (r);
}
