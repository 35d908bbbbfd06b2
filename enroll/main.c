/*
 * main.c -- tokenadm's main(); everything else is in libtokenadm so the
 * tests run the same command line parser.
 */
#include "config.h"

#include "tokenadm.h"

int
main(int argc, char **argv)
{
	return (tk_adm_main(argc, argv));
}
