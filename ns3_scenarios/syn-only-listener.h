/* SPDX-License-Identifier: GPL-2.0-only
 *
 * A workaround for ns-3 3.44's TCP: the experts' listening sockets only let SYNs in.
 * A stray segment (the RST of a connection abandoned in SYN_SENT, an ACK advertising a
 * zero window) reaching a listener arms its zero-window persist timer, which later
 * crashes TcpSocketBase; RFC 793's LISTEN state ignores every segment but a SYN anyway.
 * A second workaround: the connections it accepts get a freshly constructed congestion
 * control (ns-3 3.44's TcpCubic copy leaves TcpFriendliness uninitialised, which made
 * results depend on the heap layout).
 */
#ifndef NETMOE_SYN_ONLY_LISTENER_H
#define NETMOE_SYN_ONLY_LISTENER_H

#include "ns3/node.h"
#include "ns3/ptr.h"
#include "ns3/socket.h"

namespace netmoe
{

/**
 * A TCP socket on \p node that drops every non-SYN segment while it listens, set up as
 * TcpL4Protocol::CreateSocket sets up a socket (the node's RTT estimator, congestion
 * control and recovery types). Bind and Listen it as any socket.
 */
ns3::Ptr<ns3::Socket> CreateSynOnlyListener(ns3::Ptr<ns3::Node> node);

} // namespace netmoe

#endif /* NETMOE_SYN_ONLY_LISTENER_H */
