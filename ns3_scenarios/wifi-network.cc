/* SPDX-License-Identifier: GPL-2.0-only
 *
 * The edge-moe radio network (see wifi-network.h and docs/scenario.md).
 */
#include "wifi-network.h"

#include "flag-parse.h"

#include "netmoe/scenario-defaults.h"

#include "ns3/ap-wifi-mac.h"
#include "ns3/boolean.h"
#include "ns3/channel-condition-model.h"
#include "ns3/double.h"
#include "ns3/he-configuration.h"
#include "ns3/hybrid-buildings-propagation-loss-model.h"
#include "ns3/log.h"
#include "ns3/object-factory.h"
#include "ns3/propagation-delay-model.h"
#include "ns3/propagation-loss-model.h"
#include "ns3/ssid.h"
#include "ns3/string.h"
#include "ns3/three-gpp-propagation-loss-model.h"
#include "ns3/uinteger.h"
#include "ns3/wifi-helper.h"
#include "ns3/wifi-mac-helper.h"
#include "ns3/wifi-net-device.h"
#include "ns3/wifi-phy.h"
#include "ns3/yans-wifi-channel.h"
#include "ns3/yans-wifi-helper.h"

#include <map>
#include <set>

namespace netmoe
{

NS_LOG_COMPONENT_DEFINE("NetmoeWifiNetwork");

namespace
{

struct StandardInfo
{
    ns3::WifiStandard standard;
    std::set<double> bands;       //!< allowed bands (GHz)
    double defaultBand;           //!< GHz
    std::string constantMode;     //!< default DataMode for ConstantRateWifiManager
};

const std::map<std::string, StandardInfo>&
Standards()
{
    using namespace ns3;
    static const std::map<std::string, StandardInfo> s = {
        {"80211ax", {WIFI_STANDARD_80211ax, {2.4, 5, 6}, defaults::band80211ax, "HeMcs4"}},
        {"80211ac", {WIFI_STANDARD_80211ac, {5}, defaults::band80211ac, "VhtMcs4"}},
        {"80211n", {WIFI_STANDARD_80211n, {2.4, 5}, defaults::band80211n, "HtMcs4"}},
        {"80211g", {WIFI_STANDARD_80211g, {2.4}, defaults::band80211g, "ErpOfdmRate24Mbps"}},
        {"80211a", {WIFI_STANDARD_80211a, {5}, defaults::band80211a, "OfdmRate24Mbps"}},
    };
    return s;
}

uint32_t
MaxWidth(const std::string& standard, double band)
{
    if (standard == "80211g" || standard == "80211a")
    {
        return 20;
    }
    if (standard == "80211n" || band == 2.4)
    {
        return 40;
    }
    return 160;
}

std::string
BandName(double band)
{
    return band == 2.4 ? "BAND_2_4GHZ" : (band == 5 ? "BAND_5GHZ" : "BAND_6GHZ");
}

/** The DataMode names --rateManager=constant accepts for \p standard (one stream). */
std::set<std::string>
ConstantModes(const std::string& standard, uint32_t width)
{
    std::set<std::string> modes;
    auto mcs = [&modes](const std::string& prefix, int last) {
        for (int i = 0; i <= last; ++i)
        {
            modes.insert(prefix + std::to_string(i));
        }
    };
    for (const char* rate : {"6", "9", "12", "18", "24", "36", "48", "54"})
    {
        modes.insert((standard == "80211g" ? "ErpOfdmRate" : "OfdmRate") + std::string(rate) +
                     "Mbps");
    }
    if (standard == "80211ax")
    {
        modes.clear();
        mcs("HeMcs", 11);
    }
    else if (standard == "80211ac")
    {
        modes.clear();
        mcs("VhtMcs", width == 20 ? 8 : 9); // VHT-MCS 9 is not allowed at 20 MHz, 1 stream
    }
    else if (standard == "80211n")
    {
        modes.clear();
        mcs("HtMcs", 7);
    }
    return modes;
}

/** PHY and station-manager settings shared by every BSS of the scenario. */
void
ConfigureHelpers(const WifiConfig& c,
                 ns3::Ptr<ns3::YansWifiChannel> channel,
                 ns3::YansWifiPhyHelper& phy,
                 ns3::WifiHelper& wifi)
{
    using namespace ns3;
    phy.SetChannel(channel);
    phy.Set("ChannelSettings",
            StringValue("{0, " + std::to_string(c.channelWidth) + ", " + BandName(c.bandGhz) +
                        ", 0}"));
    phy.Set("TxPowerStart", DoubleValue(c.txPowerDbm));
    phy.Set("TxPowerEnd", DoubleValue(c.txPowerDbm));

    wifi.SetStandard(Standards().at(c.standard).standard);
    if (c.rateManager == "constant")
    {
        wifi.SetRemoteStationManager(RateManagerTypeId(c), "DataMode", StringValue(c.dataMode));
    }
    else
    {
        wifi.SetRemoteStationManager(RateManagerTypeId(c));
    }
}

} // namespace

std::string
RateManagerTypeId(const WifiConfig& c)
{
    static const std::map<std::string, std::string> names = {
        {"ideal", "ns3::IdealWifiManager"},
        {"constant", "ns3::ConstantRateWifiManager"},
        {"thompson", "ns3::ThompsonSamplingWifiManager"},
        {"aarf", "ns3::AarfWifiManager"},
    };
    if (c.rateManager == "minstrel")
    {
        return (c.standard == "80211a" || c.standard == "80211g") ? "ns3::MinstrelWifiManager"
                                                                   : "ns3::MinstrelHtWifiManager";
    }
    auto it = names.find(c.rateManager);
    return it != names.end() ? it->second : c.rateManager;
}

void
ValidateWifiConfig(WifiConfig& c)
{
    auto it = Standards().find(c.standard);
    if (it == Standards().end())
    {
        throw ConfigError("standard",
                          "unknown standard '" + c.standard +
                              "' (80211ax, 80211ac, 80211n, 80211g, 80211a)");
    }
    if (c.bandGhz == 0)
    {
        c.bandGhz = it->second.defaultBand;
    }
    if (it->second.bands.count(c.bandGhz) == 0)
    {
        std::string bands;
        for (double b : it->second.bands)
        {
            bands += (bands.empty() ? "" : ", ") + FormatNumber(b);
        }
        throw ConfigError("band", FormatNumber(c.bandGhz) + " is not a band of " + c.standard +
                                      " (" + bands + " GHz)");
    }
    const std::set<uint32_t> widths = {20, 40, 80, 160};
    if (widths.count(c.channelWidth) == 0 || c.channelWidth > MaxWidth(c.standard, c.bandGhz))
    {
        throw ConfigError("channelWidth",
                          std::to_string(c.channelWidth) + " is not valid for " + c.standard +
                              " at " + FormatNumber(c.bandGhz) + " GHz (20, 40, 80 or 160, max " +
                              std::to_string(MaxWidth(c.standard, c.bandGhz)) + ")");
    }
    if (c.propagation != "logdistance" && c.propagation != "friis" &&
        c.propagation != "3gpp-indoor" && c.propagation != "buildings")
    {
        throw ConfigError("propagation", "unknown model '" + c.propagation +
                                             "' (logdistance, friis, 3gpp-indoor, buildings)");
    }
    c.rateManagerTypeId = RateManagerTypeId(c);
    ns3::TypeId tid;
    if (!ns3::TypeId::LookupByNameFailSafe(c.rateManagerTypeId, &tid) ||
        !tid.IsChildOf(ns3::TypeId::LookupByName("ns3::WifiRemoteStationManager")))
    {
        throw ConfigError("rateManager",
                          "unknown manager '" + c.rateManager +
                              "' (ideal, minstrel, constant, thompson, aarf or an "
                              "ns3::...WifiManager TypeId)");
    }
    if (c.rateManager == "aarf" && c.standard != "80211a" && c.standard != "80211g")
    {
        throw ConfigError("rateManager", "aarf supports only 80211a and 80211g (no HT rates), got "
                                         "--standard=" +
                                             c.standard);
    }
    if (c.dataMode.empty())
    {
        c.dataMode = it->second.constantMode;
    }
    const auto modes = ConstantModes(c.standard, c.channelWidth);
    if (modes.count(c.dataMode) == 0)
    {
        std::string names;
        for (const auto& m : modes)
        {
            names += (names.empty() ? "" : ", ") + m;
        }
        throw ConfigError("dataMode", "'" + c.dataMode + "' is not a single-stream mode of " +
                                          c.standard + " at " + std::to_string(c.channelWidth) +
                                          " MHz (" + names + ")");
    }
}

WifiNetwork
BuildWifiNetwork(const WifiConfig& c,
                 ns3::Ptr<ns3::Node> ue,
                 const ns3::NodeContainer& experts,
                 ns3::Ptr<ns3::Node> ap,
                 const ns3::NodeContainer& otherUsers)
{
    using namespace ns3;
    WifiNetwork net;

    // Channel: loss model (+ Nakagami fading chained after it), constant-speed delay.
    auto channel = CreateObject<YansWifiChannel>();
    Ptr<PropagationLossModel> loss;
    if (c.propagation == "logdistance")
    {
        loss = CreateObjectWithAttributes<LogDistancePropagationLossModel>(
            "Exponent",
            DoubleValue(c.exponent),
            "ReferenceLoss",
            DoubleValue(c.referenceLoss));
    }
    else if (c.propagation == "friis")
    {
        loss = CreateObject<FriisPropagationLossModel>();
    }
    else if (c.propagation == "buildings")
    {
        // ITU-R P.1238 inside a building + InternalWallLoss per wall crossed; ITU-R
        // P.1411 / Okumura-Hata outdoors; log-normal shadowing per link (buildings module).
        loss = CreateObjectWithAttributes<HybridBuildingsPropagationLossModel>(
            "InternalWallLoss",
            DoubleValue(c.wallLossDb),
            "ShadowSigmaIndoor",
            DoubleValue(c.shadowSigmaDb));
    }
    else
    {
        auto indoor = CreateObject<ThreeGppIndoorOfficePropagationLossModel>();
        indoor->SetChannelConditionModel(
            CreateObject<ThreeGppIndoorOpenOfficeChannelConditionModel>());
        loss = indoor;
    }
    if (c.nakagami)
    {
        loss->SetNext(CreateObjectWithAttributes<NakagamiPropagationLossModel>(
            "m0",
            DoubleValue(c.nakagamiM),
            "m1",
            DoubleValue(c.nakagamiM),
            "m2",
            DoubleValue(c.nakagamiM)));
    }
    channel->SetPropagationLossModel(loss);
    channel->SetPropagationDelayModel(CreateObject<ConstantSpeedPropagationDelayModel>());

    YansWifiPhyHelper phy;
    WifiHelper wifi;
    ConfigureHelpers(c, channel, phy, wifi);

    WifiMacHelper mac;
    Ssid ssid("netmoe-edge");
    mac.SetType("ns3::ApWifiMac", "Ssid", SsidValue(ssid));
    if (ap)
    {
        net.apDevice = wifi.Install(phy, mac, ap);
        mac.SetType("ns3::StaWifiMac", "Ssid", SsidValue(ssid), "ActiveProbing",
                    BooleanValue(false));
    }
    net.ueDevice = wifi.Install(phy, mac, ue);
    mac.SetType("ns3::StaWifiMac", "Ssid", SsidValue(ssid), "ActiveProbing", BooleanValue(false));
    net.expertDevices = wifi.Install(phy, mac, experts);

    net.frequencyMhz = DynamicCast<WifiNetDevice>(net.ueDevice.Get(0))->GetPhy()->GetFrequency();
    if (c.propagation == "friis")
    {
        loss->SetAttribute("Frequency", DoubleValue(net.frequencyMhz * 1e6));
    }
    else if (c.propagation == "3gpp-indoor" || c.propagation == "buildings")
    {
        loss->SetAttribute("Frequency", DoubleValue(net.frequencyMhz * 1e6));
    }

    // Energy: the Wi-Fi radio model on the user device, with no battery to run out.
    net.ueRadio = UeRadioEnergy::Install(DynamicCast<WifiNetDevice>(net.ueDevice.Get(0))->GetPhy());
    if (otherUsers.GetN() > 0)
    {
        net.otherUsers = wifi.Install(phy, mac, otherUsers); // stations, like the experts
        for (uint32_t u = 0; u < net.otherUsers.GetN(); ++u)
        {
            net.otherRadios.push_back(UeRadioEnergy::Install(
                DynamicCast<WifiNetDevice>(net.otherUsers.Get(u))->GetPhy()));
        }
    }
    net.channel = channel;
    return net;
}

ns3::NetDeviceContainer
BuildCoChannelBss(const WifiConfig& c,
                  ns3::Ptr<ns3::YansWifiChannel> channel,
                  ns3::Ptr<ns3::Node> ap,
                  const ns3::NodeContainer& stations)
{
    using namespace ns3;
    YansWifiPhyHelper phy;
    WifiHelper wifi;
    ConfigureHelpers(c, channel, phy, wifi);
    WifiMacHelper mac;
    Ssid ssid("netmoe-neighbour");
    mac.SetType("ns3::ApWifiMac", "Ssid", SsidValue(ssid));
    NetDeviceContainer devices = wifi.Install(phy, mac, ap);
    mac.SetType("ns3::StaWifiMac", "Ssid", SsidValue(ssid), "ActiveProbing", BooleanValue(false));
    devices.Add(wifi.Install(phy, mac, stations));
    SetBssColor(devices, kNeighbourBssColor);
    return devices;
}

void
SetBssColor(const ns3::NetDeviceContainer& devices, uint8_t color)
{
    using namespace ns3;
    for (uint32_t i = 0; i < devices.GetN(); ++i)
    {
        auto dev = DynamicCast<WifiNetDevice>(devices.Get(i));
        if (dev && dev->GetHeConfiguration())
        {
            dev->GetHeConfiguration()->SetAttribute("BssColor", UintegerValue(color));
        }
    }
}

uint32_t
ApStationEntries(const ns3::NetDeviceContainer& devices)
{
    using namespace ns3;
    uint32_t n = 0;
    for (uint32_t i = 0; i < devices.GetN(); ++i)
    {
        auto dev = DynamicCast<WifiNetDevice>(devices.Get(i));
        if (auto ap = dev ? DynamicCast<ApWifiMac>(dev->GetMac()) : nullptr)
        {
            for (uint8_t link = 0; link < ap->GetNLinks(); ++link)
            {
                n += ap->GetStaList(link).size();
            }
        }
    }
    return n;
}

} // namespace netmoe
