/* SPDX-License-Identifier: GPL-2.0-only
 *
 * The rules of a task action (see task-action-check.h).
 */
#include "task-action-check.h"

namespace netmoe
{

std::string
CheckTaskAction(const NetmoeAction& a, uint32_t numExperts)
{
    if (a.num_subtasks > NETMOE_MAX_SUBTASKS)
    {
        return "num_subtasks " + std::to_string(a.num_subtasks) + " > " +
               std::to_string(NETMOE_MAX_SUBTASKS);
    }
    for (uint32_t k = 0; k < a.num_subtasks; ++k)
    {
        if (a.target[k] < 0 || a.target[k] > static_cast<int32_t>(numExperts))
        {
            return "subtask " + std::to_string(k) + ": target " + std::to_string(a.target[k]) +
                   " is out of range 0.." + std::to_string(numExperts);
        }
        const std::string compute = kComputeRange.Problem(a.compute_s[k]);
        if (!compute.empty())
        {
            return "subtask " + std::to_string(k) + ": compute_s " + compute;
        }
    }
    const std::string deadline = kDeadlineRange.Problem(a.deadline_s);
    if (!deadline.empty())
    {
        return "deadline_s " + deadline;
    }
    const std::string gap = kGapRange.Problem(a.next_gap_s);
    if (!gap.empty())
    {
        return "next_gap_s " + gap;
    }
    const std::string offset = kStartOffsetRange.Problem(a.start_offset_s);
    if (!offset.empty())
    {
        return "start_offset_s " + offset;
    }
    return "";
}

} // namespace netmoe
