/* sclaw.h - umbrella header of libsclaw, the library behind the sclaw tool.
 *
 * sclaw measures how language-model architectures scale: exact compute
 * accounting (sclaw_account.h), tokenizer and token data (sclaw_data.h), model
 * configs (sclaw_config.h) and the family table (sclaw_arch.h), kernels
 * (sclaw_kernels.h), models (sclaw_model.h, sclaw_tensor.h), training
 * (sclaw_train.h, sclaw_dist.h for MPI), inference (sclaw_infer.h), studies (sclaw_study.h), scaling-law
 * fits (sclaw_fit.h), runtime models of inference (sclaw_runtime.h), files
 * (sclaw_io.h, sclaw_safetensors.h), figures (sclaw_plot.h), reports
 * (sclaw_report.h), errors (sclaw_status.h).
 */
#ifndef SCLAW_H
#define SCLAW_H

#define SCLAW_VERSION "0.1.0"

#include "sclaw_account.h"
#include "sclaw_arch.h"
#include "sclaw_config.h"
#include "sclaw_data.h"
#include "sclaw_dist.h"
#include "sclaw_fit.h"
#include "sclaw_infer.h"
#include "sclaw_io.h"
#include "sclaw_kernels.h"
#include "sclaw_model.h"
#include "sclaw_plot.h"
#include "sclaw_report.h"
#include "sclaw_runtime.h"
#include "sclaw_safetensors.h"
#include "sclaw_status.h"
#include "sclaw_study.h"
#include "sclaw_tensor.h"
#include "sclaw_threads.h"
#include "sclaw_train.h"

#endif
