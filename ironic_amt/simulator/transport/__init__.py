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

"""How simulated devices are reached: HTTP, TLS, digest authentication.

``server`` is a small asyncio HTTP/1.1 server, ``endpoint`` the AMT
HTTP endpoint of one device (faults, digest, then the protocol layer),
``digest`` AMT's digest authentication, ``tls`` the certificates and
contexts, and ``control`` the JSON control API for tests.
"""
