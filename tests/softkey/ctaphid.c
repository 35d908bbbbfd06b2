/*
 * ctaphid.c -- the soft key's USB HID transport (CTAPHID, CTAP 2.1
 * section 11.2) behind libfido2's custom I/O: 64-byte frames in and out,
 * channels, INIT, PING, WINK, CBOR, CANCEL, KEEPALIVE, ERROR; and the
 * table of keys that fido_dev_open() paths name.
 *
 * libfido2 writes a request whole (each write() is the report ID 0 and
 * one 64-byte frame), then reads the answer frame by frame with a time
 * limit.  A request is answered when its last frame arrives; the answer
 * becomes readable after the wait the command asked for (delay_ms, or a
 * touch that never comes), and until then read() gives a KEEPALIVE frame
 * every SK_KEEPALIVE_MS.
 *
 * Invariants:
 * 1. read() never waits longer than the `ms' it is given (nor at all
 *    when nothing is due): a caller with a bounded timeout returns in
 *    bounded time whatever the key is configured to do.
 * 2. read() returns exactly 64 bytes or -1; write() takes 65 or fails.
 * 3. A removed key fails every open, read and write.
 * 4. One answer at a time per handle: a new request or CANCEL replaces an
 *    answer not yet read.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "sk_int.h"

#define FRAME_LEN		64
#define INIT_DATA		(FRAME_LEN - 7)
#define CONT_DATA		(FRAME_LEN - 5)
#define CID_BROADCAST		0xffffffffU

#define HID_PING		0x01
#define HID_MSG			0x03
#define HID_INIT		0x06
#define HID_WINK		0x08
#define HID_CBOR		0x10
#define HID_CANCEL		0x11
#define HID_KEEPALIVE		0x3b
#define HID_ERROR		0x3f

#define CAP_WINK		0x01
#define CAP_CBOR		0x04
#define CAP_NMSG		0x08

struct sk_hid {
	sk_key_t	*key;
	bool		 owns_key;	/* loaded by open(), freed by close() */
	uint32_t	 next_cid;
	uint32_t	 tr_cid;	/* transport mode: the channel in use */

	/* the request being reassembled */
	bool		 rq_busy;
	uint32_t	 rq_cid;
	uint8_t		 rq_cmd;
	size_t		 rq_len;
	size_t		 rq_got;
	uint8_t		 rq_seq;
	unsigned char	 rq[SK_HID_MAXPAYLOAD];

	/* the answer, sent frame by frame once it is due */
	bool		 rs_pending;
	uint32_t	 rs_cid;
	uint8_t		 rs_cmd;
	unsigned char	*rs;
	size_t		 rs_len;
	size_t		 rs_off;
	uint8_t		 rs_seq;
	bool		 rs_started;
	int64_t		 rs_due_ms;
	int64_t		 ka_next_ms;
	uint8_t		 ka_status;
};

/* keys attached with sk_key_attach(), found by their device path */
static sk_key_t	**registry;
static size_t	  registry_len;

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);

	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

static void
sleep_ms(int64_t ms)
{
	struct timespec ts;

	if (ms <= 0)
		return;
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000;
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		continue;
}

static uint32_t
get_be32(const unsigned char *p)
{
	return ((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3]);
}

static void
put_be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

/* --- the table of attached keys --- */

static int
registry_add(sk_key_t *k)
{
	sk_key_t **v;

	if (k->registered)
		return (0);
	if ((v = reallocarray(registry, registry_len + 1, sizeof(*v))) == NULL)
		return (-1);
	registry = v;
	registry[registry_len++] = k;
	k->registered = true;

	return (0);
}

void
sk_registry_remove(sk_key_t *k)
{
	if (!k->registered)
		return;
	for (size_t i = 0; i < registry_len; i++)
		if (registry[i] == k) {
			registry[i] = registry[--registry_len];
			break;
		}
	k->registered = false;
	if (registry_len == 0) {
		free(registry);
		registry = NULL;
	}
}

static sk_key_t *
registry_find(const char *path)
{
	for (size_t i = registry_len; i > 0; i--)
		if (!strcmp(registry[i - 1]->devpath, path))
			return (registry[i - 1]);

	return (NULL);
}

/* --- answers --- */

static void
drop_reply(struct sk_hid *h)
{
	free(h->rs);
	h->rs = NULL;
	h->rs_pending = false;
}

static void
set_reply(struct sk_hid *h, uint32_t cid, uint8_t cmd,
    const unsigned char *hdr, size_t hdr_len, const unsigned char *body,
    size_t body_len, unsigned wait_ms, uint8_t ka_status)
{
	int64_t now = now_ms();

	drop_reply(h);
	if ((h->rs = malloc(hdr_len + body_len + 1)) == NULL)
		return;
	if (hdr_len > 0)
		memcpy(h->rs, hdr, hdr_len);
	if (body_len > 0)
		memcpy(h->rs + hdr_len, body, body_len);
	h->rs_len = hdr_len + body_len;
	h->rs_cid = cid;
	h->rs_cmd = cmd;
	h->rs_off = 0;
	h->rs_seq = 0;
	h->rs_started = false;
	h->rs_due_ms = now + wait_ms;
	h->ka_next_ms = now;
	h->ka_status = ka_status;
	h->rs_pending = true;
}

static void
set_error(struct sk_hid *h, uint32_t cid, uint8_t err)
{
	set_reply(h, cid, HID_ERROR, &err, 1, NULL, 0, 0, 0);
}

static void
handle_init(struct sk_hid *h, uint32_t cid, const unsigned char *nonce,
    size_t len)
{
	unsigned char r[17];

	if (len != 8) {
		set_error(h, cid, SK_ERR_INVALID_LENGTH);
		return;
	}
	if (h->rq_busy && h->rq_cid == cid)
		h->rq_busy = false;
	memcpy(r, nonce, 8);
	if (cid == CID_BROADCAST) {
		if (h->next_cid == 0 || h->next_cid == CID_BROADCAST)
			h->next_cid = 1;
		put_be32(r + 8, h->next_cid++);
	} else
		put_be32(r + 8, cid);
	r[12] = 2;	/* CTAPHID protocol version */
	r[13] = 1;	/* device version 1.0.0 */
	r[14] = 0;
	r[15] = 0;
	r[16] = CAP_WINK | CAP_CBOR | CAP_NMSG;
	set_reply(h, cid, HID_INIT, r, sizeof(r), NULL, 0, 0, 0);
}

/* a whole request has arrived */
static void
dispatch(struct sk_hid *h)
{
	struct sk_reply	rp;
	uint32_t	cid = h->rq_cid;

	h->rq_busy = false;
	switch (h->rq_cmd) {
	case HID_PING:
		set_reply(h, cid, HID_PING, h->rq, h->rq_len, NULL, 0, 0, 0);
		break;
	case HID_WINK:
		set_reply(h, cid, HID_WINK, NULL, 0, NULL, 0, 0, 0);
		break;
	case HID_CBOR:
		sk_ctap2_dispatch(h->key, h->rq, h->rq_len, &rp);
		set_reply(h, cid, HID_CBOR, &rp.status, 1, rp.body,
		    rp.body_len, rp.wait_ms, rp.ka_status);
		free(rp.body);
		break;
	case HID_MSG:	/* no CTAP1/U2F */
	default:
		set_error(h, cid, SK_ERR_INVALID_COMMAND);
		break;
	}
}

/* one 64-byte frame from the platform */
static void
take_frame(struct sk_hid *h, const unsigned char *f)
{
	uint32_t	cid = get_be32(f);
	uint8_t		b = f[4];
	size_t		n;

	if (b & 0x80) {
		uint8_t	cmd = b & 0x7f;
		size_t	len = (size_t)f[5] << 8 | f[6];

		if (cmd == HID_INIT) {
			handle_init(h, cid, f + 7, len);
			return;
		}
		if (cid == CID_BROADCAST || cid == 0) {
			set_error(h, cid, SK_ERR_INVALID_CHANNEL);
			return;
		}
		if (cmd == HID_CANCEL) {
			/* an answer still waiting ends as cancelled */
			if (h->rs_pending && h->rs_cid == cid &&
			    !h->rs_started && now_ms() < h->rs_due_ms) {
				unsigned char st = SK_ERR_KEEPALIVE_CANCEL;

				set_reply(h, cid, HID_CBOR, &st, 1, NULL, 0, 0,
				    0);
			}
			return;
		}
		if (len > sizeof(h->rq)) {
			set_error(h, cid, SK_ERR_INVALID_LENGTH);
			return;
		}
		drop_reply(h);
		h->rq_busy = true;
		h->rq_cid = cid;
		h->rq_cmd = cmd;
		h->rq_len = len;
		h->rq_seq = 0;
		n = len < INIT_DATA ? len : INIT_DATA;
		memcpy(h->rq, f + 7, n);
		h->rq_got = n;
	} else {
		if (!h->rq_busy || cid != h->rq_cid)
			return;	/* spurious continuation: ignored */
		if (b != h->rq_seq) {
			h->rq_busy = false;
			set_error(h, cid, SK_ERR_INVALID_SEQ);
			return;
		}
		h->rq_seq++;
		n = h->rq_len - h->rq_got;
		if (n > CONT_DATA)
			n = CONT_DATA;
		memcpy(h->rq + h->rq_got, f + 5, n);
		h->rq_got += n;
	}
	if (h->rq_got == h->rq_len)
		dispatch(h);
}

/* the next frame of a due answer */
static void
next_reply_frame(struct sk_hid *h, unsigned char *f)
{
	size_t n;

	memset(f, 0, FRAME_LEN);
	put_be32(f, h->rs_cid);
	if (!h->rs_started) {
		f[4] = 0x80 | h->rs_cmd;
		f[5] = (unsigned char)(h->rs_len >> 8);
		f[6] = (unsigned char)h->rs_len;
		n = h->rs_len < INIT_DATA ? h->rs_len : INIT_DATA;
		memcpy(f + 7, h->rs, n);
		h->rs_started = true;
	} else {
		f[4] = h->rs_seq++;
		n = h->rs_len - h->rs_off;
		if (n > CONT_DATA)
			n = CONT_DATA;
		memcpy(f + 5, h->rs + h->rs_off, n);
	}
	h->rs_off += n;
	if (h->rs_off >= h->rs_len)
		drop_reply(h);
}

/*
 * One frame for the platform within `ms' (negative: no limit): the next
 * frame of a due answer, or a keepalive while it is not due.  -1 when
 * nothing is due in time (invariant 1).
 */
static int
give_frame(struct sk_hid *h, unsigned char *f, int ms)
{
	int64_t now = now_ms(), deadline = now + (ms < 0 ? 0 : ms), next;

	if (!h->rs_pending)
		return (-1);
	for (;;) {
		if (now >= h->rs_due_ms) {
			next_reply_frame(h, f);
			return (0);
		}
		if (now >= h->ka_next_ms) {
			memset(f, 0, FRAME_LEN);
			put_be32(f, h->rs_cid);
			f[4] = 0x80 | HID_KEEPALIVE;
			f[6] = 1;
			f[7] = h->ka_status;
			h->ka_next_ms = now + SK_KEEPALIVE_MS;
			return (0);
		}
		next = h->rs_due_ms < h->ka_next_ms ? h->rs_due_ms :
		    h->ka_next_ms;
		if (ms >= 0 && next > deadline) {
			sleep_ms(deadline - now);
			return (-1);
		}
		sleep_ms(next - now);
		now = now_ms();
	}
}

/* --- io functions --- */

static void *
hid_open(const char *path)
{
	struct sk_hid	*h;
	sk_key_t	*k;
	bool		 owns = false;

	if (path == NULL)
		return (NULL);
	if ((k = registry_find(path)) == NULL) {
		if (strncmp(path, SK_PATH_PREFIX, strlen(SK_PATH_PREFIX)) ||
		    sk_key_load(path + strlen(SK_PATH_PREFIX), false, &k) < 0)
			return (NULL);
		owns = true;
	}
	if (k->cfg.removed || (h = calloc(1, sizeof(*h))) == NULL) {
		if (owns)
			sk_key_close(&k);
		return (NULL);
	}
	h->key = k;
	h->owns_key = owns;
	h->next_cid = 0x00534b01;	/* "SK" 1 */
	h->tr_cid = CID_BROADCAST;

	return (h);
}

static void
hid_close(void *handle)
{
	struct sk_hid *h = handle;

	if (h == NULL)
		return;
	drop_reply(h);
	if (h->owns_key)
		sk_key_close(&h->key);
	OPENSSL_cleanse(h->rq, sizeof(h->rq));
	free(h);
}

static int
hid_read(void *handle, unsigned char *buf, size_t len, int ms)
{
	struct sk_hid	*h = handle;
	unsigned char	 f[FRAME_LEN];

	if (h == NULL || h->key->cfg.removed || len < FRAME_LEN)
		return (-1);
	if (give_frame(h, f, ms) < 0)
		return (-1);
	memcpy(buf, f, FRAME_LEN);

	return (FRAME_LEN);
}

static int
hid_write(void *handle, const unsigned char *buf, size_t len)
{
	struct sk_hid *h = handle;

	if (h == NULL || h->key->cfg.removed || len != FRAME_LEN + 1)
		return (-1);
	take_frame(h, buf + 1);	/* after the report ID */

	return ((int)len);
}

const fido_dev_io_t sk_hid_io = {
	hid_open,
	hid_close,
	hid_read,
	hid_write,
};

/* --- transport functions: whole messages over the same frames --- */

static int
tr_tx(fido_dev_t *dev, uint8_t cmd, const unsigned char *buf, size_t len)
{
	struct sk_hid	*h = fido_dev_io_handle(dev);
	unsigned char	 f[FRAME_LEN];
	uint32_t	 cid;
	size_t		 off = 0, n;
	uint8_t		 seq = 0;

	if (h == NULL || h->key->cfg.removed || len > SK_HID_MAXPAYLOAD)
		return (-1);
	cid = cmd == HID_INIT ? CID_BROADCAST : h->tr_cid;
	memset(f, 0, sizeof(f));
	put_be32(f, cid);
	f[4] = 0x80 | cmd;
	f[5] = (unsigned char)(len >> 8);
	f[6] = (unsigned char)len;
	n = len < INIT_DATA ? len : INIT_DATA;
	if (n > 0)
		memcpy(f + 7, buf, n);
	take_frame(h, f);
	for (off = n; off < len; off += n) {
		memset(f, 0, sizeof(f));
		put_be32(f, cid);
		f[4] = seq++;
		n = len - off < CONT_DATA ? len - off : CONT_DATA;
		memcpy(f + 5, buf + off, n);
		take_frame(h, f);
	}

	return (0);
}

static int
tr_rx(fido_dev_t *dev, uint8_t cmd, unsigned char *buf, size_t count, int ms)
{
	struct sk_hid	*h = fido_dev_io_handle(dev);
	unsigned char	 f[FRAME_LEN];
	int64_t		 deadline = now_ms() + ms;
	size_t		 len, got, n;
	int		 left;

	if (h == NULL || h->key->cfg.removed)
		return (-1);
	do {
		left = ms < 0 ? -1 : (int)(deadline - now_ms());
		if ((ms >= 0 && left < 0) || give_frame(h, f, left) < 0)
			return (-1);
	} while (f[4] == (0x80 | HID_KEEPALIVE));
	if (f[4] != (0x80 | cmd))
		return (-1);
	len = (size_t)f[5] << 8 | f[6];
	if (len > count)
		return (-1);
	got = len < INIT_DATA ? len : INIT_DATA;
	memcpy(buf, f + 7, got);
	while (got < len) {
		if (give_frame(h, f, 0) < 0)
			return (-1);
		n = len - got < CONT_DATA ? len - got : CONT_DATA;
		memcpy(buf + got, f + 5, n);
		got += n;
	}
	if (cmd == HID_INIT && len >= 12)
		h->tr_cid = get_be32(buf + 8);

	return ((int)len);
}

const fido_dev_transport_t sk_hid_transport = {
	tr_rx,
	tr_tx,
};

/* --- attaching --- */

int
sk_key_attach(sk_key_t *k, fido_dev_t *dev)
{
	if (k == NULL || dev == NULL || registry_add(k) < 0)
		return (-1);

	return (fido_dev_set_io_functions(dev, &sk_hid_io) == FIDO_OK ? 0 :
	    -1);
}

int
sk_dev_attach(fido_dev_t *dev)
{
	if (dev == NULL)
		return (-1);

	return (fido_dev_set_io_functions(dev, &sk_hid_io) == FIDO_OK ? 0 :
	    -1);
}
