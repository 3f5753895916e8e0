/* Private to tools/waihu-speech. */
#ifndef WAIHU_SPEECH_TOOL_H
#define WAIHU_SPEECH_TOOL_H

#include <stdio.h>

#include "speech.h"

/* Prints r as one JSON document (docs/speech.md, "CLI") followed by a newline. */
void json_print(FILE *out, const char *file, const struct speech_result *r, double model_load_s);

#endif
