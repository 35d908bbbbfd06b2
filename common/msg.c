/*
 * msg.c -- protocol messages: typed fields indexed by key, an encoder
 * that checks the schema, and a strict decoder.
 *
 * Invariants:
 * 1. A decoded message MUST match its schema exactly: every key allowed
 *    for its type and direction, every value of the schema's type and
 *    within its limit, every required field present.
 * 2. The decoder MUST NOT allocate from a declared size before that
 *    size is checked against the bytes left and the schema's limit.
 * 3. Every text and byte field MUST be wiped when it is replaced or
 *    freed (it may hold a code or an otpauth URI).
 *
 * Why no cbor_load(): libcbor's tree loader allocates from the declared
 * size of an array or map before it has seen the items, so ten hostile
 * bytes claiming 2^32 items cost a huge allocation and a long loop.  The
 * decoder instead reads one item head at a time with cbor_stream_decode(),
 * which allocates nothing, in two passes: scan_map() checks the shape of
 * the whole input (counts against bytes left, depth, item kinds, unique
 * keys) without allocating and finds the version and type; parse_map()
 * then fills a message under the type's schema.
 *
 * The encoder writes keys in ascending order with the shortest heads
 * (libcbor's cbor_encode_*), so a message has one encoding.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <cbor.h>

#include "err.h"
#include "msg.h"
#include "msg_schema.h"
#include "wipe.h"

/* keys are tracked in a 128-bit set (two words) while scanning */
#define TK_KEY_SET_WORDS	2
_Static_assert(TK_KEY_END <= 64 * TK_KEY_SET_WORDS,
    "tk_key must fit the key bit set");

/* one field; vtype TK_V_NONE when absent */
struct tk_val {
	uint8_t		 vtype;	/* enum tk_vtype */
	union {
		uint64_t	 u;	/* uint; bool as 0 or 1 */
		struct {
			unsigned char	*ptr; /* len + 1 bytes, NUL-ended */
			size_t		 len;
		} s;		/* text, bytes */
		struct {
			tk_msg_t	**v;
			size_t		 n;
			size_t		 cap;
		} l;		/* list */
	} u;
};

struct tk_msg {
	enum tk_dir		 dir;
	uint32_t		 type;	/* 0 for a record inside a list */
	const struct tk_schema	*schema;
	struct tk_val		 v[TK_KEY_END];
};

/* fields every message has; msg_schema.c lists only the others */
static const struct tk_field f_version = {
	TK_KEY_VERSION, TK_V_UINT, TK_F_REQUIRED, 0, NULL
};
static const struct tk_field f_type = {
	TK_KEY_TYPE, TK_V_UINT, TK_F_REQUIRED, 0, NULL
};
static const struct tk_field f_status = {
	TK_KEY_STATUS, TK_V_UINT, TK_F_REQUIRED, 0, NULL
};
static const struct tk_field f_reason = {
	TK_KEY_REASON, TK_V_TEXT, 0, TK_REASON_MAX, NULL
};

static bool
msg_is_record(const tk_msg_t *m)
{
	return (m->type == 0);
}

/* Returns the description of `key' in m, or NULL when m may not hold it. */
static const struct tk_field *
msg_field(const tk_msg_t *m, unsigned key)
{
	if (!msg_is_record(m)) {
		if (key == TK_KEY_VERSION)
			return (&f_version);
		if (key == TK_KEY_TYPE)
			return (&f_type);
		if (m->dir == TK_DIR_ANSWER && key == TK_KEY_STATUS)
			return (&f_status);
		if (m->dir == TK_DIR_ANSWER && key == TK_KEY_REASON)
			return (&f_reason);
	}
	return (tk_schema_field(m->schema, key));
}

/*
 * True when s[0..len) is well-formed UTF-8 without NUL or control bytes
 * (below 0x20, and 0x7f).
 */
static bool
text_valid(const unsigned char *s, size_t len)
{
	size_t i, k, n;
	uint32_t cp;

	for (i = 0; i < len; i += n + 1) {
		if (s[i] < 0x20 || s[i] == 0x7f)
			return (false);
		if (s[i] < 0x80) {
			n = 0;
			continue;
		}
		if (s[i] >= 0xc2 && s[i] <= 0xdf) {
			n = 1;
			cp = s[i] & 0x1f;
		} else if (s[i] >= 0xe0 && s[i] <= 0xef) {
			n = 2;
			cp = s[i] & 0x0f;
		} else if (s[i] >= 0xf0 && s[i] <= 0xf4) {
			n = 3;
			cp = s[i] & 0x07;
		} else
			return (false);
		if (len - i - 1 < n)
			return (false);
		for (k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return (false);
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		/* overlong forms, surrogates, beyond U+10FFFF */
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return (false);
	}
	return (true);
}

static void
val_clear(struct tk_val *v)
{
	size_t i;

	switch (v->vtype) {
	case TK_V_TEXT:
	case TK_V_BYTES:
		tk_freezero(v->u.s.ptr, v->u.s.len + 1);
		break;
	case TK_V_LIST:
		for (i = 0; i < v->u.l.n; i++)
			tk_msg_free(&v->u.l.v[i]);
		free(v->u.l.v);
		break;
	}
	memset(v, 0, sizeof(*v));
}

static tk_msg_t *
msg_alloc(enum tk_dir dir, uint32_t type, const struct tk_schema *s)
{
	tk_msg_t *m;

	if ((m = calloc(1, sizeof(*m))) == NULL)
		return (NULL);
	m->dir = dir;
	m->type = type;
	m->schema = s;
	return (m);
}

tk_msg_t *
tk_msg_new(enum tk_dir dir, uint32_t type)
{
	const struct tk_schema *s;

	if (dir != TK_DIR_REQUEST && dir != TK_DIR_ANSWER)
		return (NULL);
	if ((s = tk_schema_lookup(dir, type)) == NULL)
		return (NULL);
	return (msg_alloc(dir, type, s));
}

tk_msg_t *
tk_msg_new_answer(uint32_t type, enum tk_status st)
{
	tk_msg_t *m;

	if ((m = tk_msg_new(TK_DIR_ANSWER, type)) == NULL)
		return (NULL);
	if (tk_msg_set_uint(m, TK_KEY_STATUS, st) != 0)
		tk_msg_free(&m);
	return (m);
}

void
tk_msg_free(tk_msg_t **mp)
{
	tk_msg_t *m;
	size_t i;

	if (mp == NULL || (m = *mp) == NULL)
		return;
	for (i = 0; i < TK_KEY_END; i++)
		val_clear(&m->v[i]);
	free(m);
	*mp = NULL;
}

uint32_t
tk_msg_type(const tk_msg_t *m)
{
	return (m != NULL ? m->type : 0);
}

enum tk_dir
tk_msg_dir(const tk_msg_t *m)
{
	return (m != NULL ? m->dir : TK_DIR_REQUEST);
}

/*
 * Checks that `key' may be set on m to a value of type `vtype'.  Version
 * and type are not fields a caller sets: the encoder writes them.
 */
static const struct tk_field *
msg_settable(const tk_msg_t *m, enum tk_key key, uint8_t vtype)
{
	const struct tk_field *f;

	if (m == NULL || (unsigned)key >= TK_KEY_END ||
	    key == TK_KEY_VERSION || key == TK_KEY_TYPE)
		return (NULL);
	if ((f = msg_field(m, key)) == NULL || f->vtype != vtype)
		return (NULL);
	return (f);
}

int
tk_msg_set_uint(tk_msg_t *m, enum tk_key key, uint64_t u)
{
	if (msg_settable(m, key, TK_V_UINT) == NULL)
		return (TK_ERR_INVAL);
	if (key == TK_KEY_STATUS && u >= TK_ST_END)
		return (TK_ERR_INVAL);
	val_clear(&m->v[key]);
	m->v[key].vtype = TK_V_UINT;
	m->v[key].u.u = u;
	return (0);
}

int
tk_msg_set_bool(tk_msg_t *m, enum tk_key key, bool b)
{
	if (msg_settable(m, key, TK_V_BOOL) == NULL)
		return (TK_ERR_INVAL);
	val_clear(&m->v[key]);
	m->v[key].vtype = TK_V_BOOL;
	m->v[key].u.u = b ? 1 : 0;
	return (0);
}

/* Stores a copy of p[0..len) plus a NUL; p was checked by the caller. */
static int
msg_store(tk_msg_t *m, enum tk_key key, uint8_t vtype, const void *p,
    size_t len)
{
	unsigned char *copy;

	if (len == SIZE_MAX || (copy = malloc(len + 1)) == NULL)
		return (TK_ERR_NOMEM);
	if (len > 0)
		memcpy(copy, p, len);
	copy[len] = '\0';
	val_clear(&m->v[key]);
	m->v[key].vtype = vtype;
	m->v[key].u.s.ptr = copy;
	m->v[key].u.s.len = len;
	return (0);
}

int
tk_msg_set_text(tk_msg_t *m, enum tk_key key, const char *s)
{
	const struct tk_field *f;
	size_t len;

	if ((f = msg_settable(m, key, TK_V_TEXT)) == NULL || s == NULL)
		return (TK_ERR_INVAL);
	/* strnlen: never scan further than one byte past the limit */
	if ((len = strnlen(s, (size_t)f->max + 1)) > f->max)
		return (TK_ERR_INVAL);
	if (!text_valid((const unsigned char *)s, len))
		return (TK_ERR_INVAL);
	return (msg_store(m, key, TK_V_TEXT, s, len));
}

int
tk_msg_set_bytes(tk_msg_t *m, enum tk_key key, const void *p, size_t len)
{
	const struct tk_field *f;

	if ((f = msg_settable(m, key, TK_V_BYTES)) == NULL ||
	    (p == NULL && len != 0) || len > f->max)
		return (TK_ERR_INVAL);
	return (msg_store(m, key, TK_V_BYTES, p, len));
}

tk_msg_t *
tk_msg_add_record(tk_msg_t *m, enum tk_key key)
{
	const struct tk_field *f;
	struct tk_val *v;
	tk_msg_t **nv, *rec;
	size_t ncap;

	if ((f = msg_settable(m, key, TK_V_LIST)) == NULL || f->rec == NULL)
		return (NULL);
	v = &m->v[key];
	if (v->vtype != TK_V_LIST) {
		val_clear(v);
		v->vtype = TK_V_LIST;
	}
	if (v->u.l.n >= f->max)
		return (NULL);
	if (v->u.l.n == v->u.l.cap) {
		ncap = v->u.l.cap == 0 ? 8 : v->u.l.cap * 2;
		if (ncap > f->max)
			ncap = f->max;
		if ((nv = realloc(v->u.l.v, ncap * sizeof(*nv))) == NULL)
			return (NULL);
		v->u.l.v = nv;
		v->u.l.cap = ncap;
	}
	if ((rec = msg_alloc(m->dir, 0, f->rec)) == NULL)
		return (NULL);
	v->u.l.v[v->u.l.n++] = rec;
	return (rec);
}

bool
tk_msg_has(const tk_msg_t *m, enum tk_key key)
{
	if (m == NULL || (unsigned)key >= TK_KEY_END)
		return (false);
	if (key == TK_KEY_VERSION || key == TK_KEY_TYPE)
		return (!msg_is_record(m));
	return (m->v[key].vtype != TK_V_NONE);
}

int
tk_msg_get_uint(const tk_msg_t *m, enum tk_key key, uint64_t *u)
{
	if (u != NULL)
		*u = 0;
	if (m == NULL || u == NULL || (unsigned)key >= TK_KEY_END)
		return (TK_ERR_ABSENT);
	if (!msg_is_record(m) && key == TK_KEY_VERSION) {
		*u = TK_PROTO_VERSION;
		return (0);
	}
	if (!msg_is_record(m) && key == TK_KEY_TYPE) {
		*u = m->type;
		return (0);
	}
	if (m->v[key].vtype != TK_V_UINT)
		return (TK_ERR_ABSENT);
	*u = m->v[key].u.u;
	return (0);
}

int
tk_msg_get_bool(const tk_msg_t *m, enum tk_key key, bool *b)
{
	if (b != NULL)
		*b = false;
	if (m == NULL || b == NULL || (unsigned)key >= TK_KEY_END ||
	    m->v[key].vtype != TK_V_BOOL)
		return (TK_ERR_ABSENT);
	*b = m->v[key].u.u != 0;
	return (0);
}

const char *
tk_msg_get_text(const tk_msg_t *m, enum tk_key key)
{
	if (m == NULL || (unsigned)key >= TK_KEY_END ||
	    m->v[key].vtype != TK_V_TEXT)
		return (NULL);
	return ((const char *)m->v[key].u.s.ptr);
}

int
tk_msg_get_bytes(const tk_msg_t *m, enum tk_key key,
    const unsigned char **p, size_t *len)
{
	if (p != NULL)
		*p = NULL;
	if (len != NULL)
		*len = 0;
	if (m == NULL || p == NULL || len == NULL ||
	    (unsigned)key >= TK_KEY_END || m->v[key].vtype != TK_V_BYTES)
		return (TK_ERR_ABSENT);
	*p = m->v[key].u.s.ptr;
	*len = m->v[key].u.s.len;
	return (0);
}

size_t
tk_msg_count(const tk_msg_t *m, enum tk_key key)
{
	if (m == NULL || (unsigned)key >= TK_KEY_END ||
	    m->v[key].vtype != TK_V_LIST)
		return (0);
	return (m->v[key].u.l.n);
}

const tk_msg_t *
tk_msg_record(const tk_msg_t *m, enum tk_key key, size_t i)
{
	if (i >= tk_msg_count(m, key))
		return (NULL);
	return (m->v[key].u.l.v[i]);
}

enum tk_status
tk_msg_status(const tk_msg_t *m)
{
	if (m == NULL || msg_is_record(m) || m->dir != TK_DIR_ANSWER ||
	    m->v[TK_KEY_STATUS].vtype != TK_V_UINT ||
	    m->v[TK_KEY_STATUS].u.u >= TK_ST_END)
		return (TK_ST_INTERNAL);
	return ((enum tk_status)m->v[TK_KEY_STATUS].u.u);
}

/* true when m's required fields are required: in answers, status ok */
static bool
msg_needs(const tk_msg_t *m)
{
	if (msg_is_record(m) || m->dir != TK_DIR_ANSWER)
		return (true);
	return (m->v[TK_KEY_STATUS].vtype == TK_V_UINT &&
	    m->v[TK_KEY_STATUS].u.u == TK_ST_OK);
}

/*
 * The keys of m that are required lists with no record added, as a key
 * set: the encoder writes them as empty arrays, since a caller has no
 * other way to say "no records" (a list springs into being with its
 * first record).  One walk of the schema's few fields, rather than a
 * schema search for each of the TK_KEY_END keys.
 */
static void
msg_empty_lists(const tk_msg_t *m, uint64_t set[TK_KEY_SET_WORDS])
{
	const struct tk_field *f;
	size_t i;

	memset(set, 0, TK_KEY_SET_WORDS * sizeof(set[0]));
	if (!msg_needs(m))
		return;
	for (i = 0; i < m->schema->nfields; i++) {
		f = &m->schema->fields[i];
		if (f->vtype == TK_V_LIST && (f->flags & TK_F_REQUIRED) &&
		    f->key < TK_KEY_END && m->v[f->key].vtype == TK_V_NONE)
			set[f->key / 64] |= UINT64_C(1) << (f->key % 64);
	}
}

static bool
key_in(const uint64_t set[TK_KEY_SET_WORDS], size_t k)
{
	return ((set[k / 64] >> (k % 64)) & 1);
}

/*
 * Checks m (and its records) against the schema: every present field
 * allowed, of its type and within its limit; every required field
 * present (in an answer, only when the status is ok).  When encoding, a
 * required list may be absent (it is written empty).  Returns 0 or
 * TK_ERR_PROTO.
 */
static int
msg_check(const tk_msg_t *m, bool encoding)
{
	const struct tk_field *f;
	const struct tk_val *v;
	bool need;
	size_t i, k;

	for (k = 0; k < TK_KEY_END; k++) {
		v = &m->v[k];
		if (v->vtype == TK_V_NONE)
			continue;
		if ((f = msg_field(m, (unsigned)k)) == NULL ||
		    f->vtype != v->vtype)
			return (TK_ERR_PROTO);
		switch (v->vtype) {
		case TK_V_TEXT:
		case TK_V_BYTES:
			if (v->u.s.len > f->max)
				return (TK_ERR_PROTO);
			break;
		case TK_V_LIST:
			if (v->u.l.n > f->max)
				return (TK_ERR_PROTO);
			for (i = 0; i < v->u.l.n; i++)
				if (msg_check(v->u.l.v[i], encoding) != 0)
					return (TK_ERR_PROTO);
			break;
		}
	}
	if (!msg_is_record(m) && m->dir == TK_DIR_ANSWER &&
	    (m->v[TK_KEY_STATUS].vtype != TK_V_UINT ||
	    m->v[TK_KEY_STATUS].u.u >= TK_ST_END))
		return (TK_ERR_PROTO);
	need = msg_needs(m);
	for (i = 0; need && i < m->schema->nfields; i++) {
		f = &m->schema->fields[i];
		if (!(f->flags & TK_F_REQUIRED) ||
		    m->v[f->key].vtype != TK_V_NONE)
			continue;
		if (encoding && f->vtype == TK_V_LIST)
			continue;
		return (TK_ERR_PROTO);
	}
	return (0);
}

/*
 * Encoder.  An output buffer with p == NULL only counts, so encoding is
 * one pass to size the message and one to write it.
 */
struct obuf {
	unsigned char	*p;
	size_t		 len;
	size_t		 cap;
};

enum head { H_UINT, H_BYTES, H_TEXT, H_ARRAY, H_MAP };

/* bytes of a CBOR head carrying `v' in its shortest form */
static size_t
head_len(uint64_t v)
{
	if (v < 24)
		return (1);
	if (v <= UINT8_MAX)
		return (2);
	if (v <= UINT16_MAX)
		return (3);
	if (v <= UINT32_MAX)
		return (5);
	return (9);
}

static int
ob_head(struct obuf *b, enum head h, uint64_t v)
{
	unsigned char *o;
	size_t n, avail, w = 0;

	n = head_len(v);
	avail = b->cap - b->len;
	if (avail < n)
		return (TK_ERR_TOOBIG);
	if (b->p == NULL) {
		b->len += n;
		return (0);
	}
	o = b->p + b->len;
	switch (h) {
	case H_UINT:
		w = cbor_encode_uint(v, o, avail);
		break;
	case H_BYTES:
		w = cbor_encode_bytestring_start((size_t)v, o, avail);
		break;
	case H_TEXT:
		w = cbor_encode_string_start((size_t)v, o, avail);
		break;
	case H_ARRAY:
		w = cbor_encode_array_start((size_t)v, o, avail);
		break;
	case H_MAP:
		w = cbor_encode_map_start((size_t)v, o, avail);
		break;
	}
	/* libcbor writes the shortest head too; anything else is a bug */
	if (w != n)
		return (TK_ERR_PROTO);
	b->len += n;
	return (0);
}

static int
ob_data(struct obuf *b, const void *p, size_t n)
{
	if (b->cap - b->len < n)
		return (TK_ERR_TOOBIG);
	if (b->p != NULL && n > 0)
		memcpy(b->p + b->len, p, n);
	b->len += n;
	return (0);
}

static int
ob_bool(struct obuf *b, bool v)
{
	if (b->cap - b->len < 1)
		return (TK_ERR_TOOBIG);
	if (b->p != NULL && cbor_encode_bool(v, b->p + b->len, 1) != 1)
		return (TK_ERR_PROTO);
	b->len++;
	return (0);
}

static int
encode_map(struct obuf *b, const tk_msg_t *m)
{
	const struct tk_val *v;
	uint64_t empty[TK_KEY_SET_WORDS];
	size_t i, k, n;
	int r;

	msg_empty_lists(m, empty);
	n = msg_is_record(m) ? 0 : 2;
	for (k = 0; k < TK_KEY_END; k++)
		if (m->v[k].vtype != TK_V_NONE || key_in(empty, k))
			n++;
	if ((r = ob_head(b, H_MAP, n)) != 0)
		return (r);
	if (!msg_is_record(m)) {
		if ((r = ob_head(b, H_UINT, TK_KEY_VERSION)) != 0 ||
		    (r = ob_head(b, H_UINT, TK_PROTO_VERSION)) != 0 ||
		    (r = ob_head(b, H_UINT, TK_KEY_TYPE)) != 0 ||
		    (r = ob_head(b, H_UINT, m->type)) != 0)
			return (r);
	}
	for (k = 0; k < TK_KEY_END; k++) {
		v = &m->v[k];
		if (key_in(empty, k)) {
			if ((r = ob_head(b, H_UINT, k)) != 0 ||
			    (r = ob_head(b, H_ARRAY, 0)) != 0)
				return (r);
			continue;
		}
		if (v->vtype == TK_V_NONE)
			continue;
		if ((r = ob_head(b, H_UINT, k)) != 0)
			return (r);
		switch (v->vtype) {
		case TK_V_UINT:
			r = ob_head(b, H_UINT, v->u.u);
			break;
		case TK_V_BOOL:
			r = ob_bool(b, v->u.u != 0);
			break;
		case TK_V_TEXT:
		case TK_V_BYTES:
			if ((r = ob_head(b, v->vtype == TK_V_TEXT ? H_TEXT :
			    H_BYTES, v->u.s.len)) == 0)
				r = ob_data(b, v->u.s.ptr, v->u.s.len);
			break;
		case TK_V_LIST:
			r = ob_head(b, H_ARRAY, v->u.l.n);
			for (i = 0; r == 0 && i < v->u.l.n; i++)
				r = encode_map(b, v->u.l.v[i]);
			break;
		default:
			r = TK_ERR_PROTO;
			break;
		}
		if (r != 0)
			return (r);
	}
	return (0);
}

int
tk_msg_encode(const tk_msg_t *m, unsigned char **out, size_t *outlen)
{
	struct obuf b = { NULL, 0, TK_FRAME_MAX };
	int r;

	if (out != NULL)
		*out = NULL;
	if (outlen != NULL)
		*outlen = 0;
	if (m == NULL || out == NULL || outlen == NULL || msg_is_record(m)) {
		r = TK_ERR_INVAL;
		goto fail;
	}
	if ((r = msg_check(m, true)) != 0)
		goto fail;
	/* first pass: size */
	if ((r = encode_map(&b, m)) != 0)
		goto fail;
	b.cap = b.len;
	b.len = 0;
	if ((b.p = malloc(b.cap)) == NULL) {
		r = TK_ERR_NOMEM;
		goto fail;
	}
	if ((r = encode_map(&b, m)) != 0)
		goto fail;
	if (b.len != b.cap) {
		r = TK_ERR_PROTO;
		goto fail;
	}
	*out = b.p;
	*outlen = b.len;
	b.p = NULL;

	r = 0; /* success */
fail:
	tk_freezero(b.p, b.cap);
	return (r);
}

/*
 * Decoder.  tok_next() reads one item head (and a string's bytes) with
 * cbor_stream_decode(); its callbacks only record what they saw.  Every
 * kind the protocol does not use (negative integers, floats, tags,
 * null, undefined, simple values, indefinite lengths) is T_BAD.
 */
enum tok_kind {
	T_NONE = 0, T_UINT, T_BOOL, T_TEXT, T_BYTES, T_ARRAY, T_MAP, T_BAD
};

struct tok {
	enum tok_kind		 kind;
	uint64_t		 u;	/* uint, bool 0/1, or count */
	const unsigned char	*ptr;	/* text, bytes: in the input */
	size_t			 len;
};

struct cur {
	const unsigned char	*p;
	size_t			 left;
};

static void
tok_put(void *ctx, enum tok_kind kind, uint64_t u)
{
	struct tok *t = ctx;

	/* one item per call; a second callback would be a libcbor bug */
	t->kind = t->kind == T_NONE ? kind : T_BAD;
	t->u = u;
}

static void
cb_u8(void *ctx, uint8_t v)
{
	tok_put(ctx, T_UINT, v);
}

static void
cb_u16(void *ctx, uint16_t v)
{
	tok_put(ctx, T_UINT, v);
}

static void
cb_u32(void *ctx, uint32_t v)
{
	tok_put(ctx, T_UINT, v);
}

static void
cb_u64(void *ctx, uint64_t v)
{
	tok_put(ctx, T_UINT, v);
}

static void
cb_bad8(void *ctx, uint8_t v)
{
	tok_put(ctx, T_BAD, 0);
}

static void
cb_bad16(void *ctx, uint16_t v)
{
	tok_put(ctx, T_BAD, 0);
}

static void
cb_bad32(void *ctx, uint32_t v)
{
	tok_put(ctx, T_BAD, 0);
}

static void
cb_bad64(void *ctx, uint64_t v)
{
	tok_put(ctx, T_BAD, 0);
}

static void
cb_bad(void *ctx)
{
	tok_put(ctx, T_BAD, 0);
}

static void
cb_badf(void *ctx, float f)
{
	tok_put(ctx, T_BAD, 0);
}

static void
cb_badd(void *ctx, double d)
{
	tok_put(ctx, T_BAD, 0);
}

static void
cb_bool(void *ctx, bool b)
{
	tok_put(ctx, T_BOOL, b ? 1 : 0);
}

static void
cb_text(void *ctx, cbor_data p, size_t n)
{
	struct tok *t = ctx;

	tok_put(ctx, T_TEXT, 0);
	t->ptr = p;
	t->len = n;
}

static void
cb_bytes(void *ctx, cbor_data p, size_t n)
{
	struct tok *t = ctx;

	tok_put(ctx, T_BYTES, 0);
	t->ptr = p;
	t->len = n;
}

static void
cb_array(void *ctx, size_t n)
{
	tok_put(ctx, T_ARRAY, n);
}

static void
cb_map(void *ctx, size_t n)
{
	tok_put(ctx, T_MAP, n);
}

/* libcbor's member names for the string callbacks are swapped in 0.8 */
static const struct cbor_callbacks tok_callbacks = {
	.uint8 = cb_u8,
	.uint16 = cb_u16,
	.uint32 = cb_u32,
	.uint64 = cb_u64,
	.negint8 = cb_bad8,
	.negint16 = cb_bad16,
	.negint32 = cb_bad32,
	.negint64 = cb_bad64,
	.byte_string = cb_bytes,	/* definite */
	.byte_string_start = cb_bad,	/* indefinite */
	.string = cb_text,		/* definite */
	.string_start = cb_bad,		/* indefinite */
	.array_start = cb_array,	/* definite */
	.indef_array_start = cb_bad,
	.map_start = cb_map,		/* definite */
	.indef_map_start = cb_bad,
	.tag = cb_bad64,
	.float2 = cb_badf,
	.float4 = cb_badf,
	.float8 = cb_badd,
	.undefined = cb_bad,
	.null = cb_bad,
	.boolean = cb_bool,
	.indef_break = cb_bad,
};

static int
tok_next(struct cur *c, struct tok *t)
{
	struct cbor_decoder_result res;
	size_t off;

	memset(t, 0, sizeof(*t));
	if (c->left == 0)
		return (TK_ERR_PROTO);
	res = cbor_stream_decode(c->p, c->left, &tok_callbacks, t);
	if (res.status != CBOR_DECODER_FINISHED || t->kind == T_NONE ||
	    t->kind == T_BAD || res.read == 0 || res.read > c->left)
		return (TK_ERR_PROTO);
	if (t->kind == T_TEXT || t->kind == T_BYTES) {
		/*
		 * Recheck that the string lies inside what is left: a
		 * 64-bit declared length must not wrap a bounds check.
		 */
		if (t->ptr < c->p)
			return (TK_ERR_PROTO);
		off = (size_t)(t->ptr - c->p);
		if (off > c->left || t->len > c->left - off ||
		    res.read != off + t->len)
			return (TK_ERR_PROTO);
	}
	c->p += res.read;
	c->left -= res.read;
	return (0);
}

struct scan {
	bool		 have_version;
	bool		 have_type;
	uint64_t	 version;
	uint64_t	 type;
};

/*
 * First pass over one map, allocating nothing: definite lengths only,
 * counts no larger than the bytes left could hold, unsigned keys with
 * no duplicates, values uint, bool, text, bytes, or (at the top level
 * only) an array of maps.  Keys beyond our key space are let through
 * here so that a message of a later version is reported as such; the
 * second pass refuses them.
 */
static int
scan_map(struct cur *c, bool top, struct scan *sc)
{
	struct tok t;
	uint64_t seen[TK_KEY_SET_WORDS] = { 0, 0 }, bit, n, i, j, key;
	int r;

	if ((r = tok_next(c, &t)) != 0)
		return (r);
	if (t.kind != T_MAP)
		return (TK_ERR_PROTO);
	n = t.u;
	/* each pair takes at least two bytes */
	if (n > c->left / 2)
		return (TK_ERR_PROTO);
	for (i = 0; i < n; i++) {
		if ((r = tok_next(c, &t)) != 0)
			return (r);
		if (t.kind != T_UINT)
			return (TK_ERR_PROTO);
		key = t.u;
		if (key < TK_KEY_END) {
			bit = UINT64_C(1) << (key % 64);
			if (seen[key / 64] & bit)
				return (TK_ERR_PROTO);
			seen[key / 64] |= bit;
		}
		if ((r = tok_next(c, &t)) != 0)
			return (r);
		switch (t.kind) {
		case T_UINT:
			if (top && key == TK_KEY_VERSION) {
				sc->have_version = true;
				sc->version = t.u;
			} else if (top && key == TK_KEY_TYPE) {
				sc->have_type = true;
				sc->type = t.u;
			}
			break;
		case T_BOOL:
		case T_TEXT:
		case T_BYTES:
			break;
		case T_ARRAY:
			/* map -> array -> map is the deepest nesting */
			if (!top)
				return (TK_ERR_PROTO);
			/* each record takes at least one byte */
			if (t.u > TK_LIST_MAX || t.u > c->left)
				return (TK_ERR_PROTO);
			for (j = t.u; j > 0; j--)
				if ((r = scan_map(c, false, NULL)) != 0)
					return (r);
			break;
		default:
			return (TK_ERR_PROTO);
		}
	}
	return (0);
}

static int parse_map(struct cur *, tk_msg_t *);

/* Second pass: stores one value `t' of field `key' in m. */
static int
parse_value(struct cur *c, tk_msg_t *m, uint64_t key, const struct tok *t)
{
	const struct tk_field *f;
	tk_msg_t *rec;
	uint64_t i;
	int r;

	if (key >= TK_KEY_END || (f = msg_field(m, (unsigned)key)) == NULL)
		return (TK_ERR_PROTO);
	if (key == TK_KEY_VERSION || key == TK_KEY_TYPE)
		return (t->kind == T_UINT ? 0 : TK_ERR_PROTO);
	switch (f->vtype) {
	case TK_V_UINT:
		if (t->kind != T_UINT)
			return (TK_ERR_PROTO);
		if (key == TK_KEY_STATUS && t->u >= TK_ST_END)
			return (TK_ERR_PROTO);
		m->v[key].vtype = TK_V_UINT;
		m->v[key].u.u = t->u;
		return (0);
	case TK_V_BOOL:
		if (t->kind != T_BOOL)
			return (TK_ERR_PROTO);
		m->v[key].vtype = TK_V_BOOL;
		m->v[key].u.u = t->u;
		return (0);
	case TK_V_TEXT:
		if (t->kind != T_TEXT || t->len > f->max ||
		    !text_valid(t->ptr, t->len))
			return (TK_ERR_PROTO);
		return (msg_store(m, (enum tk_key)key, TK_V_TEXT, t->ptr,
		    t->len));
	case TK_V_BYTES:
		if (t->kind != T_BYTES || t->len > f->max)
			return (TK_ERR_PROTO);
		return (msg_store(m, (enum tk_key)key, TK_V_BYTES, t->ptr,
		    t->len));
	case TK_V_LIST:
		/* the scan already bounded the count by the bytes left */
		if (t->kind != T_ARRAY || t->u > f->max)
			return (TK_ERR_PROTO);
		m->v[key].vtype = TK_V_LIST;
		for (i = 0; i < t->u; i++) {
			if ((rec = tk_msg_add_record(m, (enum tk_key)key)) ==
			    NULL)
				return (TK_ERR_NOMEM);
			if ((r = parse_map(c, rec)) != 0)
				return (r);
		}
		return (0);
	}
	return (TK_ERR_PROTO);
}

static int
parse_map(struct cur *c, tk_msg_t *m)
{
	struct tok t;
	uint64_t i, n, key;
	int r;

	if ((r = tok_next(c, &t)) != 0)
		return (r);
	if (t.kind != T_MAP)
		return (TK_ERR_PROTO);
	n = t.u;
	for (i = 0; i < n; i++) {
		if ((r = tok_next(c, &t)) != 0)
			return (r);
		if (t.kind != T_UINT)
			return (TK_ERR_PROTO);
		key = t.u;
		if ((r = tok_next(c, &t)) != 0)
			return (r);
		if ((r = parse_value(c, m, key, &t)) != 0)
			return (r);
	}
	return (0);
}

int
tk_msg_decode(const unsigned char *buf, size_t len, enum tk_dir dir,
    tk_msg_t **out)
{
	struct scan sc;
	struct cur c;
	tk_msg_t *m = NULL;
	int r;

	if (out != NULL)
		*out = NULL;
	if (out == NULL || (buf == NULL && len != 0) ||
	    (dir != TK_DIR_REQUEST && dir != TK_DIR_ANSWER)) {
		r = TK_ERR_INVAL;
		goto fail;
	}
	if (len > TK_FRAME_MAX) {
		r = TK_ERR_TOOBIG;
		goto fail;
	}
	memset(&sc, 0, sizeof(sc));
	c.p = buf;
	c.left = len;
	if ((r = scan_map(&c, true, &sc)) != 0)
		goto fail;
	if (c.left != 0) {
		r = TK_ERR_PROTO;	/* trailing bytes */
		goto fail;
	}
	if (!sc.have_version || !sc.have_type) {
		r = TK_ERR_PROTO;
		goto fail;
	}
	if (sc.version != TK_PROTO_VERSION) {
		r = TK_ERR_VERSION;
		goto fail;
	}
	if (sc.type > UINT32_MAX ||
	    (m = tk_msg_new(dir, (uint32_t)sc.type)) == NULL) {
		r = TK_ERR_PROTO;	/* unknown type */
		goto fail;
	}
	c.p = buf;
	c.left = len;
	if ((r = parse_map(&c, m)) != 0 || (r = msg_check(m, false)) != 0)
		goto fail;
	*out = m;
	m = NULL;

	r = 0; /* success */
fail:
	tk_msg_free(&m);
	return (r);
}

int
tk_msg_peek_type(const unsigned char *buf, size_t len, uint32_t *type)
{
	struct tok t;
	struct cur c;
	uint64_t i, n, key;

	*type = 0;
	if (buf == NULL || len > TK_FRAME_MAX)
		return (TK_ERR_PROTO);
	c.p = buf;
	c.left = len;
	if (tok_next(&c, &t) != 0 || t.kind != T_MAP)
		return (TK_ERR_PROTO);
	n = t.u;
	for (i = 0; i < n; i++) {
		if (tok_next(&c, &t) != 0 || t.kind != T_UINT)
			break;
		key = t.u;
		if (tok_next(&c, &t) != 0 ||
		    (t.kind != T_UINT && t.kind != T_BOOL))
			break;
		if (key == TK_KEY_TYPE && t.kind == T_UINT &&
		    tk_schema_lookup(TK_DIR_REQUEST, t.u > UINT32_MAX ? 0 :
		    (uint32_t)t.u) != NULL) {
			*type = (uint32_t)t.u;
			return (0);
		}
	}
	return (TK_ERR_PROTO);
}

const char *
tk_msg_type_name(uint32_t type)
{
	const struct tk_schema *s;

	if ((s = tk_schema_lookup(TK_DIR_REQUEST, type)) == NULL)
		return ("UNKNOWN");
	return (s->name);
}

const char *
tk_status_name(enum tk_status st)
{
	switch (st) {
	case TK_ST_OK:			return ("ok");
	case TK_ST_WRONG:		return ("wrong");
	case TK_ST_REPLAY:		return ("replay");
	case TK_ST_LOCKED:		return ("locked");
	case TK_ST_NOT_ENROLLED:	return ("not_enrolled");
	case TK_ST_THROTTLED:		return ("throttled");
	case TK_ST_DENIED:		return ("denied");
	case TK_ST_BAD_REQUEST:		return ("bad_request");
	case TK_ST_NOT_FOUND:		return ("not_found");
	case TK_ST_EXISTS:		return ("exists");
	case TK_ST_INTERNAL:		return ("internal");
	case TK_ST_VERSION:		return ("version");
	case TK_ST_EXPIRED:		return ("expired");
	case TK_ST_GRANTED:		return ("granted");
	case TK_ST_SUSPENDED:		return ("suspended");
	case TK_ST_NOT_ALLOWED:		return ("not_allowed");
	case TK_ST_END:			break;
	}
	return ("unknown");
}
