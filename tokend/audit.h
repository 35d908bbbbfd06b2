/*
 * audit.h -- one audit event, two sinks: a row of the store's hash chain
 * (inside the transaction of the change it records) and one syslog line
 * of key=value pairs (LOG_AUTHPRIV).
 */
#ifndef TK_AUDIT_H
#define TK_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon.h"
#include "role.h"
#include "store.h"

/* crypto_kdf derivation of the audit MAC key from the master key */
#define TK_AUDIT_KDF_SUBKEY_ID	1
#define TK_AUDIT_KDF_CONTEXT	"tkaudit1"	/* exactly 8 bytes */

/* a syslog line holds every field escaped at worst 4 bytes a byte */
#define TK_AUDIT_LINE_MAX	8192

/*
 * Starts an event: time `now', this host, the caller's uid and pid,
 * and the given event name and user (both borrowed, may be NULL).  The
 * other fields are cleared for the caller to fill.
 */
void tk_audit_event_init(struct tk_audit_event *ev,
    const struct tk_daemon *d, const struct tk_peer *peer,
    const char *event, const char *user, int64_t now);
/*
 * Appends the event to the store's audit chain; the caller must be
 * inside the transaction of the change it records.  Returns 0 or the
 * store's error.
 */
int tk_audit_append(struct tk_daemon *d, const struct tk_audit_event *ev);
/*
 * Formats the syslog line of an event into buf (NUL-terminated; a value
 * with a byte outside [A-Za-z0-9._:/@+,-] is double-quoted, with " and
 * \ backslash-escaped and other bytes as \xHH, so no value can forge
 * another field).  Returns 0 or TK_ERR_TOOBIG.
 */
int tk_audit_format(const struct tk_audit_event *ev, char *buf, size_t len);
/*
 * Sends the line of an event to the log (LOG_INFO for ok, else NOTICE),
 * or holds it while a group commit is open (tk_audit_hold).
 */
void tk_audit_log(const struct tk_audit_event *ev);
/*
 * Group commit (server.c): from tk_audit_hold() on, tk_audit_log()
 * keeps each line, together with the line the event would have with
 * result=internal, instead of sending it, since the event's outcome is
 * final only when the batch is durable.  tk_audit_release(true) sends
 * the kept lines; tk_audit_release(false) sends their result=internal
 * versions (reason: the batch's commit failed).  Either ends holding.
 * Lines that cannot be kept (no memory) are sent at once with a
 * "held line lost" note.  tokend is single-threaded: one hold at a time.
 */
void tk_audit_hold(void);
void tk_audit_release(bool stored);
/*
 * Records an event of the daemon itself ("daemon_start", "daemon_stop")
 * in its own transaction, then logs it.  Returns 0 or the store's error
 * (the line is logged either way, with result=internal on failure).
 */
int tk_audit_daemon(struct tk_daemon *d, const char *event,
    const char *reason);
/*
 * Logs a configuration error found before the store could be opened:
 * the syslog line only (event=config_error), since no chain can be
 * written without the configuration and the master key.
 */
void tk_audit_config_error(const char *reason);

#endif /* TK_AUDIT_H */
