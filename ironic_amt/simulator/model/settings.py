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

"""Writable instances validated the way firmware validates a Put.

A SettingInstance holds the fields of one instance (AMT_BootSettingData,
IPS_KVMRedirectionSettingData, ...) with their types taken from the
defaults, the fields firmware owns (read-only) and the write-only ones
(passwords, read back as an empty string).  A Put is checked before
anything is stored:

- a field the class does not have is refused;
- a read-only field is refused unless it repeats the current value (a
  client may send back what it read; firmware keeps its own value);
- a value of the wrong type is refused.

WS-Transfer makes an invalid representation a wst:InvalidRepresentation
fault; the protocol layer answers Refused with it.
"""

import collections


class Refused(ValueError):
    """A change the firmware refuses; the message names the field."""


def coerce(default, name, text):
    """Convert request text to the type of a field's default.

    :param default: the default value (bool, int, str or a list).
    :param name: the field name, for the error message.
    :param text: the text (a list of texts for a repeated field).
    :returns: the value.
    :raises: Refused when the text does not fit the type.
    """
    if isinstance(default, list):
        items = text if isinstance(text, list) else [text]
        item_default = default[0] if default else ''
        return [coerce(item_default, name, item) for item in items]
    if isinstance(text, list):
        raise Refused('%s is not an array' % name)
    if isinstance(default, bool):
        lowered = str(text).strip().lower()
        if lowered not in ('true', 'false', '1', '0'):
            raise Refused('%s must be a boolean' % name)
        return lowered in ('true', '1')
    if isinstance(default, int):
        try:
            return int(text)
        except (TypeError, ValueError):
            raise Refused('%s must be an integer' % name)
    if not isinstance(text, (str, type(None))):
        raise Refused('%s must be a string' % name)
    return '' if text is None else str(text)


class SettingInstance(object):
    """The fields of one writable instance (see the module docstring)."""

    def __init__(self, defaults, read_only=(), write_only=(), hidden=()):
        """Create the instance with its default values.

        :param defaults: ordered (name, value) pairs, in firmware order.
        :param read_only: names of fields firmware owns.
        :param write_only: names of fields read back as '' (a Put of ''
            keeps the stored value).
        :param hidden: names of fields never read back (left out), whose
            value may hold credentials; a Put stores them as sent.
        """
        self.defaults = collections.OrderedDict(defaults)
        self.read_only = frozenset(read_only)
        self.write_only = frozenset(write_only)
        self.hidden = frozenset(hidden)
        self.values = self._copy(self.defaults)

    @staticmethod
    def _copy(values):
        return collections.OrderedDict(
            (k, list(v) if isinstance(v, list) else v)
            for k, v in values.items())

    def reset(self):
        """Go back to the default values."""
        self.values = self._copy(self.defaults)

    def fields(self):
        """The instance as a read returns it.

        :returns: an ordered dict; write-only fields are '' and hidden
            ones None (left out).
        """
        result = collections.OrderedDict()
        for name, value in self.values.items():
            if name in self.write_only:
                value = ''
            elif name in self.hidden:
                value = None
            result[name] = value
        return result

    def validate(self, values):
        """Check a Put and compute the values it would store.

        Write-only fields sent empty keep their value (clients send back
        the empty string they read).

        :param values: dict of field name to request text (or a list).
        :returns: the new values (an ordered dict), not yet stored.
        :raises: Refused for an unknown field, a changed read-only field
            or a value of the wrong type.
        """
        new = self._copy(self.values)
        for name, text in values.items():
            if name not in self.defaults:
                raise Refused('%s is not a field of this class' % name)
            value = coerce(self.defaults[name], name, text)
            if name in self.read_only:
                if value != self.values[name]:
                    raise Refused('%s is read-only' % name)
                continue
            if name in self.write_only and value == '':
                continue
            new[name] = value
        return new

    def changes(self, new):
        """The fields ``new`` changes, for the request log.

        :param new: values from validate().
        :returns: dict of name to new value ('***' for write-only and
            hidden ones).
        """
        secret = self.write_only | self.hidden
        return {k: ('***' if k in secret else v)
                for k, v in new.items() if self.values[k] != v}
