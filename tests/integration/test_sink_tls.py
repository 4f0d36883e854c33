#!/usr/bin/python3
"""Sinks over TLS with certificates made for the test: MQTT to a real mosquitto and a webhook to an HTTPS
receiver. Events arrive when the sinks trust the servers' CA; with another CA they do not connect, say
why in their status, deliver nothing and lose nothing (after a restart with the right CA, every event
arrives).

Usage (from ctest): test_sink_tls.py --actiond BIN --actionctl BIN --models DIR
"""
import json
import os
import signal
import subprocess
import tempfile
import time

from sinklib import MqttCollector, Mosquitto, WebhookReceiver, wait_port
from testlib import fail, free_port


def make_ca(d: str, name: str) -> None:
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={name}",
                    "-keyout", os.path.join(d, f"{name}.key"), "-out", os.path.join(d, f"{name}.crt")],
                   check=True, capture_output=True, timeout=60)


def make_server_cert(d: str, ca: str) -> None:
    key, csr, crt = (os.path.join(d, f"server.{x}") for x in ("key", "csr", "crt"))
    ext = os.path.join(d, "san.ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    subprocess.run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", key, "-out", csr],
                   check=True, capture_output=True, timeout=60)
    subprocess.run(["openssl", "x509", "-req", "-in", csr, "-CA", os.path.join(d, f"{ca}.crt"), "-CAkey",
                    os.path.join(d, f"{ca}.key"), "-CAcreateserial", "-days", "2", "-extfile", ext, "-out", crt],
                   check=True, capture_output=True, timeout=60)


def test_sink_tls(args) -> None:
    with tempfile.TemporaryDirectory() as root:
        certs = os.path.join(root, "certs")
        os.makedirs(certs)
        make_ca(certs, "ca")
        make_ca(certs, "other-ca")
        make_server_cert(certs, "ca")
        broker = Mosquitto(root)
        plain = broker.port
        broker.port = free_port()  # the TLS listener; the plain one is for our subscriber
        with open(os.path.join(broker.dir, "mosquitto.conf"), "a") as f:
            f.write(f"listener {broker.port} 127.0.0.1\ncafile {certs}/ca.crt\ncertfile {certs}/server.crt\n"
                    f"keyfile {certs}/server.key\n")
        broker.start()
        wait_port(plain)
        collector = MqttCollector(plain, "actiond/#")
        hook = WebhookReceiver("s", tls=(f"{certs}/server.crt", f"{certs}/server.key"))
        with open(os.path.join(root, "hook.secret"), "w") as f:
            f.write("s\n")

        control = f"tcp://127.0.0.1:{free_port()}"

        def run(ca: str, seconds: float) -> dict:
            cfg = {"publish": {"endpoint": f"tcp://127.0.0.1:{free_port()}"}, "control": {"endpoint": control},
                   "metrics": {"enabled": False},
                   "models": {"bb": {"path": "backbone.pt"}, "seg": {"path": "segmenter.pt"}},
                   "sinks": [{"name": "tls", "type": "mqtt", "port": broker.port, "backoff_min_s": 0.5,
                              "backoff_max_s": 1, "timeout_s": 3, "tls": {"ca_file": f"certs/{ca}.crt"}},
                             {"name": "https", "type": "webhook", "url": f"https://127.0.0.1:{hook.port}/events",
                              "secret_file": "hook.secret", "backoff_min_s": 0.5, "backoff_max_s": 1, "timeout_s": 3,
                              "tls": {"ca_file": f"certs/{ca}.crt"}}]}
            with open(os.path.join(root, "actiond.json"), "w") as f:
                json.dump(cfg, f)
            daemon = subprocess.Popen([args.actiond, "--config", root, "--model-dir", args.models, "--log-level", "error"])
            end = time.time() + 60  # the control socket answers once the daemon runs (slow under sanitizers)
            while subprocess.run([args.actionctl, "status", "-c", control], capture_output=True, timeout=30).returncode != 0:
                if time.time() > end or daemon.poll() is not None:
                    fail("actiond did not come up")
            time.sleep(seconds)
            status = json.loads(subprocess.run([args.actionctl, "status", "-c", control], check=True, capture_output=True,
                                               text=True, timeout=30).stdout)
            daemon.send_signal(signal.SIGTERM)
            if daemon.wait(timeout=60) != 0:
                fail("actiond did not stop cleanly")
            return status.get("status", status)["sinks"]

        os.makedirs(os.path.join(root, "cameras"))
        with open(os.path.join(root, "cameras", "door.json"), "w") as f:
            json.dump({"id": "door", "uri": "test://pattern?cycle=red,black&period=1&width=160&height=120&fps=25",
                       "fps": 5, "tracker": {"min_duration_s": 0.4}, "models": {"backbone": "bb", "segmenter": "seg"}}, f)
        wrong = run("other-ca", 6)
        for st in wrong:
            if st["delivered"] != 0 or not st["last_error"] or st["backlog"] == 0:
                fail(f"with another CA: {st}")
        if collector.messages() or hook.bodies:
            fail("events arrived over a connection the sinks should not have trusted")
        right = run("ca", 8)
        for st in right:
            if st["delivered"] == 0:
                fail(f"with the servers' CA: {st}")
        time.sleep(1)
        seqs = [json.loads(p)["seq"] for t, p, _r in collector.messages() if t.startswith("actiond/door/") and not t.endswith("/state")]
        if sorted(set(seqs)) != list(range(1, max(seqs) + 1)):
            fail(f"MQTT over TLS: seqs {seqs[:20]}... not every one from 1")
        hooked = [e["seq"] for e in hook.bodies]
        if sorted(set(hooked)) != list(range(1, max(hooked) + 1)) or hook.bad:
            fail(f"webhook over HTTPS: seqs {hooked[:20]}..., {len(hook.bad)} bad signatures")
        collector.close()
        hook.close()
        broker.kill()
        print(f"sinks over TLS: refused with another CA ({wrong[0]['last_error']}; {wrong[1]['last_error']}); "
              f"{len(set(seqs))} events over MQTT/TLS and {len(set(hooked))} over HTTPS, none lost")
