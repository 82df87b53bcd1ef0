/* k8s_state_fuzz.c -- the events router's state file parser on arbitrary bytes: it
 * refuses or loads, never reads out of bounds, and a loaded table answers lookups. */
#include <stdint.h>
#include <stdlib.h>

#include "k8s/k8s_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cairn__seen t;
    struct cairn__state st = {0};
    if (cairn__seen_init(&t, 0) != 0)
        return 0;
    if (cairn__state_parse(data, size, &st, &t) == 0) {
        for (size_t i = 0; i < st.nrvs; i++)
            if (!cairn__state_get_rv(&st, st.rvs[i].path))
                abort();
        if (t.n > t.cap)
            abort();
    }
    cairn__state_deinit(&st);
    cairn__seen_deinit(&t);
    return 0;
}
