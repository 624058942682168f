/* SPDX-License-Identifier: GPL-2.0-only
 *
 * Optional outputs for a closer look at a run: a pcap file per Wi-Fi device (radiotap
 * headers, so Wireshark shows the SNR and rate of every frame), ns-3's FlowMonitor
 * statistics per IP flow as XML, written when the scenario ends, and a NetAnim trace
 * (ns-3's AnimationInterface: every node, its description and colour, its moves, and
 * optionally every packet) for the NetAnim viewer.
 */
#ifndef NETMOE_EXTRA_OUTPUTS_H
#define NETMOE_EXTRA_OUTPUTS_H

#include "ns3/net-device-container.h"
#include "ns3/ptr.h"

#include <memory>
#include <string>

namespace ns3
{
class AnimationInterface;
class FlowMonitor;
class FlowMonitorHelper;
class NodeContainer;
} // namespace ns3

namespace netmoe
{

/**
 * ConfigError unless the files of --pcap (a path prefix) and --flowmonXml (a path) could
 * be written (their directory exists and is writable); creates nothing.
 */
void CheckOutputPaths(const std::string& pcapPrefix, const std::string& flowmonXml);

/** ConfigError unless the --netanim file could be written; creates nothing. */
void CheckNetAnimPath(const std::string& netanim);

/** pcap and FlowMonitor, each off when its path is empty. */
class ExtraOutputs
{
  public:
    /**
     * \param pcapPrefix files <prefix>-<node>-<device>.pcap for every device in \p devices
     * \param flowmonXml FlowMonitor XML written by Finish() (installed on every node)
     */
    ExtraOutputs(const std::string& pcapPrefix,
                 const std::string& flowmonXml,
                 const ns3::NetDeviceContainer& devices);
    ~ExtraOutputs();

    /**
     * Write a NetAnim XML trace to \p path from now on: every node of the simulation
     * (users described "user u" in blue, experts "expert i" in green, any other node by
     * its role in grey), positions as they move, packets only with \p packets.
     */
    void EnableNetAnim(const std::string& path,
                       bool packets,
                       const ns3::NodeContainer& users,
                       const ns3::NodeContainer& experts);

    /** Write the FlowMonitor XML and close the NetAnim file (if enabled); safe to call
     * more than once. */
    void Finish();

  private:
    std::string m_flowmonXml;
    std::unique_ptr<ns3::AnimationInterface> m_anim;
    std::unique_ptr<ns3::FlowMonitorHelper> m_helper;
    ns3::Ptr<ns3::FlowMonitor> m_monitor;
};

} // namespace netmoe

#endif /* NETMOE_EXTRA_OUTPUTS_H */
