/*
 * aaguid.c -- FIDO2 key models: AAGUID text and a small table of
 * well-known models, so that tokenadm can say "YubiKey 5 Series" where
 * tokend only knows 16 bytes.
 *
 * The table holds only AAGUIDs published in the FIDO Alliance Metadata
 * Service for the named product; names are as the vendors register
 * them, shortened.  A key that is not listed shows as "unknown model":
 * the table is a convenience, never a policy ([fido2] allowed_aaguids
 * is the policy, and it names AAGUIDs).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "aaguid.h"

#define AAGUID_BYTES	16

static const struct {
	const char	*aaguid;	/* UUID text, lower case */
	const char	*model;
} models[] = {
	/* Yubico */
	{ "cb69481e-8ff7-4039-93ec-0a2729a154a8", "YubiKey 5 Series" },
	{ "ee882879-721c-4913-9775-3dfcce97072a", "YubiKey 5 Series" },
	{ "19083c3d-8383-4b18-bc03-8f1c9ab2fd1b", "YubiKey 5 Series" },
	{ "fa2b99dc-9e39-4257-8f92-4a30d23c4118",
	    "YubiKey 5 Series with NFC" },
	{ "2fc0579f-8113-47ea-b116-bb5a8db9202a",
	    "YubiKey 5 Series with NFC" },
	{ "a25342c0-3cdc-4414-8e46-f4807fca511c",
	    "YubiKey 5 Series with NFC" },
	{ "c5ef55ff-ad9a-4b9f-b580-adebafe026d0",
	    "YubiKey 5 Series with Lightning" },
	{ "73bb0cd4-e502-49b8-9c6f-b59445bf720b", "YubiKey 5 FIPS Series" },
	{ "c1f9a0bc-1dd2-404a-b27f-8e29047a43fd",
	    "YubiKey 5 FIPS Series with NFC" },
	{ "d8522d9f-575b-4866-88a9-ba99fa02f35b", "YubiKey Bio Series" },
	{ "f8a011f3-8c0a-4d15-8006-17111f9edc7d", "Security Key by Yubico" },
	{ "b92c3f9a-c014-4056-887f-140a2501163b", "Security Key by Yubico" },
	{ "149a2021-8ef6-4133-96b8-81f8d5b7f1f5",
	    "Security Key by Yubico with NFC" },
	{ "6d44ba9b-f6ec-2e49-b930-0c8fe920cb73",
	    "Security Key by Yubico with NFC" },
	{ "a4e9fc6d-4cbe-4758-b8ba-37598bb5bbaa",
	    "Security Key NFC by Yubico" },
	{ "e77e3c64-05e3-428b-8824-0cbeb04b829d",
	    "Security Key NFC by Yubico" },
	/* Google */
	{ "42b4fb4a-2866-43b2-9bf7-6c6669c2e5d3",
	    "Google Titan Security Key v2" },
	/* Feitian */
	{ "833b721a-ff5f-4d00-bb2e-bdda3ec01e29", "Feitian ePass FIDO2" },
	{ "ee041bce-25e5-4cdb-8f86-897fd6418464", "Feitian ePass FIDO2-NFC" },
	{ "12ded745-4bed-47d4-abaa-e713f51d6393", "Feitian AllinOne FIDO2" },
	{ "77010bd7-212a-4fc9-b236-d2ca5e9d4084", "Feitian BioPass FIDO2" },
	/* SoloKeys */
	{ "8876631b-d4a0-427f-5773-0ec71c9e0279", "SoloKeys Solo" },
	{ "8976631b-d4a0-427f-5773-0ec71c9e0279", "SoloKeys Solo Tap" },
};

#define NITEMS(a)	(sizeof(a) / sizeof((a)[0]))

const char *
tk_aaguid_text(const unsigned char *a, size_t len,
    char buf[TK_AAGUID_TEXT_MAX])
{
	if (a == NULL || len != AAGUID_BYTES)
		return (NULL);
	snprintf(buf, TK_AAGUID_TEXT_MAX,
	    "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x%02x%02x%02x%02x",
	    a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9],
	    a[10], a[11], a[12], a[13], a[14], a[15]);
	return (buf);
}

const char *
tk_aaguid_model(const unsigned char *a, size_t len)
{
	char text[TK_AAGUID_TEXT_MAX];
	size_t i;

	if (tk_aaguid_text(a, len, text) == NULL)
		return (NULL);
	for (i = 0; i < NITEMS(models); i++)
		if (strcmp(models[i].aaguid, text) == 0)
			return (models[i].model);
	return (NULL);
}
