/* SPDX-License-Identifier: GPL-2.0-only
 *
 * pcap, FlowMonitor and NetAnim outputs (see extra-outputs.h).
 */
#include "extra-outputs.h"

#include "flag-parse.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include "ns3/animation-interface.h"
#include "ns3/flow-monitor-helper.h"
#include "ns3/flow-monitor.h"
#include "ns3/log.h"
#include "ns3/node-container.h"
#include "ns3/node-list.h"
#include "ns3/yans-wifi-helper.h"

#include <fstream>

namespace netmoe
{

NS_LOG_COMPONENT_DEFINE("NetmoeExtraOutputs");

namespace
{

/** Whether a file \p path could be written: its directory is, and the file if it exists. */
bool
Writable(const std::string& path)
{
    const auto slash = path.find_last_of('/');
    const std::string dir = slash == std::string::npos ? "." : path.substr(0, std::max<size_t>(slash, 1));
    struct stat st;
    if (stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || access(dir.c_str(), W_OK) != 0)
    {
        return false;
    }
    return access(path.c_str(), F_OK) != 0 || access(path.c_str(), W_OK) == 0;
}

} // namespace

void
CheckOutputPaths(const std::string& pcapPrefix, const std::string& flowmonXml)
{
    if (!flowmonXml.empty() && (!Writable(flowmonXml) || flowmonXml.back() == '/'))
    {
        throw ConfigError("flowmonXml", "cannot write '" + flowmonXml + "'");
    }
    if (!pcapPrefix.empty() && !Writable(pcapPrefix + "-probe.tmp"))
    {
        throw ConfigError("pcap", "cannot write files with prefix '" + pcapPrefix + "'");
    }
}

void
CheckNetAnimPath(const std::string& netanim)
{
    if (!netanim.empty() && (!Writable(netanim) || netanim.back() == '/'))
    {
        throw ConfigError("netanim", "cannot write '" + netanim + "'");
    }
}

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
            throw ConfigError("flowmonXml", "cannot write '" + flowmonXml + "'");
        }
        m_helper = std::make_unique<FlowMonitorHelper>();
        m_monitor = m_helper->InstallAll();
    }
    if (!pcapPrefix.empty())
    {
        std::ofstream probe(pcapPrefix + "-probe.tmp");
        if (!probe)
        {
            throw ConfigError("pcap", "cannot write files with prefix '" + pcapPrefix + "'");
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
ExtraOutputs::EnableNetAnim(const std::string& path,
                            bool packets,
                            const ns3::NodeContainer& users,
                            const ns3::NodeContainer& experts)
{
    using namespace ns3;
    {
        std::ofstream probe(path);
        if (!probe)
        {
            throw ConfigError("netanim", "cannot write '" + path + "'");
        }
    }
    m_anim = std::make_unique<AnimationInterface>(path);
    if (!packets)
    {
        m_anim->SkipPacketTracing();
    }
    std::vector<bool> described(NodeList::GetNNodes(), false);
    for (const NodeContainer& c : {users, experts})
    {
        for (uint32_t j = 0; j < c.GetN(); ++j)
        {
            described[c.Get(j)->GetId()] = true;
        }
    }
    for (uint32_t i = 0; i < described.size(); ++i)
    {
        if (!described[i]) // the access point, wired servers, a neighbouring BSS
        {
            m_anim->UpdateNodeDescription(i, "other");
            m_anim->UpdateNodeColor(i, 128, 128, 128);
        }
    }
    for (uint32_t u = 0; u < users.GetN(); ++u)
    {
        m_anim->UpdateNodeDescription(users.Get(u), "user " + std::to_string(u));
        m_anim->UpdateNodeColor(users.Get(u), 0, 0, 255);
    }
    for (uint32_t e = 0; e < experts.GetN(); ++e)
    {
        m_anim->UpdateNodeDescription(experts.Get(e), "expert " + std::to_string(e + 1));
        m_anim->UpdateNodeColor(experts.Get(e), 0, 160, 0);
    }
}

void
ExtraOutputs::Finish()
{
    m_anim.reset(); // its destructor writes the end of the XML and closes the file
    if (m_monitor)
    {
        m_monitor->CheckForLostPackets();
        m_monitor->SerializeToXmlFile(m_flowmonXml, true, true);
    }
}

} // namespace netmoe
