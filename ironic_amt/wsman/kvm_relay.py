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

"""A relay from a VNC viewer (ironic-novncproxy) to an AMT KVM session.

Toward the viewer the relay is a plain RFB 3.8 server offering only the
security type None, which is all ironic-novncproxy accepts from a
backend.  For each viewer it opens a KVM session on the device (through
a ``connect_device`` callable, see :mod:`ironic_amt.wsman.kvm`) and then
translates: the device always sends Raw rectangles in its own pixel
format; the relay converts them to the viewer's pixel format and sends
them as Hextile when the viewer asked for it, Raw otherwise.  The
DesktopSize pseudo-encoding is passed on only to a viewer that asked for
it.

Bounds: one viewer at a time (a second one is told why it is refused),
an idle timeout, a handshake timeout, every announced length capped, and
pixel data handled in bands of at most 16 rows, so a session holds about
``16 * width * 4`` bytes of pixels whatever the screen size.
"""

import logging
import select
import socket
import struct
import threading
import time

from ironic_amt.wsman import exceptions
from ironic_amt.wsman import rfb

LOG = logging.getLogger(__name__)

_U32 = struct.Struct('!I')
_BAND_ROWS = rfb.HEXTILE_TILE
# Bytes read from a socket at once.
_CHUNK = 65536
# Bounded waits of the relay's own threads.
_REFUSE_TIMEOUT = 2.0
_JOIN_TIMEOUT = 5.0

# Converters are cached: building a 16 bpp table takes tens of ms.
_CONVERTERS = {}
_CONVERTERS_LOCK = threading.Lock()
_MAX_CONVERTERS = 8


def _converter(source, target):
    key = (source.pack(), target.pack())
    with _CONVERTERS_LOCK:
        found = _CONVERTERS.get(key)
    if found is None:
        found = rfb.PixelConverter(source, target)
        with _CONVERTERS_LOCK:
            if len(_CONVERTERS) >= _MAX_CONVERTERS:
                _CONVERTERS.pop(next(iter(_CONVERTERS)))
            _CONVERTERS[key] = found
    return found


def _failure_reason(message):
    data = message.encode('utf-8', 'replace')[:rfb.MAX_REASON]
    return _U32.pack(len(data)) + data


class Relay(object):
    """Listen for one viewer at a time and relay it to the device.

    :param name: a label for log messages (the node UUID).
    :param connect_device: a callable without arguments opening a KVM
        session on the device; it returns an object like
        :class:`ironic_amt.wsman.kvm.KVMConnection` and raises on
        failure; the error message is shown to the viewer.
    :param host: the address to listen on.
    :param port: the TCP port; 0 for any free port.
    :param idle_timeout: seconds without traffic in either direction
        after which the viewer is disconnected.
    :param handshake_timeout: seconds a viewer may take per handshake
        step, and the bound of every blocking send.
    :param read_only: drop the viewer's key and pointer events.
    :param poll_interval: seconds between checks of the stop flag.
    """

    def __init__(self, name, connect_device, host='127.0.0.1', port=0,
                 idle_timeout=600.0, handshake_timeout=10.0,
                 read_only=False, poll_interval=0.5):
        self.name = name
        self._connect_device = connect_device
        self._host = host
        self._port = port
        self.idle_timeout = idle_timeout
        self.handshake_timeout = handshake_timeout
        self.read_only = read_only
        self.poll_interval = poll_interval
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._listener = None
        self._thread = None
        self._session = None
        self.sessions = []

    @property
    def address(self):
        """(host, port) the relay listens on."""
        return self._listener.getsockname()[:2]

    @property
    def running(self):
        """Whether the relay still accepts viewers."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def viewer_connected(self):
        """Whether a viewer session is open."""
        with self._lock:
            return self._session is not None and self._session.alive

    def start(self):
        """Open the listening socket and start accepting viewers.

        :returns: (host, port) the relay listens on.
        :raises: OSError when the address cannot be bound.
        """
        family = socket.AF_INET6 if ':' in self._host else socket.AF_INET
        listener = socket.socket(family, socket.SOCK_STREAM)
        try:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((self._host, self._port))
            listener.listen(2)
            listener.settimeout(self.poll_interval)
        except OSError:
            listener.close()
            raise
        self._listener = listener
        self._thread = threading.Thread(
            target=self._accept_loop, name='amt-kvm-relay-%s' % self.name,
            daemon=True)
        self._thread.start()
        LOG.info('KVM relay for %(name)s listening on %(address)s',
                 {'name': self.name, 'address': self.address})
        return self.address

    def stop(self):
        """Close the listener and the viewer session, if any.

        Returns once the relay's threads have ended (bounded wait).
        """
        self._stop.set()
        with self._lock:
            session = self._session
        if session is not None:
            session.close()
        if self._thread is not None:
            self._thread.join(_JOIN_TIMEOUT)
        if session is not None:
            session.join(_JOIN_TIMEOUT)
        if self._listener is not None:
            self._listener.close()
        LOG.info('KVM relay for %s stopped', self.name)

    def _accept_loop(self):
        while not self._stop.is_set():
            try:
                conn, _peer = self._listener.accept()
            except socket.timeout:
                continue
            except OSError:
                if not self._stop.is_set():
                    LOG.exception('KVM relay for %s cannot accept viewers',
                                  self.name)
                break
            with self._lock:
                busy = self._session is not None and self._session.alive
                if not busy:
                    self._session = _Session(self, conn)
                    self.sessions.append(self._session.stats)
                    del self.sessions[:-16]
                    self._session.start()
            if busy:
                self._refuse(conn, 'another viewer is connected to this '
                                   'console')
        self._listener.close()

    def _refuse(self, conn, reason):
        LOG.warning('KVM relay for %(name)s refused a viewer: %(reason)s',
                    {'name': self.name, 'reason': reason})
        conn.settimeout(_REFUSE_TIMEOUT)
        try:
            conn.sendall(rfb.VERSION_3_8)
            rfb.Reader(conn).read(rfb.VERSION_LENGTH, _REFUSE_TIMEOUT)
            conn.sendall(b'\x00' + _failure_reason(reason))
        except (OSError, rfb.RFBError):
            pass
        finally:
            conn.close()


class _Stream(object):
    """Feeds bytes from one socket to a parser generator.

    The generator yields the number of bytes it needs next and receives
    exactly that many, so only ``need + _CHUNK`` bytes are ever buffered.
    """

    def __init__(self, parser, pending=b''):
        self._parser = parser
        self._buffer = bytearray(pending)
        self._need = next(parser)
        self.peak = len(self._buffer)

    def feed(self, data):
        self._buffer += data
        self.peak = max(self.peak, len(self._buffer))
        while len(self._buffer) >= self._need:
            chunk = bytes(self._buffer[:self._need])
            del self._buffer[:self._need]
            self._need = self._parser.send(chunk)

    @property
    def wants_data(self):
        return len(self._buffer) < self._need


class _Session(object):
    """One viewer and its KVM session on the device."""

    def __init__(self, relay, viewer):
        self._relay = relay
        self._viewer = viewer
        self._device = None
        self._closed = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name='amt-kvm-viewer-%s' % relay.name,
            daemon=True)
        self._converter = None
        self._encodings = frozenset()
        self._width = self._height = 0
        self._first_frame = None
        self.stats = {'started': time.monotonic(), 'first_frame_s': None,
                      'updates': 0, 'rectangles': 0, 'bytes_to_viewer': 0,
                      'bytes_from_device': 0, 'max_buffered': 0,
                      'end': None}

    @property
    def alive(self):
        return self._thread.is_alive()

    def start(self):
        self._thread.start()

    def join(self, timeout):
        self._thread.join(timeout)

    def close(self):
        self._closed.set()
        try:
            self._viewer.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _alive(self):
        return not (self._closed.is_set() or self._relay._stop.is_set())

    def _run(self):
        name = self._relay.name
        try:
            self._handshake()
            self._pump()
            self.stats['end'] = 'closed'
        except (rfb.RFBError, exceptions.RedirectionError) as e:
            self.stats['end'] = str(e)
            LOG.info('KVM viewer of %(name)s disconnected: %(error)s',
                     {'name': name, 'error': e})
        except Exception as e:
            self.stats['end'] = str(e)
            LOG.exception('KVM relay session of %s failed', name)
        finally:
            self._closed.set()
            for closer in (self._viewer.close,
                           self._device and self._device.close):
                if closer:
                    try:
                        closer()
                    except OSError:
                        pass

    # Handshake -----------------------------------------------------------

    def _send_viewer(self, data):
        try:
            self._viewer.sendall(data)
        except OSError as e:
            raise rfb.RFBError('viewer connection lost: %s' % e)
        self.stats['bytes_to_viewer'] += len(data)

    def _handshake(self):
        relay = self._relay
        timeout = relay.handshake_timeout
        self._viewer.settimeout(relay.poll_interval)
        reader = rfb.Reader(self._viewer, self._alive)
        self._send_viewer(rfb.VERSION_3_8)
        if reader.read(rfb.VERSION_LENGTH, timeout) != rfb.VERSION_3_8:
            raise rfb.RFBError('the viewer does not speak RFB 3.8')
        try:
            self._device = relay._connect_device()
        except Exception as e:
            self._send_viewer(b'\x00' + _failure_reason(
                'AMT KVM session failed: %s' % e))
            raise rfb.RFBError('AMT KVM session failed: %s' % e)
        self._send_viewer(bytes([1, rfb.SECURITY_NONE]))
        if reader.read(1, timeout)[0] != rfb.SECURITY_NONE:
            self._send_viewer(_U32.pack(1) + _failure_reason(
                'only security type None is offered'))
            raise rfb.RFBError('the viewer refused security type None')
        self._send_viewer(_U32.pack(0))
        reader.read(1, timeout)  # ClientInit: shared or not, one viewer.
        device = self._device
        self._width, self._height = device.width, device.height
        self._converter = _converter(device.pixel_format,
                                     device.pixel_format)
        name = device.name.encode('utf-8', 'replace')[:rfb.MAX_NAME]
        self._send_viewer(rfb.SERVER_INIT.pack(
            device.width, device.height, device.pixel_format.pack(),
            len(name)) + name)
        self._viewer_pending = reader.drain()

    # Relaying ------------------------------------------------------------

    def _pump(self):
        relay = self._relay
        device = self._device
        viewer_stream = _Stream(self._from_viewer(), self._viewer_pending)
        device_stream = _Stream(self._from_device())
        self._viewer.settimeout(relay.handshake_timeout)
        last_activity = time.monotonic()
        while self._alive():
            ready = [device] if device.pending() else []
            if not ready:
                ready, _w, _x = select.select([self._viewer, device], [],
                                              [], relay.poll_interval)
            if not ready:
                if time.monotonic() - last_activity > relay.idle_timeout:
                    raise rfb.RFBError('idle for %s seconds'
                                       % relay.idle_timeout)
                continue
            last_activity = time.monotonic()
            if device in ready:
                data = device.read_some(_CHUNK, relay.handshake_timeout)
                self.stats['bytes_from_device'] += len(data)
                device_stream.feed(data)
            if self._viewer in ready:
                try:
                    data = self._viewer.recv(_CHUNK)
                except socket.timeout:
                    data = None
                except OSError as e:
                    raise rfb.RFBError('viewer connection lost: %s' % e)
                if data == b'':
                    raise rfb.RFBError('the viewer closed the connection')
                if data:
                    viewer_stream.feed(data)
            self.stats['max_buffered'] = (viewer_stream.peak
                                          + device_stream.peak)

    def _send_device(self, data):
        self._device.send(data)

    def _device_encodings(self):
        wanted = [rfb.ENCODING_RAW]
        if rfb.ENCODING_DESKTOP_SIZE in self._encodings:
            wanted.append(rfb.ENCODING_DESKTOP_SIZE)
        return struct.pack('!BxH%di' % len(wanted), rfb.SET_ENCODINGS,
                           len(wanted), *wanted)

    def _from_viewer(self):
        """Parse viewer messages; forward what the device should see."""
        # The device keeps the format kvm.rfb_handshake chose; the relay
        # converts to the viewer's.
        device_format = self._device.pixel_format
        self._send_device(self._device_encodings())
        while True:
            message = yield 1
            kind = message[0]
            if kind == rfb.SET_PIXEL_FORMAT:
                body = yield 19
                wanted = rfb.PixelFormat.unpack(body[3:])
                wanted.check()
                self._converter = _converter(device_format, wanted)
            elif kind == rfb.SET_ENCODINGS:
                _pad, count = struct.unpack('!BH', (yield 3))
                if count > rfb.MAX_ENCODINGS:
                    raise rfb.RFBError('%d encodings announced, at most %d '
                                       'accepted' % (count,
                                                     rfb.MAX_ENCODINGS))
                self._encodings = frozenset(struct.unpack(
                    '!%di' % count, (yield 4 * count))) if count else (
                        frozenset())
                self._send_device(self._device_encodings())
            elif kind == rfb.FRAMEBUFFER_UPDATE_REQUEST:
                body = yield 9
                if self._first_frame is None:
                    self._first_frame = time.monotonic()
                self._send_device(message + body)
            elif kind in (rfb.KEY_EVENT, rfb.POINTER_EVENT):
                body = yield rfb.CLIENT_MESSAGE_LENGTHS[kind] - 1
                if not self._relay.read_only:
                    self._send_device(message + body)
            elif kind == rfb.CLIENT_CUT_TEXT:
                (length,) = struct.unpack('!3xI', (yield 7))
                if length > rfb.MAX_CUT_TEXT:
                    raise rfb.RFBError('cut text of %d bytes refused'
                                       % length)
                if length:
                    yield length  # AMT KVM has no clipboard: dropped.
            else:
                raise rfb.RFBError('unknown viewer message type %d' % kind)

    def _from_device(self):
        """Parse device messages; send the viewer what it asked for."""
        source = self._device.pixel_format
        while True:
            kind = (yield 1)[0]
            if kind == rfb.FRAMEBUFFER_UPDATE:
                (count,) = struct.unpack('!xH', (yield 3))
                converter = self._converter
                hextile = rfb.ENCODING_HEXTILE in self._encodings
                self._send_viewer(struct.pack('!BxH', kind, count))
                for _index in range(count):
                    yield from self._rectangle(source, converter, hextile)
                self.stats['updates'] += 1
                self.stats['rectangles'] += count
                if self.stats['first_frame_s'] is None and self._first_frame:
                    self.stats['first_frame_s'] = (time.monotonic()
                                                   - self.stats['started'])
            elif kind == rfb.BELL:
                self._send_viewer(bytes([rfb.BELL]))
            elif kind == rfb.SERVER_CUT_TEXT:
                (length,) = struct.unpack('!3xI', (yield 7))
                if length > rfb.MAX_CUT_TEXT:
                    raise rfb.RFBError('cut text of %d bytes refused'
                                       % length)
                if length:
                    yield length
            else:
                raise rfb.RFBError('unexpected device message type %d'
                                   % kind)

    def _rectangle(self, source, converter, hextile):
        x, y, width, height, encoding = rfb.RECTANGLE.unpack((yield 12))
        if encoding == rfb.ENCODING_DESKTOP_SIZE:
            if rfb.ENCODING_DESKTOP_SIZE not in self._encodings:
                raise rfb.RFBError('the device resized the screen for a '
                                   'viewer that cannot follow')
            if not (0 < width <= rfb.MAX_DIMENSION
                    and 0 < height <= rfb.MAX_DIMENSION):
                raise rfb.RFBError('invalid screen size %dx%d'
                                   % (width, height))
            self._width, self._height = width, height
            self._send_viewer(rfb.RECTANGLE.pack(x, y, width, height,
                                                 encoding))
            return
        if encoding != rfb.ENCODING_RAW:
            raise rfb.RFBError('the device sent encoding %d, which the '
                               'relay did not ask for' % encoding)
        if x + width > self._width or y + height > self._height:
            raise rfb.RFBError('rectangle %dx%d+%d+%d outside the %dx%d '
                               'screen' % (width, height, x, y,
                                           self._width, self._height))
        out_encoding = rfb.ENCODING_HEXTILE if hextile else rfb.ENCODING_RAW
        self._send_viewer(rfb.RECTANGLE.pack(x, y, width, height,
                                             out_encoding))
        row_bytes = width * source.bytes_per_pixel
        for top in range(0, height, _BAND_ROWS):
            rows = min(_BAND_ROWS, height - top)
            band = yield rows * row_bytes
            if hextile:
                self._send_viewer(rfb.hextile_band(band, width, rows,
                                                   converter))
            else:
                self._send_viewer(converter.convert(band))
