/* JSON reading and writing helpers shared by records.c and events.c.
 *
 * A reader carries the first error it met (sticky), so a parser reads every field in a row
 * and checks once at the end; messages name the record and the field. */
#ifndef SEATGATE_RECORDS_JSON_H
#define SEATGATE_RECORDS_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "seatgate/records.h"

#define JR_MAX_SAFE_INT 9007199254740992LL /* 2^53 */

typedef struct jr {
    const char *what; /* record name for messages */
    sg_status st;
} jr;

typedef enum jr_check {
    JR_TEXT = 0, /* any text */
    JR_KEY,      /* a valid store key */
    JR_IP,       /* an IPv4/IPv6 address without port */
    JR_CODE,     /* snake_case code */
    JR_HEX64,    /* 64 lower-case hex digits */
    JR_USER      /* a user id (sg_user_id_valid) */
} jr_check;

/* Parses text as one JSON object (trailing blanks allowed). NULL with r->st set on error. */
cJSON *jr_parse(jr *r, const char *json, size_t len);

bool jr_str(jr *r, const cJSON *o, const char *field, bool required, jr_check check, char *dst,
            size_t size);
bool jr_ms(jr *r, const cJSON *o, const char *field, bool required, long long *dst);
bool jr_int(jr *r, const cJSON *o, const char *field, bool required, long long min, long long max,
            long long *dst);
bool jr_double(jr *r, const cJSON *o, const char *field, double min, double max, double *dst,
               bool *present);
bool jr_client_id(jr *r, const cJSON *o, const char *field, bool required, uint64_t *dst);
/* Returns the index of the string value in names[0..n), or -1 (error set). */
int jr_enum(jr *r, const cJSON *o, const char *field, const char *const *names, int n);
const cJSON *jr_obj(jr *r, const cJSON *o, const char *field, bool required);

/* Fails with SG_E_MALFORMED naming the record and field (first error wins). */
bool jr_fail(jr *r, const char *field, const char *why);

/* Writers: add only non-empty strings / non-zero optional values. Track allocation failure
 * in *ok. */
void jw_str(cJSON *o, const char *field, const char *v, size_t size, bool *ok);
#define JW_STR(o, field, arr, ok) jw_str((o), (field), (arr), sizeof(arr), (ok))
void jw_num(cJSON *o, const char *field, double v, bool *ok);
void jw_client_id(cJSON *o, const char *field, uint64_t v, bool *ok);
cJSON *jw_obj(cJSON *o, const char *field, bool *ok);

/* Location object (city, country, continent, latitude, longitude). */
void jr_location(jr *r, const cJSON *o, sg_location *loc);
void jw_location(cJSON *o, const char *field, const sg_location *loc, bool *ok);

/* Prints o compactly into *out, then re-reads it with `check` so nothing invalid is
 * returned; a failed check becomes SG_E_INVALID. Frees o. */
sg_status jw_finish(cJSON *o, bool ok, const char *what,
                    sg_status (*check)(const char *json, size_t len, void *scratch), void *scratch,
                    char **out);

#endif
