/* schedule.c - learning-rate schedule and the paper's default peak LRs
 * (models.md §1.5; sclaw_train.h). */
#include "sclaw_arch.h"
#include "sclaw_train.h"

#include <math.h>

double sclaw_lr_at(const struct sclaw_lr_schedule *s, int64_t step)
{
    const double lo = s->min_ratio * s->peak;
    const int64_t decay_end = s->total - s->cooldown;
    if (step < s->warmup)
        return s->peak * (double)(step + 1) / (double)s->warmup;
    if (step < decay_end) {
        /* cosine from peak (first step after warmup) to lo (at decay_end) */
        int64_t span = decay_end - s->warmup;
        double p = span > 0 ? (double)(step - s->warmup) / (double)span : 1.0;
        return lo + (s->peak - lo) * 0.5 * (1.0 + cos(M_PI * p));
    }
    if (s->cooldown <= 0)
        return lo;
    /* linear from lo to 0 over the last `cooldown` steps (reaches 0 after the last) */
    double left = (double)(s->total - step);
    return lo * left / (double)(s->cooldown + 1);
}

double sclaw_default_lr(const struct sclaw_config *c)
{
    return c->arch->default_lr ? c->arch->default_lr(c) : 1e-3;
}
