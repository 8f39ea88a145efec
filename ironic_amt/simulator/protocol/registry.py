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

"""The WS-Man classes the simulator serves: one handler set per class.

A feature module of this package registers, for each class it serves:

- its instances: ``@resource('CIM_BootService')`` on a function
  ``fn(device)`` returning a list of ordered dicts of fields (built from
  the device state on every request); ``served=fn(device)`` limits the
  class to some profiles (other devices answer DestinationUnreachable,
  as firmware without the class does);
- Put: ``@put('AMT_BootSettingData')`` on ``fn(call, values)`` that
  stores ``values`` (field name to text) and returns the stored fields;
  the model refuses with settings.Refused (answered InvalidRepresentation)
  or the handler raises soap.WsmanFault;
- methods: ``@method('CIM_BootService', 'SetBootConfigRole', busy=3)``
  on ``fn(call, args)`` returning the ReturnValue, or (ReturnValue,
  [(output name, value), ...]).  ``args`` maps input names to text, to an
  EPR or to a list.  The handler records what the request log should
  show with ``call.note(Name=value)`` and, when ``call.busy`` is not
  None (the ``busy`` fault is armed), returns it without acting.

``service`` finds handlers with lookup(); classes of the generated
inventory are served without registration.  A new feature module is
imported by ``protocol.service`` (see its HANDLER_MODULES) and described
in doc/source/simulator.rst.
"""

import collections

from ironic_amt.simulator.model import values
from ironic_amt.simulator.protocol import soap


class ResourceClass(object):
    """The handlers of one WS-Man class."""

    def __init__(self, name, instances, served=None, pairs=None):
        """Create the class.

        :param name: the class name, e.g. 'CIM_BootService'.
        :param instances: fn(device) -> list of field dicts.
        :param served: fn(device) -> bool; None serves every device.
        :param pairs: instead of instances, fn(device) -> list of
            (class name, fields) pairs, for an abstract class whose
            instances belong to subclasses.
        """
        self.name = name
        self._instances = instances
        self._pairs = pairs
        self._served = served
        self.put = None
        self.methods = {}

    def served(self, device):
        """Whether the device implements this class.

        :param device: a model.device.Device.
        :returns: bool.
        """
        return self._served is None or bool(self._served(device))

    def instances(self, device):
        """The instances, as (class name, fields) pairs.

        :param device: a model.device.Device.
        :returns: a list of pairs.
        """
        if self._pairs is not None:
            return self._pairs(device)
        return [(self.name, fields) for fields in self._instances(device)]


Method = collections.namedtuple('Method', 'handler busy')
"""A method handler and its ReturnValue while the device is busy."""

_CLASSES = {}


def _register(resource_class):
    if resource_class.name in _CLASSES:
        raise ValueError('WS-Man class %s registered twice'
                         % resource_class.name)
    _CLASSES[resource_class.name] = resource_class


def resource(name, served=None):
    """Register the instances of a class (decorator).

    :param name: the class name.
    :param served: fn(device) -> bool, for classes some profiles lack.
    :returns: the decorator; the function is fn(device) -> list of dicts.
    :raises: ValueError when the class is registered already.
    """
    def decorator(fn):
        _register(ResourceClass(name, fn, served))
        return fn
    return decorator


def abstract(name, subclasses, served=None):
    """Register a class served through its subclasses' instances.

    Firmware answers an Enumerate of an abstract class with the instances
    of its concrete subclasses, each under its own element name (e.g.
    CIM_PhysicalPackage yields CIM_Card and CIM_Chassis items).

    :param name: the abstract class name.
    :param subclasses: the subclass names, in firmware order.
    :param served: fn(device) -> bool, for classes some profiles lack.
    :raises: ValueError when the class is registered already.
    """
    def pairs(device):
        result = []
        for subclass in subclasses:
            found = lookup(device, subclass)
            if found is not None:
                result.extend(found.instances(device))
        return result

    _register(ResourceClass(name, None, served, pairs))


def put(name):
    """Register the Put handler of a registered class (decorator).

    :param name: the class name.
    :returns: the decorator; the function is fn(call, values) -> fields.
    """
    def decorator(fn):
        _CLASSES[name].put = fn
        return fn
    return decorator


def method(name, method_name, busy=None):
    """Register a method of a registered class (decorator).

    :param name: the class name.
    :param method_name: e.g. 'RequestPowerStateChange'.
    :param busy: the ReturnValue meaning Busy, returned while the
        ``busy`` fault is armed; None when the method is never busy.
    :returns: the decorator; the function is fn(call, args).
    """
    def decorator(fn):
        _CLASSES[name].methods[method_name] = Method(fn, busy)
        return fn
    return decorator


def lookup(device, class_name):
    """The handlers of a class the device serves.

    :param device: a model.device.Device.
    :param class_name: the class name from the ResourceURI.
    :returns: a ResourceClass, or None when the device does not serve it.
    """
    registered = _CLASSES.get(class_name)
    if registered is not None:
        return registered if registered.served(device) else None
    if class_name in device.inventory:
        return ResourceClass(class_name,
                             lambda dev: dev.inventory[class_name])
    return None


def select(candidates, selectors):
    """Pick the instance a Get, Put or Invoke addresses.

    :param candidates: (class name, fields) pairs.
    :param selectors: dict of selector name to value (may be empty).
    :returns: the first pair whose fields match every selector (the first
        pair when there are no selectors), or None.
    """
    for pair in candidates:
        fields = pair[1]
        if all(name in fields and not isinstance(fields[name], values.EPR)
               and soap.text_value(fields[name]) == value
               for name, value in selectors.items()):
            return pair
    return None
