/*
 * The SQLite VFS the store's writer opens its database with: the default
 * one, less the system call per WAL frame (walbuf.c says how and when it is
 * safe). Nothing outside src/store/ and its tests includes this file.
 */
#ifndef RAPPORT_STORE_WALBUF_H
#define RAPPORT_STORE_WALBUF_H

#include <sqlite3.h>

#define WALBUF_VFS "rapport-walbuf"

/* Registers the VFS once (not as the default); its name, or NULL if it
 * could not be (then the default VFS serves). */
const char *walbuf_vfs_name(void);

/* The rollback hook (sqlite3_rollback_hook) of a connection opened
 * through the VFS, with the connection as its argument: drops the frames
 * of the transaction rolled back. */
void walbuf_rolled_back(void *db);

#endif
