/* arch.c - the table of model families (sclaw_arch.h). Adding a family is one
 * line here plus its own files. */
#include "sclaw_arch.h"

#include <string.h>

const struct sclaw_arch *const sclaw_archs[] = {
    &sclaw_arch_mlstm,
    &sclaw_arch_llama,
    NULL,
};

const struct sclaw_arch *sclaw_arch_find(const char *name)
{
    for (int i = 0; sclaw_archs[i]; i++) {
        const struct sclaw_arch *a = sclaw_archs[i];
        if (!strcmp(a->name, name) || (a->alias && !strcmp(a->alias, name)))
            return a;
    }
    return NULL;
}
