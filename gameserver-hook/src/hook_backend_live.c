/* The production backend: the state store (connect_tokens, sessions, contexts, gameserver,
 * events, the durable delete queue) and the Edgegap client. */
#include "hook_internal.h"

sg_status hook_backend_live_new(const sg_hook_options *o, hook_backend *out)
{
    (void)o;
    (void)out;
    return sg_fail(SG_E_UNAVAILABLE, "hook: this build has no state store backend");
}
