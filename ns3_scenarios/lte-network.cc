/* SPDX-License-Identifier: GPL-2.0-only
 *
 * The LTE cell with the EPC (see lte-network.h).
 */
#include "lte-network.h"

#include "flag-parse.h"

#include "ns3/abort.h"
#include "ns3/config.h"
#include "ns3/data-rate.h"
#include "ns3/double.h"
#include "ns3/enum.h"
#include "ns3/internet-stack-helper.h"
#include "ns3/ipv4-address-helper.h"
#include "ns3/ipv4-static-routing-helper.h"
#include "ns3/ipv4-static-routing.h"
#include "ns3/log.h"
#include "ns3/lte-enb-rrc.h"
#include "ns3/lte-helper.h"
#include "ns3/point-to-point-epc-helper.h"
#include "ns3/point-to-point-helper.h"
#include "ns3/propagation-loss-model.h"
#include "ns3/string.h"
#include "ns3/uinteger.h"

#include <algorithm>
#include <cmath>
#include <map>

namespace netmoe
{

NS_LOG_COMPONENT_DEFINE("NetmoeLteNetwork");

using namespace ns3;

namespace
{
constexpr int64_t kDownlinkCqiPeriodMs = 10; //!< periodic CQI reporting period (see below)
} // namespace

void
ValidateLteConfig(LteConfig& c)
{
    static const std::map<std::string, std::string> shortNames = {
        {"pf", "ns3::PfFfMacScheduler"},       {"rr", "ns3::RrFfMacScheduler"},
        {"fdmt", "ns3::FdMtFfMacScheduler"},   {"tdmt", "ns3::TdMtFfMacScheduler"},
        {"tta", "ns3::TtaFfMacScheduler"},     {"fdbet", "ns3::FdBetFfMacScheduler"},
        {"tdbet", "ns3::TdBetFfMacScheduler"}, {"fdtbfq", "ns3::FdTbfqFfMacScheduler"},
        {"tdtbfq", "ns3::TdTbfqFfMacScheduler"}, {"pss", "ns3::PssFfMacScheduler"},
        {"cqa", "ns3::CqaFfMacScheduler"},
    };
    auto it = shortNames.find(c.scheduler);
    if (it != shortNames.end())
    {
        c.scheduler = it->second;
    }
    TypeId tid;
    if (!TypeId::LookupByNameFailSafe(c.scheduler, &tid) ||
        !tid.IsChildOf(TypeId::LookupByName("ns3::FfMacScheduler")))
    {
        throw ConfigError("scheduler",
                          "'" + c.scheduler +
                              "' is not an ns-3 LTE MAC scheduler (pf, rr, fdmt, tdmt, tta, "
                              "fdbet, tdbet, fdtbfq, tdtbfq, pss, cqa or an ns3::...FfMacScheduler)");
    }
    const std::vector<uint32_t> rbs = {6, 15, 25, 50, 75, 100};
    if (std::find(rbs.begin(), rbs.end(), c.bandwidthRbs) == rbs.end())
    {
        throw ConfigError("bandwidthRbs", "must be 6, 15, 25, 50, 75 or 100 (1.4-20 MHz), got " +
                                              std::to_string(c.bandwidthRbs));
    }
    if (c.propagation != "logdistance" && c.propagation != "friis")
    {
        throw ConfigError("propagation",
                          "must be logdistance or friis, got '" + c.propagation + "'");
    }
    if (c.rlcMode != "am" && c.rlcMode != "um")
    {
        throw ConfigError("rlcMode", "must be am or um, got '" + c.rlcMode + "'");
    }
    if ((c.cellLoadUes > 0) != (c.cellLoadMbps > 0))
    {
        throw ConfigError(c.cellLoadUes > 0 ? "cellLoadMbps" : "cellLoadUes",
                          "--cellLoadUes and --cellLoadMbps must both be > 0 (or both 0), got " +
                              std::to_string(c.cellLoadUes) + " and " +
                              FormatNumber(c.cellLoadMbps));
    }
}

LteNetwork
BuildLteNetwork(const LteConfig& c,
                Ptr<Node> enb,
                Ptr<Node> user,
                const NodeContainer& experts,
                const NodeContainer& load,
                const NodeContainer& otherUsers)
{
    Config::SetDefault("ns3::LteEnbRrc::EpsBearerToRlcMapping",
                       EnumValue(c.rlcMode == "am" ? LteEnbRrc::RLC_AM_ALWAYS
                                                   : LteEnbRrc::RLC_UM_ALWAYS));
    Config::SetDefault("ns3::LteRlcAm::MaxTxBufferSize", UintegerValue(c.rlcBufferBytes));
    Config::SetDefault("ns3::LteRlcUm::MaxTxBufferSize", UintegerValue(c.rlcBufferBytes));
    Config::SetDefault("ns3::LteUePhy::TxPower", DoubleValue(c.ueTxPowerDbm));
    Config::SetDefault("ns3::LteEnbPhy::TxPower", DoubleValue(c.enbTxPowerDbm));
    // Periodic downlink CQI every 10 ms, a period a real eNB configures (3GPP TS 36.213
    // Table 7.2.2-1A: 2-160 ms), instead of ns-3's ideal report every 1 ms subframe, which
    // makes every connected UE send a PUCCH-only uplink frame each subframe. The cell has
    // no fast fading, so a UE's CQI moves only with its distance: the eNB's MCS choices
    // do not change.
    Config::SetDefault("ns3::LteUePhy::DownlinkCqiPeriodicity",
                       TimeValue(MilliSeconds(kDownlinkCqiPeriodMs)));

    auto lte = CreateObject<LteHelper>();
    auto epc = CreateObject<PointToPointEpcHelper>();
    lte->SetEpcHelper(epc);
    lte->SetSchedulerType(c.scheduler);
    if (c.propagation == "friis")
    {
        lte->SetPathlossModelType(FriisPropagationLossModel::GetTypeId());
    }
    else
    {
        lte->SetPathlossModelType(LogDistancePropagationLossModel::GetTypeId());
        lte->SetPathlossModelAttribute("Exponent", DoubleValue(c.exponent));
        lte->SetPathlossModelAttribute("ReferenceDistance", DoubleValue(1.0));
        lte->SetPathlossModelAttribute("ReferenceLoss", DoubleValue(c.referenceLoss));
    }
    lte->SetEnbDeviceAttribute("DlBandwidth", UintegerValue(c.bandwidthRbs));
    lte->SetEnbDeviceAttribute("UlBandwidth", UintegerValue(c.bandwidthRbs));
    lte->SetEnbDeviceAttribute("DlEarfcn", UintegerValue(c.dlEarfcn));
    lte->SetEnbDeviceAttribute("UlEarfcn", UintegerValue(c.dlEarfcn + 18000));
    lte->SetUeDeviceAttribute("DlEarfcn", UintegerValue(c.dlEarfcn));

    LteNetwork net;
    net.lteHelper = lte;
    net.epcHelper = epc;
    net.pgw = epc->GetPgwNode();

    // A remote host behind the PGW: the peer of the cell-load traffic.
    NodeContainer remote;
    remote.Create(1);
    net.remoteHost = remote.Get(0);
    InternetStackHelper internet;
    internet.Install(remote);
    PointToPointHelper p2p;
    p2p.SetDeviceAttribute("DataRate", DataRateValue(DataRate("10Gbps")));
    p2p.SetChannelAttribute("Delay", TimeValue(MilliSeconds(1)));
    p2p.SetDeviceAttribute("Mtu", UintegerValue(1500));
    NetDeviceContainer internetDevs = p2p.Install(epc->GetPgwNode(), net.remoteHost);
    Ipv4AddressHelper ipHelper;
    ipHelper.SetBase("1.0.0.0", "255.0.0.0");
    Ipv4InterfaceContainer internetIfs = ipHelper.Assign(internetDevs);
    net.remoteHostIp = internetIfs.GetAddress(1);
    Ipv4StaticRoutingHelper routing;
    routing.GetStaticRouting(net.remoteHost->GetObject<Ipv4>())
        ->AddNetworkRouteTo(Ipv4Address("7.0.0.0"), Ipv4Mask("255.0.0.0"), 1);

    net.enbDevice = lte->InstallEnbDevice(NodeContainer(enb));
    NodeContainer ues(NodeContainer(user), experts, load);
    ues.Add(otherUsers);
    NetDeviceContainer ueDevs = lte->InstallUeDevice(ues);
    internet.Install(ues);
    Ipv4InterfaceContainer ueIfs = epc->AssignUeIpv4Address(ueDevs);
    for (uint32_t i = 0; i < ues.GetN(); ++i)
    {
        routing.GetStaticRouting(ues.Get(i)->GetObject<Ipv4>())
            ->SetDefaultRoute(epc->GetUeDefaultGatewayAddress(), 1);
        if (i == 0)
        {
            net.userDevice.Add(ueDevs.Get(i));
            net.userIp = ueIfs.GetAddress(i);
        }
        else if (i <= experts.GetN())
        {
            net.expertDevices.Add(ueDevs.Get(i));
            net.expertIps.push_back(ueIfs.GetAddress(i));
        }
        else if (i <= experts.GetN() + load.GetN())
        {
            net.loadDevices.Add(ueDevs.Get(i));
            net.loadIps.push_back(ueIfs.GetAddress(i));
        }
        else
        {
            net.otherUsers.Add(ueDevs.Get(i));
            net.otherUserIps.push_back(ueIfs.GetAddress(i));
        }
    }
    lte->Attach(ueDevs, net.enbDevice.Get(0));
    return net;
}

} // namespace netmoe
