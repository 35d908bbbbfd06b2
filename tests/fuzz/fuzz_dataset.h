/*
 * fuzz_dataset.h -- the fixed dataset of fuzz_handlers, shared with
 * gen_corpus.c so that seeds can carry codes that are valid at the
 * fuzz clock.  Everything here is test data: fixed secrets, fixed
 * recovery codes, one fixed time.
 *
 * Input format of fuzz_handlers: up to FZ_MAX_REQUESTS records, each
 *	peer (1 byte) | clock (1 byte) | length (2 bytes, big-endian) |
 *	request body (length bytes, cut at the end of the input)
 * The peer byte picks one of fz_peers[] (modulo), the clock byte the
 * time FZ_NOW(clock) the request is answered at.
 */
#ifndef TK_FUZZ_DATASET_H
#define TK_FUZZ_DATASET_H

#define FZ_T0			1800000010LL	/* 2027, 10 s into a step */
#define FZ_PERIOD		30
#define FZ_MAX_REQUESTS		8
#define FZ_RECORD_HDR		4
/* clock byte c answers at T0 - 60 + (c % 16) * 15: T0 for c = 4 */
#define FZ_NOW(c)		(FZ_T0 - 60 + (long long)((c) % 16) * 15)
#define FZ_CLOCK_T0		4

/* peers: root, an administrator, three self users, a peer of no role */
enum fz_peer {
	FZ_PEER_ROOT,
	FZ_PEER_ADMIN,
	FZ_PEER_ALICE,
	FZ_PEER_BOB,
	FZ_PEER_CAROL,
	FZ_PEER_NONE,
	FZ_NPEERS
};

/* TOTP credentials made at start; ids are assigned in this order (1..) */
struct fz_totp_seed {
	const char	*user;
	const char	*secret;	/* raw bytes, NUL-terminated here */
	int		 alg;		/* 1 sha1, 2 sha256, 3 sha512 */
	unsigned	 digits;
	int		 pending;	/* 1: pending (confirmable) */
};

static const struct fz_totp_seed fz_totp_seeds[] = {
	{ "alice", "12345678901234567890", 1, 6, 0 },
	{ "bob", "12345678901234567890123456789012", 2, 8, 0 },
	{ "dave", "dave-pending-secret!", 1, 6, 1 },
	{ "erin", "erin-locked-secret!!", 3, 6, 0 },	/* erin is locked */
};
#define FZ_NTOTP	(sizeof(fz_totp_seeds) / sizeof(fz_totp_seeds[0]))

/* recovery codes made at start (normalized form) */
struct fz_recovery_seed {
	const char	*user;
	const char	*norm;
};

static const struct fz_recovery_seed fz_recovery_seeds[] = {
	{ "bob", "abcdefghjkmn" },
	{ "bob", "0123456789ab" },
	{ "bob", "pqrstvwxyz01" },
	{ "frank", "23456789abcd" },
};
#define FZ_NRECOVERY	(sizeof(fz_recovery_seeds) / sizeof(fz_recovery_seeds[0]))

/* grants made at start: carol until T0 + 3600, frank until T0 + 60 */
#define FZ_GRANT_CAROL_EXPIRES	(FZ_T0 + 3600)
#define FZ_GRANT_FRANK_EXPIRES	(FZ_T0 + 60)

#endif /* TK_FUZZ_DATASET_H */
