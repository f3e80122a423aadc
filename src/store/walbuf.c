/*
 * A SQLite VFS over the default one that gathers the writes of a WAL file
 * into one system call. SQLite writes each frame of a commit with two
 * pwrite calls (its 24-byte header, then the page), so a batch of creates,
 * each dirtying a leaf of every index it touches, made ~36 calls per
 * record; on a virtual machine where every system call passes through the
 * hypervisor, that was a quarter of the writer's time. Here the frames are
 * kept in memory while they follow each other and written in a few large
 * pwrite calls when SQLite syncs the file, reads it, asks its size, truncates or closes
 * it, or writes elsewhere in it.
 *
 * Only for a connection with synchronous=FULL (the store's writer): SQLite
 * then syncs the WAL at every commit before it marks the frames committed
 * in the shared index, so no other connection or process is ever told of
 * a frame that is still here in memory. With a weaker setting it would be
 * (the commit ends without a sync), so other connections use the default
 * VFS. A crash loses what a crash before the sync would lose anyway: the
 * frames of a commit not yet acknowledged.
 *
 * A transaction that spilled pages into the WAL and then rolled back
 * leaves frames here that no longer belong anywhere, and it lets go of
 * the write lock without a sync: another process may then write its own
 * frames at those offsets. So the connection's rollback hook drops them
 * (walbuf_rolled_back), and a close drops what is left, never writing it.
 *
 * Every other file (the database, its shared memory) is the default VFS's
 * own: its open fills our file struct as it would its own.
 */
#include "store/walbuf.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define WALBUF_MAX	(4 * 1024 * 1024)	/* bytes gathered before they go out */
/* The default VFS writes less than 128 KiB a call (unix: seekAndWriteFd). */
#define WALBUF_WRITE	(120 * 1024)

struct walbuf_file {
	sqlite3_file base;
	sqlite3_file *real;		/* the default VFS's file, after this struct */
	char *buf;
	size_t len, cap;
	sqlite3_int64 off;		/* where buf[0] goes in the file */
	int direct;			/* gather nothing (see wb_open) */
};

static sqlite3_vfs walbuf_vfs;
static sqlite3_vfs *real_vfs;

/*
 * Writes out what is gathered, at most WALBUF_WRITE bytes a call. What a
 * failed call did not write stays gathered, so that every later read,
 * sync or size fails too until it is written or the transaction is rolled
 * back: SQLite must never go on as if it were in the file.
 */
static int flush(struct walbuf_file *f)
{
	size_t done = 0;
	int rc = SQLITE_OK;

	while (done < f->len) {
		size_t n = f->len - done < WALBUF_WRITE ? f->len - done : WALBUF_WRITE;

		rc = f->real->pMethods->xWrite(f->real, f->buf + done, (int)n,
					       f->off + (sqlite3_int64)done);
		if (rc != SQLITE_OK)
			break;
		done += n;
	}
	if (done && done < f->len)
		memmove(f->buf, f->buf + done, f->len - done);
	f->off += (sqlite3_int64)done;
	f->len -= done;
	return rc;
}

/* Anything still gathered at close belongs to a transaction that did not
 * commit (a commit flushes): dropped, as SQLite drops it. */
static int wb_close(sqlite3_file *file)
{
	struct walbuf_file *f = (struct walbuf_file *)file;
	int rc = f->real->pMethods->xClose(f->real);

	free(f->buf);
	f->buf = NULL;
	f->len = 0;
	return rc;
}

static int wb_read(sqlite3_file *file, void *out, int amt, sqlite3_int64 off)
{
	struct walbuf_file *f = (struct walbuf_file *)file;
	int rc = flush(f);

	return rc != SQLITE_OK ? rc : f->real->pMethods->xRead(f->real, out, amt, off);
}

static int wb_write(sqlite3_file *file, const void *data, int amt, sqlite3_int64 off)
{
	struct walbuf_file *f = (struct walbuf_file *)file;
	size_t n = (size_t)amt;
	int rc;

	if (f->direct)
		return f->real->pMethods->xWrite(f->real, data, amt, off);
	if (f->len && (off != f->off + (sqlite3_int64)f->len || f->len + n > WALBUF_MAX)) {
		if ((rc = flush(f)) != SQLITE_OK)
			return rc;
	}
	if (n > WALBUF_WRITE)	/* not a frame: as SQLite gave it */
		return f->real->pMethods->xWrite(f->real, data, amt, off);
	if (f->len + n > f->cap) {
		size_t cap = f->cap ? f->cap : 64 * 1024;
		char *b;

		while (cap < f->len + n)
			cap *= 2;
		if (!(b = realloc(f->buf, cap))) {
			if ((rc = flush(f)) != SQLITE_OK)
				return rc;
			return f->real->pMethods->xWrite(f->real, data, amt, off);
		}
		f->buf = b;
		f->cap = cap;
	}
	if (!f->len)
		f->off = off;
	memcpy(f->buf + f->len, data, n);
	f->len += n;
	return SQLITE_OK;
}

static int wb_truncate(sqlite3_file *file, sqlite3_int64 size)
{
	struct walbuf_file *f = (struct walbuf_file *)file;
	int rc = flush(f);

	return rc != SQLITE_OK ? rc : f->real->pMethods->xTruncate(f->real, size);
}

static int wb_sync(sqlite3_file *file, int flags)
{
	struct walbuf_file *f = (struct walbuf_file *)file;
	int rc = flush(f);

	return rc != SQLITE_OK ? rc : f->real->pMethods->xSync(f->real, flags);
}

static int wb_file_size(sqlite3_file *file, sqlite3_int64 *size)
{
	struct walbuf_file *f = (struct walbuf_file *)file;
	int rc = flush(f);

	return rc != SQLITE_OK ? rc : f->real->pMethods->xFileSize(f->real, size);
}

static int wb_lock(sqlite3_file *file, int level)
{
	struct walbuf_file *f = (struct walbuf_file *)file;

	return f->real->pMethods->xLock(f->real, level);
}

static int wb_unlock(sqlite3_file *file, int level)
{
	struct walbuf_file *f = (struct walbuf_file *)file;

	return f->real->pMethods->xUnlock(f->real, level);
}

static int wb_check_reserved(sqlite3_file *file, int *out)
{
	struct walbuf_file *f = (struct walbuf_file *)file;

	return f->real->pMethods->xCheckReservedLock(f->real, out);
}

/* A file control may look at the file: what is gathered goes out first. */
static int wb_file_control(sqlite3_file *file, int op, void *arg)
{
	struct walbuf_file *f = (struct walbuf_file *)file;
	int rc = flush(f);

	return rc != SQLITE_OK ? rc : f->real->pMethods->xFileControl(f->real, op, arg);
}

static int wb_sector_size(sqlite3_file *file)
{
	struct walbuf_file *f = (struct walbuf_file *)file;

	return f->real->pMethods->xSectorSize(f->real);
}

static int wb_device_characteristics(sqlite3_file *file)
{
	struct walbuf_file *f = (struct walbuf_file *)file;

	return f->real->pMethods->xDeviceCharacteristics(f->real);
}

/* A WAL file has no shared memory and is not memory-mapped by SQLite. */
static const sqlite3_io_methods walbuf_io = {
	.iVersion = 1,
	.xClose = wb_close,
	.xRead = wb_read,
	.xWrite = wb_write,
	.xTruncate = wb_truncate,
	.xSync = wb_sync,
	.xFileSize = wb_file_size,
	.xLock = wb_lock,
	.xUnlock = wb_unlock,
	.xCheckReservedLock = wb_check_reserved,
	.xFileControl = wb_file_control,
	.xSectorSize = wb_sector_size,
	.xDeviceCharacteristics = wb_device_characteristics,
};

static int wb_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags,
		   int *out_flags)
{
	struct walbuf_file *f = (struct walbuf_file *)file;
	int rc;

	(void)vfs;
	if (!(flags & SQLITE_OPEN_WAL))
		return real_vfs->xOpen(real_vfs, name, file, flags, out_flags);
	memset(f, 0, sizeof *f);
	f->real = (sqlite3_file *)(f + 1);
	rc = real_vfs->xOpen(real_vfs, name, f->real, flags, out_flags);
	f->base.pMethods = f->real->pMethods ? &walbuf_io : NULL;
	/* Without powersafe overwrite (psow=0) SQLite pads a commit to a sector
	 * and writes part of its last frame after the sync: nothing is
	 * gathered then. */
	if (rc == SQLITE_OK && !(f->real->pMethods->xDeviceCharacteristics(f->real) &
				 SQLITE_IOCAP_POWERSAFE_OVERWRITE))
		f->direct = 1;
	return rc;
}

void walbuf_rolled_back(void *db)
{
	sqlite3_file *file = NULL;

	if (sqlite3_file_control(db, "main", SQLITE_FCNTL_JOURNAL_POINTER, &file) == SQLITE_OK &&
	    file && file->pMethods == &walbuf_io)
		((struct walbuf_file *)file)->len = 0;
}

/* The rest of the VFS is the default one's. */
static int wb_delete(sqlite3_vfs *v, const char *name, int sync_dir)
{
	(void)v;
	return real_vfs->xDelete(real_vfs, name, sync_dir);
}

static int wb_access(sqlite3_vfs *v, const char *name, int flags, int *out)
{
	(void)v;
	return real_vfs->xAccess(real_vfs, name, flags, out);
}

static int wb_full_pathname(sqlite3_vfs *v, const char *name, int n, char *out)
{
	(void)v;
	return real_vfs->xFullPathname(real_vfs, name, n, out);
}

static void *wb_dlopen(sqlite3_vfs *v, const char *name)
{
	(void)v;
	return real_vfs->xDlOpen(real_vfs, name);
}

static void wb_dlerror(sqlite3_vfs *v, int n, char *out)
{
	(void)v;
	real_vfs->xDlError(real_vfs, n, out);
}

static void (*wb_dlsym(sqlite3_vfs *v, void *h, const char *sym))(void)
{
	(void)v;
	return real_vfs->xDlSym(real_vfs, h, sym);
}

static void wb_dlclose(sqlite3_vfs *v, void *h)
{
	(void)v;
	real_vfs->xDlClose(real_vfs, h);
}

static int wb_randomness(sqlite3_vfs *v, int n, char *out)
{
	(void)v;
	return real_vfs->xRandomness(real_vfs, n, out);
}

static int wb_sleep(sqlite3_vfs *v, int us)
{
	(void)v;
	return real_vfs->xSleep(real_vfs, us);
}

static int wb_current_time(sqlite3_vfs *v, double *out)
{
	(void)v;
	return real_vfs->xCurrentTime(real_vfs, out);
}

static int wb_last_error(sqlite3_vfs *v, int n, char *out)
{
	(void)v;
	return real_vfs->xGetLastError ? real_vfs->xGetLastError(real_vfs, n, out) : 0;
}

static int wb_current_time_int64(sqlite3_vfs *v, sqlite3_int64 *out)
{
	(void)v;
	return real_vfs->xCurrentTimeInt64(real_vfs, out);
}

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int registered = SQLITE_ERROR;

static void walbuf_init(void)
{
	if (!(real_vfs = sqlite3_vfs_find(NULL)) || real_vfs->iVersion < 2 ||
	    !real_vfs->xCurrentTimeInt64)
		return;
	walbuf_vfs = (sqlite3_vfs){
		.iVersion = 2,
		.szOsFile = (int)sizeof(struct walbuf_file) + real_vfs->szOsFile,
		.mxPathname = real_vfs->mxPathname,
		.zName = WALBUF_VFS,
		.xOpen = wb_open,
		.xDelete = wb_delete,
		.xAccess = wb_access,
		.xFullPathname = wb_full_pathname,
		.xDlOpen = wb_dlopen,
		.xDlError = wb_dlerror,
		.xDlSym = wb_dlsym,
		.xDlClose = wb_dlclose,
		.xRandomness = wb_randomness,
		.xSleep = wb_sleep,
		.xCurrentTime = wb_current_time,
		.xGetLastError = wb_last_error,
		.xCurrentTimeInt64 = wb_current_time_int64,
	};
	registered = sqlite3_vfs_register(&walbuf_vfs, 0);
}

const char *walbuf_vfs_name(void)
{
	pthread_once(&once, walbuf_init);
	return registered == SQLITE_OK ? WALBUF_VFS : NULL;
}
