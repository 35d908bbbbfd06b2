/*
 * err.c -- names of the TK_ERR_* codes.
 */
#include "config.h"

#include "err.h"

const char *
tk_strerr(int r)
{
	switch (r) {
	case TK_OK:		return ("ok");
	case TK_ERR_NOMEM:	return ("out of memory");
	case TK_ERR_INVAL:	return ("invalid argument");
	case TK_ERR_IO:		return ("input/output error");
	case TK_ERR_TIMEOUT:	return ("timed out");
	case TK_ERR_CLOSED:	return ("connection closed");
	case TK_ERR_PROTO:	return ("malformed message");
	case TK_ERR_TOOBIG:	return ("message too large");
	case TK_ERR_CONNECT:	return ("cannot connect to tokend");
	case TK_ERR_UNTRUSTED:	return ("tokend socket not trusted");
	case TK_ERR_VERSION:	return ("unsupported version");
	case TK_ERR_ABSENT:	return ("field absent");
	case TK_ERR_CONFIG:	return ("configuration error");
	case TK_ERR_STORE:	return ("store error");
	case TK_ERR_CRYPTO:	return ("cryptographic failure");
	case TK_ERR_PERM:	return ("unsafe owner, mode or file type");
	case TK_ERR_EXISTS:	return ("already exists");
	case TK_ERR_NOTFOUND:	return ("not found");
	case TK_ERR_REPLAY:	return ("already used");
	case TK_ERR_FULL:	return ("store full");
	}
	return ("unknown error");
}
