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

"""The ``[amt]`` configuration group of the ironic-amt driver."""

from ironic.common.i18n import _
from oslo_config import cfg

GROUP = 'amt'

# The group of the staging driver (ironic-staging-drivers' amt), whose
# options are read as deprecated aliases so that migrating keeps them.
_STAGING = 'amt_driver'

opts = [
    cfg.StrOpt('protocol',
               default='http',
               choices=[('http', _('Plain HTTP on port 16992. Removed from '
                                   'remote access in CSME 16.1 and later.')),
                        ('https', _('TLS on port 16993.'))],
               deprecated_opts=[cfg.DeprecatedOpt('protocol',
                                                  group=_STAGING)],
               help=_('Protocol used to talk to the AMT interface of a node '
                      'when its driver_info has no amt_protocol.')),
    cfg.IntOpt('max_retry',
               default=3,
               min=1,
               deprecated_opts=[cfg.DeprecatedOpt('max_attempts',
                                                  group=GROUP),
                                cfg.DeprecatedOpt('max_attempts',
                                                  group=_STAGING)],
               help=_('Number of attempts, the first one included, of one '
                      'AMT request that fails transiently (connection '
                      'refused or reset, timeout, HTTP 5xx, a Busy or In '
                      'Use return code); 1 means no retry. Authentication '
                      'failures, SOAP faults and other refusals are never '
                      'retried, and a reset whose answer was lost is never '
                      'sent again.')),
    cfg.FloatOpt('action_wait',
                 default=10.0,
                 min=0.0,
                 deprecated_opts=[cfg.DeprecatedOpt('action_wait',
                                                    group=_STAGING)],
                 help=_('Seconds to wait between two attempts of an AMT '
                        'request that failed transiently.')),
    cfg.FloatOpt('connect_timeout',
                 default=10.0,
                 min=0.1,
                 help=_('Seconds to wait for the TCP connection to the AMT '
                        'interface, and again for the TLS handshake, before '
                        'the attempt fails.')),
    cfg.FloatOpt('read_timeout',
                 default=30.0,
                 min=0.1,
                 help=_('Seconds to wait for data from the AMT interface '
                        'before the attempt fails. One attempt (connect, '
                        'send, the whole answer, a digest challenge round '
                        'included) must also end within connect_timeout + '
                        'read_timeout of its start, however the device '
                        'trickles its bytes. One request therefore fails '
                        'within max_retry x (connect_timeout + '
                        'read_timeout) + (max_retry - 1) x action_wait '
                        'seconds.')),
    cfg.IntOpt('max_response_size',
               default=65536,
               min=51200,
               help=_('Largest answer, in bytes after decompression, '
                      'accepted from an AMT interface; a larger one fails '
                      'at once and is not retried. The driver asks AMT '
                      'for envelopes of at most 51200 bytes '
                      '(MaxEnvelopeSize); the default leaves room for a '
                      'device that counts loosely.')),
    cfg.StrOpt('verify_ca',
               default='True',
               help=_('Default for a node without amt_verify_ca, used with '
                      'https only: "True" verifies the AMT certificate '
                      'against the system CA store as OpenSSL finds it '
                      '(e.g. /etc/ssl/certs; not the certifi bundle), '
                      '"False" disables verification (insecure; a warning '
                      'is logged once per node), any other value is the '
                      'path of a CA bundle file or directory to verify '
                      'against.')),
    cfg.BoolOpt('allow_legacy_tls',
                default=False,
                help=_('Allow TLS 1.0/1.1 and plain-RSA cipher suites, which '
                       'AMT 11 and older firmware need. Weakens TLS; enable '
                       'only for such firmware.')),
    cfg.IntOpt('power_state_timeout',
               min=1,
               deprecated_for_removal=True,
               deprecated_reason=_('Use [conductor]'
                                   'power_state_change_timeout, which the '
                                   'AMT power interface uses like every '
                                   'other Ironic driver.'),
               help=_('When set, seconds to wait for a requested power '
                      'state to be reached when Ironic passes no timeout '
                      'of its own, instead of [conductor]'
                      'power_state_change_timeout.')),
    cfg.FloatOpt('power_state_poll_interval',
                 default=1.0,
                 min=0.05,
                 deprecated_for_removal=True,
                 deprecated_reason=_('Ignored: the power interface waits '
                                     'with Ironic\'s own power state '
                                     'helper, which polls on its own '
                                     'back-off schedule.'),
                 help=_('Ignored.')),
    cfg.HostAddressOpt('kvm_relay_address',
                       default='127.0.0.1',
                       help=_('Address on which the conductor listens for '
                              'ironic-novncproxy to reach the KVM relay of '
                              'an amt-kvm graphical console.  The relay '
                              'speaks RFB without authentication (as '
                              'ironic-novncproxy requires), so keep it on '
                              'loopback when the proxy runs on the '
                              'conductor host, or an address only the '
                              'proxy hosts can reach.')),
    cfg.IntOpt('kvm_idle_timeout',
               default=600,
               min=1,
               help=_('Seconds without traffic in either direction after '
                      'which the KVM relay disconnects a viewer (the '
                      'console stays enabled; the viewer may reconnect '
                      'while its token is valid).')),
    cfg.StrOpt('https_boot_ca',
               help=_('Default for a node without amt_https_boot_ca, used '
                      'by the amt-https boot interface: path of the PEM file '
                      'of the CA that signed the certificate of the HTTPS '
                      'image server ([deploy]http_url). It is added to the '
                      'trusted root certificates of AMT, which the BIOS '
                      'verifies the image server with. Unset: only the '
                      'roots already stored on the device are trusted.')),
    cfg.IntOpt('https_boot_request_timeout',
               default=0,
               min=0,
               max=65535,
               help=_('Seconds the firmware waits for the HTTPS image server '
                      'during a One-Click Recovery HTTPS boot. 0 leaves the '
                      'firmware default and sends no timeout parameter '
                      '(some AMT 16 firmware does not accept one).')),
    cfg.IntOpt('https_boot_support_ttl',
               default=600,
               min=0,
               help=_('Seconds a conductor trusts what a device answered '
                      'about its HTTPS boot support before asking again. '
                      'The answer is also dropped when the device refuses '
                      'or fails an HTTPS boot.')),
    cfg.IntOpt('https_boot_status_interval',
               default=15,
               min=0,
               help=_('Seconds between two reads of the BIOS boot status of '
                      'nodes waiting for a ramdisk booted over HTTPS, so a '
                      'boot the device could not make fails the operation '
                      'without waiting for the callback timeout. 0 disables '
                      'the check.')),
    cfg.IntOpt('https_boot_file_permission',
               default=0o644,
               help=_('File permission of the ISO images the amt-https boot '
                      'interface publishes under [deploy]http_root, as an '
                      'integer (0o644 is 420).')),
    cfg.StrOpt('kernel_append_params',
               default='nofb vga=normal',
               help=_('Kernel parameters added to the ISO images the '
                      'amt-https boot interface builds, unless the node '
                      'sets kernel_append_params.')),
    cfg.IntOpt('rearm_interval',
               default=30,
               min=0,
               help=_('Seconds between two checks, by a periodic task of '
                      'the conductor, of the boot override of the AMT nodes '
                      'it manages that have a persistent boot device or an '
                      'unverified one. AMT overrides are one-shot: every '
                      'boot, including a reboot the operating system starts '
                      'by itself, uses one up, and the check re-arms a '
                      'persistent device at once. One request per node per '
                      'check while nothing changed. 0 disables the task; '
                      'persistent devices are then armed only when Ironic '
                      'powers the node on or reboots it.')),
    cfg.IntOpt('boot_verify_timeout',
               default=300,
               min=1,
               help=_('Seconds after a power-on or reboot after which a boot '
                      'override the device still holds is reported (node '
                      'history and a warning) as not taken by the BIOS.')),
    cfg.IntOpt('erase_timeout',
               default=1800,
               min=1,
               help=_('Seconds the erase_devices_rpe clean step waits for '
                      'the BIOS to run a Remote Platform Erase after the '
                      'power cycle.')),
]


def register_opts(conf):
    """Register the ``[amt]`` options on a configuration object.

    :param conf: an oslo.config ``ConfigOpts`` instance.
    """
    conf.register_opts(opts, group=GROUP)


def list_opts():
    """Return the ``[amt]`` options for oslo-config-generator.

    :returns: a list of (group name, options) pairs.
    """
    return [(GROUP, opts)]


CONF = cfg.CONF
register_opts(CONF)
