"""Real brokers for the sink tests, each started on a free loopback port in a temporary directory,
and minimal clients that read back what the daemon delivered (imported from the tests' directory)."""
import base64
import hashlib
import hmac
import json
import os
import pwd
import shutil
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from testlib import fail, free_port


def program(name: str) -> str:
    """A server's executable (Debian puts some in /usr/sbin, which may not be on PATH)."""
    for path in (shutil.which(name), f"/usr/sbin/{name}", f"/usr/bin/{name}"):
        if path and os.access(path, os.X_OK):
            return path
    fail(f"{name} is not installed (scripts/install-deps.sh installs it)")


def wait_port(port: int, timeout: float = 15.0) -> None:
    end = time.time() + timeout
    while time.time() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    fail(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


class Server:
    """A broker process that can be killed (-9) and started again on the same port and data."""

    def __init__(self, name: str, root: str) -> None:
        self.name, self.port = name, free_port()
        self.dir = os.path.join(root, name)
        os.makedirs(self.dir, exist_ok=True)
        self.proc = None

    def command(self) -> list:
        raise NotImplementedError

    def start(self) -> None:
        log = open(os.path.join(self.dir, "server.log"), "ab")
        self.proc = subprocess.Popen(self.command(), stdout=log, stderr=log, cwd=self.dir)
        wait_port(self.port)

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


class Mosquitto(Server):
    """Password-protected, so a test can let its own subscriber in before the daemon (allow())."""

    def __init__(self, root: str, users: dict = None) -> None:
        super().__init__("mosquitto", root)
        self.users = users or {}
        self.pw = os.path.join(self.dir, "passwords")
        # As root it would switch to the "mosquitto" user, who cannot read our temporary directory.
        auth = f"allow_anonymous false\npassword_file {self.pw}\n" if users else "allow_anonymous true\n"
        with open(os.path.join(self.dir, "mosquitto.conf"), "w") as f:
            f.write(f"listener {self.port} 127.0.0.1\n{auth}persistence false\nuser {pwd.getpwuid(os.getuid()).pw_name}\n")
        if users:
            self.allow(list(users))

    def allow(self, names: list) -> None:
        """Only these users may connect from now on (the running broker rereads the file on SIGHUP)."""
        open(self.pw, "w").close()
        for name in names:
            subprocess.run(["mosquitto_passwd", "-b", self.pw, name, self.users[name]], check=True, timeout=30)
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(1)

    def command(self) -> list:
        return [program("mosquitto"), "-c", os.path.join(self.dir, "mosquitto.conf")]


class Redis(Server):
    def __init__(self, root: str) -> None:
        super().__init__("redis", root)

    def command(self) -> list:
        # Every write on disk before the reply: a kill -9 loses nothing that was acknowledged.
        return [program("redis-server"), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "yes", "--appendfsync", "always", "--dir", self.dir]

    def cli(self, *args) -> str:
        return subprocess.run(["redis-cli", "-p", str(self.port), "--raw", *args], check=True, capture_output=True,
                              text=True, timeout=30).stdout

    def stream(self, key: str) -> list:
        """The entries of a stream as dicts of their fields."""
        out = subprocess.run(["redis-cli", "-p", str(self.port), "--json", "XRANGE", key, "-", "+"], check=True,
                             capture_output=True, text=True, timeout=60).stdout
        entries = json.loads(out) if out.strip() else []
        result = []
        for _id, fields in entries:
            if isinstance(fields, dict):
                result.append(fields)
            else:
                result.append(dict(zip(fields[0::2], fields[1::2])))
        return result


class Nats(Server):
    def __init__(self, root: str) -> None:
        super().__init__("nats", root)

    def command(self) -> list:
        return [program("nats-server"), "-js", "-a", "127.0.0.1", "-p", str(self.port), "-sd",
                os.path.join(self.dir, "js")]

    def stream_messages(self, stream: str) -> list:
        """Every message of a JetStream stream, oldest first: (subject, headers text, data bytes)."""
        c = NatsConn(self.port)
        info = json.loads(c.request(f"$JS.API.STREAM.INFO.{stream}", b""))
        if "error" in info:
            fail(f"nats stream {stream}: {info['error']}")
        first, last = info["state"]["first_seq"], info["state"]["last_seq"]
        out = []
        for seq in range(first, last + 1):
            r = json.loads(c.request(f"$JS.API.STREAM.MSG.GET.{stream}", json.dumps({"seq": seq}).encode()))
            if "message" not in r:
                continue
            m = r["message"]
            out.append((m["subject"], base64.b64decode(m.get("hdrs", "")).decode(), base64.b64decode(m.get("data", ""))))
        c.close()
        return out


class NatsConn:
    """Just enough of the NATS client protocol for request/reply."""

    def __init__(self, port: int) -> None:
        self.s = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""
        self.line()  # INFO
        self.s.sendall(b'CONNECT {"verbose":false,"pedantic":false,"headers":true}\r\nSUB _INBOX.t 1\r\n')
        self.n = 0

    def line(self) -> bytes:
        while b"\r\n" not in self.buf:
            self.buf += self.s.recv(65536)
        ln, self.buf = self.buf.split(b"\r\n", 1)
        return ln

    def take(self, n: int) -> bytes:
        while len(self.buf) < n + 2:
            self.buf += self.s.recv(65536)
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def request(self, subject: str, payload: bytes) -> bytes:
        self.n += 1
        self.s.sendall(f"PUB {subject} _INBOX.t {len(payload)}\r\n".encode() + payload + b"\r\n")
        while True:
            ln = self.line()
            if ln.startswith(b"PING"):
                self.s.sendall(b"PONG\r\n")
            elif ln.startswith(b"MSG"):
                return self.take(int(ln.split()[-1]))
            elif ln.startswith(b"HMSG"):
                parts = ln.split()
                data = self.take(int(parts[-1]))
                return data[int(parts[-2]):]
            elif ln.startswith(b"-ERR"):
                fail(f"nats: {ln.decode()}")

    def close(self) -> None:
        self.s.close()


class WebhookReceiver:
    """An HTTP server recording every POST whose signature checks out; `down` makes it answer 503."""

    def __init__(self, secret: str, tls: tuple = None) -> None:
        """tls: (certfile, keyfile) to serve HTTPS."""
        self.secret = secret.encode()
        self.bodies, self.bad = [], []
        self.down = False
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if receiver.down:
                    self.send_response(503)
                    self.end_headers()
                    return
                want = "sha256=" + hmac.new(receiver.secret, body, hashlib.sha256).hexdigest()
                if self.headers.get("X-Actiond-Signature") != want:
                    receiver.bad.append(body)
                    self.send_response(401)
                else:
                    receiver.bodies.append(json.loads(body))
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *a):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls:
            import ssl
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*tls)
            self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


class MqttCollector:
    """A paho MQTT subscriber to `topic` that reconnects on its own; keeps (topic, payload, retained)."""

    def __init__(self, port: int, topic: str, user: str = "", password: str = "") -> None:
        import paho.mqtt.client as mqtt
        self.msgs, self.lock = [], threading.Lock()
        self.c = mqtt.Client(client_id=f"collector-{os.getpid()}", clean_session=True)
        if user:
            self.c.username_pw_set(user, password)
        self.c.reconnect_delay_set(min_delay=1, max_delay=1)
        self.connected = threading.Event()

        def on_connect(client, _u, _f, rc):
            if rc == 0:
                client.subscribe(topic, qos=1)

        def on_subscribe(*_a):
            self.connected.set()

        def on_message(_c, _u, m):
            with self.lock:
                self.msgs.append((m.topic, m.payload, m.retain))

        def on_disconnect(*_a):
            self.connected.clear()

        self.c.on_connect, self.c.on_subscribe, self.c.on_message = on_connect, on_subscribe, on_message
        self.c.on_disconnect = on_disconnect
        self.c.connect_async("127.0.0.1", port, keepalive=5)
        self.c.loop_start()
        self.wait_subscribed()

    def wait_subscribed(self) -> None:
        if not self.connected.wait(15):
            fail("mqtt collector: not subscribed within 15 s")

    def messages(self) -> list:
        with self.lock:
            return list(self.msgs)

    def close(self) -> None:
        self.c.loop_stop()
        self.c.disconnect()


class KafkaMock:
    """librdkafka's mock cluster (tests/support/kafka_mock.cpp): brokers can go down and up; dump() reads
    a topic back with a real consumer."""

    def __init__(self, binary: str, root: str) -> None:
        self.log = open(os.path.join(root, "kafka-mock.log"), "wb")
        self.proc = subprocess.Popen([binary], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, text=True)
        first = self.proc.stdout.readline().split()
        if len(first) != 2 or first[0] != "bootstrap":
            fail(f"kafka mock: unexpected first line {first}")
        self.bootstrap = first[1]

    def command(self, line: str) -> list:
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        out = []
        while True:
            ln = self.proc.stdout.readline()
            if not ln:
                fail(f"kafka mock: exited during {line!r}")
            ln = ln.rstrip("\n")
            if ln in ("ok", "end"):
                return out
            if ln.startswith("error"):
                fail(f"kafka mock: {ln}")
            out.append(ln)

    def create(self, topic: str, partitions: int) -> None:
        self.command(f"create {topic} {partitions}")

    def down(self) -> None:
        self.command("down")

    def up(self) -> None:
        self.command("up")

    def dump(self, topic: str) -> list:
        return [json.loads(x) for x in self.command(f"dump {topic}")]

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


class Etcd(Server):
    """A one-member etcd (Debian etcd-server) with its own data directory; keeps its whole history."""

    def __init__(self, root: str) -> None:
        super().__init__("etcd", root)
        self.peer = free_port()
        self.url = f"http://127.0.0.1:{self.port}"

    def command(self) -> list:
        return [program("etcd"), "--name", "test", "--data-dir", os.path.join(self.dir, "data"),
                "--listen-client-urls", self.url, "--advertise-client-urls", self.url,
                "--listen-peer-urls", f"http://127.0.0.1:{self.peer}",
                "--initial-advertise-peer-urls", f"http://127.0.0.1:{self.peer}",
                "--initial-cluster", f"test=http://127.0.0.1:{self.peer}"]

    def history(self, prefix: str) -> list:
        """Every PUT and DELETE under `prefix` since revision 1, oldest first: (revision, kind, key, value)."""
        out = subprocess.run(["timeout", "3", program("etcdctl"), "--endpoints", self.url, "watch", "--rev=1",
                              "--prefix", prefix, "-w", "json"], capture_output=True, text=True,
                             env=dict(os.environ, ETCDCTL_API="3")).stdout
        events = []
        for line in out.splitlines():
            if not line.startswith("{"):
                continue
            for ev in json.loads(line).get("Events") or []:
                kv = ev["kv"]
                events.append((int(kv["mod_revision"]), "DELETE" if ev.get("type") == 1 else "PUT",
                               base64.b64decode(kv["key"]).decode(), base64.b64decode(kv.get("value", "")).decode()))
        return events
