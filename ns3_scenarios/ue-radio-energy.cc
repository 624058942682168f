/* SPDX-License-Identifier: GPL-2.0-only
 *
 * The user device's Wi-Fi radio energy (see ue-radio-energy.h).
 */
#include "ue-radio-energy.h"

#include "ns3/abort.h"
#include "ns3/double.h"
#include "ns3/simulator.h"
#include "ns3/type-id.h"

#include <string>

namespace netmoe
{

using namespace ns3;

namespace
{
/** The default of \p type's attribute \p name (honours Config::SetDefault). */
double
AttributeDefault(const std::string& type, const std::string& name)
{
    TypeId::AttributeInformation info;
    NS_ABORT_MSG_UNLESS(TypeId::LookupByName(type).LookupAttributeByName(name, &info),
                        "netmoe: " << type << " has no attribute " << name);
    auto value = DynamicCast<const DoubleValue>(info.initialValue);
    NS_ABORT_MSG_UNLESS(value, "netmoe: " << type << "::" << name << " is not a double");
    return value->Get();
}

const std::string kRadio = "ns3::WifiRadioEnergyModel";
} // namespace

UeRadioEnergy::UeRadioEnergy()
    : m_idleA(AttributeDefault(kRadio, "IdleCurrentA")),
      m_ccaBusyA(AttributeDefault(kRadio, "CcaBusyCurrentA")),
      m_txA(AttributeDefault(kRadio, "TxCurrentA")),
      m_rxA(AttributeDefault(kRadio, "RxCurrentA")),
      m_switchingA(AttributeDefault(kRadio, "SwitchingCurrentA")),
      m_sleepA(AttributeDefault(kRadio, "SleepCurrentA")),
      m_volts(AttributeDefault("ns3::energy::BasicEnergySource", "BasicEnergySupplyVoltageV")),
      m_lastUpdate(Simulator::Now())
{
}

std::shared_ptr<UeRadioEnergy>
UeRadioEnergy::Install(Ptr<WifiPhy> phy)
{
    auto energy = std::make_shared<UeRadioEnergy>();
    phy->RegisterListener(energy);
    return energy;
}

double
UeRadioEnergy::CurrentA(WifiPhyState state) const
{
    switch (state)
    {
    case WifiPhyState::IDLE:
        return m_idleA;
    case WifiPhyState::CCA_BUSY:
        return m_ccaBusyA;
    case WifiPhyState::TX:
        return m_txA;
    case WifiPhyState::RX:
        return m_rxA;
    case WifiPhyState::SWITCHING:
        return m_switchingA;
    case WifiPhyState::SLEEP:
        return m_sleepA;
    case WifiPhyState::OFF:
        return 0.0;
    }
    NS_FATAL_ERROR("netmoe: unknown Wi-Fi PHY state");
}

void
UeRadioEnergy::Book(WifiPhyState state, Time at)
{
    // WifiRadioEnergyModel::ChangeState's bookkeeping, operation for operation.
    const Time duration = at - m_lastUpdate;
    m_totalJ += duration.GetSeconds() * CurrentA(m_state) * m_volts;
    m_lastUpdate = at;
    m_state = state;
}

void
UeRadioEnergy::Settle()
{
    // What ns-3's scheduled return to IDLE would have done at m_idleAt (at the same time
    // as a later notification it adds 0 J either way).
    if (m_timed && m_idleAt <= Simulator::Now())
    {
        m_timed = false;
        Book(WifiPhyState::IDLE, m_idleAt);
    }
}

void
UeRadioEnergy::ChangeState(WifiPhyState state)
{
    Settle();
    Book(state, Simulator::Now());
}

void
UeRadioEnergy::ChangeStateFor(WifiPhyState state, Time duration)
{
    ChangeState(state);
    m_timed = true;
    m_idleAt = Simulator::Now() + duration;
}

double
UeRadioEnergy::TotalJ() const
{
    double total = m_totalJ;
    Time last = m_lastUpdate;
    WifiPhyState state = m_state;
    if (m_timed && m_idleAt <= Simulator::Now())
    {
        total += (m_idleAt - last).GetSeconds() * CurrentA(state) * m_volts;
        last = m_idleAt;
        state = WifiPhyState::IDLE;
    }
    const Time duration = Simulator::Now() - last;
    return total + duration.GetSeconds() * CurrentA(state) * m_volts;
}

double
UeRadioEnergy::TxW() const
{
    return m_volts * m_txA;
}

double
UeRadioEnergy::RxW() const
{
    return m_volts * m_rxA;
}

void
UeRadioEnergy::NotifyRxStart(Time /* duration */)
{
    ChangeState(WifiPhyState::RX);
    m_timed = false;
}

void
UeRadioEnergy::NotifyRxEndOk()
{
    ChangeState(WifiPhyState::IDLE);
}

void
UeRadioEnergy::NotifyRxEndError()
{
    ChangeState(WifiPhyState::IDLE);
}

void
UeRadioEnergy::NotifyTxStart(Time duration, dBm_u /* txPower */)
{
    ChangeStateFor(WifiPhyState::TX, duration);
}

void
UeRadioEnergy::NotifyCcaBusyStart(Time duration,
                                  WifiChannelListType /* channelType */,
                                  const std::vector<Time>& /* per20MhzDurations */)
{
    ChangeStateFor(WifiPhyState::CCA_BUSY, duration);
}

void
UeRadioEnergy::NotifySwitchingStart(Time duration)
{
    ChangeStateFor(WifiPhyState::SWITCHING, duration);
}

void
UeRadioEnergy::NotifySleep()
{
    ChangeState(WifiPhyState::SLEEP);
    m_timed = false;
}

void
UeRadioEnergy::NotifyOff()
{
    ChangeState(WifiPhyState::OFF);
    m_timed = false;
}

void
UeRadioEnergy::NotifyWakeup()
{
    ChangeState(WifiPhyState::IDLE);
}

void
UeRadioEnergy::NotifyOn()
{
    ChangeState(WifiPhyState::IDLE);
}

} // namespace netmoe
