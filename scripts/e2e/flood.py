#!/usr/bin/env python3
"""flood.py PORT: the stanza-limit flood of scripts/e2e.sh (issue 17, item 1).

Against a Prosody on 127.0.0.1:PORT whose conference.localhost is mucsim serve:
'sender' creates room flood@conference.localhost, 'receiver' joins it; for 5 s
'mallory' (in no room) sends a <message> holding 300 nested <a xmlns='urn:x'/>
to conference.localhost every 100 ms while 'sender' sends 500 groupchat messages.
Prints one line of JSON: delivered (groupchat messages 'receiver' got of 500),
deep_sent, deep_errors (policy-violation errors mallory got back).
Standard library only; the server's authentication must accept any password.
"""
import base64
import json
import socket
import sys
import threading
import time
import xml.etree.ElementTree as ET

HOST = "127.0.0.1"
PORT = int(sys.argv[1])
ROOM = "flood@conference.localhost"
MUC = "http://jabber.org/protocol/muc"
C = "{jabber:client}"


class Client:
    def __init__(self, user):
        self.user = user
        self.sock = socket.create_connection((HOST, PORT))
        self.sock.settimeout(0.2)
        self.lock = threading.Lock()
        self._open()
        self._read_until(lambda e: e.tag.endswith("features"))
        cred = base64.b64encode(f"\0{user}\0pw".encode()).decode()
        self.send(f"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{cred}</auth>")
        el = self._read_until(lambda e: e.tag.endswith("success") or e.tag.endswith("failure"))
        assert el.tag.endswith("success"), f"{user}: login refused"
        self._open()
        self._read_until(lambda e: e.tag.endswith("features"))
        self.send("<iq type='set' id='bind'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'>"
                  "<resource>r</resource></bind></iq>")
        self._read_until(lambda e: e.get("id") == "bind")
        self.jid = f"{user}@localhost/r"

    def _open(self):
        self.parser = ET.XMLPullParser(events=("start", "end"))
        self.depth = 0
        self.ready = []
        self.send("<?xml version='1.0'?><stream:stream xmlns='jabber:client' "
                  "xmlns:stream='http://etherx.jabber.org/streams' to='localhost' version='1.0'>")

    def send(self, xml):
        with self.lock:
            self.sock.sendall(xml.encode())

    def poll(self):
        """Top-level elements read so far (waits at most 0.2 s for more)."""
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            data = b""
        if data:
            self.parser.feed(data)
            for ev, el in self.parser.read_events():
                if ev == "start":
                    self.depth += 1
                else:
                    self.depth -= 1
                    if self.depth == 1:
                        self.ready.append(el)
        out, self.ready = self.ready, []
        return out

    def _read_until(self, want, timeout=10):
        end = time.time() + timeout
        while time.time() < end:
            for el in self.poll():
                if want(el):
                    return el
        raise SystemExit(f"{self.user}: timed out")


def main():
    sender, receiver, mallory = Client("sender"), Client("receiver"), Client("mallory")
    sender.send(f"<presence to='{ROOM}/sender'><x xmlns='{MUC}'/></presence>")
    sender._read_until(lambda e: e.tag == C + "presence" and e.get("from") == f"{ROOM}/sender")
    sender.send(f"<iq to='{ROOM}' type='set' id='cfg'><query xmlns='{MUC}#owner'>"
                "<x xmlns='jabber:x:data' type='submit'/></query></iq>")
    sender._read_until(lambda e: e.get("id") == "cfg")
    receiver.send(f"<presence to='{ROOM}/receiver'><x xmlns='{MUC}'/></presence>")
    receiver._read_until(lambda e: e.tag == C + "presence" and e.get("from") == f"{ROOM}/receiver")

    deep = ("<message to='conference.localhost' type='chat' id='deep{}'>"
            + "<a xmlns='urn:x'>" * 300 + "</a>" * 300 + "</message>")
    got = set()
    errors = 0
    stop = threading.Event()

    def receive():
        while not stop.is_set():
            for el in receiver.poll():
                if el.tag == C + "message" and el.get("type") == "groupchat":
                    body = el.find(C + "body")
                    if body is not None and body.text and body.text.startswith("flood "):
                        got.add(body.text)

    def errors_back():
        nonlocal errors
        while not stop.is_set():
            for el in mallory.poll():
                err = el.find(C + "error")
                if el.get("type") == "error" and err is not None and \
                        err.find("{urn:ietf:params:xml:ns:xmpp-stanzas}policy-violation") is not None:
                    errors += 1

    threads = [threading.Thread(target=receive), threading.Thread(target=errors_back)]
    for t in threads:
        t.start()

    def flood_deep():
        for i in range(50):
            mallory.send(deep.format(i))
            time.sleep(0.1)

    attacker = threading.Thread(target=flood_deep)
    attacker.start()
    for i in range(500):
        sender.send(f"<message to='{ROOM}' type='groupchat' id='f{i}'><body>flood {i}</body></message>")
        time.sleep(0.01)
    attacker.join()
    end = time.time() + 10
    while time.time() < end and (len(got) < 500 or errors < 50):
        time.sleep(0.1)
    stop.set()
    for t in threads:
        t.join()
    print(json.dumps({"delivered": len(got), "deep_sent": 50, "deep_errors": errors}))


main()
