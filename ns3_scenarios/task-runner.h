/* SPDX-License-Identifier: GPL-2.0-only
 *
 * TaskRunner: the packets of one generative task in the edge-moe scenario.
 *
 * One TaskRunner per user device. For each offloaded subtask k the user device opens a new
 * TCP connection to its expert (port basePort + k, so the expert knows which subtask it
 * serves; each user device has its own basePort, so users never share a port), sends
 * request_bytes, the expert waits compute_s once the whole request is in (its
 * generation time), then sends reply_bytes back and closes. A new connection per
 * subtask, like one HTTP/1.0 request: the handshake is part of the measured delay.
 * When every reply is in, the done callback fires; at the deadline the caller calls
 * Abort(), which closes whatever is still open (those replies are lost); the sockets
 * keep reading and dropping what still arrives, so they close with FINs.
 *
 * With --serving (serving-profile.h) every device is an LLM server (llm-server.h), the
 * experts' shared by every user device (their FIFOs hold every user's requests; a request
 * is known there as idBase + k, idBase = user * NETMOE_MAX_SUBTASKS): once
 * the whole request is in, the expert queues it (FIFO) for one of its batch slots, or,
 * when every slot is busy and the queue is full, answers at once with a small 503-like
 * rejection and closes. In its slot the request is prefilled (prompt_tokens / prefill
 * rate) and decoded (reply_tokens at the per-sequence rate for the sequences decoding at
 * once); with --streaming the reply goes out over the open connection as it is decoded,
 * one chunk per --tokensPerChunk tokens, each chunk its tokens' share of reply_bytes
 * plus --chunkOverheadBytes of framing; without, the whole reply at the end. The
 * expert's queue length when it answered travels back in the (simulated) reply header.
 * The user device's own subtasks run on its --localProfile server (no packets) and the
 * task waits for them as well. compute_s is not used.
 *
 * The experts' listening sockets only let SYNs in (syn-only-listener.h). The report
 * fields are filled by transfer-report.h, the action rules are task-action-check.h.
 */
#ifndef NETMOE_TASK_RUNNER_H
#define NETMOE_TASK_RUNNER_H

#include "llm-server.h"
#include "serving-profile.h"

#include "netmoe/messages.h"

#include "ns3/callback.h"
#include "ns3/event-id.h"
#include "ns3/ipv4-address.h"
#include "ns3/node-container.h"
#include "ns3/nstime.h"
#include "ns3/socket.h"

#include <limits>
#include <map>
#include <memory>
#include <vector>

namespace netmoe
{

/** One subtask's transfer state and measurements. */
struct SubtaskTransfer
{
    int target{0};              //!< 0 local, i expert i
    uint32_t requestBytes{0};   //!< user -> expert
    uint32_t replyBytes{0};     //!< expert -> user (the text)
    uint64_t replyWire{0};      //!< the reply on the wire: text + chunk framing
    uint64_t replyTotal{0};     //!< bytes the user waits for: replyWire, or a rejection
    uint64_t replyReady{0};     //!< of which the expert has generated so far
    double computeS{0};         //!< expert's generation time (without --serving)
    uint32_t promptTokens{0};   //!< --serving: tokens to prefill
    uint32_t replyTokens{1};    //!< --serving: tokens to decode
    bool submitted{false};      //!< --serving: handed to the expert's server
    bool rejected{false};       //!< --serving: the expert's queue was full
    uint32_t reportedQueueLen{0}; //!< --serving: expert's queue length in the reply header
    double queueWaitS{0};       //!< --serving: time in the server's FIFO (NaN: never served)
    ns3::Time submittedAt;      //!< --serving: when the expert had the whole request
    double generationS{std::numeric_limits<double>::quiet_NaN()}; //!< --serving: submitted ->
                                                                 //!< last token (0: rejected)
    double ttftS{std::numeric_limits<double>::quiet_NaN()};       //!< start -> first reply byte
    double completionS{std::numeric_limits<double>::quiet_NaN()}; //!< start -> last byte
    bool finished{false};       //!< reply (or rejection) in, or local generation over
    uint64_t requestSent{0};    //!< accepted by the user's TCP socket
    uint64_t requestReceived{0}; //!< read by the expert
    uint64_t replySent{0};      //!< accepted by the expert's TCP socket
    uint64_t replyReceived{0};  //!< read by the user device
    bool replyStarted{false};   //!< the expert began sending the reply
    ns3::Time replyStart;       //!< when it began
    ns3::Time lastByte;         //!< last reply byte read by the user
    bool done{false};           //!< whole reply in (not a rejection)
    ns3::Time delay;            //!< task start -> last reply byte (when done)
    uint16_t userPort{0};       //!< local port of the user's connection
    ns3::Ptr<ns3::Socket> userSocket;
    ns3::Ptr<ns3::Socket> expertSocket;
    ns3::EventId computeEvent;
};

/** Runs the TCP transfers of one user device's task at a time. */
class TaskRunner
{
  public:
    /**
     * \param ue the user device
     * \param experts expert i at index i-1
     * \param expertIps their IPv4 addresses, same order
     * \param basePort subtask k listens on basePort + k on every expert
     * \param serving the serving model (off: experts wait compute_s)
     * \param servers --serving: expert i's LLM server at i-1, shared by every user device;
     *        whoever owns them routes their callbacks for ids idBase.. to this runner's
     *        GenerationStarted / TokensOut
     * \param idBase this runner's subtask k is request idBase + k on the experts' servers
     */
    TaskRunner(ns3::Ptr<ns3::Node> ue,
               const ns3::NodeContainer& experts,
               const std::vector<ns3::Ipv4Address>& expertIps,
               uint16_t basePort,
               const ServingConfig& serving,
               const std::vector<LlmServer*>& servers,
               uint32_t idBase);

    /** Called once all replies of the running task are in. */
    void SetDoneCallback(ns3::Callback<void> done);

    /**
     * Set up the task (no packet yet); returns the number of subtasks to wait for: the
     * offloaded ones (with --serving the local ones too).
     */
    uint32_t Prepare(const NetmoeAction& action);
    /** Open the connections (run as a simulator event at the task start). */
    void Launch();
    /** Close every connection still open and drop its requests: the task is over. */
    void Abort();

    /** --serving: subtask \p k got a slot after \p queueWaitS in its server's FIFO. */
    void GenerationStarted(uint32_t k, double queueWaitS);
    /** --serving: subtask \p k's server has produced \p tokens tokens: send them. */
    void TokensOut(uint32_t k, uint32_t tokens);

    /** Whether the running task still waits for a reply from expert \p e (0-based). */
    bool WaitsFor(uint32_t e) const;
    /** The subtasks of the last task. */
    const std::vector<SubtaskTransfer>& Subtasks() const;
    /** Whether --serving is on. */
    bool Serving() const;
    /** --serving: the last task's fusion time on the user device's profile (s). */
    double FusionSeconds() const;
    /** The queue length expert \p e last reported (reply header), NaN if none yet. */
    double ObservedQueueLength(uint32_t e) const;
    /** Seconds since that report arrived, NaN if none yet. */
    double SecondsSinceQueueReport(uint32_t e) const;

  private:
    /** The subtask socket \p s serves in the running task, or null. */
    SubtaskTransfer* Lookup(ns3::Ptr<ns3::Socket> s);
    /** The user's connection is up: start sending the request. */
    void Connected(ns3::Ptr<ns3::Socket> s);
    /** The user's connection failed (logged; the reply is lost at the deadline). */
    void ConnectFailed(ns3::Ptr<ns3::Socket> s);
    /** Hand the user's TCP socket as much of the request as it takes. */
    void SendRequest(ns3::Ptr<ns3::Socket> s, uint32_t available);
    /** Read reply bytes at the user; the subtask is done when all are in. */
    void ReadReply(ns3::Ptr<ns3::Socket> s);
    /** Accept only the connection the user opened for this subtask and expert. */
    bool AcceptRequest(ns3::Ptr<ns3::Socket> s, const ns3::Address& from);
    /** An expert accepted a connection: bind it to its subtask (or retire a stray one). */
    void Accepted(ns3::Ptr<ns3::Socket> s, const ns3::Address& from);
    /** Read request bytes at the expert; once all are in, generate for compute_s. */
    void ReadRequest(ns3::Ptr<ns3::Socket> s);
    /** Subtask \p k's generation is over: start sending its reply. */
    void StartReply(uint32_t k);
    /** Hand the expert's TCP socket as much of the reply as it takes, then close. */
    void SendReply(ns3::Ptr<ns3::Socket> s, uint32_t available);
    /** --serving: the expert's queue is full: send subtask \p k's rejection and close. */
    void Reject(uint32_t k);
    /** A subtask is settled: fire the done callback after the last one. */
    void Finished();

    ns3::Ptr<ns3::Node> m_ue;
    ns3::NodeContainer m_experts;
    std::vector<ns3::Ipv4Address> m_expertIps;
    uint16_t m_basePort;
    std::vector<ns3::Ptr<ns3::Socket>> m_listeners;
    std::vector<SubtaskTransfer> m_subtasks;
    std::map<ns3::Socket*, uint32_t> m_bySocket; //!< socket -> subtask index
    uint32_t m_pending{0};
    bool m_active{false};
    ns3::Time m_start;
    ns3::Callback<void> m_done;
    ServingConfig m_serving;
    std::vector<LlmServer*> m_servers;                 //!< --serving: expert i at i-1
    uint32_t m_idBase;                                 //!< subtask k is request m_idBase + k
    std::unique_ptr<LlmServer> m_local;                //!< --serving: the user device's
    double m_fusionS{0};                               //!< the last task's fusion (s)
    std::vector<double> m_obsQueueLen;                 //!< per expert, NaN: no report yet
    std::vector<ns3::Time> m_obsQueueAt;               //!< when it arrived
};

} // namespace netmoe

#endif /* NETMOE_TASK_RUNNER_H */
