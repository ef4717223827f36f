/* Prints the size and field offsets of the hook's public structs from the C header, in the
 * format seatgate-hook-sys's `layout` example prints them from the Rust declarations: the
 * Rust binding test compares the two. */
#include <stddef.h>
#include <stdio.h>

#include <seatgate/gameserver_hook.h>

#define FIELD(T, f) printf(#T " " #f " %zu\n", offsetof(T, f))

int main(void)
{
    printf("sg_hook_verdict size %zu\n", sizeof(sg_hook_verdict));
    FIELD(sg_hook_verdict, client_id);
    FIELD(sg_hook_verdict, accepted);
    FIELD(sg_hook_verdict, reason);
    FIELD(sg_hook_verdict, session_id);
    FIELD(sg_hook_verdict, source_ip);
    FIELD(sg_hook_verdict, message);
    printf("sg_hook_stats size %zu\n", sizeof(sg_hook_stats));
    FIELD(sg_hook_stats, verifies);
    FIELD(sg_hook_stats, accepted);
    FIELD(sg_hook_stats, rejected);
    FIELD(sg_hook_stats, disconnects);
    FIELD(sg_hook_stats, deletes_done);
    FIELD(sg_hook_stats, deletes_queued);
    FIELD(sg_hook_stats, events_published);
    FIELD(sg_hook_stats, full);
    FIELD(sg_hook_stats, players);
    FIELD(sg_hook_stats, pending);
    FIELD(sg_hook_stats, started);
    FIELD(sg_hook_stats, stopped);
    FIELD(sg_hook_stats, quiet);
    /* The enums the Rust crate mirrors as constants. */
    printf("SG_HOOK_REASON_COUNT %d\n", (int)SG_HOOK_REASON_COUNT);
    printf("SG_STATUS_COUNT %d\n", (int)SG_STATUS_COUNT);
    printf("SG_E_FULL %d\n", (int)SG_E_FULL);
    printf("SG_E_UNAVAILABLE %d\n", (int)SG_E_UNAVAILABLE);
    printf("SG_HOOK_REJECT_IP_LIMIT %d\n", (int)SG_HOOK_REJECT_IP_LIMIT);
    printf("SG_HOOK_DISCONNECT_REASON_COUNT %d\n", (int)SG_HOOK_DISCONNECT_REASON_COUNT);
    printf("SG_HOOK_LOG_OFF %d\n", (int)SG_HOOK_LOG_OFF);
    return 0;
}
