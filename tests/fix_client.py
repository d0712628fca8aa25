"""An independent FIX 4.4 initiator for the gateway tests: `simplefix` builds and parses
the messages, `frame` writes raw ones (wrong lengths, checksums and headers on purpose).
Shared by tests/test_gateway.py and tests/test_fix_conformance.py."""

from __future__ import annotations

import socket
import time
from typing import Any, Optional

import simplefix

SYMBOL = "BTC-USD"
SOH = b"\x01"
#: A SendingTime / TransactTime for raw messages (the gateway checks the format only).
STAMP = b"20261202-10:00:00.000"


def config(
    *, symbols: tuple[str, ...] = (SYMBOL,), extra_sessions: tuple[str, ...] = (), **gateway: Any
) -> dict[str, Any]:
    """A system of `symbols` (tick 0.01, lot 0.001 each) with sessions ALICE (password a-pw),
    BOB and `extra_sessions`, and `gateway` settings over these."""
    gw = {
        "enabled": True,
        "listen": "127.0.0.1:0",
        "sessions": [
            {"sender_comp_id": "ALICE", "target_comp_id": "LFT", "password": "a-pw"},
            {"sender_comp_id": "BOB", "target_comp_id": "LFT"},
            *({"sender_comp_id": name, "target_comp_id": "LFT"} for name in extra_sessions),
        ],
        "logon_timeout_seconds": 0.5,
    }
    gw.update(gateway)
    return {
        "symbols": [{"name": name, "tick_size": "0.01", "lot_size": "0.001"} for name in symbols],
        "engine": {"threads": 1},
        "gateway": gw,
    }


def checksum(data: bytes) -> bytes:
    return b"%03d" % (sum(data) % 256)


def frame(
    fields: bytes,
    *,
    begin: bytes = b"FIX.4.4",
    length_delta: int = 0,
    check: Optional[bytes] = None,
) -> bytes:
    """`fields` (everything between BodyLength and CheckSum, `|` for SOH) framed with
    BeginString, BodyLength (off by `length_delta`) and CheckSum (`check` instead if given)."""
    body = fields.replace(b"|", SOH)
    head = b"8=" + begin + b"\x019=" + str(len(body) + length_delta).encode() + SOH
    total = head + body
    return total + b"10=" + (check if check is not None else checksum(total)) + SOH


def raw_message(body: bytes, seq: int, sender: bytes = b"BOB") -> bytes:
    """`body` (MsgType first, then the body fields, `|` for SOH) with the standard header of
    `sender` at `seq`, framed with a correct length and checksum."""
    msg_type, _, rest = body.partition(b"|")
    header = msg_type + b"|49=" + sender + b"|56=LFT|34=" + str(seq).encode() + b"|52=" + STAMP + b"|"
    return frame(header + rest)


class Client:
    """A FIX initiator on a blocking socket."""

    def __init__(self, address: str, sender: str, target: str = "LFT") -> None:
        host, port = address.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=3)
        self.sock.settimeout(0.05)
        self.parser = simplefix.FixParser()
        self.sender = sender
        self.target = target
        #: Our next MsgSeqNum.
        self.seq = 1
        #: The MsgSeqNum of the last message received.
        self.last_seq_in = 0

    def send(
        self,
        msg_type: str,
        fields: list[tuple[int, Any]],
        *,
        seq: Optional[int] = None,
        header: Optional[list[tuple[int, Any]]] = None,
    ) -> None:
        m = simplefix.FixMessage()
        m.append_pair(8, "FIX.4.4", header=True)
        m.append_pair(35, msg_type, header=True)
        m.append_pair(49, self.sender, header=True)
        m.append_pair(56, self.target, header=True)
        m.append_pair(34, seq if seq is not None else self.seq, header=True)
        m.append_utc_timestamp(52, precision=3, header=True)
        for tag, value in header or []:
            m.append_pair(tag, value, header=True)
        for tag, value in fields:
            m.append_pair(tag, value)
        if seq is None:
            self.seq += 1
        self.sock.sendall(m.encode())

    def send_raw(self, data: bytes) -> bool:
        """Write bytes as they are; False when the gateway already closed the connection."""
        try:
            self.sock.sendall(data)
        except OSError:
            return False
        return True

    def recv(self, timeout: float = 3.0) -> Optional[Any]:
        """The next message, or None when the connection ended or `timeout` passed."""
        deadline = time.monotonic() + timeout
        while True:
            msg = self.parser.get_message()
            if msg is not None:
                seq = msg.get(34)
                if seq is not None and seq.isdigit():
                    self.last_seq_in = int(seq)
                return msg
            if time.monotonic() >= deadline:
                return None
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return None
            if not data:
                return None
            self.parser.append_buffer(data)

    def recv_type(self, msg_type: bytes, timeout: float = 3.0) -> Any:
        """The next message of `msg_type`, skipping others (heartbeats, test requests)."""
        deadline = time.monotonic() + timeout
        while True:
            m = self.recv(max(0.0, deadline - time.monotonic()))
            assert m is not None, f"no {msg_type!r} before the connection ended or {timeout} s passed"
            if m.get(35) == msg_type:
                return m

    def closed(self, timeout: float = 3.0) -> bool:
        """Whether the gateway closes the connection within `timeout` (what it still sent
        before closing is parsed and kept for recv)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return True
            if not data:
                return True
            self.parser.append_buffer(data)
        return False

    def logon(self, password: Optional[str] = None, *, heartbeat: int = 30, reset: bool = False) -> Any:
        fields: list[tuple[int, Any]] = [(98, 0), (108, heartbeat)]
        if reset:
            self.seq = 1
            fields.append((141, "Y"))
        if password is not None:
            fields.append((554, password))
        self.send("A", fields)
        return self.recv_type(b"A")

    def ping(self, text: str = "ping") -> None:
        """A TestRequest answered by a Heartbeat carrying its TestReqID: the session works."""
        self.send("1", [(112, text)])
        assert self.recv_type(b"0").get(112) == text.encode()

    def close(self) -> None:
        self.sock.close()


def new_order(
    cl: str, side: int, qty: str, price: Optional[str], tif: int = 1, symbol: str = SYMBOL
) -> list[tuple[int, Any]]:
    """A NewOrderSingle's body: a limit order (a market order when `price` is None)."""
    fields: list[tuple[int, Any]] = [
        (11, cl),
        (55, symbol),
        (54, side),
        (60, STAMP.decode()),
        (38, qty),
        (40, 2 if price is not None else 1),
    ]
    if price is not None:
        fields.append((44, price))
    fields.append((59, tif))
    return fields
