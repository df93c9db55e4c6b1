/* dz-scan: scan a CSV file with the export PII scanner and print what it
 * finds.  Usage: dz-scan FILE [ENCODING].  Exit 0 when nothing is found,
 * 1 when identifiers are found, 2 on error.  Integration tests use it to
 * prove that a development view carries no personal identifiers. */
#include "desensitize/desensitize.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    struct dz_report report = {0};
    struct werr err = {0};
    int encoding = CSV_ENCODING_UTF8;
    int fd, r;

    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: dz-scan FILE [ENCODING]\n");
        return 2;
    }
    if (argc == 3 && (encoding = csv_encoding_from_string(argv[2])) < 0) {
        fprintf(stderr, "dz-scan: invalid encoding '%s'\n", argv[2]);
        return 2;
    }
    fd = open(argv[1], O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        perror(argv[1]);
        return 2;
    }
    r = dz_scan_fd(fd, DZ_FORMAT_CSV, (enum csv_encoding)encoding, &report,
                   &err);
    close(fd);
    if (r < 0) {
        fprintf(stderr, "dz-scan: %s: %s\n", argv[1], err.msg);
        return 2;
    }
    printf("rows %llu findings %llu\n", (unsigned long long)report.rows,
           (unsigned long long)report.total);
    for (int k = 0; k < PII_KIND_MAX; k++)
        if (report.pii[k])
            printf("%s %llu\n", pii_kind_to_string(k),
                   (unsigned long long)report.pii[k]);
    for (size_t i = 0; i < report.n_findings && i < 5; i++)
        printf("line %llu column %s: %s\n",
               (unsigned long long)report.findings[i].line,
               report.findings[i].column_name, report.findings[i].example);
    return report.total > 0 ? 1 : 0;
}
