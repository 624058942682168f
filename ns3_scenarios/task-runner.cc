/* SPDX-License-Identifier: GPL-2.0-only
 *
 * TCP request/reply transfers of one task (see task-runner.h).
 */
#include "task-runner.h"

#include "syn-only-listener.h"

#include "ns3/inet-socket-address.h"
#include "ns3/log.h"
#include "ns3/node.h"
#include "ns3/packet.h"
#include "ns3/simulator.h"
#include "ns3/tcp-socket-factory.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace netmoe
{

NS_LOG_COMPONENT_DEFINE("NetmoeTaskRunner");

using namespace ns3;

namespace
{
/** Largest packet handed to a TCP socket at once. */
constexpr uint32_t kChunk = 65536;

const double kNaN = std::numeric_limits<double>::quiet_NaN();

/**
 * Bytes of an expert's rejection: an HTTP/1.1 503 with a JSON error body, the way a
 * llama.cpp / OpenAI-compatible server refuses a request it cannot queue:
 *   "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
 *   "Content-Length: 102\r\n\r\n" (88 bytes) and
 *   {"error":{"code":503,"message":"server busy: all slots and the queue are full",
 *   "type":"server_error"}} (102 bytes).
 */
constexpr uint32_t kRejectionBytes = 190;

/**
 * The next data \p s holds, or null. At the end of the stream (CLOSE_WAIT, nothing left
 * to read) ns-3's TcpSocketBase::Recv returns an empty packet, not null, every time: a
 * read loop on Recv() alone never ends there.
 */
Ptr<Packet>
RecvData(Ptr<Socket> s)
{
    Ptr<Packet> p = s->Recv();
    return (p && p->GetSize() > 0) ? p : nullptr;
}

/** Read and drop whatever \p s holds (a socket whose data no longer matters). */
void
Discard(Ptr<Socket> s)
{
    while (RecvData(s))
    {
    }
}

/**
 * Stop using \p s: keep reading (and dropping) what arrives, so that its receive window
 * never closes (a peer facing a zero window enters ns-3's persist state), and close it.
 * Close() with unread data sends a RST in ns-3, hence the drain first: the close is a
 * FIN after whatever the socket still has to send. A socket still in SYN_SENT is reset
 * (ns-3's only way to abandon a connection attempt).
 */
void
Retire(Ptr<Socket> s, bool close)
{
    s->SetSendCallback(MakeNullCallback<void, Ptr<Socket>, uint32_t>());
    s->SetConnectCallback(MakeNullCallback<void, Ptr<Socket>>(),
                          MakeNullCallback<void, Ptr<Socket>>());
    s->SetRecvCallback(MakeCallback(&Discard));
    Discard(s);
    if (close)
    {
        s->Close();
    }
}
} // namespace

TaskRunner::TaskRunner(Ptr<Node> ue,
                       const NodeContainer& experts,
                       const std::vector<Ipv4Address>& expertIps,
                       uint16_t basePort,
                       const ServingConfig& serving,
                       const std::vector<LlmServer*>& servers,
                       uint32_t idBase)
    : m_ue(ue),
      m_experts(experts),
      m_expertIps(expertIps),
      m_basePort(basePort),
      m_serving(serving),
      m_servers(servers),
      m_idBase(idBase),
      m_obsQueueLen(experts.GetN(), kNaN),
      m_obsQueueAt(experts.GetN(), Time::Min())
{
    if (m_serving.enabled)
    {
        NS_ABORT_MSG_IF(m_servers.size() != experts.GetN(), "one LLM server per expert");
        m_local = std::make_unique<LlmServer>(m_serving.local, 0, false);
        m_local->SetStartedCallback(MakeCallback(&TaskRunner::GenerationStarted, this));
        m_local->SetTokensCallback(MakeCallback(&TaskRunner::TokensOut, this));
    }
    for (uint32_t e = 0; e < experts.GetN(); ++e)
    {
        for (uint16_t k = 0; k < NETMOE_MAX_SUBTASKS; ++k)
        {
            auto s = CreateSynOnlyListener(experts.Get(e));
            if (s->Bind(InetSocketAddress(Ipv4Address::GetAny(), basePort + k)) != 0 ||
                s->Listen() != 0)
            {
                NS_FATAL_ERROR("edge-moe: cannot listen on expert " << e + 1 << " port "
                                                                    << basePort + k);
            }
            s->SetAcceptCallback(MakeCallback(&TaskRunner::AcceptRequest, this),
                                 MakeCallback(&TaskRunner::Accepted, this));
            m_listeners.push_back(s);
        }
    }
}

void
TaskRunner::SetDoneCallback(Callback<void> done)
{
    m_done = done;
}

uint32_t
TaskRunner::Prepare(const NetmoeAction& a)
{
    m_subtasks.assign(a.num_subtasks, SubtaskTransfer{});
    m_bySocket.clear();
    m_pending = 0;
    for (uint32_t k = 0; k < a.num_subtasks; ++k)
    {
        SubtaskTransfer& t = m_subtasks[k];
        t.target = a.target[k];
        // Zero-byte messages would never complete a TCP read: at least one byte each.
        t.requestBytes = std::max<uint32_t>(1, a.request_bytes[k]);
        t.replyBytes = std::max<uint32_t>(1, a.reply_bytes[k]);
        t.computeS = std::max(0.0, a.compute_s[k]);
        t.replyTotal = t.replyBytes;
        if (m_serving.enabled)
        {
            t.promptTokens = a.prompt_tokens[k];
            t.replyTokens = std::max<uint32_t>(1, a.reply_tokens[k]);
            t.queueWaitS = kNaN;
            if (m_serving.streaming)
            {
                const uint32_t c = m_serving.tokensPerChunk;
                t.replyTotal += static_cast<uint64_t>((t.replyTokens + c - 1) / c) *
                                m_serving.chunkOverheadBytes;
            }
        }
        t.replyWire = t.replyTotal;
        if (t.target > 0 || m_serving.enabled)
        {
            ++m_pending; // with --serving the user device's own generations count too
        }
    }
    const ServingProfile& local = m_serving.local;
    m_fusionS = m_serving.enabled ? a.fusion_prompt_tokens / local.prefillTokS +
                                        a.fusion_reply_tokens / local.DecodeRate(1)
                                  : 0.0;
    return m_pending;
}

void
TaskRunner::Launch()
{
    m_active = true;
    m_start = Simulator::Now();
    for (uint32_t k = 0; k < m_subtasks.size(); ++k)
    {
        SubtaskTransfer& t = m_subtasks[k];
        if (t.target <= 0)
        {
            if (m_serving.enabled)
            {
                m_local->Submit(k, t.promptTokens, t.replyTokens); // never refuses
            }
            continue;
        }
        auto s = Socket::CreateSocket(m_ue, TcpSocketFactory::GetTypeId());
        t.userSocket = s;
        m_bySocket[PeekPointer(s)] = k;
        s->Bind();
        Address local;
        s->GetSockName(local);
        t.userPort = InetSocketAddress::ConvertFrom(local).GetPort();
        s->SetConnectCallback(MakeCallback(&TaskRunner::Connected, this),
                              MakeCallback(&TaskRunner::ConnectFailed, this));
        s->SetRecvCallback(MakeCallback(&TaskRunner::ReadReply, this));
        s->SetSendCallback(MakeCallback(&TaskRunner::SendRequest, this));
        s->Connect(InetSocketAddress(m_expertIps.at(t.target - 1), m_basePort + k));
    }
}

SubtaskTransfer*
TaskRunner::Lookup(Ptr<Socket> s)
{
    auto it = m_bySocket.find(PeekPointer(s));
    if (!m_active || it == m_bySocket.end())
    {
        return nullptr;
    }
    return &m_subtasks[it->second];
}

void
TaskRunner::Connected(Ptr<Socket> s)
{
    SendRequest(s, s->GetTxAvailable());
}

void
TaskRunner::ConnectFailed(Ptr<Socket> /* s */)
{
    NS_LOG_INFO("connection failed at " << Simulator::Now().As(Time::S));
}

void
TaskRunner::SendRequest(Ptr<Socket> s, uint32_t /* available */)
{
    SubtaskTransfer* t = Lookup(s);
    if (!t)
    {
        return;
    }
    while (t->requestSent < t->requestBytes && s->GetTxAvailable() > 0)
    {
        uint32_t n = std::min<uint64_t>({t->requestBytes - t->requestSent,
                                         s->GetTxAvailable(),
                                         kChunk});
        int sent = s->Send(Create<Packet>(n));
        if (sent <= 0)
        {
            break;
        }
        t->requestSent += sent;
    }
}

bool
TaskRunner::AcceptRequest(Ptr<Socket> s, const Address& from)
{
    // Only the connection the user device opened for this subtask: a late SYN of an
    // abandoned connection is not mistaken for this task's (the listener drops it).
    Address local;
    s->GetSockName(local);
    const uint32_t k = InetSocketAddress::ConvertFrom(local).GetPort() - m_basePort;
    if (!m_active || k >= m_subtasks.size() || !InetSocketAddress::IsMatchingType(from))
    {
        return false;
    }
    const SubtaskTransfer& t = m_subtasks[k];
    return t.target > 0 && !t.expertSocket &&
           m_experts.Get(t.target - 1)->GetId() == s->GetNode()->GetId() &&
           InetSocketAddress::ConvertFrom(from).GetPort() == t.userPort;
}

void
TaskRunner::Accepted(Ptr<Socket> s, const Address& /* from */)
{
    Address local;
    s->GetSockName(local);
    const uint32_t k = InetSocketAddress::ConvertFrom(local).GetPort() - m_basePort;
    if (!m_active || k >= m_subtasks.size() || m_subtasks[k].expertSocket ||
        m_subtasks[k].target <= 0 ||
        m_experts.Get(m_subtasks[k].target - 1)->GetId() != s->GetNode()->GetId())
    {
        Retire(s, true); // a stray connection, not part of this task
        return;
    }
    m_subtasks[k].expertSocket = s;
    m_bySocket[PeekPointer(s)] = k;
    s->SetRecvCallback(MakeCallback(&TaskRunner::ReadRequest, this));
    s->SetSendCallback(MakeCallback(&TaskRunner::SendReply, this));
    ReadRequest(s);
}

void
TaskRunner::ReadRequest(Ptr<Socket> s)
{
    SubtaskTransfer* t = Lookup(s);
    Ptr<Packet> p;
    while ((p = RecvData(s)))
    {
        if (t)
        {
            t->requestReceived += p->GetSize();
        }
    }
    if (!t || t->requestReceived < t->requestBytes)
    {
        return;
    }
    const uint32_t k = static_cast<uint32_t>(t - m_subtasks.data());
    if (m_serving.enabled)
    {
        if (!t->submitted)
        {
            t->submitted = true;
            t->submittedAt = Simulator::Now();
            if (!m_servers.at(t->target - 1)->Submit(m_idBase + k, t->promptTokens,
                                                     t->replyTokens))
            {
                Reject(k);
            }
        }
    }
    else if (!t->computeEvent.IsPending() && !t->replyStarted)
    {
        t->computeEvent = Simulator::Schedule(Seconds(t->computeS), &TaskRunner::StartReply, this, k);
    }
}

void
TaskRunner::Reject(uint32_t k)
{
    SubtaskTransfer& t = m_subtasks[k];
    t.rejected = true;
    t.generationS = 0; // the server generated nothing
    t.replyTotal = kRejectionBytes;
    t.replyReady = kRejectionBytes;
    t.replyStarted = true;
    t.replyStart = Simulator::Now();
    t.reportedQueueLen = m_servers.at(t.target - 1)->QueueLength();
    SendReply(t.expertSocket, 0);
}

void
TaskRunner::GenerationStarted(uint32_t k, double queueWaitS)
{
    if (k >= m_subtasks.size())
    {
        return;
    }
    SubtaskTransfer& t = m_subtasks[k];
    t.queueWaitS = queueWaitS;
    if (t.target <= 0) // the user device's own first token: at the end of the prefill
    {
        t.ttftS = (Simulator::Now() - m_start).GetSeconds() +
                  t.promptTokens / m_serving.local.prefillTokS;
    }
}

void
TaskRunner::TokensOut(uint32_t k, uint32_t tokens)
{
    if (!m_active || k >= m_subtasks.size())
    {
        return;
    }
    SubtaskTransfer& t = m_subtasks[k];
    if (t.target <= 0)
    {
        if (tokens >= t.replyTokens && !t.finished)
        {
            t.finished = true;
            t.completionS = (Simulator::Now() - m_start).GetSeconds();
            Finished();
        }
        return;
    }
    // the reply so far: its share of the text plus one chunk framing per chunk sent
    uint64_t ready = static_cast<uint64_t>(t.replyBytes) * tokens / t.replyTokens;
    if (m_serving.streaming)
    {
        const uint32_t c = m_serving.tokensPerChunk;
        ready += static_cast<uint64_t>((tokens + c - 1) / c) * m_serving.chunkOverheadBytes;
    }
    t.replyReady = std::min<uint64_t>(std::max<uint64_t>(ready, 1), t.replyTotal);
    if (tokens >= t.replyTokens)
    {
        t.replyReady = t.replyTotal;
        // the server's own time, sent in the last chunk the way llama.cpp's final chunk
        // carries its "timings" (queue wait + prompt_ms + predicted_ms)
        t.generationS = (Simulator::Now() - t.submittedAt).GetSeconds();
    }
    if (!t.replyStarted)
    {
        t.replyStarted = true;
        t.replyStart = Simulator::Now();
        t.reportedQueueLen = m_servers.at(t.target - 1)->QueueLength(); // in the reply header
    }
    SendReply(t.expertSocket, 0);
}

void
TaskRunner::Finished()
{
    if (--m_pending == 0 && !m_done.IsNull())
    {
        m_done();
    }
}

void
TaskRunner::StartReply(uint32_t k)
{
    SubtaskTransfer& t = m_subtasks[k];
    t.replyStarted = true;
    t.replyStart = Simulator::Now();
    t.replyReady = t.replyTotal;
    SendReply(t.expertSocket, 0);
}

void
TaskRunner::SendReply(Ptr<Socket> s, uint32_t /* available */)
{
    SubtaskTransfer* t = Lookup(s);
    if (!t || !t->replyStarted)
    {
        return;
    }
    while (t->replySent < t->replyReady && s->GetTxAvailable() > 0)
    {
        uint32_t n = std::min<uint64_t>({t->replyReady - t->replySent, s->GetTxAvailable(), kChunk});
        int sent = s->Send(Create<Packet>(n));
        if (sent <= 0)
        {
            break;
        }
        t->replySent += sent;
    }
    if (t->replySent >= t->replyTotal)
    {
        s->SetSendCallback(MakeNullCallback<void, Ptr<Socket>, uint32_t>());
        s->Close(); // FIN after the data
    }
}

void
TaskRunner::ReadReply(Ptr<Socket> s)
{
    SubtaskTransfer* t = Lookup(s);
    Ptr<Packet> p;
    while ((p = RecvData(s)))
    {
        if (!t || t->finished)
        {
            continue;
        }
        if (t->replyReceived == 0)
        {
            t->ttftS = (Simulator::Now() - m_start).GetSeconds();
            if (m_serving.enabled) // the reply's header: the expert's queue then
            {
                m_obsQueueLen.at(t->target - 1) = t->reportedQueueLen;
                m_obsQueueAt.at(t->target - 1) = Simulator::Now();
            }
        }
        t->replyReceived += p->GetSize();
        t->lastByte = Simulator::Now();
    }
    if (t && !t->finished && t->replyReceived >= t->replyTotal)
    {
        t->finished = true;
        t->done = !t->rejected;
        t->delay = Simulator::Now() - m_start;
        t->completionS = t->delay.GetSeconds();
        s->Close();
        Finished();
    }
}

bool
TaskRunner::WaitsFor(uint32_t e) const
{
    return m_active && std::any_of(m_subtasks.begin(), m_subtasks.end(), [e](const auto& st) {
               return st.target == static_cast<int>(e) + 1 && !st.finished;
           });
}

void
TaskRunner::Abort()
{
    m_active = false;
    // the client went away: generation stops (this user's requests only)
    for (auto* server : m_servers)
    {
        server->CancelIds(m_idBase, m_idBase + NETMOE_MAX_SUBTASKS);
    }
    if (m_local)
    {
        m_local->CancelAll();
    }
    for (auto& t : m_subtasks)
    {
        Simulator::Cancel(t.computeEvent);
        for (auto s : {t.userSocket, t.expertSocket})
        {
            if (s)
            {
                Retire(s, !t.finished); // a finished subtask's sockets are closed already
            }
        }
        t.userSocket = nullptr;
        t.expertSocket = nullptr;
    }
    m_bySocket.clear();
}

const std::vector<SubtaskTransfer>&
TaskRunner::Subtasks() const
{
    return m_subtasks;
}

double
TaskRunner::FusionSeconds() const
{
    return m_fusionS;
}

bool
TaskRunner::Serving() const
{
    return m_serving.enabled;
}

double
TaskRunner::ObservedQueueLength(uint32_t e) const
{
    return m_obsQueueLen.at(e);
}

double
TaskRunner::SecondsSinceQueueReport(uint32_t e) const
{
    return std::isnan(m_obsQueueLen.at(e))
               ? kNaN
               : (Simulator::Now() - m_obsQueueAt.at(e)).GetSeconds();
}

} // namespace netmoe
