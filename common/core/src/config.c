#include "seatgate/config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "seatgate/log.h"

#ifndef SG_VERSION
#define SG_VERSION "0.0.0"
#endif

const char *sg_version(void)
{
    return SG_VERSION;
}

typedef struct owned_list {
    char **items;
    size_t count, cap;
} owned_list;

/* What a config owns: copies of texts (values read from files or set by callers, defaults
 * changed by the program) and, once sg_config_add was used, the table itself. */
typedef struct config_priv {
    owned_list strings;
    sg_setting *table; /* == cfg->settings when owned */
    size_t cap;
} config_priv;

static config_priv *priv_of(sg_config *cfg)
{
    if (!cfg->priv) cfg->priv = calloc(1, sizeof(config_priv));
    return cfg->priv;
}

static void wipe_free(char *s)
{
    if (!s) return;
    /* owned strings may hold secrets read from files */
    size_t n = strlen(s);
    volatile char *p = s;
    for (size_t j = 0; j < n; j++) p[j] = 0;
    free(s);
}

static char *keep(sg_config *cfg, char *s)
{
    if (!s) return NULL;
    config_priv *cp = priv_of(cfg);
    if (!cp) {
        wipe_free(s);
        return NULL;
    }
    owned_list *ol = &cp->strings;
    if (ol->count == ol->cap) {
        size_t cap = ol->cap ? ol->cap * 2 : 16;
        char **items = realloc(ol->items, cap * sizeof *items);
        if (!items) {
            wipe_free(s);
            return NULL;
        }
        ol->items = items;
        ol->cap = cap;
    }
    ol->items[ol->count++] = s;
    return s;
}

/* Forgets one owned string (a value replaced by sg_config_set), wiping it. */
static void drop(sg_config *cfg, const char *s)
{
    config_priv *cp = cfg->priv;
    if (!cp || !s) return;
    owned_list *ol = &cp->strings;
    for (size_t i = 0; i < ol->count; i++) {
        if (ol->items[i] != s) continue;
        wipe_free(ol->items[i]);
        ol->items[i] = ol->items[--ol->count];
        return;
    }
}

void sg_config_free(sg_config *cfg)
{
    config_priv *cp = cfg->priv;
    if (!cp) return;
    for (size_t i = 0; i < cp->strings.count; i++) wipe_free(cp->strings.items[i]);
    free(cp->strings.items);
    if (cp->table && cfg->settings == cp->table) {
        cfg->settings = NULL;
        cfg->count = 0;
    }
    free(cp->table);
    free(cp);
    cfg->priv = NULL;
}

sg_setting *sg_config_find(const sg_config *cfg, const char *name)
{
    if (!name) return NULL;
    for (size_t i = 0; i < cfg->count; i++)
        if (strcmp(cfg->settings[i].name, name) == 0) return &cfg->settings[i];
    for (size_t i = 0; i < cfg->count; i++)
        if (cfg->settings[i].alias && strcmp(cfg->settings[i].alias, name) == 0)
            return &cfg->settings[i];
    return NULL;
}

sg_status sg_config_add(sg_config *cfg, const sg_setting *settings, size_t n)
{
    config_priv *cp = priv_of(cfg);
    if (!cp) return sg_fail(SG_E_NOMEM, "settings: out of memory");
    for (size_t i = 0; i < n; i++)
        if (sg_config_find(cfg, settings[i].name))
            return sg_fail(SG_E_INVALID, "settings: --%s is declared twice", settings[i].name);
    if (cfg->settings != cp->table || cfg->count + n > cp->cap) {
        size_t cap = cp->cap ? cp->cap : 32;
        while (cap < cfg->count + n) cap *= 2;
        sg_setting *t = malloc(cap * sizeof *t);
        if (!t) return sg_fail(SG_E_NOMEM, "settings: out of memory");
        if (cfg->count) memcpy(t, cfg->settings, cfg->count * sizeof *t);
        free(cp->table);
        cp->table = t;
        cp->cap = cap;
        cfg->settings = t;
    }
    memcpy(cfg->settings + cfg->count, settings, n * sizeof *settings);
    cfg->count += n;
    return SG_OK;
}

sg_status sg_config_set_default(sg_config *cfg, const char *name, const char *def)
{
    sg_setting *s = sg_config_find(cfg, name);
    if (!s) return sg_fail(SG_E_INVALID, "settings: no setting --%s", name ? name : "");
    if (!def) {
        s->def = NULL;
        return SG_OK;
    }
    char *copy = keep(cfg, strdup(def));
    if (!copy) return sg_fail(SG_E_NOMEM, "settings: out of memory");
    s->def = copy;
    return SG_OK;
}

sg_status sg_config_set_text(sg_config *cfg, const char *name, const char *help,
                             const char *alias)
{
    sg_setting *s = sg_config_find(cfg, name);
    if (!s) return sg_fail(SG_E_INVALID, "settings: no setting --%s", name ? name : "");
    char *h = help ? keep(cfg, strdup(help)) : NULL;
    char *a = alias ? keep(cfg, strdup(alias)) : NULL;
    if ((help && !h) || (alias && !a)) return sg_fail(SG_E_NOMEM, "settings: out of memory");
    if (h) s->help = h;
    if (a) s->alias = a;
    return SG_OK;
}

static void env_name_of(const char *prefix, const char *name, char *buf, size_t size)
{
    size_t o = 0;
    for (const char *p = prefix ? prefix : ""; *p && o + 1 < size; p++) buf[o++] = *p;
    for (const char *p = name; *p && o + 1 < size; p++)
        buf[o++] = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
    if (size) buf[o < size ? o : size - 1] = '\0';
}

const char *sg_setting_env_name(const sg_config *cfg, const sg_setting *s, char *buf, size_t size)
{
    if (s->env)
        snprintf(buf, size, "%s", s->env);
    else
        env_name_of(cfg->env_prefix, s->name, buf, size);
    return buf;
}

const char *sg_config_env_name(const sg_config *cfg, const char *name, char *buf, size_t size)
{
    const sg_setting *s = sg_config_find(cfg, name);
    if (s) return sg_setting_env_name(cfg, s, buf, size);
    env_name_of(cfg->env_prefix, name, buf, size);
    return buf;
}

sg_status sg_int_parse(const char *text, long long *out)
{
    if (!text || !*text) return sg_fail(SG_E_INVALID, "expected an integer, got an empty value");
    errno = 0;
    char *end = NULL;
    long long v = strtoll(text, &end, 10);
    if (errno || !end || *end || isspace((unsigned char)*text))
        return sg_fail(SG_E_INVALID, "expected an integer");
    *out = v;
    return SG_OK;
}

sg_status sg_bool_parse(const char *text, bool *out)
{
    static const char *const yes[] = {"1", "true", "yes", "on"};
    static const char *const no[] = {"0", "false", "no", "off"};
    for (size_t i = 0; text && i < 4; i++) {
        if (strcasecmp(text, yes[i]) == 0) return (*out = true), SG_OK;
        if (strcasecmp(text, no[i]) == 0) return (*out = false), SG_OK;
    }
    return sg_fail(SG_E_INVALID, "expected true or false");
}

/* Parses "<digits><unit>" where unit is looked up in units[]; returns value * factor. */
static sg_status parse_scaled(const char *text, const char *const *units,
                              const long long *factors, size_t n_units, bool unit_optional,
                              long long *out)
{
    if (!text || !*text) return SG_E_INVALID;
    const char *p = text;
    if (!isdigit((unsigned char)*p)) return SG_E_INVALID;
    errno = 0;
    char *end = NULL;
    unsigned long long v = strtoull(p, &end, 10);
    if (errno || end == p) return SG_E_INVALID;
    if (*end == '\0') {
        if (!unit_optional && v != 0) return SG_E_INVALID;
        if (v > LLONG_MAX) return SG_E_INVALID;
        *out = (long long)v;
        return SG_OK;
    }
    for (size_t i = 0; i < n_units; i++) {
        if (strcmp(end, units[i]) == 0) {
            if (v > (unsigned long long)(LLONG_MAX / factors[i])) return SG_E_INVALID;
            *out = (long long)v * factors[i];
            return SG_OK;
        }
    }
    return SG_E_INVALID;
}

sg_status sg_duration_parse_ms(const char *text, long long *out_ms)
{
    static const char *const units[] = {"ms", "s", "m", "h"};
    static const long long factors[] = {1, 1000, 60000, 3600000};
    if (parse_scaled(text, units, factors, 4, false, out_ms) != SG_OK)
        return sg_fail(SG_E_INVALID, "expected a duration such as 250ms, 5s, 2m or 1h");
    return SG_OK;
}

sg_status sg_size_parse(const char *text, long long *out_bytes)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "K", "M", "G"};
    static const long long factors[] = {1, 1024, 1048576, 1073741824, 1024, 1048576, 1073741824};
    if (parse_scaled(text, units, factors, 7, true, out_bytes) != SG_OK)
        return sg_fail(SG_E_INVALID, "expected a size such as 512, 4KiB or 2MiB");
    return SG_OK;
}

static const char *type_hint(const sg_setting *s)
{
    switch (s->type) {
    case SG_SET_INT: return "N";
    case SG_SET_BOOL: return "BOOL";
    case SG_SET_DURATION: return "DURATION";
    case SG_SET_SIZE: return "SIZE";
    default: return "VALUE";
    }
}

/* Reads a secret from a file; strips trailing whitespace. */
static sg_status read_secret_file(sg_config *cfg, const char *path, const char **out)
{
    FILE *f = fopen(path, "rb");
    if (!f) return sg_fail(SG_E_IO, "cannot open %s: %s", path, strerror(errno));
    size_t cap = 256, len = 0;
    char *buf = malloc(cap);
    if (!buf) {
        fclose(f);
        return SG_E_NOMEM;
    }
    for (;;) {
        if (len + 1 >= cap) {
            if (cap >= 1u << 20) {
                wipe_free(buf);
                fclose(f);
                return sg_fail(SG_E_TOO_LARGE, "%s is larger than 1 MiB", path);
            }
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                wipe_free(buf);
                fclose(f);
                return SG_E_NOMEM;
            }
            buf = nb;
            cap *= 2;
        }
        size_t r = fread(buf + len, 1, cap - 1 - len, f);
        if (r == 0) break;
        len += r;
    }
    int err = ferror(f);
    fclose(f);
    if (err) {
        free(buf);
        return sg_fail(SG_E_IO, "cannot read %s", path);
    }
    while (len > 0 && isspace((unsigned char)buf[len - 1])) len--;
    buf[len] = '\0';
    *out = keep(cfg, buf);
    return *out ? SG_OK : SG_E_NOMEM;
}

/* A value from a "a|b|c" list (exact match), else an error listing them. */
static sg_status check_choice(const char *choices, const char *v)
{
    if (!choices) return SG_OK;
    size_t n = strlen(v);
    for (const char *p = choices; *p;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && strncmp(p, v, n) == 0) return SG_OK;
        p += len + (bar ? 1 : 0);
    }
    char list[256];
    size_t o = 0;
    for (const char *p = choices; *p && o + 3 < sizeof list; p++) {
        if (*p == '|') {
            list[o++] = ',';
            list[o++] = ' ';
        } else {
            list[o++] = *p;
        }
    }
    list[o] = '\0';
    return sg_fail(SG_E_INVALID, "expected one of %s", list);
}

/* Parses s->str into s->num; an error names the setting, its variable and where the value
 * came from, and quotes the value unless it is a secret (URLs redacted). */
static sg_status parse_value(const sg_config *cfg, sg_setting *s)
{
    char env[128];
    sg_setting_env_name(cfg, s, env, sizeof env);
    const bool secret = s->flags & SG_SET_SECRET;
    if (!s->str) {
        s->num = 0;
        return SG_OK;
    }
    sg_status st = SG_OK;
    bool b = false;
    switch (s->type) {
    case SG_SET_STRING:
        st = check_choice(s->choices, s->str);
        break;
    case SG_SET_INT: st = sg_int_parse(s->str, &s->num); break;
    case SG_SET_BOOL:
        st = sg_bool_parse(s->str, &b);
        s->num = b;
        break;
    case SG_SET_DURATION: st = sg_duration_parse_ms(s->str, &s->num); break;
    case SG_SET_SIZE: st = sg_size_parse(s->str, &s->num); break;
    }
    if (st != SG_OK) {
        if (secret)
            return sg_fail(SG_E_INVALID, "invalid value for --%s (%s, from %s): %s", s->name,
                           env, s->source, sg_last_error());
        char r[160], q[200];
        sg_log_redact_url(s->str, r, sizeof r);
        return sg_fail(SG_E_INVALID, "invalid value %s for --%s (%s, from %s): %s",
                       sg_log_quote(r, q, sizeof q), s->name, env, s->source, sg_last_error());
    }
    if (s->type != SG_SET_BOOL && s->min < s->max && (s->num < s->min || s->num > s->max)) {
        if (s->type == SG_SET_DURATION)
            return sg_fail(SG_E_INVALID, "--%s (%s) must be between %lldms and %lldms", s->name,
                           env, s->min, s->max);
        return sg_fail(SG_E_INVALID, "--%s (%s) must be between %lld and %lld", s->name, env,
                       s->min, s->max);
    }
    return SG_OK;
}

/* Gives s a new value from a source, keeping the old one when it does not parse. */
static sg_status assign(sg_config *cfg, sg_setting *s, const char *value, const char *source)
{
    const char *old_str = s->str, *old_source = s->source;
    long long old_num = s->num;
    s->str = value;
    s->source = value ? source : (s->def ? "default" : "unset");
    sg_status st = parse_value(cfg, s);
    if (st != SG_OK) {
        s->str = old_str;
        s->source = old_source;
        s->num = old_num;
    }
    return st;
}

void sg_config_reset(sg_config *cfg)
{
    for (size_t i = 0; i < cfg->count; i++) {
        sg_setting *s = &cfg->settings[i];
        s->str = s->def;
        s->source = s->def ? "default" : "unset";
        s->num = 0;
        if (parse_value(cfg, s) != SG_OK) s->num = 0; /* a bad default is caught by check */
    }
}

/* The text the environment gives s: its variable (or its alias's), else for a secret the
 * _FILE form of either. SG_OK with *value and *source, SG_E_NOT_FOUND when nothing is set,
 * SG_E_INVALID (naming the variable) when a file cannot be read. */
static sg_status env_value(sg_config *cfg, sg_setting *s, const char **value, const char **source)
{
    char env[2][128];
    sg_setting_env_name(cfg, s, env[0], sizeof env[0]);
    env[1][0] = '\0';
    if (s->alias) env_name_of(cfg->env_prefix, s->alias, env[1], sizeof env[1]);
    for (int k = 0; k < 2; k++) {
        const char *v = env[k][0] ? getenv(env[k]) : NULL;
        if (v) {
            *value = v;
            *source = "env";
            return SG_OK;
        }
    }
    if (!(s->flags & SG_SET_SECRET)) return SG_E_NOT_FOUND;
    for (int k = 0; k < 2; k++) {
        if (!env[k][0]) continue;
        char fenv[160];
        snprintf(fenv, sizeof fenv, "%.127s_FILE", env[k]);
        const char *path = getenv(fenv);
        if (!path) continue;
        if (read_secret_file(cfg, path, value) != SG_OK)
            return sg_fail(SG_E_INVALID, "%s: %s", fenv, sg_last_error());
        *source = "file";
        return SG_OK;
    }
    return SG_E_NOT_FOUND;
}

sg_status sg_config_load_env(sg_config *cfg)
{
    for (size_t i = 0; i < cfg->count; i++) {
        sg_setting *s = &cfg->settings[i];
        const char *v = NULL, *src = NULL;
        sg_status st = env_value(cfg, s, &v, &src);
        if (st == SG_E_NOT_FOUND) continue;
        if (st == SG_OK) st = assign(cfg, s, v, src);
        if (st != SG_OK) return st;
    }
    return SG_OK;
}

sg_status sg_config_set(sg_config *cfg, const char *name, const char *value)
{
    sg_setting *s = sg_config_find(cfg, name);
    if (!s) return sg_fail(SG_E_INVALID, "unknown setting '%.64s'", name ? name : "");
    const char *old = s->str;
    char *copy = NULL;
    if (value && !(copy = keep(cfg, strdup(value)))) return sg_fail(SG_E_NOMEM, "out of memory");
    sg_status st = value ? assign(cfg, s, copy, "set") : assign(cfg, s, s->def, "default");
    if (st != SG_OK) {
        drop(cfg, copy);
        return st;
    }
    if (old != s->str && old != s->def) drop(cfg, old);
    return SG_OK;
}

sg_status sg_config_check(sg_config *cfg)
{
    for (size_t i = 0; i < cfg->count; i++) {
        sg_setting *s = &cfg->settings[i];
        if (!s->str && (s->flags & SG_SET_REQUIRED)) {
            char env[128];
            sg_setting_env_name(cfg, s, env, sizeof env);
            return sg_fail(SG_E_INVALID, "--%s (%s) is required%s", s->name, env,
                           (s->flags & SG_SET_SECRET)
                               ? "; it can also be given in a file with --<name>-file"
                               : "");
        }
        sg_status st = parse_value(cfg, s);
        if (st != SG_OK) return st;
    }
    return SG_OK;
}

static sg_setting *find_flag(sg_config *cfg, const char *name, size_t len)
{
    char buf[128];
    if (len >= sizeof buf) return NULL;
    memcpy(buf, name, len);
    buf[len] = '\0';
    return sg_config_find(cfg, buf);
}

sg_status sg_config_load(sg_config *cfg, int argc, char **argv)
{
    sg_config_reset(cfg);
    cfg->operands = argc;
    /* environment, then flags; every value is checked once all are read */
    for (size_t i = 0; i < cfg->count; i++) {
        sg_setting *s = &cfg->settings[i];
        const char *v = NULL, *src = NULL;
        sg_status st = env_value(cfg, s, &v, &src);
        if (st == SG_E_NOT_FOUND) continue;
        if (st != SG_OK) return st;
        s->str = v;
        s->source = src;
    }
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            sg_config_print_help(cfg, stdout);
            return SG_E_HELP;
        }
        if (strcmp(arg, "--version") == 0) {
            printf("%s %s\n", cfg->program ? cfg->program : "seatgate", sg_version());
            return SG_E_HELP;
        }
        if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0') {
            if (cfg->usage) {
                cfg->operands = strcmp(arg, "--") == 0 ? i + 1 : i;
                break;
            }
            return sg_fail(SG_E_INVALID,
                           "unexpected argument '%.64s' (settings are --name VALUE; see --help)",
                           arg);
        }
        const char *name = arg + 2;
        const char *eq = strchr(name, '=');
        size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
        bool from_file = false;
        sg_setting *s = find_flag(cfg, name, nlen);
        if (!s && nlen > 5 && strncmp(name + nlen - 5, "-file", 5) == 0) {
            s = find_flag(cfg, name, nlen - 5);
            if (s && !(s->flags & SG_SET_SECRET)) s = NULL;
            from_file = s != NULL;
        }
        bool negated = false;
        if (!s && nlen > 3 && strncmp(name, "no-", 3) == 0) {
            s = find_flag(cfg, name + 3, nlen - 3);
            if (s && s->type != SG_SET_BOOL) s = NULL;
            negated = s != NULL;
        }
        if (!s) return sg_fail(SG_E_INVALID, "unknown option --%.*s (see --help)", (int)nlen, name);
        const char *value = NULL;
        if (eq) {
            value = eq + 1;
        } else if (s->type == SG_SET_BOOL && !from_file) {
            value = negated ? "false" : "true";
        } else if (i + 1 < argc) {
            value = argv[++i];
        } else {
            return sg_fail(SG_E_INVALID, "--%.*s needs a value", (int)nlen, name);
        }
        if (negated && eq) return sg_fail(SG_E_INVALID, "--no-%s takes no value", s->name);
        if (from_file) {
            sg_status st = read_secret_file(cfg, value, &s->str);
            if (st != SG_OK) return sg_fail(SG_E_INVALID, "--%s-file: %s", s->name, sg_last_error());
            s->source = "file";
        } else {
            s->str = value;
            s->source = "flag";
        }
    }
    return sg_config_check(cfg);
}

void sg_config_print_help(const sg_config *cfg, FILE *out)
{
    fprintf(out, "Usage: %s [--setting VALUE]...%s%s\n", cfg->program ? cfg->program : "seatgate",
            cfg->usage ? " " : "", cfg->usage ? cfg->usage : "");
    if (cfg->summary) fprintf(out, "%s\n", cfg->summary);
    fprintf(out, "\nEvery setting is a flag (--name VALUE or --name=VALUE) or an environment "
                 "variable (the flag wins).\n"
                 "Secrets can also be read from a file: --NAME-file PATH or VARIABLE_FILE.\n\n");
    for (size_t i = 0; i < cfg->count; i++) {
        const sg_setting *s = &cfg->settings[i];
        char env[128];
        sg_setting_env_name(cfg, s, env, sizeof env);
        fprintf(out, "  --%s %s\n      env %s", s->name, type_hint(s), env);
        if (s->flags & SG_SET_SECRET) fprintf(out, " (secret; or %s_FILE)", env);
        if (s->flags & SG_SET_REQUIRED)
            fprintf(out, ", required");
        else if (s->def && !(s->flags & SG_SET_SECRET))
            fprintf(out, ", default %s", *s->def ? s->def : "\"\"");
        else
            fprintf(out, ", default unset");
        if (s->choices) fprintf(out, "; one of %s", s->choices);
        if (s->alias) {
            char aenv[128];
            env_name_of(cfg->env_prefix, s->alias, aenv, sizeof aenv);
            fprintf(out, "; also --%s / %s (older name)", s->alias, aenv);
        }
        fprintf(out, "\n      %s\n", s->help ? s->help : "");
    }
    fprintf(out, "  --help, -h\n      print this help and exit\n"
                 "  --version\n      print the version and exit\n");
}

/* The value as logs may show it: "(unset)", "(set)" for a secret, URLs redacted. */
static const char *shown_value(const sg_setting *s, char *buf, size_t size)
{
    if (!s->str) return "(unset)";
    if (s->flags & SG_SET_SECRET) return "(set)";
    return sg_log_redact_url(s->str, buf, size);
}

void sg_config_log(const sg_config *cfg, const char *comp)
{
    char changed[1200] = "";
    size_t used = 0, n_changed = 0;
    for (size_t i = 0; i < cfg->count; i++) {
        const sg_setting *s = &cfg->settings[i];
        char r[256], q[300];
        const char *v = sg_log_quote(shown_value(s, r, sizeof r), q, sizeof q);
        sg_log(SG_LOG_DEBUG, comp, "setting", "name=%s value=%s source=%s", s->name, v,
               s->source);
        bool is_default = strcmp(s->source, "default") == 0 || strcmp(s->source, "unset") == 0;
        if (is_default) continue;
        n_changed++;
        int w = snprintf(changed + used, sizeof changed - used, "%s%s=%s", used ? " " : "",
                         s->name, shown_value(s, r, sizeof r));
        if (w > 0 && (size_t)w < sizeof changed - used) used += (size_t)w;
    }
    char q[1300];
    sg_log(SG_LOG_INFO, comp, "config", "version=%s settings=%zu changed=%zu values=%s",
           sg_version(), cfg->count, n_changed, sg_log_quote(changed, q, sizeof q));
}

const sg_setting *sg_config_get(const sg_config *cfg, const char *name)
{
    const sg_setting *s = sg_config_find(cfg, name);
    if (s) return s;
    fprintf(stderr, "seatgate: setting '%s' is not declared\n", name);
    abort();
}

const char *sg_config_str(const sg_config *cfg, const char *name)
{
    return sg_config_get(cfg, name)->str;
}

long long sg_config_num(const sg_config *cfg, const char *name)
{
    return sg_config_get(cfg, name)->num;
}

bool sg_config_bool(const sg_config *cfg, const char *name)
{
    return sg_config_get(cfg, name)->num != 0;
}

int sg_file_write_whole(const char *path, const char *text)
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
        errno = ENAMETOOLONG;
        return -1;
    }
    FILE *f = fopen(tmp, "w");
    if (!f) return -1;
    bool ok = fprintf(f, "%s\n", text) >= 0;
    if (fclose(f) != 0 || !ok) {
        unlink(tmp);
        return -1;
    }
    return rename(tmp, path);
}
