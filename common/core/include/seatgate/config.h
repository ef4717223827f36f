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
    const char *env;    /* the variable when it is not <PREFIX><NAME> ("ARBITRIUM_PUBLIC_IP") */
    const char *alias;  /* an older name still accepted, as --alias and <PREFIX><ALIAS> */
    const char *choices; /* STRING only: the accepted values, "debug|info|warn" (NULL: any) */

    /* Filled by sg_config_load (or sg_config_reset / _load_env / _set). */
    const char *str;    /* effective text, NULL when unset; owned by the config */
    long long num;      /* parsed INT value, milliseconds, bytes, or 0/1 for BOOL */
    const char *source; /* "flag", "env", "file", "set", "default" or "unset" */
} sg_setting;

typedef struct sg_config {
    const char *program;    /* shown in --help and --version */
    const char *summary;    /* one line shown in --help */
    const char *env_prefix; /* e.g. "SEATGATE_" */
    sg_setting *settings;   /* the caller's table, or the config's own (sg_config_add) */
    size_t count;
    const char *usage;      /* operands shown after the settings in --help ("COMMAND ..."); with
                             * it, the first argument that is not a flag ends the settings and
                             * its index is left in `operands` */
    int operands;           /* set by sg_config_load: argv index of the first operand (argc when
                             * none) */
    void *priv; /* owned strings and table; released by sg_config_free */
} sg_config;

/* Appends copies of n settings (a program's own, or a shared fragment such as
 * sg_store_settings) to the config's table; the config then owns the table. Before loading.
 * Errors: SG_E_INVALID for a name already declared, SG_E_NOMEM. */
sg_status sg_config_add(sg_config *cfg, const sg_setting *settings, size_t n);

/* A program's own default for a shared setting (text copied). SG_E_INVALID: no such name. */
sg_status sg_config_set_default(sg_config *cfg, const char *name, const char *def);

/* A program's own wording of a shared setting: its help line and older name (each copied;
 * NULL keeps the fragment's). SG_E_INVALID: no such name. */
sg_status sg_config_set_text(sg_config *cfg, const char *name, const char *help,
                             const char *alias);

/* Reads argv (argv[0] is skipped) and the environment into cfg->settings:
 * sg_config_reset, sg_config_load_env, then the flags, then sg_config_check.
 * Returns SG_OK; SG_E_HELP after printing help or the version to stdout (the program should
 * exit 0); or SG_E_INVALID with sg_last_error() naming the flag and variable at fault (the
 * program should exit 2). --NAME=VALUE and --NAME VALUE both work; --version prints
 * "<program> <version>". */
sg_status sg_config_load(sg_config *cfg, int argc, char **argv);

/* The pieces of sg_config_load, for libraries whose settings are set one by one (the
 * gameserver hook's options). reset: every setting back to its default. load_env: each
 * variable that is set (or its _FILE form for a secret) replaces the current value; values
 * are checked as they are read. set: one setting by name (value copied; NULL unsets;
 * source "set"); the value is checked and the old one kept when it does not parse.
 * check: every setting parses and the required ones are set. */
void sg_config_reset(sg_config *cfg);
sg_status sg_config_load_env(sg_config *cfg);
sg_status sg_config_set(sg_config *cfg, const char *name, const char *value);
sg_status sg_config_check(sg_config *cfg);

void sg_config_print_help(const sg_config *cfg, FILE *out);

/* Logs the effective configuration: one line per setting at debug level, and one info line
 * naming the settings that are not at their default. Secrets show as "(set)"; user names,
 * passwords and query strings inside URLs show as "[redacted]". */
void sg_config_log(const sg_config *cfg, const char *comp);

/* Lookups by name (or alias); abort()s on a name the table does not declare (a programming
 * error). sg_config_find returns NULL instead. */
sg_setting *sg_config_find(const sg_config *cfg, const char *name);
const sg_setting *sg_config_get(const sg_config *cfg, const char *name);
const char *sg_config_str(const sg_config *cfg, const char *name); /* NULL when unset */
long long sg_config_num(const sg_config *cfg, const char *name);
bool sg_config_bool(const sg_config *cfg, const char *name);

/* Writes the environment variable name of a setting ("SEATGATE_LISTEN_PORT") into buf. */
const char *sg_setting_env_name(const sg_config *cfg, const sg_setting *s, char *buf,
                                size_t size);
const char *sg_config_env_name(const sg_config *cfg, const char *name, char *buf, size_t size);

void sg_config_free(sg_config *cfg);

/* Writes text and a newline to path whole: under path.tmp first, then renamed over path, so a
 * reader (a ready file's waiter, a healthcheck) never sees half of it. 0 on success, -1
 * (errno set) on failure. */
int sg_file_write_whole(const char *path, const char *text);

/* This build's version ("0.2.0"). */
const char *sg_version(void);

/* Parsers shared with code that reads values from other places. */
sg_status sg_duration_parse_ms(const char *text, long long *out_ms);
sg_status sg_size_parse(const char *text, long long *out_bytes);
sg_status sg_bool_parse(const char *text, bool *out);
sg_status sg_int_parse(const char *text, long long *out);

#ifdef __cplusplus
}
#endif
#endif
