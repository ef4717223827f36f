#include "seatgate/config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "seatgate/log.h"

typedef struct owned_list {
    char **items;
    size_t count, cap;
} owned_list;

static char *keep(sg_config *cfg, char *s)
{
    if (!s) return NULL;
    owned_list *ol = cfg->priv;
    if (!ol) {
        ol = calloc(1, sizeof *ol);
        if (!ol) return NULL;
        cfg->priv = ol;
    }
    if (ol->count == ol->cap) {
        size_t cap = ol->cap ? ol->cap * 2 : 16;
        char **items = realloc(ol->items, cap * sizeof *items);
        if (!items) return NULL;
        ol->items = items;
        ol->cap = cap;
    }
    ol->items[ol->count++] = s;
    return s;
}

void sg_config_free(sg_config *cfg)
{
    owned_list *ol = cfg->priv;
    if (!ol) return;
    for (size_t i = 0; i < ol->count; i++) {
        /* owned strings may hold secrets read from files */
        size_t n = strlen(ol->items[i]);
        volatile char *p = ol->items[i];
        for (size_t j = 0; j < n; j++) p[j] = 0;
        free(ol->items[i]);
    }
    free(ol->items);
    free(ol);
    cfg->priv = NULL;
}

const char *sg_config_env_name(const sg_config *cfg, const char *name, char *buf, size_t size)
{
    size_t o = 0;
    const char *prefix = cfg->env_prefix ? cfg->env_prefix : "";
    for (const char *p = prefix; *p && o + 1 < size; p++) buf[o++] = *p;
    for (const char *p = name; *p && o + 1 < size; p++)
        buf[o++] = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
    if (size) buf[o < size ? o : size - 1] = '\0';
    return buf;
}

sg_status sg_parse_int(const char *text, long long *out)
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

sg_status sg_parse_bool(const char *text, bool *out)
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

sg_status sg_parse_duration_ms(const char *text, long long *out_ms)
{
    static const char *const units[] = {"ms", "s", "m", "h"};
    static const long long factors[] = {1, 1000, 60000, 3600000};
    if (parse_scaled(text, units, factors, 4, false, out_ms) != SG_OK)
        return sg_fail(SG_E_INVALID, "expected a duration such as 250ms, 5s, 2m or 1h");
    return SG_OK;
}

sg_status sg_parse_size(const char *text, long long *out_bytes)
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
                free(buf);
                fclose(f);
                return sg_fail(SG_E_TOO_LARGE, "%s is larger than 1 MiB", path);
            }
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
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

static sg_status validate(sg_config *cfg, sg_setting *s)
{
    char env[128];
    sg_config_env_name(cfg, s->name, env, sizeof env);
    const bool secret = s->flags & SG_SET_SECRET;
    if (!s->str) {
        if (s->flags & SG_SET_REQUIRED)
            return sg_fail(SG_E_INVALID, "--%s (%s) is required%s", s->name, env,
                           secret ? "; it can also be given in a file with --<name>-file" : "");
        s->num = 0;
        return SG_OK;
    }
    sg_status st = SG_OK;
    bool b = false;
    switch (s->type) {
    case SG_SET_STRING: return SG_OK;
    case SG_SET_INT: st = sg_parse_int(s->str, &s->num); break;
    case SG_SET_BOOL:
        st = sg_parse_bool(s->str, &b);
        s->num = b;
        break;
    case SG_SET_DURATION: st = sg_parse_duration_ms(s->str, &s->num); break;
    case SG_SET_SIZE: st = sg_parse_size(s->str, &s->num); break;
    }
    if (st != SG_OK) {
        char why[200];
        snprintf(why, sizeof why, "%s", sg_last_error());
        if (secret)
            return sg_fail(SG_E_INVALID, "invalid value for --%s (%s, from %s): %s", s->name,
                           env, s->source, why);
        char q[160];
        return sg_fail(SG_E_INVALID, "invalid value %s for --%s (%s, from %s): %s",
                       sg_log_quote(s->str, q, sizeof q), s->name, env, s->source, why);
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

static sg_setting *find(sg_config *cfg, const char *name, size_t len)
{
    for (size_t i = 0; i < cfg->count; i++)
        if (strlen(cfg->settings[i].name) == len && strncmp(cfg->settings[i].name, name, len) == 0)
            return &cfg->settings[i];
    return NULL;
}

sg_status sg_config_load(sg_config *cfg, int argc, char **argv)
{
    /* defaults, then environment */
    for (size_t i = 0; i < cfg->count; i++) {
        sg_setting *s = &cfg->settings[i];
        s->str = s->def;
        s->source = s->def ? "default" : "unset";
        char env[128];
        sg_config_env_name(cfg, s->name, env, sizeof env);
        const char *v = getenv(env);
        if (v) {
            s->str = v;
            s->source = "env";
        } else if (s->flags & SG_SET_SECRET) {
            char fenv[140];
            snprintf(fenv, sizeof fenv, "%s_FILE", env);
            const char *path = getenv(fenv);
            if (path) {
                sg_status st = read_secret_file(cfg, path, &s->str);
                if (st != SG_OK)
                    return sg_fail(SG_E_INVALID, "%s: %s", fenv, sg_last_error());
                s->source = "file";
            }
        }
    }
    /* flags override */
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            sg_config_print_help(cfg, stdout);
            return SG_E_HELP;
        }
        if (strncmp(arg, "--", 2) != 0)
            return sg_fail(SG_E_INVALID, "unexpected argument '%.64s' (settings are --name VALUE; see --help)", arg);
        const char *name = arg + 2;
        const char *eq = strchr(name, '=');
        size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
        bool from_file = false;
        sg_setting *s = find(cfg, name, nlen);
        if (!s && nlen > 5 && strncmp(name + nlen - 5, "-file", 5) == 0) {
            s = find(cfg, name, nlen - 5);
            if (s && !(s->flags & SG_SET_SECRET)) s = NULL;
            from_file = s != NULL;
        }
        bool negated = false;
        if (!s && nlen > 3 && strncmp(name, "no-", 3) == 0) {
            s = find(cfg, name + 3, nlen - 3);
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
    for (size_t i = 0; i < cfg->count; i++) {
        sg_status st = validate(cfg, &cfg->settings[i]);
        if (st != SG_OK) return st;
    }
    return SG_OK;
}

void sg_config_print_help(const sg_config *cfg, FILE *out)
{
    fprintf(out, "Usage: %s [--setting VALUE]...\n", cfg->program ? cfg->program : "seatgate");
    if (cfg->summary) fprintf(out, "%s\n", cfg->summary);
    fprintf(out, "\nEvery setting is a flag or an environment variable (the flag wins).\n"
                 "Secrets can also be read from a file: --NAME-file PATH or VARIABLE_FILE.\n\n");
    for (size_t i = 0; i < cfg->count; i++) {
        const sg_setting *s = &cfg->settings[i];
        char env[128];
        sg_config_env_name(cfg, s->name, env, sizeof env);
        fprintf(out, "  --%s %s\n      env %s", s->name, type_hint(s), env);
        if (s->flags & SG_SET_SECRET) fprintf(out, " (secret; or %s_FILE)", env);
        if (s->flags & SG_SET_REQUIRED)
            fprintf(out, ", required");
        else if (s->def && !(s->flags & SG_SET_SECRET))
            fprintf(out, ", default %s", *s->def ? s->def : "\"\"");
        else
            fprintf(out, ", default unset");
        fprintf(out, "\n      %s\n", s->help ? s->help : "");
    }
    fprintf(out, "  --help\n      print this help and exit\n");
}

void sg_config_log(const sg_config *cfg, const char *comp)
{
    for (size_t i = 0; i < cfg->count; i++) {
        const sg_setting *s = &cfg->settings[i];
        char q[256];
        const char *v = !s->str ? "(unset)" : (s->flags & SG_SET_SECRET) ? "(set)" : s->str;
        sg_log(SG_LOG_INFO, comp, "setting", "name=%s value=%s source=%s", s->name,
               sg_log_quote(v, q, sizeof q), s->source);
    }
}

const sg_setting *sg_config_get(const sg_config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->count; i++)
        if (strcmp(cfg->settings[i].name, name) == 0) return &cfg->settings[i];
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
