/*
 * sk_shim.c -- tests/softkey's preload shim, linked into test_pam itself
 * instead of preloaded: its fido_dev_info_manifest() and fido_dev_open()
 * take the place of libfido2's for the module's code in this program, so
 * the module finds the soft keys of SOFTKEY_KEYS exactly as it finds real
 * keys, and a key the test holds open (sk_key_attach) is the very one the
 * module talks to.  Test code only.
 */
#include "../softkey/preload.c"
