# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""AMT inspect interface: out-of-band inventory over WS-Management.

AMT serves the hardware inventory even while the host is powered off, so
inspection needs no ramdisk. What is read, and where it goes:

* node properties: ``cpu_arch`` (always ``x86_64``: AMT only exists on
  64-bit Intel vPro platforms), ``cpus`` (the number of CIM_Processor
  instances; AMT reports processor packages, not cores), ``memory_mb`` (the
  sum of CIM_PhysicalMemory capacities) and ``local_gb`` (the largest
  CIM_MediaAccessDevice, by Ironic's conventions: disks under 4 GiB are
  ignored, one GiB less than the size, 0 for a disk-less node);
* the node inventory (an agent-shaped ``cpu``, ``memory``, ``disks``,
  ``interfaces``, ``system_vendor`` with the SMBIOS ``system_uuid`` and
  ``boot.pxe_interface``), stored wherever ``[inventory]data_backend``
  says, with the AMT firmware version and the wired and wireless MACs in
  the plugin data under ``amt``;
* an Ironic port for each wired MAC that has none. Wireless MACs are only
  recorded: AMT cannot PXE boot over wireless;
* what operators schedule and debug by (see
  :mod:`ironic_amt.drivers.modules.amt.features`): the ``capabilities``
  property gains ``amt_version`` (major.minor), ``amt_provisioning_mode``
  (``acm`` or ``ccm``), ``amt_user_consent`` (``none``, ``kvm`` or
  ``all``) and ``amt_sol``, ``amt_ider``, ``amt_kvm``, ``amt_https_boot``
  and ``amt_rpe`` (``enabled``, ``disabled`` or ``unsupported``); the node
  gets the traits ``CUSTOM_AMT_ACM`` or ``CUSTOM_AMT_CCM`` and
  ``CUSTOM_AMT_SOL``, ``CUSTOM_AMT_KVM``, ``CUSTOM_AMT_HTTPS_BOOT`` and
  ``CUSTOM_AMT_RPE`` for the features enabled, and loses those of them
  that no longer apply (other traits are left alone).

Missing or malformed values are skipped with a warning. An essential
property that is not reported keeps the value the node already has, as in
Ironic's redfish inspection; the inspection fails only if the node has no
value for it at all (in practice: no usable memory record on a node
without ``memory_mb``) and no inspection rule sets one.
"""

import re
import uuid

from ironic.common import exception
from ironic.common.i18n import _
from ironic.common.inspection_rules import engine
from ironic.common import metrics_utils
from ironic.common import states
from ironic.common import utils
from ironic.drivers import base
from ironic.drivers.modules import inspect_utils
from ironic import objects
from oslo_log import log as logging
from oslo_utils import netutils
from oslo_utils import units

from ironic_amt.drivers.modules.amt import common
from ironic_amt.drivers.modules.amt import errors
from ironic_amt.drivers.modules.amt import features
from ironic_amt.wsman import exceptions as wsman_exc
from ironic_amt.wsman import resource_uris

LOG = logging.getLogger(__name__)
METRICS = metrics_utils.get_metrics_logger(__name__)

CPU_ARCH = 'x86_64'

# CIM_MediaAccessDevice.MaxMediaSize is in CIM "KiloBytes" of 1000 bytes.
MEDIA_SIZE_UNIT = 1000
# Ironic's local_gb conventions: smaller disks are not deployment targets.
MIN_DISK_SIZE = 4 * units.Gi
# A CIM_PhysicalMemory Capacity (bytes) below this is not a real module.
MIN_MEMORY_MODULE = units.Mi

WIRED = 'wired'
WIRELESS = 'wireless'
# AMT_EthernetPortSettings.PhysicalConnectionType -> kind of NIC.
PHYSICAL_CONNECTION_MAP = {
    '0': WIRED,      # integrated LAN NIC
    '1': WIRED,      # discrete LAN NIC
    '2': WIRED,      # LAN through a Thunderbolt dock
    '3': WIRELESS,   # wireless LAN
}
# Firmware without PhysicalConnectionType: "... Settings 0" is the wired
# port, every other instance a wireless one.
WIRED_INSTANCE_INDEX = 0

# CIM_SoftwareIdentity InstanceID -> key in plugin_data['amt'].
SOFTWARE_IDENTITY_MAP = {
    'AMT': 'firmware_version',
    'Build Number': 'firmware_build',
    'Sku': 'sku',
}

# PlatformGUID values meaning "not set" in SMBIOS.
_UNSET_GUIDS = {'0' * 32, 'F' * 32}
_GUID_RE = re.compile(r'^[0-9A-F]{32}$')
_TRAILING_NUMBER_RE = re.compile(r'(\d+)\s*$')

# (resource URI, read with Enumerate rather than Get), in reading order.
INVENTORY_CLASSES = (
    (resource_uris.CIM_ComputerSystemPackage, False),
    (resource_uris.CIM_Chassis, False),
    (resource_uris.CIM_Processor, True),
    (resource_uris.CIM_PhysicalMemory, True),
    (resource_uris.CIM_MediaAccessDevice, True),
    (resource_uris.AMT_EthernetPortSettings, True),
    (resource_uris.CIM_SoftwareIdentity, True),
)


def _class_name(resource_uri):
    return resource_uri.rpartition('/')[2]


def _text(instance, field):
    """Return a field as stripped text, or None if absent or empty."""
    value = instance.get(field)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _integer(node, instance, field, class_name):
    """Return a field as a non-negative int, warning about bad values.

    :returns: the int, or None if the field is absent or not an integer.
    """
    value = _text(instance, field)
    if value is None:
        return None
    if value.isdigit():
        return int(value)
    LOG.warning('Ignoring %(class)s.%(field)s value "%(value)s" of node '
                '%(node)s: expected a non-negative integer',
                {'class': class_name, 'field': field, 'value': value,
                 'node': node.uuid})
    return None


def read_inventory(client, node):
    """Read the inventory classes from an AMT device.

    A class the device answers with a SOAP fault (not supported, access
    denied) is logged and treated as empty, so one missing class does not
    hide the others; transport and authentication errors are raised.

    :param client: a :class:`wsman.Client`.
    :param node: the node, for log messages.
    :returns: dict of class name to a list of instances (dicts).
    :raises: WSManError (but WSManFault) from the client.
    """
    raw = {}
    for resource_uri, enumerate_all in INVENTORY_CLASSES:
        name = _class_name(resource_uri)
        try:
            if enumerate_all:
                raw[name] = client.enumerate(resource_uri)
            else:
                raw[name] = [client.get(resource_uri)]
        except wsman_exc.WSManFault as e:
            LOG.warning('Node %(node)s did not return %(class)s, going on '
                        'without it: %(error)s',
                        {'node': node.uuid, 'class': name, 'error': e})
            raw[name] = []
    return raw


def parse_cpu(node, processors):
    """Build the inventory ``cpu`` entry.

    :param node: the node, for log messages.
    :param processors: CIM_Processor instances.
    :returns: a dict with ``count``, ``architecture`` and, when reported,
        ``frequency`` (maximum clock speed in MHz).
    """
    cpu = {'count': len(processors), 'architecture': CPU_ARCH}
    if not processors:
        LOG.warning('Node %s reports no CIM_Processor instance; the CPU '
                    'count is unknown', node.uuid)
        return cpu
    frequency = _integer(node, processors[0], 'MaxClockSpeed',
                         'CIM_Processor')
    if frequency:
        cpu['frequency'] = frequency
    return cpu


def parse_memory(node, modules):
    """Sum the capacity of the memory modules.

    :param node: the node, for log messages.
    :param modules: CIM_PhysicalMemory instances.
    :returns: the total in bytes, or None if no module has a usable
        capacity.
    """
    total = 0
    for module in modules:
        capacity = _integer(node, module, 'Capacity', 'CIM_PhysicalMemory')
        if capacity is None:
            continue
        if capacity < MIN_MEMORY_MODULE:
            LOG.warning('Ignoring memory module %(bank)s of node %(node)s: '
                        'its capacity %(capacity)s is below 1 MiB; AMT '
                        'reports bytes',
                        {'bank': _text(module, 'BankLabel'),
                         'capacity': capacity, 'node': node.uuid})
            continue
        total += capacity
    return total or None


def parse_disks(node, devices):
    """Build the inventory ``disks`` entry.

    :param node: the node, for log messages.
    :param devices: CIM_MediaAccessDevice instances.
    :returns: a list of dicts with ``name`` and ``size`` (bytes), for the
        devices reporting a non-zero size.
    """
    disks = []
    for index, device in enumerate(devices):
        size = _integer(node, device, 'MaxMediaSize',
                        'CIM_MediaAccessDevice')
        if not size:
            continue
        disks.append({'name': (_text(device, 'DeviceID')
                               or 'MEDIA DEV %d' % index),
                      'size': size * MEDIA_SIZE_UNIT})
    return disks


def local_gb(disks):
    """Ironic's ``local_gb`` of the largest disk.

    :param disks: the inventory ``disks`` entry.
    :returns: GiB, one less than the size of the largest disk of at least
        4 GiB, or 0 when there is none.
    """
    sizes = [disk['size'] for disk in disks if disk['size'] >= MIN_DISK_SIZE]
    if not sizes:
        return 0
    return max(0, int(max(sizes) / units.Gi - 1))


def _port_kind(instance, index):
    connection = _text(instance, 'PhysicalConnectionType')
    if connection is not None:
        return PHYSICAL_CONNECTION_MAP.get(connection)
    match = _TRAILING_NUMBER_RE.search(_text(instance, 'InstanceID') or '')
    number = int(match.group(1)) if match else index
    return WIRED if number == WIRED_INSTANCE_INDEX else WIRELESS


def parse_interfaces(node, settings):
    """Build the inventory ``interfaces`` entry.

    :param node: the node, for log messages.
    :param settings: AMT_EthernetPortSettings instances.
    :returns: a list of dicts with ``name`` (``wired0``, ``wireless0``...,
        AMT does not know the OS names), ``mac_address``, ``has_carrier``
        and ``kind`` (``wired`` or ``wireless``). Instances without a
        valid, non-zero MAC or of an unknown connection type are skipped.
    """
    interfaces = []
    counts = {WIRED: 0, WIRELESS: 0}
    for index, instance in enumerate(settings):
        raw_mac = _text(instance, 'MACAddress')
        mac = (raw_mac or '').replace('-', ':').lower()
        kind = _port_kind(instance, index)
        if (not netutils.is_valid_mac(mac) or mac == '00:00:00:00:00:00'
                or kind is None):
            LOG.warning('Ignoring AMT_EthernetPortSettings %(id)s of node '
                        '%(node)s: MAC address "%(mac)s", connection type '
                        '%(type)s',
                        {'id': _text(instance, 'InstanceID'), 'mac': raw_mac,
                         'type': _text(instance, 'PhysicalConnectionType'),
                         'node': node.uuid})
            continue
        interfaces.append({
            'name': '%s%d' % (kind, counts[kind]),
            'mac_address': mac,
            'has_carrier': _text(instance, 'LinkIsUp') == 'true',
            'kind': kind,
        })
        counts[kind] += 1
    return interfaces


def parse_platform_uuid(node, packages):
    """Convert AMT's PlatformGUID to the SMBIOS system UUID.

    AMT sends the 16 bytes in SMBIOS order, the first three fields little
    endian, as 32 hex digits.

    :param node: the node, for log messages.
    :param packages: CIM_ComputerSystemPackage instances.
    :returns: the UUID as a string, or None if absent or unset.
    """
    guid = _text(packages[0], 'PlatformGUID') if packages else None
    if guid is None:
        return None
    guid = guid.replace('-', '').upper()
    if not _GUID_RE.match(guid) or guid in _UNSET_GUIDS:
        LOG.warning('Ignoring PlatformGUID "%(guid)s" of node %(node)s: '
                    'not a set 16-byte GUID',
                    {'guid': guid, 'node': node.uuid})
        return None
    return str(uuid.UUID(bytes_le=bytes.fromhex(guid)))


def parse_system_vendor(node, chassis, packages):
    """Build the inventory ``system_vendor`` entry.

    :param node: the node, for log messages.
    :param chassis: CIM_Chassis instances.
    :param packages: CIM_ComputerSystemPackage instances.
    :returns: a dict with the ``manufacturer``, ``product_name``,
        ``serial_number`` and ``system_uuid`` that were reported.
    """
    vendor = {}
    if chassis:
        for key, field in (('manufacturer', 'Manufacturer'),
                           ('product_name', 'Model'),
                           ('serial_number', 'SerialNumber')):
            value = _text(chassis[0], field)
            if value is not None:
                vendor[key] = value
    system_uuid = parse_platform_uuid(node, packages)
    if system_uuid is not None:
        vendor['system_uuid'] = system_uuid
    return vendor


def parse_firmware(identities):
    """Read the AMT firmware version and SKU.

    :param identities: CIM_SoftwareIdentity instances.
    :returns: a dict with the keys of :data:`SOFTWARE_IDENTITY_MAP` that
        were reported.
    """
    firmware = {}
    for identity in identities:
        key = SOFTWARE_IDENTITY_MAP.get(_text(identity, 'InstanceID'))
        value = _text(identity, 'VersionString')
        if key and value is not None:
            firmware[key] = value
    return firmware


def build_inspection_data(node, raw):
    """Turn the raw inventory into Ironic inspection data.

    :param node: the node, for log messages.
    :param raw: the result of :func:`read_inventory`, with the feature
        instances of :func:`features.read_instances` under ``features``.
    :returns: a tuple (properties, inventory, plugin_data): the node
        properties found, the agent-shaped inventory and the AMT extras.
        The properties hold the new capabilities as a dict under
        ``capabilities``, and plugin_data['amt'] the traits to set under
        ``traits``.
    """
    cpu = parse_cpu(node, raw['CIM_Processor'])
    disks = parse_disks(node, raw['CIM_MediaAccessDevice'])
    interfaces = parse_interfaces(node, raw['AMT_EthernetPortSettings'])
    inventory = {
        'cpu': cpu,
        'disks': disks,
        'interfaces': interfaces,
        'system_vendor': parse_system_vendor(
            node, raw['CIM_Chassis'], raw['CIM_ComputerSystemPackage']),
    }
    properties = {'cpu_arch': CPU_ARCH, 'local_gb': local_gb(disks)}
    if cpu['count']:
        properties['cpus'] = cpu['count']
    if not properties['local_gb']:
        LOG.warning('Node %s reports no disk of at least 4 GiB; assuming '
                    'a disk-less node (local_gb 0)', node.uuid)

    memory = parse_memory(node, raw['CIM_PhysicalMemory'])
    if memory is not None:
        properties['memory_mb'] = memory // units.Mi
        inventory['memory'] = {'total': memory,
                               'physical_mb': memory // units.Mi}

    macs = {WIRED: [], WIRELESS: []}
    for iface in interfaces:
        macs[iface['kind']].append(iface['mac_address'])
    if macs[WIRED]:
        inventory['boot'] = {'pxe_interface': macs[WIRED][0]}
    else:
        LOG.warning('Node %s reports no wired NIC; no port is created and '
                    'the node cannot PXE boot until one is added', node.uuid)

    amt = parse_firmware(raw['CIM_SoftwareIdentity'])
    if 'firmware_version' not in amt:
        LOG.warning('Node %s does not report its AMT firmware version',
                    node.uuid)
    amt.update(wired_macs=macs[WIRED], wireless_macs=macs[WIRELESS])

    consent = features.parse_consent(raw.get('features', {}))
    found = features.parse_features(raw.get('features', {}))
    properties['capabilities'] = features.capabilities(
        amt.get('firmware_version'), consent, found)
    amt.update(provisioning_mode=consent.mode, user_consent=consent.required,
               features=found,
               traits=sorted(features.traits(consent, found)))
    return properties, inventory, {'amt': amt}


def update_traits(task, wanted):
    """Give the node the wanted CUSTOM_AMT_* traits, drop the others.

    Traits that are not the driver's are left alone.

    :param task: a TaskManager instance with an exclusive lock.
    :param wanted: the CUSTOM_AMT_* trait names the node should have.
    :returns: a tuple (added, removed) of sorted trait name lists.
    """
    node = task.node
    current = set(objects.TraitList.get_by_node_id(
        task.context, node.id).get_trait_names())
    added = sorted(set(wanted) - current)
    removed = sorted((current & features.ALL_TRAITS) - set(wanted))
    for trait in removed:
        objects.Trait.destroy(task.context, node_id=node.id, trait=trait)
    for trait in added:
        objects.Trait(task.context, node_id=node.id, trait=trait).create()
    return added, removed


class AMTInspect(base.InspectInterface):
    """Out-of-band inspection of Intel AMT / vPro machines."""

    def get_properties(self):
        """Return the properties of the interface.

        :returns: dictionary of <property name>:<property description>.
        """
        return common.COMMON_PROPERTIES.copy()

    @METRICS.timer('AMTInspect.validate')
    def validate(self, task):
        """Validate the node's driver_info, without contacting the device.

        :param task: a TaskManager instance containing the node to act on.
        :raises: MissingParameterValue, InvalidParameterValue.
        """
        common.parse_driver_info(task.node)

    @METRICS.timer('AMTInspect.inspect_hardware')
    def inspect_hardware(self, task):
        """Read the hardware inventory from AMT and store it.

        Updates the node properties, stores the inventory, applies the
        inspection rules and creates a port for each wired MAC that has
        none.

        :param task: a TaskManager instance with an exclusive lock.
        :returns: states.MANAGEABLE.
        :raises: HardwareInspectionFailure naming the node if an essential
            property is still missing after the inspection rules ran.
        :raises: AMTOperationError, AMTConnectionFailure,
            AMTAuthenticationFailure if the device cannot be read.
        :raises: MissingParameterValue, InvalidParameterValue on bad
            driver_info.
        """
        node = task.node
        client = common.get_client(node)
        with errors.translate_errors(node, _('hardware inspection')):
            raw = read_inventory(client, node)
            raw['features'] = features.read_instances(client, node)
        properties, inventory, plugin_data = build_inspection_data(node,
                                                                   raw)
        try:
            properties['capabilities'] = utils.get_updated_capabilities(
                node.properties.get('capabilities'),
                properties['capabilities'])
        except ValueError as e:
            raise exception.HardwareInspectionFailure(
                error=_('Node %(node)s has malformed capabilities: %(e)s') %
                {'node': node.uuid, 'e': e})
        kept = sorted((self.ESSENTIAL_PROPERTIES - set(properties))
                      & set(node.properties))
        if kept:
            LOG.warning('AMT did not report %(kept)s for node %(node)s; '
                        'keeping the current values %(values)s',
                        {'kept': ', '.join(kept), 'node': node.uuid,
                         'values': {key: node.properties[key]
                                    for key in kept}})
        node.properties = dict(node.properties, **properties)
        inspect_utils.store_inspection_data(node, inventory, plugin_data,
                                            task.context)
        engine.apply_rules(task, inventory, plugin_data, 'main')

        missing = sorted(self.ESSENTIAL_PROPERTIES - set(node.properties))
        if missing:
            raise exception.HardwareInspectionFailure(
                error=_('AMT did not report %(missing)s for node %(node)s; '
                        'check the warnings logged for it') %
                {'missing': ', '.join(missing), 'node': node.uuid})
        node.save()
        inspect_utils.create_ports_if_not_exist(
            task, plugin_data['amt']['wired_macs'])
        added, removed = update_traits(task, plugin_data['amt']['traits'])
        LOG.info('AMT inspection of node %(node)s found %(properties)s, '
                 'wired MACs %(wired)s, wireless MACs %(wireless)s; traits '
                 'added %(added)s, removed %(removed)s',
                 {'node': node.uuid, 'properties': properties,
                  'wired': plugin_data['amt']['wired_macs'],
                  'wireless': plugin_data['amt']['wireless_macs'],
                  'added': added, 'removed': removed})
        return states.MANAGEABLE
