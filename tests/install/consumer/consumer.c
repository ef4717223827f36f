/* A game server's first lines against the installed hook: only the public header and the
 * installed library (shared or static). It checks what a game relies on before it links
 * more: the version macros, a refused setting with its message, the user-data reader, and
 * the log sink. Exits 0 and prints "consumer ok" when all hold. */
#include <stdio.h>
#include <string.h>

#include <seatgate/gameserver_hook.h>

static int lines;
static void sink(int level, const char *line, void *user)
{
    (void)level;
    (void)user;
    if (strstr(line, "comp=hook")) lines++;
}

int main(void)
{
    if (strcmp(SG_HOOK_VERSION_TEXT, EXPECTED_VERSION) != 0) {
        fprintf(stderr, "consumer: header says %s, expected %s\n", SG_HOOK_VERSION_TEXT,
                EXPECTED_VERSION);
        return 1;
    }
    sg_hook_log_set_sink(sink, NULL);
    sg_hook_options *o = NULL;
    if (sg_hook_options_new(&o) != SG_OK) return 1;
    if (sg_hook_options_set(o, "store-url", "redis://127.0.0.1:6379") != SG_OK ||
        sg_hook_options_set(o, "arbitrium-context-url", "http://127.0.0.1:9/context") != SG_OK ||
        sg_hook_options_set(o, "arbitrium-context-token", "t") != SG_OK) {
        fprintf(stderr, "consumer: set: %s\n", sg_last_error());
        return 1;
    }
    sg_hook *h = NULL;
    sg_status st = sg_hook_new(o, &h);
    if (st != SG_E_INVALID || h || !strstr(sg_last_error(), "--store-url: unknown scheme")) {
        fprintf(stderr, "consumer: sg_hook_new gave %s: %s\n", sg_status_name(st), sg_last_error());
        return 1;
    }
    uint8_t ud[256] = {4, 'a', 'b', 'c', 'd'};
    char sid[256];
    if (sg_hook_session_from_user_data(ud, sid, sizeof sid) != SG_OK || strcmp(sid, "abcd") != 0) {
        fprintf(stderr, "consumer: user data: %s\n", sg_last_error());
        return 1;
    }
    sg_hook_options_free(o);
    sg_hook_log_set_sink(NULL, NULL);
    printf("consumer ok\n");
    return 0;
}
