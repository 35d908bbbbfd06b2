/*
 * store_audit.c -- the audit hash chain, the same for every backend.
 *
 * Row n holds MAC(n) = BLAKE2b-256 keyed with the audit key over
 *
 *	"tokend-audit-v1\0"			(16 bytes, domain tag)
 *	seq, time, cred, uid, pid		(8 bytes each, big-endian,
 *						 two's complement)
 *	host, event, user, service,
 *	rhost, tty, result, reason		(each: 4-byte big-endian
 *						 length, then the bytes)
 *	MAC(n - 1)				(32 bytes; zeros for n = 1)
 *
 * (MAC(n - 1) of the first row kept after a prune is the anchor's MAC.)
 *
 * Fixed-width integers and length-prefixed texts in a fixed order make
 * the encoding injective: two different rows never hash the same bytes.
 *
 * MUST invariants:
 *  1. Sequence numbers start at 1 and grow by exactly 1; the next one is
 *     read inside the caller's write transaction, so two writers cannot
 *     take the same number.
 *  2. A NULL text is stored and MACed as the empty text: what is stored
 *     is exactly what was MACed.
 *  3. Verification compares MACs with sodium_memcmp and reports the first
 *     row whose MAC, sequence number or text encoding does not match.
 *  4. After a prune (tk_store_audit_prune) the chain continues from the
 *     anchor, the seq and MAC of the last removed row: the first kept row
 *     must be anchor + 1 and chain to the anchor's MAC, and a new row
 *     appended to an empty table chains to the anchor (audit_last).  So
 *     only a prefix can go, and a change to the anchor breaks the first
 *     kept row.
 */
#include "config.h"

#include <string.h>

#include <sodium.h>

#include "err.h"
#include "log.h"
#include "store_ops.h"

static const char tk_audit_tag[16] = "tokend-audit-v1";	/* NUL included */

static void
put_u64(crypto_generichash_state *h, uint64_t v)
{
	unsigned char b[8];
	int i;

	for (i = 7; i >= 0; i--) {
		b[i] = (unsigned char)(v & 0xff);
		v >>= 8;
	}
	crypto_generichash_update(h, b, sizeof(b));
}

static void
put_text(crypto_generichash_state *h, const char *s)
{
	unsigned char b[4];
	size_t n;

	n = s != NULL ? strlen(s) : 0;
	/* texts are capped far below 2^32 by tk_store_audit_append() */
	b[0] = (unsigned char)(n >> 24);
	b[1] = (unsigned char)(n >> 16);
	b[2] = (unsigned char)(n >> 8);
	b[3] = (unsigned char)n;
	crypto_generichash_update(h, b, sizeof(b));
	if (n > 0)
		crypto_generichash_update(h, (const unsigned char *)s, n);
}

int
tk_store_audit_mac(const unsigned char *key, uint64_t seq,
    const struct tk_audit_event *ev, const unsigned char *prev,
    unsigned char out[TK_STORE_MAC_BYTES])
{
	crypto_generichash_state h;
	int r = TK_ERR_CRYPTO;

	if (crypto_generichash_init(&h, key, TK_AUDIT_KEY_BYTES,
	    TK_STORE_MAC_BYTES) != 0)
		goto fail;
	crypto_generichash_update(&h, (const unsigned char *)tk_audit_tag,
	    sizeof(tk_audit_tag));
	put_u64(&h, seq);
	put_u64(&h, (uint64_t)ev->time);
	put_u64(&h, ev->cred);
	put_u64(&h, (uint64_t)ev->uid);
	put_u64(&h, (uint64_t)ev->pid);
	put_text(&h, ev->host);
	put_text(&h, ev->event);
	put_text(&h, ev->user);
	put_text(&h, ev->service);
	put_text(&h, ev->rhost);
	put_text(&h, ev->tty);
	put_text(&h, ev->result);
	put_text(&h, ev->reason);
	crypto_generichash_update(&h, prev, TK_STORE_MAC_BYTES);
	if (crypto_generichash_final(&h, out, TK_STORE_MAC_BYTES) != 0)
		goto fail;

	r = 0; /* success */
 fail:
	sodium_memzero(&h, sizeof(h));
	return (r);
}

/* NULL or 0..max bytes; *out is the text, or "" for NULL */
static int
audit_text(const char *in, size_t max, bool required, const char **out)
{
	size_t n;

	*out = "";
	if (in == NULL)
		return (required ? TK_ERR_INVAL : 0);
	n = strnlen(in, max + 1);
	if (n > max || (n == 0 && required))
		return (TK_ERR_INVAL);
	*out = in;
	return (0);
}

int
tk_store_audit_append(tk_store_t *s, const struct tk_audit_event *in)
{
	struct tk_audit_event ev;
	unsigned char prev[TK_STORE_MAC_BYTES];
	unsigned char mac[TK_STORE_MAC_BYTES];
	uint64_t seq = 0;
	int r;

	if (s == NULL || in == NULL)
		return (TK_ERR_INVAL);
	ev = *in;
	if ((r = audit_text(in->host, TK_STORE_HOST_MAX, false,
	    &ev.host)) != 0 ||
	    (r = audit_text(in->event, TK_SHORT_TEXT_MAX, true,
	    &ev.event)) != 0 ||
	    (r = audit_text(in->user, TK_USER_MAX, false, &ev.user)) != 0 ||
	    (r = audit_text(in->service, TK_SERVICE_MAX, false,
	    &ev.service)) != 0 ||
	    (r = audit_text(in->rhost, TK_RHOST_MAX, false,
	    &ev.rhost)) != 0 ||
	    (r = audit_text(in->tty, TK_TTY_MAX, false, &ev.tty)) != 0 ||
	    (r = audit_text(in->result, TK_SHORT_TEXT_MAX, false,
	    &ev.result)) != 0 ||
	    (r = audit_text(in->reason, TK_REASON_MAX, false,
	    &ev.reason)) != 0) {
		tk_log(LOG_ERR, "store: audit event with an invalid field");
		return (r);
	}
	if (ev.cred > (uint64_t)INT64_MAX)
		return (TK_ERR_INVAL);
	if ((r = tk_store_need_transaction(s, "audit append")) != 0)
		return (r);
	if ((r = s->ops->audit_last(s, &seq, prev)) != 0)
		return (r);
	if (seq >= (uint64_t)INT64_MAX) {
		tk_log(LOG_ERR, "store: audit sequence exhausted");
		return (TK_ERR_FULL);
	}
	seq++;
	if ((r = tk_store_audit_mac(s->audit_key, seq, &ev, prev, mac)) != 0)
		return (r);
	return (s->ops->audit_insert(s, seq, &ev, mac));
}

struct verify_state {
	const unsigned char	*key;
	uint64_t		 next;		/* expected seq */
	unsigned char		 prev[TK_STORE_MAC_BYTES];
	uint64_t		 count;
	uint64_t		 bad_seq;
};

static int
verify_row(void *arg, uint64_t seq, const struct tk_audit_event *ev,
    const unsigned char *mac, size_t mac_len)
{
	struct verify_state *vs = arg;
	unsigned char want[TK_STORE_MAC_BYTES];
	int r;

	vs->count++;
	if ((r = tk_store_audit_mac(vs->key, seq, ev, vs->prev, want)) != 0)
		return (r);
	if (seq != vs->next || mac_len != TK_STORE_MAC_BYTES ||
	    sodium_memcmp(want, mac, TK_STORE_MAC_BYTES) != 0) {
		vs->bad_seq = seq;
		return (TK_ERR_CRYPTO);
	}
	memcpy(vs->prev, mac, TK_STORE_MAC_BYTES);
	vs->next = seq + 1;
	return (0);
}

int
tk_store_audit_verify(tk_store_t *s, uint64_t *count, uint64_t *bad_seq)
{
	struct verify_state vs;
	uint64_t anchor = 0;
	int r;

	if (count != NULL)
		*count = 0;
	if (bad_seq != NULL)
		*bad_seq = 0;
	if (s == NULL || count == NULL || bad_seq == NULL)
		return (TK_ERR_INVAL);
	memset(&vs, 0, sizeof(vs));
	vs.key = s->audit_key;
	/* invariant 4: a pruned chain starts after its anchor */
	if ((r = s->ops->audit_anchor(s, &anchor, vs.prev)) != 0)
		return (r);
	if (anchor >= (uint64_t)INT64_MAX)
		return (TK_ERR_STORE);
	vs.next = anchor + 1;
	r = s->ops->audit_walk(s, verify_row, &vs);
	*count = vs.count;
	*bad_seq = vs.bad_seq;
	if (r == TK_ERR_CRYPTO && vs.bad_seq != 0)
		tk_log(LOG_ERR, "store: audit chain broken at row %llu",
		    (unsigned long long)vs.bad_seq);
	return (r);
}
