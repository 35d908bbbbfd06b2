/*
 * qr.h -- QR codes of otpauth:// URIs (libqrencode): drawn on a UTF-8
 * terminal with half blocks, or written as PNG (libpng).  A QR code of
 * such a URI holds the TOTP secret: it is wiped when freed, and PNG
 * files are created new with mode 0600.
 */
#ifndef TK_QR_H
#define TK_QR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define TK_QR_QUIET		4	/* quiet zone, modules (ISO 18004) */
#define TK_QR_PNG_SCALE		8	/* PNG pixels per module */

typedef struct tk_qr tk_qr_t;

/*
 * Encodes text (byte mode, error correction level M).  Returns 0 and a
 * new code in *qp, TK_ERR_INVAL (empty text), TK_ERR_TOOBIG (more than
 * a QR code holds) or TK_ERR_NOMEM.  Free with tk_qr_free().
 */
int tk_qr_new(const char *text, tk_qr_t **qp);
/* Wipes and frees *qp (NULL-safe); sets *qp to NULL. */
void tk_qr_free(tk_qr_t **qp);

/* Modules per side, without the quiet zone. */
size_t tk_qr_width(const tk_qr_t *);
/* true for a dark module; false outside the symbol (the quiet zone) */
bool tk_qr_dark(const tk_qr_t *, long x, long y);

/*
 * Draws the code with its quiet zone, two module rows per text line.
 * Light modules are drawn as blocks ("\u2580\u2584\u2588") and dark
 * ones as blanks, which reads correctly on a dark terminal background.
 * Each line has width + 2 * TK_QR_QUIET characters; there are
 * (width + 2 * TK_QR_QUIET + 1) / 2 lines.
 */
void tk_qr_print(const tk_qr_t *, FILE *fp);

/*
 * Writes the code as an 8-bit greyscale PNG, TK_QR_PNG_SCALE pixels per
 * module, dark on white, with the quiet zone, to a new file at path
 * (never an existing file or a link).  Returns 0, TK_ERR_EXISTS or
 * TK_ERR_IO; a partly written file is removed.
 */
int tk_qr_write_png(const tk_qr_t *, const char *path);

#endif /* TK_QR_H */
