/* Private to tools/waihu-recording. */
#ifndef WAIHU_RECORDING_TOOL_H
#define WAIHU_RECORDING_TOOL_H

#include <stddef.h>
#include <stdint.h>

#include "media.h"

/* Reads a 32-byte key: the raw bytes, or 64 hex digits (a trailing newline is fine).
 * Returns 0 or a WAIHU_E* code with errmsg set. */
int keyfile_read(const char *path, uint8_t key[MEDIA_REC_KEY_BYTES], char *errmsg, size_t size);

#define ENERGY_MAX_CHANNELS 8
#define ENERGY_FLOOR_DBFS -200.0 /* reported for digital silence */

/* Per-channel RMS of a sound file in dBFS (a full-scale square wave is 0 dBFS).
 * Returns 0 or WAIHU_EIO with errmsg set. */
int energy_measure(const char *path, double dbfs[ENERGY_MAX_CHANNELS], int *channels,
                   long *frames, char *errmsg, size_t size);

#endif
