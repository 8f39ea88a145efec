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

"""Value types of instance fields that are more than a scalar.

Instances in the state model are ordered dicts of field name to a bool,
an int, a str, a list of those (the element repeats), None (the element
is left out), a Datetime or an EPR.  The protocol layer renders them.
"""

import collections


class Datetime(str):
    """A CIM datetime value, rendered inside a common:Datetime element."""


EPR = collections.namedtuple('EPR', 'resource_uri selectors')
"""An endpoint reference: resource URI and its selectors.

In the state model ``selectors`` is an ordered list of (name, value)
pairs; parsed from a request it is a dict.
"""

CIM = 'http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/'
AMT = 'http://intel.com/wbem/wscim/1/amt-schema/1/'
IPS = 'http://intel.com/wbem/wscim/1/ips-schema/1/'

# The managed host and the AMT system, as firmware references them.
SYSTEM_EPR = EPR(CIM + 'CIM_ComputerSystem', [
    ('CreationClassName', 'CIM_ComputerSystem'), ('Name', 'ManagedSystem')])
AMT_SYSTEM_NAME = 'Intel(r) AMT'


def class_uri(class_name):
    """The ResourceURI (and XML namespace) of a class.

    :param class_name: e.g. 'AMT_BootSettingData'.
    :returns: the URI under the CIM, AMT or IPS schema base.
    """
    base = {'CIM': CIM, 'AMT': AMT, 'IPS': IPS}[class_name.split('_')[0]]
    return base + class_name


def service_epr(class_name, name):
    """The reference of an AMT service instance (CIM_Service keys).

    :param class_name: e.g. 'CIM_PowerManagementService'.
    :param name: the service Name, e.g. 'Intel(r) AMT Boot Service'.
    :returns: an EPR.
    """
    return EPR(class_uri(class_name), [
        ('CreationClassName', class_name), ('Name', name),
        ('SystemCreationClassName', 'CIM_ComputerSystem'),
        ('SystemName', AMT_SYSTEM_NAME)])
