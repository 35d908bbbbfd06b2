-- schema-pg.sql -- tokend's PostgreSQL schema, version 3, for a database
-- administrator who creates it by hand (tokend creates it itself at its
-- first start when its role may create tables).  It is the same text as
-- the first step in tokend/store_pg.c; tests/pg checks that both give the
-- same schema.  Run it once, as the owner, in tokend's database:
--
--     psql -v ON_ERROR_STOP=1 -1 -d tokend -f schema-pg.sql
--
-- then give tokend's role (here: tokend) what it uses, and no more:
--
--     GRANT SELECT ON tokend_schema TO tokend;
--     GRANT SELECT, INSERT, UPDATE, DELETE ON credentials, throttle,
--         recovery_codes, grants, challenges, audit_anchor TO tokend;
--     GRANT SELECT, INSERT, DELETE ON audit TO tokend;
--     GRANT USAGE ON credentials_id_seq, recovery_codes_id_seq,
--         grants_id_seq, challenges_id_seq TO tokend;
--
-- (LOCK TABLE audit IN SHARE ROW EXCLUSIVE MODE needs DELETE on audit,
-- which audit retention needs anyway.)

CREATE TABLE tokend_schema (
	version bigint PRIMARY KEY CHECK (version > 0),
	applied bigint NOT NULL
);
CREATE TABLE credentials (
	id bigserial PRIMARY KEY,
	"user" text NOT NULL,
	kind bigint NOT NULL CHECK (kind IN (1, 2)),
	state bigint NOT NULL CHECK (state IN (1, 2, 3, 4)),
	label text NOT NULL,
	created bigint NOT NULL,
	last_used bigint NOT NULL DEFAULT 0,
	expires bigint NOT NULL DEFAULT 0,
	digits bigint NOT NULL DEFAULT 0 CHECK (kind <> 1 OR digits IN (6, 8)),
	algorithm bigint NOT NULL CHECK (algorithm IN (1, 2, 3)),
	period bigint NOT NULL DEFAULT 0 CHECK (kind <> 1 OR period > 0),
	last_step bigint NOT NULL DEFAULT 0 CHECK (last_step >= 0),
	key_id bigint NOT NULL DEFAULT 0,
	sealed bytea,
	cred_id bytea,
	pubkey bytea,
	aaguid bytea,
	fmt text NOT NULL DEFAULT '',
	flags bigint NOT NULL DEFAULT 0,
	sign_count bigint NOT NULL DEFAULT 0 CHECK (sign_count BETWEEN 0 AND 4294967295),
	user_handle bytea,
	CHECK (kind <> 2 OR (cred_id IS NOT NULL AND pubkey IS NOT NULL AND length(aaguid) = 16 AND length(user_handle) = 32)),
	CHECK (state <> 4 OR kind = 2)
);
CREATE INDEX credentials_user ON credentials ("user");
CREATE UNIQUE INDEX credentials_fido2_id ON credentials (cred_id) WHERE kind = 2;
CREATE INDEX credentials_pending ON credentials (expires) WHERE state = 1;
CREATE TABLE throttle (
	"user" text PRIMARY KEY,
	failures bigint NOT NULL CHECK (failures >= 0),
	last_failure bigint NOT NULL,
	locked bigint NOT NULL CHECK (locked IN (0, 1))
);
CREATE TABLE audit (
	seq bigint PRIMARY KEY CHECK (seq > 0),
	time bigint NOT NULL,
	host text NOT NULL,
	event text NOT NULL,
	"user" text NOT NULL,
	cred bigint NOT NULL,
	service text NOT NULL,
	rhost text NOT NULL,
	tty text NOT NULL,
	uid bigint NOT NULL,
	pid bigint NOT NULL,
	result text NOT NULL,
	reason text NOT NULL,
	mac bytea NOT NULL
);
CREATE TABLE recovery_codes (
	id bigserial PRIMARY KEY,
	"user" text NOT NULL,
	hash bytea NOT NULL CHECK (length(hash) = 32),
	created bigint NOT NULL,
	used bigint NOT NULL DEFAULT 0 CHECK (used IN (0, 1)),
	used_at bigint NOT NULL DEFAULT 0
);
CREATE INDEX recovery_codes_user ON recovery_codes ("user");
CREATE TABLE grants (
	id bigserial PRIMARY KEY,
	"user" text NOT NULL,
	created bigint NOT NULL,
	expires bigint NOT NULL CHECK (expires > created),
	granted_by bigint NOT NULL,
	state bigint NOT NULL CHECK (state IN (1, 2, 3)),
	reason text NOT NULL
);
CREATE UNIQUE INDEX grants_active ON grants ("user") WHERE state = 1;
CREATE TABLE challenges (
	id bigserial PRIMARY KEY,
	"user" text NOT NULL,
	purpose bigint NOT NULL CHECK (purpose IN (1, 2)),
	challenge bytea NOT NULL CHECK (length(challenge) = 32),
	user_handle bytea NOT NULL CHECK (length(user_handle) = 32),
	uv bigint NOT NULL CHECK (uv IN (1, 2, 3)),
	label text NOT NULL DEFAULT '',
	created bigint NOT NULL,
	expires bigint NOT NULL,
	used bigint NOT NULL DEFAULT 0 CHECK (used IN (0, 1))
);
CREATE INDEX challenges_expires ON challenges (expires);
CREATE TABLE audit_anchor (
	id bigint PRIMARY KEY CHECK (id = 1),
	seq bigint NOT NULL CHECK (seq > 0),
	mac bytea NOT NULL,
	pruned_at bigint NOT NULL
);
INSERT INTO tokend_schema (version, applied) VALUES (3, floor(extract(epoch FROM now()))::bigint);
