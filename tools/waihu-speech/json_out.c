/* The CLI's JSON document, written by hand: flat, small, and no dependency. */
#include "speech_tool.h"

static void str(FILE *out, const char *s)
{
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(out, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(out, "\\u%04x", *p);
        else
            fputc(*p, out);
    }
    fputc('"', out);
}

static void channel(FILE *out, const struct speech_result *r, enum speech_channel ch)
{
    const struct speech_channel_signals *s = &r->signals.ch[ch];
    fprintf(out,
            "\"%s\":{\"speech_ms\":%u,\"speaking_ratio\":%.3f,\"silence_ratio\":%.3f,"
            "\"loudness_dbfs\":%.1f,\"rate_per_s\":%.2f,\"spurts\":%u,"
            "\"interruptions\":%u,\"hits\":[",
            speech_channel_name(ch), s->speech_ms, s->speaking_ratio, s->silence_ratio,
            s->loudness_dbfs, s->rate_per_s, s->spurts, s->interruptions);
    int first = 1;
    for (size_t i = 0; i < r->n_hits; i++) {
        const struct speech_hit *h = &r->hits[i];
        if (h->channel != ch)
            continue;
        fprintf(out, "%s{\"keyword\":", first ? "" : ",");
        str(out, h->phrase);
        fprintf(out, ",\"start_ms\":%u,\"end_ms\":%u,\"score\":%.2f}", h->start_ms, h->end_ms,
                h->score);
        first = 0;
    }
    fprintf(out, "]}");
}

void json_print(FILE *out, const char *file, const struct speech_result *r, double model_load_s)
{
    fprintf(out, "{\"file\":");
    str(out, file);
    fprintf(out,
            ",\"audio_s\":%.2f,\"processing_s\":%.3f,\"cpu_s\":%.3f,"
            "\"real_time_factor\":%.4f,\"model_load_s\":%.3f,\"truncated\":%s,"
            "\"score\":%d,\"reasons\":[",
            r->audio_s, r->processing_s, r->cpu_s,
            r->audio_s > 0 ? r->processing_s / r->audio_s : 0.0, model_load_s,
            r->truncated ? "true" : "false", r->score);
    for (size_t i = 0; i < r->n_reasons; i++) {
        fprintf(out, "%s{\"points\":%d,\"text\":", i ? "," : "", r->reasons[i].points);
        str(out, r->reasons[i].text);
        fputc('}', out);
    }
    fprintf(out, "],\"channels\":{");
    channel(out, r, SPEECH_CUSTOMER);
    fputc(',', out);
    channel(out, r, SPEECH_AGENT);
    fprintf(out,
            "},\"overlap_ms\":%u,\"mutual_silence_ratio\":%.3f,"
            "\"longest_silence_ms\":%u,\"duration_ms\":%u}\n",
            r->signals.overlap_ms, r->signals.mutual_silence_ratio, r->signals.longest_silence_ms,
            r->signals.duration_ms);
}
