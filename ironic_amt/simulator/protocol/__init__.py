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

"""WS-Management on top of the state model.

``soap`` parses requests and renders AMT-shaped replies, ``registry``
holds the handlers of every WS-Man class (one module per feature
registers its classes and methods), and ``service`` dispatches a request
(Get, Put, Enumerate, Pull, Release, Invoke, Identify) to them.
"""
