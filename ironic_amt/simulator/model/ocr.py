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

"""One-Click Recovery HTTPS boot: trusted roots, parameters, boots.

The OCR switch of ``CIM_BootService`` and the BIOS's UEFI HTTPS boot
setting are platform features (model.features, spec ``features``
``ocr_service`` and ``https_boot_bios``). Here:
``AMT_PublicKeyManagementService`` stores trusted root certificates,
which an HTTPS boot with parameter 20 trusts (``amt-redirection.md``
5.4); the boot parameters of a Put are checked as firmware does
(:func:`uefi_https.decode_parameters`); the HTTPS source cannot be chosen
without OCR on and a URL; and at the boot the simulated BIOS loads the
image in a background thread (:func:`uefi_https.https_boot`):
``BIOSLastStatus`` reads in progress, then success or failure (section 7).
"""

import hashlib
import threading

from ironic_amt.simulator.model import boot
from ironic_amt.simulator.model import features as features_mod
from ironic_amt.simulator import uefi_https

# AddTrustedRootCertificate return values. Which code firmware uses to
# refuse a certificate is unconfirmed: 5 (invalid parameter) is the CIM
# generic one; a stored certificate cannot be added twice (AMT's
# PT_STATUS_DUPLICATE, 2068).
COMPLETED = 0
INVALID_PARAMETER = 5
DUPLICATE = 2068

MAX_CERTIFICATES = 16
MAX_CERTIFICATE_BYTES = 4100
HISTORY_LIMIT = 100


class OcrModel(object):
    """OCR state of one device; guarded by the device lock."""

    def __init__(self, device):
        """Create the model and hook the device's boots.

        :param device: the owning device.Device.
        """
        self._device = device
        self._lock = device.lock
        self.certificates = []   # (handle, DER bytes)
        self._next_handle = 0
        self.history = []
        self._threads = []
        device.boot_hooks.append(self._on_boot)

    @property
    def usable(self):
        """Whether the firmware, BIOS and boot service allow HTTPS boot."""
        features = self._device.features
        return bool(features.ocr_firmware
                    and features.settings['https_boot_bios']
                    and features.boot_service_state & features_mod.OCR_BIT)

    def add_trusted_root(self, blob):
        """AMT_PublicKeyManagementService.AddTrustedRootCertificate.

        :param blob: the DER certificate bytes.
        :returns: (return value, InstanceID of the stored certificate or
            None).
        """
        with self._lock:
            if not blob or len(blob) > MAX_CERTIFICATE_BYTES:
                return INVALID_PARAMETER, None
            if any(der == blob for _h, der in self.certificates):
                return DUPLICATE, None
            if len(self.certificates) >= MAX_CERTIFICATES:
                return INVALID_PARAMETER, None
            handle = 'Intel(r) AMT Certificate: Handle: %d' % (
                self._next_handle)
            self._next_handle += 1
            self.certificates.append((handle, bytes(blob)))
            return COMPLETED, handle

    # Boot settings -----------------------------------------------------------

    def check_settings(self, settings):
        """Refuse boot parameters firmware refuses (a Put).

        Erase requests carry their own parameters (model.features).

        :param settings: the AMT_BootSettingData fields to store.
        :raises: boot.SettingsRefused with the reason.
        """
        if settings.get('PlatformErase'):
            return
        try:
            uefi_https.decode_parameters(
                settings['UefiBootParametersArray'],
                settings['UefiBootNumberOfParams'])
        except uefi_https.InvalidParameters as exc:
            raise boot.SettingsRefused(str(exc))

    def source_problem(self, settings):
        """Why the HTTPS boot source cannot be chosen now, or None.

        :param settings: the stored AMT_BootSettingData fields.
        :returns: a reason or None.
        """
        if not self.usable:
            return 'One-Click Recovery or UEFI HTTPS boot is disabled'
        params = uefi_https.decode_parameters(
            settings['UefiBootParametersArray'],
            settings['UefiBootNumberOfParams'])
        return uefi_https.https_source_problem(params)

    # Boots -------------------------------------------------------------------

    def _on_boot(self, entry, settings):
        if entry['source'] != 'https':
            return
        params = uefi_https.decode_parameters(
            settings['UefiBootParametersArray'],
            settings['UefiBootNumberOfParams'])
        roots = [der for _h, der in self.certificates]
        self._device.boot.set_firmware_setting(
            'BIOSLastStatus', list(uefi_https.STATUS_IN_PROGRESS))
        thread = threading.Thread(
            target=self._load, args=(entry['seq'], params, roots),
            name='ocr-https-boot-%s' % self._device.name, daemon=True)
        self._threads = [t for t in self._threads if t.is_alive()]
        self._threads.append(thread)
        thread.start()

    def _load(self, seq, params, roots):
        result = uefi_https.https_boot(params, roots)
        result['boot_seq'] = seq
        with self._lock:
            self._device.boot.set_firmware_setting('BIOSLastStatus',
                                                   result['bios_status'])
            self.history.append(result)
            del self.history[:-HISTORY_LIMIT]
            logged = dict(result, event='https-boot')
            params = logged.get('kernel_params')
            if params and 'ipa-agent-token' in params:
                # The token is a secret: the log file never shows it.
                logged['kernel_params'] = dict(params,
                                               **{'ipa-agent-token': '***'})
            self._device.record(logged)

    def result_for(self, boot_seq):
        """The outcome of the HTTPS boot that a boot event started.

        :param boot_seq: the ``seq`` of the boot event.
        :returns: the result dict (see uefi_https.https_boot), or None
            while the image is still loading.
        """
        with self._lock:
            for result in self.history:
                if result['boot_seq'] == boot_seq:
                    return dict(result)
        return None

    def join(self, timeout=5.0):
        """Wait (bounded) for the image loads in progress to finish.

        :param timeout: seconds per load.
        """
        for thread in list(self._threads):
            thread.join(timeout)

    # Persistence -------------------------------------------------------------

    def snapshot(self):
        """The state worth keeping across restarts (a JSON-able dict)."""
        with self._lock:
            return {'certificates': [(h, der.hex())
                                     for h, der in self.certificates],
                    'next_handle': self._next_handle}

    def restore(self, state):
        """Load a snapshot() taken by an earlier run.

        :param state: the dict snapshot() returned.
        """
        with self._lock:
            self.certificates = [(h, bytes.fromhex(der))
                                 for h, der in state['certificates']]
            self._next_handle = state['next_handle']

    def describe(self):
        """A summary for the control API and tests."""
        with self._lock:
            return {'usable': self.usable,
                    'trusted_roots': [
                        {'handle': h,
                         'sha256': hashlib.sha256(der).hexdigest()}
                        for h, der in self.certificates],
                    'boots': len(self.history)}
