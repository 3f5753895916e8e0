/* The data dir remembers which cluster and node it belongs to, so that a node started
 * on another cluster's data (or as another node) refuses instead of corrupting it. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "identity.h"

int identity_check(const char *data_dir, const char *cluster_name, uint64_t node_id,
                   char *errmsg)
{
    char path[512], want[160], have[160];
    snprintf(path, sizeof path, "%s/identity", data_dir);
    snprintf(want, sizeof want, "cluster=%s node=%llu\n", cluster_name,
             (unsigned long long)node_id);
    FILE *f = fopen(path, "r");
    if (f != NULL) {
        size_t n = fread(have, 1, sizeof have - 1, f);
        fclose(f);
        have[n] = '\0';
        if (strcmp(have, want) != 0) {
            char *nl = strchr(have, '\n');
            if (nl) {
                *nl = '\0';
            }
            snprintf(errmsg, 512,
                     "%s: this data belongs to '%s', not cluster=%s node=%llu; refusing to "
                     "start (use the right --data-dir, or an empty one to join)",
                     path, have, cluster_name, (unsigned long long)node_id);
            return WAIHU_EINVAL;
        }
        return 0;
    }
    if (errno != ENOENT) {
        snprintf(errmsg, 512, "%s: %s", path, strerror(errno));
        return WAIHU_EIO;
    }
    f = fopen(path, "w");
    if (f == NULL || fputs(want, f) < 0 || fflush(f) != 0) {
        snprintf(errmsg, 512, "%s: %s", path, strerror(errno));
        if (f) {
            fclose(f);
        }
        return errno == ENOSPC ? WAIHU_ENOSPACE : WAIHU_EIO;
    }
    fclose(f);
    return 0;
}
