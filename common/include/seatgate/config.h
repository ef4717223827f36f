/* seatgate: one configuration convention for every program.
 *
 * A program declares a table of settings. Each setting named "store-url" is read from the
 * flag --store-url (or --store-url=VALUE), else from the environment variable
 * <PREFIX>STORE_URL (PREFIX is usually "SEATGATE_"), else from its default. A secret setting
 * can also come from a file: --store-url-file PATH or <PREFIX>STORE_URL_FILE (trailing
 * whitespace stripped), so keys need not sit in the environment or on a command line.
 * --help prints every setting with its flag, variable and default (secrets never shown).
 * An invalid value makes sg_config_load fail with a message naming the setting, never
 * echoing a secret value.
 */
#ifndef SEATGATE_CONFIG_H
#define SEATGATE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "seatgate/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sg_setting_type {
    SG_SET_STRING,   /* any text */
    SG_SET_INT,      /* decimal integer within [min, max] when min < max */
    SG_SET_BOOL,     /* true/false/yes/no/on/off/1/0; a bare flag means true */
    SG_SET_DURATION, /* "250ms", "2s", "5m", "1h" or "0"; num holds milliseconds */
    SG_SET_SIZE      /* "512", "4KiB", "2MiB", "1GiB"; num holds bytes */
} sg_setting_type;

#define SG_SET_SECRET 0x1u   /* never printed; also readable from a file */
#define SG_SET_REQUIRED 0x2u /* loading fails when no source sets it */

typedef struct sg_setting {
    const char *name; /* lower-case, dash-separated: "listen-port" */
    sg_setting_type type;
    const char *def;  /* default as text, or NULL for unset */
    const char *help; /* one line */
    unsigned flags;
    long long min, max; /* bounds for INT/DURATION(ms)/SIZE(bytes); ignored when min >= max */

    /* Filled by sg_config_load. */
    const char *str;    /* effective text, NULL when unset; owned by the config */
    long long num;      /* parsed INT value, milliseconds, bytes, or 0/1 for BOOL */
    const char *source; /* "flag", "env", "file", "default" or "unset" */
} sg_setting;

typedef struct sg_config {
    const char *program;    /* shown in --help */
    const char *summary;    /* one line shown in --help */
    const char *env_prefix; /* e.g. "SEATGATE_" */
    sg_setting *settings;
    size_t count;
    void *priv; /* owned strings; released by sg_config_free */
} sg_config;

/* Reads argv (argv[0] is skipped) and the environment into cfg->settings.
 * Returns SG_OK; SG_E_HELP after printing help to stdout (the program should exit 0);
 * or SG_E_INVALID with sg_last_error() naming the flag and variable at fault. */
sg_status sg_config_load(sg_config *cfg, int argc, char **argv);

void sg_config_print_help(const sg_config *cfg, FILE *out);

/* Logs the effective configuration at info level, secrets shown as "(set)". */
void sg_config_log(const sg_config *cfg, const char *comp);

/* Lookups by name; abort()s on a name the table does not declare (a programming error). */
const sg_setting *sg_config_get(const sg_config *cfg, const char *name);
const char *sg_config_str(const sg_config *cfg, const char *name); /* NULL when unset */
long long sg_config_num(const sg_config *cfg, const char *name);
bool sg_config_bool(const sg_config *cfg, const char *name);

/* Writes the environment variable name of a setting ("SEATGATE_LISTEN_PORT") into buf. */
const char *sg_config_env_name(const sg_config *cfg, const char *name, char *buf, size_t size);

void sg_config_free(sg_config *cfg);

/* Parsers shared with code that reads values from other places. */
sg_status sg_parse_duration_ms(const char *text, long long *out_ms);
sg_status sg_parse_size(const char *text, long long *out_bytes);
sg_status sg_parse_bool(const char *text, bool *out);
sg_status sg_parse_int(const char *text, long long *out);

#ifdef __cplusplus
}
#endif
#endif
