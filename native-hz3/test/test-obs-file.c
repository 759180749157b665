/*
 * test-obs-file.c: HZ3_OBS_FILE under hostile or broken conditions. Each
 * case runs in a child process (this program re-executed with the case
 * name and HZ3_OBS_FILE set); the child prepares what another user could
 * have prepared at path.PID (it knows its own PID, as an attacker who
 * guesses it would), then exits so that the report is written. The parent
 * checks that no file it did not create is touched, and that exactly one
 * hz3 line says why the file was not used, with the report on stderr.
 *
 * A full disk: ENOSPC needs a small file system (a mount, so root and a
 * kernel that lets us); the case "write-fails" exercises the same path
 * (open succeeds, write fails) with RLIMIT_FSIZE, whose writes past the
 * limit fail with EFBIG (SIGXFSZ ignored).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "test_util.h"

#define PRECIOUS "precious contents, not to be overwritten\n"
#define REPORT_TAG "[HZ3_S62_OBSERVE]"

static char dir[256];

static bool write_file(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    if (fd < 0) return false;
    bool ok = write(fd, text, strlen(text)) == (ssize_t)strlen(text);
    fchmod(fd, mode);
    return close(fd) == 0 && ok;
}

static char *read_file(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW);
    if (fd < 0) return NULL;
    ssize_t n = read(fd, buf, size - 1);
    close(fd);
    buf[n > 0 ? n : 0] = 0;
    return buf;
}

/* The child: prepares path.PID as the case says, then exits (the report is
 * written from atexit). */
static int run_case(const char *name)
{
    const char *base = getenv("HZ3_OBS_FILE");
    char path[8192];
    snprintf(path, sizeof path, "%s.%d", base, (int)getpid());
    void *p = malloc(100);   /* something for the census to see */
    free(p);
    if (!strcmp(name, "symlink")) {
        char target[512];
        snprintf(target, sizeof target, "%s/victim", dir);
        if (symlink(target, path) != 0) return 7;
    } else if (!strcmp(name, "existing")) {
        if (!write_file(path, PRECIOUS, 0666)) return 7;
    } else if (!strcmp(name, "directory")) {
        if (mkdir(path, 0700) != 0) return 7;
    } else if (!strcmp(name, "write-fails")) {
        struct rlimit rl = { 64, 64 };
        signal(SIGXFSZ, SIG_IGN);
        if (setrlimit(RLIMIT_FSIZE, &rl) != 0) return 7;
    } else if (strcmp(name, "plain") && strcmp(name, "missing-dir") && strcmp(name, "too-long")) {
        return 9;
    }
    return 0;
}

static int count_hz3_lines(const char *err)
{
    int n = 0;
    for (const char *l = err; (l = strstr(l, "hz3: ")) != NULL; l++) n++;
    return n;
}

/* Runs a case with HZ3_OBS_FILE=base; checks the exit, one hz3 line
 * containing want (the report on stderr after it), or none when want is
 * NULL. Returns the child's stderr. */
static char err[65536];
static const char *run(const char *name, const char *base, const char *want)
{
    static char self[4096], env[16384];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (len <= 0) exit(2);
    self[len] = 0;
    snprintf(env, sizeof env, "HZ3_OBS_FILE=%s", base);
    char direnv[300];
    snprintf(direnv, sizeof direnv, "T_DIR=%s", dir);
    char *args[] = { self, "case", (char *)name, NULL };
    char *envv[] = { env, direnv, NULL };
    int st = t_run(args, envv, err, sizeof err);
    CHECK_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "[%s] status %#x: %s", name, st, err);
    int lines = count_hz3_lines(err);
    if (!want) {
        CHECK_MSG(lines == 0, "[%s] %d hz3 lines: %s", name, lines, err);
        return err;
    }
    CHECK_MSG(lines == 1, "[%s] %d hz3 lines: %s", name, lines, err);
    const char *line = strstr(err, "hz3: ");
    CHECK_MSG(line && strstr(line, want) && strchr(line, '\n') &&
              strstr(line, want) < strchr(line, '\n'), "[%s] expected '%s' in: %s", name, want, err);
    CHECK_MSG(line && strstr(line, "the exit report goes to stderr"), "[%s] no word of where: %s", name, err);
    CHECK_MSG(line && strchr(line, '\n') - line < 1024, "[%s] line of %td bytes", name,
              line ? strchr(line, '\n') - line : 0);
    CHECK_MSG(strstr(err, REPORT_TAG) != NULL, "[%s] report not on stderr: %s", name, err);
    return err;
}

/* The files the child made are named base.PID; find the one in dir. */
static bool find_entry(const char *prefix, char *out, size_t size)
{
    DIR *d = opendir(dir);
    if (!d) return false;
    struct dirent *e;
    bool found = false;
    while ((e = readdir(d)) != NULL) {
        if (!strncmp(e->d_name, prefix, strlen(prefix))) {
            snprintf(out, size, "%s/%s", dir, e->d_name);
            found = true;
            break;
        }
    }
    closedir(d);
    return found;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    return remove(path);
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "case")) {
        const char *d = getenv("T_DIR");
        snprintf(dir, sizeof dir, "%s", d ? d : "/nonexistent");
        return run_case(argv[2]);
    }
    snprintf(dir, sizeof dir, "%s/hz3-obs-file-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(dir)) return 2;
    char base[512], path[1024], buf[8192];

    /* plain: a new file, mode 0600, holding the report; nothing on stderr */
    snprintf(base, sizeof base, "%s/plain", dir);
    run("plain", base, NULL);
    CHECK_MSG(find_entry("plain.", path, sizeof path), "no report file");
    struct stat st;
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
    CHECK(read_file(path, buf, sizeof buf) && strstr(buf, REPORT_TAG));

    /* a symbolic link planted at path.PID: its target is left alone */
    char victim[512];
    snprintf(victim, sizeof victim, "%s/victim", dir);
    CHECK(write_file(victim, PRECIOUS, 0600));
    snprintf(base, sizeof base, "%s/link", dir);
    run("symlink", base, "a symbolic link is there");
    CHECK_MSG(read_file(victim, buf, sizeof buf) && !strcmp(buf, PRECIOUS), "victim changed: %s", buf);

    /* a file planted at path.PID (world-writable): neither truncated nor written */
    snprintf(base, sizeof base, "%s/existing", dir);
    run("existing", base, "a file is there already");
    CHECK(find_entry("existing.", path, sizeof path));
    CHECK_MSG(read_file(path, buf, sizeof buf) && !strcmp(buf, PRECIOUS), "planted file changed: %s", buf);

    /* a directory at path.PID */
    snprintf(base, sizeof base, "%s/dir", dir);
    run("directory", base, "a directory is there");

    /* the directory does not exist */
    snprintf(base, sizeof base, "%s/missing/rep", dir);
    run("missing-dir", base, "no such directory");

    /* a path longer than PATH_MAX: not cut down to some other file's name */
    static char longbase[9000];
    int n = snprintf(longbase, sizeof longbase, "%s/", dir);
    memset(longbase + n, 'a', 5000);
    longbase[n + 5000] = 0;
    run("too-long", longbase, "path too long");
    CHECK_MSG(strstr(err, "bytes, cut)") != NULL, "long path not cut: %.200s", err);
    CHECK(!find_entry("aaaa", path, sizeof path));

    /* open succeeds, writes fail: one line, the partial file taken away */
    snprintf(base, sizeof base, "%s/full", dir);
    run("write-fails", base, "cannot write");
    CHECK_MSG(!find_entry("full.", path, sizeof path), "partial report left: %s", path);

    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    CHECK(access(dir, F_OK) != 0);
    return t_finish("test-obs-file");
}
