/* SPDX-License-Identifier: GPL-2.0-only
 *
 * The experts' listening TCP sockets (see syn-only-listener.h).
 */
#include "syn-only-listener.h"

#include "ns3/log.h"
#include "ns3/node.h"
#include "ns3/object-factory.h"
#include "ns3/packet.h"
#include "ns3/rtt-estimator.h"
#include "ns3/tcp-congestion-ops.h"
#include "ns3/tcp-header.h"
#include "ns3/tcp-l4-protocol.h"
#include "ns3/tcp-recovery-ops.h"
#include "ns3/tcp-socket-base.h"

namespace netmoe
{

NS_LOG_COMPONENT_DEFINE("NetmoeSynOnlyListener");

using namespace ns3;

namespace
{

/**
 * A listening TCP socket that only lets SYNs in, as RFC 793 prescribes for LISTEN.
 *
 * Why: ns-3 3.44's TcpSocketBase::DoForwardUp runs its zero-window (persist) logic on
 * every segment before the state machine, in every state, listeners included. A
 * listener's peer window (m_rWnd) stays 0 until it sees its first SYN, so any other
 * segment reaching a listener that has not yet had a SYN (typically the RST of a user
 * connection closed in SYN_SENT at the deadline, whose SYNs never reached the expert
 * but whose RST did) arms a persist timer on the listener. Then either the next SYN
 * (nonzero window) trips NS_ASSERT(m_connected) ("persist probes end", tcp-socket-
 * base.cc:1517), or PersistTimeout fires and dereferences the null TcpTxItem of the
 * empty send buffer (SIGSEGV in TcpTxItem::GetPacketCopy). A stray ACK advertising a
 * zero window does the same to any listener. ProcessListen ignores every segment but
 * a SYN anyway, so dropping the others first changes nothing else; the connection
 * sockets forked from a listener are plain TcpSocketBase objects.
 */
class SynOnlyListener : public TcpSocketBase
{
  public:
    /**
     * The congestion control and recovery types of the connections this listener forks
     * (a fresh object each, see Fork).
     */
    void SetForkedAlgorithms(const ObjectFactory& congestion, const ObjectFactory& recovery)
    {
        m_congestion = congestion;
        m_recovery = recovery;
    }

  protected:
    /**
     * A connection forked from this listener gets a freshly constructed congestion
     * control and recovery, not copies of the listener's. Why: ns-3 3.44's TcpCubic copy
     * constructor (tcp-cubic.cc, TcpCubic::TcpCubic(const TcpCubic&)) leaves the
     * TcpFriendliness attribute (m_tcpFriendliness) uninitialised, so every accepted
     * connection ran Cubic with TCP-friendliness on or off depending on whatever bytes
     * the heap held there: a reply's congestion window, and so the results, changed with
     * the allocator's layout (another build, GLIBC_TUNABLES, NS_LOG, --pcap). The
     * listener never sends data, so its algorithms are still in their initial state and
     * a fresh object from the same type and attribute defaults is what a correct copy
     * would be; SetCongestionControlAlgorithm calls Init(tcb) as the copy constructor
     * does, at the same simulated time.
     */
    Ptr<TcpSocketBase> Fork() override
    {
        Ptr<TcpSocketBase> s = TcpSocketBase::Fork();
        s->SetCongestionControlAlgorithm(m_congestion.Create<TcpCongestionOps>());
        s->SetRecoveryAlgorithm(m_recovery.Create<TcpRecoveryOps>());
        return s;
    }

    void DoForwardUp(Ptr<Packet> packet, const Address& from, const Address& to) override
    {
        if (m_state == LISTEN)
        {
            TcpHeader h;
            packet->PeekHeader(h);
            const uint8_t flags = h.GetFlags() & ~(TcpHeader::PSH | TcpHeader::URG |
                                                   TcpHeader::CWR | TcpHeader::ECE);
            if (flags != TcpHeader::SYN)
            {
                NS_LOG_LOGIC("listener drops a stray " << TcpHeader::FlagsToString(flags)
                                                       << " segment from " << from);
                return;
            }
        }
        TcpSocketBase::DoForwardUp(packet, from, to);
    }

  private:
    ObjectFactory m_congestion; //!< congestion control of a forked connection
    ObjectFactory m_recovery;   //!< recovery of a forked connection
};

} // namespace

Ptr<Socket>
CreateSynOnlyListener(Ptr<Node> node)
{
    Ptr<TcpL4Protocol> tcp = node->GetObject<TcpL4Protocol>();
    NS_ABORT_MSG_IF(!tcp, "netmoe: node " << node->GetId() << " has no TCP");
    TypeIdValue rttType;
    TypeIdValue congestionType;
    TypeIdValue recoveryType;
    tcp->GetAttribute("RttEstimatorType", rttType);
    tcp->GetAttribute("SocketType", congestionType);
    tcp->GetAttribute("RecoveryType", recoveryType);
    ObjectFactory rtt;
    ObjectFactory congestion;
    ObjectFactory recovery;
    rtt.SetTypeId(rttType.Get());
    congestion.SetTypeId(congestionType.Get());
    recovery.SetTypeId(recoveryType.Get());
    auto s = CreateObject<SynOnlyListener>();
    s->SetNode(node);
    s->SetTcp(tcp);
    s->SetRtt(rtt.Create<RttEstimator>());
    s->SetCongestionControlAlgorithm(congestion.Create<TcpCongestionOps>());
    s->SetRecoveryAlgorithm(recovery.Create<TcpRecoveryOps>());
    s->SetForkedAlgorithms(congestion, recovery);
    return s;
}


} // namespace netmoe
