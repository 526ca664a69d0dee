/*
 * LD_PRELOAD library for the power-cut tests of tests/crash.rs.
 *
 * A power cut loses everything that was written but not yet flushed with fsync: the OS
 * page cache is gone. SIGKILL alone loses nothing the process had handed to the kernel,
 * so it cannot tell `PRAGMA synchronous = FULL` from `OFF`. This library makes the
 * difference visible without root and without timing: every fsync()/fdatasync() of a
 * regular file below $P2CORE_POWERCUT_DIR copies that file, as it is at that moment, to
 * $P2CORE_POWERCUT_SHADOW (the path below the data directory, '/' spelled '%'). The copy
 * is written to a temporary name and renamed, so a SIGKILL in the middle of it leaves the
 * previous copy whole. After the server is killed, the test replaces every file of the
 * data directory with its copy and deletes the files that have none: exactly the state a
 * power cut leaves when none of the writes after the last fsync reached the disk (one of
 * the states a real power cut can leave, and the one that loses the most).
 *
 * Metadata changes (creating, deleting a file) are treated as durable: unlink() of a file
 * below the data directory also deletes its copy, so a file created again under that name
 * has no copy until it is fsync'd. (rename() is not followed; the server renames nothing in
 * its data directory.)
 *
 * Any failure to make a copy aborts the process with a message, so a broken simulation
 * cannot pass silently.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static void die(const char *what, const char *path) {
    fprintf(stderr, "fsync_shadow: %s %s: %s\n", what, path, strerror(errno));
    abort();
}

/* The copy's path for `path` (absolute), or 0 when `path` is not below the data directory. */
static int shadow_path(const char *path, char *dst, char *tmp) {
    const char *dir = getenv("P2CORE_POWERCUT_DIR");
    const char *shadow = getenv("P2CORE_POWERCUT_SHADOW");
    if (!dir || !shadow) return 0;
    size_t dl = strlen(dir);
    if (strncmp(path, dir, dl) != 0 || path[dl] != '/') return 0;
    char rel[PATH_MAX];
    snprintf(rel, sizeof rel, "%s", path + dl + 1);
    for (char *c = rel; *c; c++)
        if (*c == '/') *c = '%';
    if (snprintf(dst, PATH_MAX, "%s/%s", shadow, rel) >= PATH_MAX ||
        snprintf(tmp, PATH_MAX, "%s/.tmp.%ld", shadow, (long)syscall(SYS_gettid)) >= PATH_MAX) {
        errno = ENAMETOOLONG;
        die("shadow path for", path);
    }
    return 1;
}

static void snapshot(int fd) {
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return;
    char link[64], path[PATH_MAX];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof path - 1);
    if (n < 0) die("readlink", link);
    path[n] = '\0';
    char dst[PATH_MAX], tmp[PATH_MAX];
    if (!shadow_path(path, dst, tmp)) return;

    int in = open(path, O_RDONLY | O_CLOEXEC);
    if (in < 0) die("open", path);
    int out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (out < 0) die("create", tmp);
    static __thread char buf[1 << 16];
    for (;;) {
        ssize_t r = read(in, buf, sizeof buf);
        if (r < 0) die("read", path);
        if (r == 0) break;
        for (ssize_t off = 0; off < r;) {
            ssize_t w = write(out, buf + off, (size_t)(r - off));
            if (w < 0) die("write", tmp);
            off += w;
        }
    }
    close(in);
    if (close(out) != 0) die("close", tmp);
    if (rename(tmp, dst) != 0) die("rename", dst);
}

int fsync(int fd) {
    static int (*real)(int);
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    int r = real(fd);
    if (r == 0) snapshot(fd);
    return r;
}

int fdatasync(int fd) {
    static int (*real)(int);
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    int r = real(fd);
    if (r == 0) snapshot(fd);
    return r;
}

/* Forgets the copy of the file at `path` (relative to `dirfd`) before it is deleted. */
static void forget(int dirfd, const char *path) {
    char abs[PATH_MAX], dst[PATH_MAX], tmp[PATH_MAX];
    if (path[0] == '/') {
        snprintf(abs, sizeof abs, "%s", path);
    } else {
        char base[PATH_MAX];
        if (dirfd == AT_FDCWD) {
            if (!getcwd(base, sizeof base)) return;
        } else {
            char link[64];
            snprintf(link, sizeof link, "/proc/self/fd/%d", dirfd);
            ssize_t n = readlink(link, base, sizeof base - 1);
            if (n < 0) return;
            base[n] = '\0';
        }
        if (snprintf(abs, sizeof abs, "%s/%s", base, path) >= (int)sizeof abs) return;
    }
    if (shadow_path(abs, dst, tmp) && syscall(SYS_unlink, dst) != 0 && errno != ENOENT) die("unlink", dst);
}

int unlinkat(int dirfd, const char *path, int flags) {
    static int (*real)(int, const char *, int);
    if (!real) real = (int (*)(int, const char *, int))dlsym(RTLD_NEXT, "unlinkat");
    if (!(flags & AT_REMOVEDIR)) forget(dirfd, path);
    return real(dirfd, path, flags);
}

int unlink(const char *path) {
    static int (*real)(const char *);
    if (!real) real = (int (*)(const char *))dlsym(RTLD_NEXT, "unlink");
    forget(AT_FDCWD, path);
    return real(path);
}
