/* SPDX-License-Identifier: GPL-2.0-only
 *
 * The transfer measurements of a task in NetmoeReport (see transfer-report.h).
 */
#include "transfer-report.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace netmoe
{

using namespace ns3;

void
FillTransferReport(const std::vector<SubtaskTransfer>& subtasks,
                   uint32_t n,
                   uint32_t K,
                   double taskS,
                   NetmoeReport& r,
                   std::vector<double>& lastGoodput)
{
    for (uint32_t e = 0; e < NETMOE_MAX_EXPERTS; ++e)
    {
        r.snr_db[e] = std::numeric_limits<double>::quiet_NaN();
        r.goodput_mbps[e] = 0;
        r.delay_s[e] = 0;
        r.energy_j[e] = 0;
        r.bytes_delivered[e] = 0;
        r.bytes_expected[e] = 0;
        r.packets_sent[e] = 0;
        r.packets_lost[e] = 0;
        r.retransmissions[e] = 0;
        r.replies_lost[e] = 0;
        if (e >= n)
        {
            continue;
        }
        bool used = false;
        Time firstReply = Time::Max();
        Time lastByte = Time::Min();
        for (const auto& t : subtasks)
        {
            if (t.target != static_cast<int>(e + 1))
            {
                continue;
            }
            used = true;
            r.bytes_expected[e] += t.replyWire;
            r.bytes_delivered[e] +=
                t.rejected ? 0 : std::min<uint64_t>(t.replyReceived, t.replyWire);
            r.delay_s[e] = std::max(r.delay_s[e], t.done ? t.delay.GetSeconds() : taskS);
            r.replies_lost[e] += t.done ? 0 : 1;
            if (t.replyStarted && t.replyReceived > 0)
            {
                firstReply = std::min(firstReply, t.replyStart);
                lastByte = std::max(lastByte, t.lastByte);
            }
        }
        if (used)
        {
            double transfer = (lastByte - firstReply).GetSeconds();
            r.goodput_mbps[e] =
                (r.bytes_delivered[e] > 0 && transfer > 0)
                    ? r.bytes_delivered[e] * 8.0 / transfer / 1e6
                    : 0.0;
            lastGoodput.at(e) = r.goodput_mbps[e];
        }
    }
    for (uint32_t k = 0; k < NETMOE_MAX_SUBTASKS; ++k)
    {
        r.subtask_delay_s[k] = 0;
        r.subtask_delivered[k] = 0;
        if (k >= K)
        {
            continue;
        }
        const auto& t = subtasks[k];
        if (t.target <= 0)
        {
            r.subtask_delivered[k] = 1; // local: nothing on air
            continue;
        }
        r.subtask_delivered[k] = t.done ? 1 : 0;
        r.subtask_delay_s[k] = t.done ? t.delay.GetSeconds() : taskS;
    }
}

void
FillServingReport(const std::vector<SubtaskTransfer>& subtasks,
                  uint32_t K,
                  double taskS,
                  double fusionS,
                  bool serving,
                  NetmoeReport& r)
{
    const double nan = std::numeric_limits<double>::quiet_NaN();
    double last = 0;
    for (uint32_t k = 0; k < NETMOE_MAX_SUBTASKS; ++k)
    {
        r.ttft_s[k] = nan;
        r.completion_s[k] = nan;
        r.queue_wait_s[k] = nan;
        r.subtask_rejected[k] = 0;
        r.generation_s[k] = nan;
        if (k >= K)
        {
            continue;
        }
        const auto& t = subtasks[k];
        r.queue_wait_s[k] = t.queueWaitS;
        r.subtask_rejected[k] = t.rejected ? 1 : 0;
        if (t.finished)
        {
            // known to the user device only with the reply's last chunk
            r.generation_s[k] = t.target > 0 ? t.generationS : nan;
            r.ttft_s[k] = t.ttftS;
            r.completion_s[k] = t.completionS;
            last = std::max(last, t.completionS);
        }
        else if (t.target > 0 || serving)
        {
            // lost (or still generating at the deadline): the first byte may have come
            r.ttft_s[k] = t.ttftS;
            last = std::max(last, taskS);
        }
        else
        {
            r.ttft_s[k] = 0; // without --serving a local subtask takes no time here
            r.completion_s[k] = 0;
        }
    }
    r.task_latency_s = last + fusionS;
}

} // namespace netmoe
