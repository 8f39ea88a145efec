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

"""The ``pxe_amt`` hardware type."""

from ironic.drivers import generic
from ironic.drivers.modules import ipxe
from ironic.drivers.modules import pxe

from ironic_amt.drivers.modules.amt import boot
from ironic_amt.drivers.modules.amt import console
from ironic_amt.drivers.modules.amt import graphical_console
from ironic_amt.drivers.modules.amt import inspect
from ironic_amt.drivers.modules.amt import management
from ironic_amt.drivers.modules.amt import power


class PXEAndAMTDriver(generic.GenericHardware):
    """Intel AMT / vPro machines booted over the network.

    AMT forces a PXE boot for Ironic's PXE and iPXE boot interfaces; AMT 16
    and newer can also boot an ISO from an HTTPS URL (``amt-https``, over
    One-Click Recovery), with no DHCP or TFTP. Every generic deploy
    interface (``direct``, ``ramdisk``, ...) works on top of them.
    """

    @property
    def supported_boot_interfaces(self):
        """List of supported boot interfaces."""
        return [pxe.PXEBoot, ipxe.iPXEBoot, boot.AMTHttpsBoot]

    @property
    def supported_management_interfaces(self):
        """List of supported management interfaces."""
        return [management.AMTManagement]

    @property
    def supported_power_interfaces(self):
        """List of supported power interfaces."""
        return [power.AMTPower]

    @property
    def supported_inspect_interfaces(self):
        """List of supported inspect interfaces."""
        return [inspect.AMTInspect] + super().supported_inspect_interfaces

    @property
    def supported_console_interfaces(self):
        """List of supported console interfaces.

        The serial console (amt-socat) comes first, as ipmitool-socat does
        for IPMI hardware, so it is the default where both are enabled.
        """
        return ([console.AMTSocatConsole, graphical_console.AMTKVMConsole]
                + super().supported_console_interfaces)
