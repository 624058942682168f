/* SPDX-License-Identifier: GPL-2.0-only
 *
 * One device's LLM server in simulated time (see llm-server.h).
 */
#include "llm-server.h"

#include "ns3/simulator.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <utility>
#include <vector>

namespace netmoe
{

using namespace ns3;

namespace
{
/** Token counts closer than this to a report point have reached it (rounding of times). */
constexpr double kTokenEps = 1e-6;

/** \p s seconds as a simulator delay, rounded up to the nanosecond (never early). */
Time
Delay(double s)
{
    return NanoSeconds(static_cast<int64_t>(std::ceil(std::max(0.0, s) * 1e9)));
}
} // namespace

LlmServer::LlmServer(const ServingProfile& profile, uint32_t tokensPerChunk, bool boundedQueue)
    : m_profile(profile),
      m_tokensPerChunk(tokensPerChunk),
      m_bounded(boundedQueue)
{
}

void
LlmServer::SetStartedCallback(Callback<void, uint32_t, double> cb)
{
    m_started = cb;
}

void
LlmServer::SetTokensCallback(Callback<void, uint32_t, uint32_t> cb)
{
    m_tokens = cb;
}

bool
LlmServer::Submit(uint32_t id, uint32_t promptTokens, uint32_t replyTokens)
{
    Account();
    Sequence s;
    s.prompt = promptTokens;
    s.reply = std::max<uint32_t>(1, replyTokens);
    s.arrived = Simulator::Now();
    if (m_running.size() < m_profile.slots && m_waiting.empty())
    {
        Start(id, s);
        NoteLength();
        return true;
    }
    if (m_bounded && m_waiting.size() >= m_profile.queue)
    {
        return false;
    }
    m_waiting.push_back(id);
    m_queued[id] = s;
    NoteLength();
    return true;
}

void
LlmServer::Start(uint32_t id, Sequence s)
{
    s.prefill = Simulator::Schedule(Delay(s.prompt / m_profile.prefillTokS),
                                    &LlmServer::PrefillDone, this, id);
    const double wait = (Simulator::Now() - s.arrived).GetSeconds();
    m_running[id] = s;
    if (!m_started.IsNull())
    {
        m_started(id, wait);
    }
}

void
LlmServer::Admit()
{
    while (m_running.size() < m_profile.slots && !m_waiting.empty())
    {
        const uint32_t id = m_waiting.front();
        m_waiting.pop_front();
        Sequence s = m_queued[id];
        m_queued.erase(id);
        Start(id, s);
    }
}

void
LlmServer::PrefillDone(uint32_t id)
{
    Advance(); // the others decoded at the old rate until now
    Sequence& s = m_running.at(id);
    s.decoding = true;
    s.produced = 1; // the prefill's last logits give the first token
    ++m_decoding;
    Settle();
}

void
LlmServer::Advance()
{
    const Time now = Simulator::Now();
    if (m_decoding > 0)
    {
        const double tokens = (now - m_lastAdvance).GetSeconds() * m_profile.DecodeRate(m_decoding);
        for (auto& [id, s] : m_running)
        {
            if (s.decoding)
            {
                s.produced = std::min<double>(s.reply, s.produced + tokens);
            }
        }
    }
    m_lastAdvance = now;
}

uint32_t
LlmServer::NextReport(const Sequence& s) const
{
    if (m_tokensPerChunk == 0)
    {
        return s.reply;
    }
    return std::min(s.reply, (s.reported / m_tokensPerChunk + 1) * m_tokensPerChunk);
}

void
LlmServer::Settle()
{
    std::vector<std::pair<uint32_t, uint32_t>> reports;
    std::vector<uint32_t> finished;
    for (auto& [id, s] : m_running)
    {
        if (!s.decoding)
        {
            continue;
        }
        const uint32_t before = s.reported;
        while (s.reported < s.reply && s.produced + kTokenEps >= NextReport(s))
        {
            s.reported = NextReport(s);
        }
        if (s.reported != before)
        {
            reports.emplace_back(id, s.reported);
        }
        if (s.reported >= s.reply)
        {
            finished.push_back(id);
        }
    }
    if (!finished.empty())
    {
        Account();
    }
    for (uint32_t id : finished)
    {
        m_running.erase(id);
        --m_decoding;
    }
    Simulator::Cancel(m_next);
    if (m_decoding > 0)
    {
        const double rate = m_profile.DecodeRate(m_decoding);
        double soonest = std::numeric_limits<double>::infinity();
        for (const auto& [id, s] : m_running)
        {
            if (s.decoding)
            {
                soonest = std::min(soonest, (NextReport(s) - s.produced) / rate);
            }
        }
        m_next = Simulator::Schedule(Delay(soonest), &LlmServer::Step, this);
    }
    // slots freed: the FIFO's head starts its prefill (it does not decode yet: the rate
    // of the others is unchanged)
    Admit();
    for (const auto& [id, tokens] : reports)
    {
        if (!m_tokens.IsNull())
        {
            m_tokens(id, tokens);
        }
    }
}

void
LlmServer::Step()
{
    Advance();
    Settle();
}

void
LlmServer::CancelAll()
{
    Account();
    for (auto& [id, s] : m_running)
    {
        Simulator::Cancel(s.prefill);
    }
    Simulator::Cancel(m_next);
    m_running.clear();
    m_waiting.clear();
    m_queued.clear();
    m_decoding = 0;
}

void
LlmServer::CancelIds(uint32_t first, uint32_t last)
{
    Account();
    Advance(); // the others decoded at the old rate until now
    auto mine = [first, last](uint32_t id) { return id >= first && id < last; };
    for (auto it = m_running.begin(); it != m_running.end();)
    {
        if (!mine(it->first))
        {
            ++it;
            continue;
        }
        Simulator::Cancel(it->second.prefill);
        m_decoding -= it->second.decoding ? 1 : 0;
        it = m_running.erase(it);
    }
    for (auto it = m_waiting.begin(); it != m_waiting.end();)
    {
        if (mine(*it))
        {
            m_queued.erase(*it);
            it = m_waiting.erase(it);
        }
        else
        {
            ++it;
        }
    }
    Settle(); // the rest decode faster; freed slots go to the FIFO's head
}

uint32_t
LlmServer::QueueLength() const
{
    return static_cast<uint32_t>(m_waiting.size());
}

uint32_t
LlmServer::Length() const
{
    return static_cast<uint32_t>(m_running.size() + m_waiting.size());
}

void
LlmServer::Account()
{
    const Time now = Simulator::Now();
    m_lengthArea += Length() * (now - m_lastChange).GetSeconds();
    m_lastChange = now;
}

void
LlmServer::NoteLength()
{
    m_maxLength = std::max(m_maxLength, Length());
}

void
LlmServer::ResetStats()
{
    m_statsStart = Simulator::Now();
    m_lastChange = m_statsStart;
    m_lengthArea = 0;
    m_maxLength = Length();
}

double
LlmServer::MeanLength() const
{
    const Time now = Simulator::Now();
    const double span = (now - m_statsStart).GetSeconds();
    const double area = m_lengthArea + Length() * (now - m_lastChange).GetSeconds();
    return span > 0 ? area / span : Length();
}

uint32_t
LlmServer::MaxLength() const
{
    return m_maxLength;
}

} // namespace netmoe
