/* SPDX-License-Identifier: GPL-2.0-only
 *
 * LlmServer: the generation side of one device's LLM server (a llama.cpp / vLLM-like
 * server with batch slots), in simulated time.
 *
 * What it models
 *  - A request (prompt tokens P, reply tokens R) takes a free slot at once, else waits
 *    in a FIFO of the profile's capacity; a request that finds every slot busy and the
 *    FIFO full is rejected (Submit returns false).
 *  - In its slot it is prefilled for P / prefill seconds; the first reply token is out
 *    at the end of the prefill (time to first token = queue wait + P / prefill).
 *  - The other R - 1 tokens are decoded at the profile's per-sequence rate for the
 *    number of sequences decoding at that moment, recomputed whenever one starts or
 *    ends decoding (processor sharing). A sequence still prefilling does not slow the
 *    decoding ones (a simplification: a real batch mixes both).
 *  - Every tokensPerChunk tokens (and at the last token) the Tokens callback reports
 *    how many tokens the sequence has produced; tokensPerChunk = 0 reports only the
 *    last. When a sequence ends its slot goes to the head of the FIFO.
 *  - Its length (requests waiting + in service) over time: the time-average and the
 *    maximum since the last ResetStats(), the experts' load over a round when several user
 *    devices share them.
 * The server knows nothing of packets: TaskRunner turns tokens into reply bytes.
 */
#ifndef NETMOE_LLM_SERVER_H
#define NETMOE_LLM_SERVER_H

#include "serving-profile.h"

#include "ns3/callback.h"
#include "ns3/event-id.h"
#include "ns3/nstime.h"

#include <deque>
#include <map>

namespace netmoe
{

/** One device's LLM server: slots, a FIFO, prefill and processor-shared decoding. */
class LlmServer
{
  public:
    /**
     * \param profile the device's rates, slots and queue capacity
     * \param tokensPerChunk report produced tokens every this many (0: only the last)
     * \param boundedQueue false: the FIFO never rejects (the user device's own work)
     */
    LlmServer(const ServingProfile& profile, uint32_t tokensPerChunk, bool boundedQueue);

    /** A request got its slot after waiting \p queueWaitS: (id, queueWaitS). */
    void SetStartedCallback(ns3::Callback<void, uint32_t, double> cb);
    /** The sequence \p id has produced \p tokens tokens so far: (id, tokens). */
    void SetTokensCallback(ns3::Callback<void, uint32_t, uint32_t> cb);

    /** Queue or start request \p id; false if rejected (slots busy, FIFO full). */
    bool Submit(uint32_t id, uint32_t promptTokens, uint32_t replyTokens);
    /** Drop every request, waiting or running (the client went away). */
    void CancelAll();
    /** Drop the requests with ids in [\p first, \p last) (one client went away). */
    void CancelIds(uint32_t first, uint32_t last);
    /** Requests waiting in the FIFO now. */
    uint32_t QueueLength() const;

    /** Start a new statistics window now (time-average and maximum of the length). */
    void ResetStats();
    /** Time-average of the requests waiting + in service since ResetStats() (now if none). */
    double MeanLength() const;
    /** Most requests waiting + in service at once since ResetStats(). */
    uint32_t MaxLength() const;

  private:
    /** One request. */
    struct Sequence
    {
        uint32_t prompt{0};   //!< prompt tokens
        uint32_t reply{1};    //!< reply tokens (>= 1)
        ns3::Time arrived;    //!< when it was submitted
        double produced{0};   //!< tokens out so far (fractional while decoding)
        uint32_t reported{0}; //!< tokens already reported
        bool decoding{false}; //!< past its prefill
        ns3::EventId prefill; //!< end of its prefill
    };

    /** Request \p id takes a slot now. */
    void Start(uint32_t id, Sequence s);
    /** Give free slots to the head of the FIFO. */
    void Admit();
    /** Sequence \p id's prefill is over: its first token is out. */
    void PrefillDone(uint32_t id);
    /** Bring every decoding sequence's token count to now. */
    void Advance();
    /** The next report or end is due: bring counts up and settle. */
    void Step();
    /** Report chunks that are complete, retire finished sequences, reschedule. */
    void Settle();
    /** The next token count at which sequence \p s reports. */
    uint32_t NextReport(const Sequence& s) const;
    /** Requests waiting + in service now. */
    uint32_t Length() const;
    /** Book the length up to now (before it changes). */
    void Account();
    /** Note a new maximum (after the length changed). */
    void NoteLength();

    ServingProfile m_profile;
    uint32_t m_tokensPerChunk;
    bool m_bounded;
    std::map<uint32_t, Sequence> m_running; //!< in a slot, by id
    std::deque<uint32_t> m_waiting;         //!< FIFO of ids
    std::map<uint32_t, Sequence> m_queued;  //!< their requests
    uint32_t m_decoding{0};                 //!< sequences decoding now
    ns3::Time m_lastAdvance;                //!< when token counts were last brought up
    ns3::EventId m_next;                    //!< next report or end of a decoding sequence
    double m_lengthArea{0};                 //!< integral of Length() dt since ResetStats (s)
    ns3::Time m_statsStart;                 //!< ResetStats() time
    ns3::Time m_lastChange;                 //!< Length() booked up to here
    uint32_t m_maxLength{0};                //!< since ResetStats
    ns3::Callback<void, uint32_t, double> m_started;
    ns3::Callback<void, uint32_t, uint32_t> m_tokens;
};

} // namespace netmoe

#endif /* NETMOE_LLM_SERVER_H */
