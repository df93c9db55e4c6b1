/* Escape probe: another tenant's home.
 *
 *   tenant_home MARKER_PATH
 *
 * MARKER_PATH is a file in another tenant's home, as a host path.  It must
 * not be reachable at that path, and no file with its name may be found
 * below /home, /tmp, /run, /data, /mnt or /srv.  /home must hold only this
 * sandbox's own home directory. */
#define _GNU_SOURCE
#include "syscall-probe.h"

#include <dirent.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <sys/stat.h>

static void search(const char *dir, const char *name, int depth)
{
    struct dirent *de;
    DIR *d;

    if (depth > 6 || !(d = opendir(dir)))
        return;
    while ((de = readdir(d))) {
        char path[4096];

        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        if (!strcmp(de->d_name, name))
            probe_fail("found %s", path);
        if (de->d_type == DT_DIR)
            search(path, name, depth + 1);
    }
    closedir(d);
}

static void check_home_entries(void)
{
    const char *home = getenv("HOME");
    struct dirent *de;
    DIR *d = opendir("/home");

    if (!d)
        return;
    while ((de = readdir(d))) {
        char path[4096];

        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        snprintf(path, sizeof(path), "/home/%s", de->d_name);
        probe_attempts++;
        if (!home || strcmp(path, home))
            probe_fail("/home holds %s besides the own home", path);
    }
    closedir(d);
}

int main(int argc, char **argv)
{
    static const char *const roots[] = {"/home", "/tmp", "/run", "/data",
                                        "/mnt", "/srv", "/inbox", "/output"};
    char *copy;

    probe_name = "tenant_home";
    if (argc != 2) {
        fprintf(stderr, "usage: tenant_home MARKER_PATH\n");
        return 2;
    }
    EXPECT_ERRNO(ENOENT, open(argv[1], O_RDONLY | O_CLOEXEC));
    copy = strdup(argv[1]);
    probe_attempts++;
    for (size_t i = 0; copy && i < sizeof(roots) / sizeof(roots[0]); i++)
        search(roots[i], basename(copy), 0);
    free(copy);
    check_home_entries();
    return probe_finish("no other tenant's files are visible");
}
