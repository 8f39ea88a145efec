// Licensed under the Apache License, Version 2.0 (the "License"); you may
// not use this file except in compliance with the License. You may obtain
// a copy of the License at
//
//      http://www.apache.org/licenses/LICENSE-2.0
//
// Unless required by applicable law or agreed to in writing, software
// distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
// WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
// License for the specific language governing permissions and limitations
// under the License.

// A SOL session by Intel's AMTRedirector (@device-management-toolkit/
// ui-toolkit, bundles/core.bundle.js as shipped) under Node, through a
// WebSocket-to-TCP relay standing in for Intel's MPS/Console.
//
// Environment: UIT_DIR (the package directory), RELAY_URL (ws://host:port),
// AMT_USER, AMT_PASSWORD, UIT_CORRECT=1 to apply the two corrections that
// Intel's Console makes in transit (authUri '/RedirectionService' and no
// space after 'auth' in the digest; notes amt-redirection.md 1.3) and
// nothing else, UIT_TYPE (text typed once 'login: ' is shown),
// UIT_TIMEOUT_MS.  Prints one JSON object per line: state changes,
// console data, errors.  Exits 0 once the typed text came back after the
// prompt, 4 when the redirector stopped (state 0) first, 3 on timeout.

'use strict';

const path = require('path');

globalThis.self = globalThis;  // the UMD bundle expects a browser global
const uitDir = process.env.UIT_DIR;
const core = require(path.join(uitDir, 'bundles', 'core.bundle.js'));
const WebSocket = require(path.join(uitDir, '..', '..', 'ws'));

function emit(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

let finishing = false;

// The bundle passes its authToken as a WebSocket subprotocol; the relay
// has no use for it.
class RelaySocket extends WebSocket {
  constructor(url) {
    super(url);
    // websockify 0.10 answers a close frame without a status code with
    // the reserved code 1005, which ws (8.x) rejects with an 'error':
    // once the session is over, that is the relay's close, not ours.
    this.on('error', (err) => {
      if (!finishing) {
        emit({event: 'socket-error', message: String(err.message)});
      }
    });
  }
}

const redirector = new core.AMTRedirector({
  mode: 'sol', protocol: core.Protocol.SOL, fr: {},
  host: 'amt', port: 16994, user: process.env.AMT_USER,
  pass: process.env.AMT_PASSWORD, tls: 0, tls1only: 0, authToken: '',
  server: process.env.RELAY_URL,
});

if (process.env.UIT_CORRECT === '1') {
  redirector.authUri = '/RedirectionService';
  const md5 = redirector.hex_md5.bind(redirector);
  redirector.hex_md5 = (text) => md5(text.replace(':auth :', ':auth:'));
}

let output = '';
let typed = false;
const toType = process.env.UIT_TYPE || '';
function finish(code) {
  finishing = true;
  clearTimeout(timer);
  redirector.onNewState = () => {};
  redirector.stop();
  setTimeout(() => process.exit(code), 100);
}

redirector.onNewState = (state) => {
  emit({event: 'state', state: state});
  if (state === 0) {
    finish(4);
  }
};
redirector.onStateChanged = () => {};
redirector.onError = () => emit({event: 'error'});
redirector.onStart = () => {};
redirector.onProcessData = (data) => {
  emit({event: 'data', data: data});
  output += data;
  if (!typed && toType && output.includes('login: ')) {
    typed = true;
    redirector.send(toType);
  } else if (typed && output.endsWith('login: ' + toType)) {
    emit({event: 'echoed'});
    finish(0);
  }
};

const timer = setTimeout(() => {
  emit({event: 'timeout'});
  redirector.stop();
  process.exit(3);
}, parseInt(process.env.UIT_TIMEOUT_MS || '20000', 10));

process.on('SIGTERM', () => finish(0));

redirector.start(RelaySocket);
