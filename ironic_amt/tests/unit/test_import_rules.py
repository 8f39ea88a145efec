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

"""Import rules: the driver does not import the simulator's dependencies,
and the simulator's layers import downwards only.

``cryptography`` and ``PyYAML`` are the ``simulator`` extra.  Ironic
itself needs both, so a venv without them cannot prove the driver does
not; instead this reads the driver's source: every module of
ironic_amt.drivers, ironic_amt.wsman and ironic_amt.conf, and every
ironic_amt module they import (transitively), at any depth of the code
(imports inside functions count too).
"""

import ast
import os

from oslotest import base

import ironic_amt

PACKAGE_DIR = os.path.dirname(os.path.abspath(ironic_amt.__file__))
ROOT_DIR = os.path.dirname(PACKAGE_DIR)
DRIVER_ROOTS = ('ironic_amt.drivers', 'ironic_amt.wsman', 'ironic_amt.conf',
                'ironic_amt.cmd')
SIMULATOR_ONLY = ('cryptography', 'yaml', 'ironic_amt.simulator',
                  'ironic_amt.testing', 'ironic_amt.tests')


def _module_path(name):
    """The source file of an ironic_amt module, or None."""
    base_path = os.path.join(ROOT_DIR, *name.split('.'))
    for candidate in (base_path + '.py',
                      os.path.join(base_path, '__init__.py')):
        if os.path.isfile(candidate):
            return candidate
    return None


def _package_modules(name):
    """A module and, for a package, every module below it."""
    path = _module_path(name)
    if path is None or not path.endswith('__init__.py'):
        return [name]
    found = []
    for dirpath, dirnames, filenames in os.walk(os.path.dirname(path)):
        dirnames[:] = sorted(d for d in dirnames if d != '__pycache__')
        package = os.path.relpath(dirpath, ROOT_DIR).replace(os.sep, '.')
        for filename in sorted(filenames):
            if filename == '__init__.py':
                found.append(package)
            elif filename.endswith('.py'):
                found.append(package + '.' + filename[:-3])
    return found


def _imports(module):
    """Every module name one module imports, with parents of dotted names.

    :returns: a set of names; ``from a.b import c`` yields a.b and a.b.c.
    """
    path = _module_path(module)
    with open(path, encoding='utf-8') as f:
        tree = ast.parse(f.read(), path)
    names = set()
    package = module if path.endswith('__init__.py') else (
        module.rpartition('.')[0])
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base_name = node.module or ''
            if node.level:
                parts = package.split('.')
                parts = parts[:len(parts) - node.level + 1]
                base_name = '.'.join(parts + ([base_name] if base_name
                                              else []))
            names.add(base_name)
            names.update('%s.%s' % (base_name, alias.name)
                         for alias in node.names)
    return names


def driver_imports():
    """Walk the driver's imports through ironic_amt modules.

    :returns: dict of imported name -> the ironic_amt module importing it.
    """
    seen = {}
    todo = [m for root in DRIVER_ROOTS for m in _package_modules(root)]
    visited = set()
    while todo:
        module = todo.pop()
        if module in visited:
            continue
        visited.add(module)
        for name in _imports(module):
            seen.setdefault(name, module)
            if name.split('.')[0] == 'ironic_amt' and _module_path(name):
                todo.append(name)
    return seen


class DriverImportsTestCase(base.BaseTestCase):

    def test_walk_reads_the_driver(self):
        imported = driver_imports()
        # The walk sees the driver's own layers and its third-party
        # imports, so an empty result cannot pass the test below.
        self.assertIn('ironic_amt.wsman.client', imported)
        self.assertIn('ironic_amt.drivers.modules.amt.common', imported)
        self.assertIn('tenacity', {n.split('.')[0] for n in imported})

    def test_no_simulator_dependency(self):
        imported = driver_imports()
        offending = sorted(
            '%s (imported by %s)' % (name, module)
            for name, module in imported.items()
            if any(name == banned or name.startswith(banned + '.')
                   for banned in SIMULATOR_ONLY))
        self.assertEqual([], offending)

    def test_walk_detects_a_forbidden_import(self):
        # The simulator's TLS module does import cryptography: the same
        # reader finds it there, nested import styles included.
        self.assertIn('cryptography.x509',
                      _imports('ironic_amt.simulator.transport.tls'))
        self.assertIn('yaml', _imports('ironic_amt.simulator.config'))


# Simulator layer -> the layers it must not import.
LAYER_RULES = {
    'ironic_amt.simulator.model': ('ironic_amt.simulator.protocol',
                                   'ironic_amt.simulator.transport',
                                   'ironic_amt.wsman'),
    'ironic_amt.simulator.protocol': ('ironic_amt.simulator.transport',
                                      'ironic_amt.wsman'),
    'ironic_amt.simulator.transport': ('ironic_amt.wsman',),
}


class SimulatorLayersTestCase(base.BaseTestCase):

    def test_layers_import_downwards(self):
        offending = []
        for layer, banned in LAYER_RULES.items():
            modules = _package_modules(layer)
            self.assertGreater(len(modules), 2, layer)
            for module in modules:
                offending.extend(
                    '%s imports %s' % (module, name)
                    for name in sorted(_imports(module))
                    if any(name == b or name.startswith(b + '.')
                           for b in banned))
        self.assertEqual([], offending)
