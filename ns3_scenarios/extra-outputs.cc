/* SPDX-License-Identifier: GPL-2.0-only
 *
 * pcap and FlowMonitor outputs (see extra-outputs.h).
 */
#include "extra-outputs.h"

#include "ns3/flow-monitor-helper.h"
#include "ns3/flow-monitor.h"
#include "ns3/log.h"
#include "ns3/yans-wifi-helper.h"

#include <fstream>

namespace netmoe
{

NS_LOG_COMPONENT_DEFINE("NetmoeExtraOutputs");

ExtraOutputs::ExtraOutputs(const std::string& pcapPrefix,
                           const std::string& flowmonXml,
                           const ns3::NetDeviceContainer& devices)
    : m_flowmonXml(flowmonXml)
{
    using namespace ns3;
    if (!flowmonXml.empty())
    {
        std::ofstream probe(flowmonXml);
        if (!probe)
        {
            NS_FATAL_ERROR("edge-moe: --flowmonXml: cannot write '" << flowmonXml << "'");
        }
        m_helper = std::make_unique<FlowMonitorHelper>();
        m_monitor = m_helper->InstallAll();
    }
    if (!pcapPrefix.empty())
    {
        std::ofstream probe(pcapPrefix + "-probe.tmp");
        if (!probe)
        {
            NS_FATAL_ERROR("edge-moe: --pcap: cannot write files with prefix '" << pcapPrefix
                                                                                << "'");
        }
        probe.close();
        std::remove((pcapPrefix + "-probe.tmp").c_str());
        YansWifiPhyHelper phy;
        phy.SetPcapDataLinkType(WifiPhyHelper::DLT_IEEE802_11_RADIO);
        phy.EnablePcap(pcapPrefix, devices);
    }
}

ExtraOutputs::~ExtraOutputs() = default;

void
ExtraOutputs::Finish()
{
    if (m_monitor)
    {
        m_monitor->CheckForLostPackets();
        m_monitor->SerializeToXmlFile(m_flowmonXml, true, true);
    }
}

} // namespace netmoe
