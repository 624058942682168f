/* SPDX-License-Identifier: GPL-2.0-only
 *
 * Wired edge servers behind a gateway (see wired-servers.h).
 */
#include "wired-servers.h"

#include "flag-parse.h"

#include "netmoe/messages.h"

#include "ns3/constant-position-mobility-model.h"
#include "ns3/csma-helper.h"
#include "ns3/data-rate.h"
#include "ns3/ipv4-address-helper.h"
#include "ns3/ipv4-static-routing-helper.h"
#include "ns3/ipv4-static-routing.h"
#include "ns3/ipv4.h"
#include "ns3/log.h"
#include "ns3/node.h"
#include "ns3/point-to-point-helper.h"
#include "ns3/string.h"

namespace netmoe
{

NS_LOG_COMPONENT_DEFINE("NetmoeWiredServers");

using namespace ns3;

void
AddWiredFlags(FlagSet& f, WiredConfig& c, const std::string& gateway)
{
    f.Add("wiredServers",
          "wired edge servers behind " + gateway + ", experts after the radio ones (0: none)",
          c.servers, Range{0, NETMOE_MAX_EXPERTS, false, true});
    f.Add("wiredLink", "csma (one Ethernet segment) or p2p (a point-to-point link per server)",
          c.link);
    f.Add("wiredRate", "data rate of the wire (ns-3 DataRate: 1Gbps, 100Mbps, ...)", c.rate);
    f.Add("wiredDelay", "one-way propagation delay of the wire (s)", c.delayS, Range{0, 1});
}

void
ValidateWiredConfig(const WiredConfig& c)
{
    if (c.link != "csma" && c.link != "p2p")
    {
        throw ConfigError("wiredLink", "must be csma or p2p, got '" + c.link + "'");
    }
    DataRateValue rate;
    if (!rate.DeserializeFromString(c.rate, MakeDataRateChecker()) ||
        rate.Get().GetBitRate() == 0)
    {
        throw ConfigError("wiredRate",
                          "'" + c.rate + "' is not a data rate > 0 (e.g. 1Gbps, 100Mbps, 10kbps)");
    }
}

WiredNetwork
BuildWiredServers(const WiredConfig& c,
                  Ptr<Node> gateway,
                  const NodeContainer& servers,
                  const char* network)
{
    WiredNetwork net;
    Ipv4AddressHelper ip;
    std::vector<Ipv4Address> gatewayIps;
    const Ipv4Address base(network);
    if (c.link == "csma")
    {
        CsmaHelper csma;
        csma.SetChannelAttribute("DataRate", StringValue(c.rate));
        csma.SetChannelAttribute("Delay", TimeValue(Seconds(c.delayS)));
        NetDeviceContainer devices = csma.Install(NodeContainer(NodeContainer(gateway), servers));
        ip.SetBase(base, "255.255.255.0");
        Ipv4InterfaceContainer ifs = ip.Assign(devices);
        net.gatewayDevices.Add(devices.Get(0));
        for (uint32_t j = 0; j < servers.GetN(); ++j)
        {
            net.serverDevices.Add(devices.Get(j + 1));
            net.serverIps.push_back(ifs.GetAddress(j + 1));
            gatewayIps.push_back(ifs.GetAddress(0));
        }
    }
    else
    {
        PointToPointHelper p2p;
        p2p.SetDeviceAttribute("DataRate", StringValue(c.rate));
        p2p.SetChannelAttribute("Delay", TimeValue(Seconds(c.delayS)));
        for (uint32_t j = 0; j < servers.GetN(); ++j)
        {
            NetDeviceContainer devices = p2p.Install(gateway, servers.Get(j));
            ip.SetBase(Ipv4Address(base.Get() + (j << 8)), "255.255.255.0");
            Ipv4InterfaceContainer ifs = ip.Assign(devices);
            net.gatewayDevices.Add(devices.Get(0));
            net.serverDevices.Add(devices.Get(1));
            net.serverIps.push_back(ifs.GetAddress(1));
            gatewayIps.push_back(ifs.GetAddress(0));
        }
    }
    Ipv4StaticRoutingHelper routing;
    for (uint32_t j = 0; j < servers.GetN(); ++j)
    {
        auto ipv4 = servers.Get(j)->GetObject<Ipv4>();
        const int32_t ifIndex = ipv4->GetInterfaceForDevice(net.serverDevices.Get(j));
        routing.GetStaticRouting(ipv4)->SetDefaultRoute(gatewayIps[j], ifIndex);
    }
    return net;
}

void
PlaceNodes(const NodeContainer& nodes, const Vector& position)
{
    for (uint32_t i = 0; i < nodes.GetN(); ++i)
    {
        auto mm = CreateObject<ConstantPositionMobilityModel>();
        mm->SetPosition(position);
        nodes.Get(i)->AggregateObject(mm);
    }
}

} // namespace netmoe
