/* SPDX-License-Identifier: GPL-2.0-only
 *
 * What the TCP transfers of one task measured, written into NetmoeReport (the fields
 * that do not depend on the radio).
 */
#ifndef NETMOE_TRANSFER_REPORT_H
#define NETMOE_TRANSFER_REPORT_H

#include "task-runner.h"

#include "netmoe/messages.h"

#include <vector>

namespace netmoe
{

/**
 * Fill what the transfers of one task measured into \p report: per expert
 * bytes_delivered/expected, delay_s, goodput_mbps, replies_lost (and \p lastGoodput of
 * every expert used), per subtask subtask_delay_s/delivered; every other per-expert
 * field of the first NETMOE_MAX_EXPERTS slots is zeroed (snr_db: NaN) for the caller to
 * fill from its link measurements. A lost reply counts as the task's duration \p taskS.
 */
void FillTransferReport(const std::vector<SubtaskTransfer>& subtasks,
                        uint32_t numExperts,
                        uint32_t numSubtasks,
                        double taskS,
                        NetmoeReport& report,
                        std::vector<double>& lastGoodput);

/**
 * Fill the serving model's fields of \p report (NETMOE_REPORT_SERVING_FIELDS but the
 * observation): per subtask ttft_s, completion_s (NaN: never), queue_wait_s (0 without
 * --serving, NaN: never served), subtask_rejected, and task_latency_s: the latest
 * subtask (a lost one at \p taskS, a local one when its generation ended) plus the
 * fusion's \p fusionS (without \p serving a local subtask takes no time).
 */
void FillServingReport(const std::vector<SubtaskTransfer>& subtasks,
                       uint32_t numSubtasks,
                       double taskS,
                       double fusionS,
                       bool serving,
                       NetmoeReport& report);

} // namespace netmoe

#endif /* NETMOE_TRANSFER_REPORT_H */
